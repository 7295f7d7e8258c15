/**
 * First start: creates the default environment `live` and its admin key, from
 * BURSAR_BOOTSTRAP_KEY when given, else generated and returned once to be printed.
 */

import { newId } from '../ids.ts';
import type { Database } from '../storage/database.ts';
import { apiKeyRow } from './admin-operations.ts';
import { chainAuditRecords } from './audit.ts';

export async function bootstrap(
  database: Database,
  now: number,
  bootstrapKey: string | null,
  auditKey: Buffer,
): Promise<string | null> {
  return database.writeTransaction(async (session) => {
    const existing = await session.all("SELECT id FROM environments WHERE name = 'live'");
    if (existing.length > 0) return null;
    const environmentId = newId('env', now);
    await session.insertMany('environments', [
      { id: environmentId, name: 'live', created_at: BigInt(now), audit_seq: 0n, audit_hash: '' },
    ]);
    const admin = apiKeyRow(environmentId, 'live', 'bootstrap admin', ['admin'], now, bootstrapKey ?? undefined);
    await session.insertMany('api_keys', [admin.row]);
    const { rows, heads } = await chainAuditRecords(
      session,
      [
        {
          environmentId,
          action: 'environment.created',
          target: `environment:${environmentId}`,
          actor: 'system:bootstrap',
          reason: 'first start',
          before: null,
          after: { name: 'live', api_key: admin.row.id },
          requestId: null,
        },
      ],
      now,
      auditKey,
    );
    await session.insertMany('audit_events', rows);
    await session.updateMany('environments', ['id'], heads);
    return bootstrapKey === null ? admin.key : null;
  });
}
