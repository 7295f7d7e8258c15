/**
 * First start: creates the default environment `live` and its owner key, from
 * BURSAR_BOOTSTRAP_KEY when given, else generated and returned once to be printed.
 */

import { chainAuditRecords } from '../../platform/commit/audit-chain.ts';
import { newId } from '../../platform/ids.ts';
import type { Database, SqlSession } from '../../platform/storage/database.ts';
import { takeStartupLock } from '../../platform/storage/migrations.ts';
import { apiKeyRow, toWireApiKey } from './operations.ts';

const bootstrapActor = 'system:bootstrap';

export async function bootstrap(
  database: Database,
  now: number,
  bootstrapKey: string | null,
  auditKey: Buffer,
): Promise<string | null> {
  return database.writeTransaction(async (session) => {
    // Under the migrations' lock, so processes starting together create `live` once.
    await takeStartupLock(session);
    const existing = await session.all("SELECT id FROM environments WHERE name = 'live'");
    if (existing.length > 0) {
      await promoteBootstrapKey(session, now, auditKey);
      return null;
    }
    const environmentId = newId('env', now);
    await session.insertMany('environments', [
      { id: environmentId, name: 'live', created_at: BigInt(now), audit_seq: 0n, audit_hash: '' },
    ]);
    const owner = apiKeyRow(environmentId, 'live', 'bootstrap owner', ['owner'], now, bootstrapKey ?? undefined);
    await session.insertMany('api_keys', [owner.row]);
    const { rows, heads } = await chainAuditRecords(
      session,
      [
        {
          environmentId,
          action: 'environment.created',
          target: `environment:${environmentId}`,
          actor: bootstrapActor,
          reason: 'first start',
          before: null,
          after: { name: 'live', api_key: owner.row.id },
          requestId: null,
        },
      ],
      now,
      auditKey,
    );
    await session.insertMany('audit_events', rows);
    await session.updateMany('environments', ['id'], heads);
    return bootstrapKey === null ? owner.key : null;
  });
}

/**
 * A database from before the `owner` scope has no owner key; its bootstrap key, the one named by
 * the bootstrap's `environment.created` audit event, becomes the owner (revoked or not), once.
 */
async function promoteBootstrapKey(session: SqlSession, now: number, auditKey: Buffer): Promise<void> {
  const owners = await session.all("SELECT id FROM api_keys WHERE scopes LIKE '%owner%' LIMIT 1");
  if (owners.length > 0) return;
  const [created] = await session.all(
    "SELECT environment_id, after FROM audit_events WHERE action = 'environment.created' AND actor = ? ORDER BY created_at LIMIT 1",
    [bootstrapActor],
  );
  if (created === undefined) return;
  const keyId = String((JSON.parse(String(created.after)) as { api_key?: unknown }).api_key);
  const environmentId = String(created.environment_id);
  const [key] = await session.all('SELECT * FROM api_keys WHERE environment_id = ? AND id = ?', [environmentId, keyId]);
  if (key === undefined) return;
  await session.run("UPDATE api_keys SET scopes = 'owner' WHERE id = ?", [keyId]);
  const { rows, heads } = await chainAuditRecords(
    session,
    [
      {
        environmentId,
        action: 'api_key.promoted',
        target: `api_key:${keyId}`,
        actor: bootstrapActor,
        reason: 'the owner scope was introduced; the bootstrap key holds it',
        before: toWireApiKey(key),
        after: toWireApiKey({ ...key, scopes: 'owner' }),
        requestId: null,
      },
    ],
    now,
    auditKey,
  );
  await session.insertMany('audit_events', rows);
  await session.updateMany('environments', ['id'], heads);
}
