/**
 * First start: creates the default environment `live` and its owner key, from
 * BURSAR_BOOTSTRAP_KEY when given, else generated and returned once to be printed.
 */

import { chainAuditRecords } from '../../platform/commit/audit-chain.ts';
import { newId } from '../../platform/ids.ts';
import type { Database, SqlSession } from '../../platform/storage/database.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';
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
    const existing = await queryBuilder(session)
      .selectFrom('environments')
      .select('id')
      .where('name', '=', 'live')
      .executeTakeFirst();
    if (existing !== undefined) {
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
  const db = queryBuilder(session);
  const owner = await db
    .selectFrom('api_keys')
    .select('id')
    .where('scopes', 'like', '%owner%')
    .limit(1)
    .executeTakeFirst();
  if (owner !== undefined) return;
  const created = await db
    .selectFrom('audit_events')
    .select(['environment_id', 'after'])
    .where('action', '=', 'environment.created')
    .where('actor', '=', bootstrapActor)
    .orderBy('created_at')
    .limit(1)
    .executeTakeFirst();
  if (created === undefined || created.after === null) return;
  const keyId = String((JSON.parse(created.after) as { api_key?: unknown }).api_key);
  const environmentId = created.environment_id;
  const key = await db
    .selectFrom('api_keys')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .where('id', '=', keyId)
    .executeTakeFirst();
  if (key === undefined) return;
  await db.updateTable('api_keys').set({ scopes: 'owner' }).where('id', '=', keyId).execute();
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
