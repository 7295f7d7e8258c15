/**
 * Writes that are not about a wallet: environments, API keys, assets and customers. They go
 * through the committer too, so they share idempotency, audit and the one-writer rule.
 */

import { auditOf } from '../../platform/commit/audit-chain.ts';
import type { Caller, Reply, Scope } from '../../platform/contract.ts';
import { scopeAllows } from '../../platform/contract.ts';
import { newId } from '../../platform/ids.ts';
import type { LedgerService } from '../../platform/service.ts';
import { okReply, problemReply } from '../../platform/service.ts';
import { toTime } from '../../platform/storage/codecs.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';
import type { TableRow } from '../../platform/storage/schema.ts';
import { toTimestamp } from '../../platform/wire.ts';
import { describeApiKey, generateApiKey } from './api-keys.ts';

type ApiKeyRow = TableRow<'api_keys'>;

/**
 * An API key as listed; `key` adds the secret, which only the reply that created the key shows,
 * or null for the stored replay of that reply, which says the secret was shown once.
 */
export function toWireApiKey(row: ApiKeyRow, key?: string | null) {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes.split(','),
    prefix: row.prefix,
    created_at: toTimestamp(toTime(row.created_at)),
    revoked_at: row.revoked_at === null ? null : toTimestamp(toTime(row.revoked_at)),
    ...(key === undefined ? {} : key === null ? { key: null, secret_shown_once: true } : { key }),
  };
}

export function apiKeyRow(
  environmentId: string,
  environmentName: string,
  name: string,
  scopes: readonly Scope[],
  now: number,
  key?: string,
) {
  const generated = key === undefined ? generateApiKey(environmentName) : describeApiKey(key);
  const row: ApiKeyRow = {
    id: newId('key', now),
    environment_id: environmentId,
    name,
    prefix: generated.prefix,
    secret_hash: generated.hash,
    scopes: scopes.join(','),
    created_at: BigInt(now),
    revoked_at: null,
  };
  return { row, key: generated.key };
}

export function toWireEnvironment(row: Pick<TableRow<'environments'>, 'id' | 'name' | 'created_at'>) {
  return { id: row.id, name: row.name, created_at: toTimestamp(toTime(row.created_at)) };
}

export async function createEnvironment(
  service: LedgerService,
  caller: Caller,
  input: { name: string },
): Promise<Reply> {
  return service.submit(caller, 'createEnvironment', input, {
    kind: 'task',
    async run(writer) {
      const row: TableRow<'environments'> = {
        id: newId('env', writer.now),
        name: input.name,
        created_at: BigInt(writer.now),
        audit_seq: 0n,
        audit_hash: '',
      };
      const inserted = await writer.session.insertMany('environments', [row], { onConflictDoNothing: true });
      if (inserted.length === 0) {
        return problemReply(caller, 'environment_exists', `An environment named "${input.name}" exists.`);
      }
      const admin = apiKeyRow(row.id, input.name, 'admin', ['admin'], writer.now);
      await writer.session.insertMany('api_keys', [admin.row]);
      const body = toWireEnvironment(row);
      writer.audits.push(auditOf(caller, 'environment.created', `environment:${row.id}`, null, null, body));
      return okReply(
        201,
        { ...body, admin_key: toWireApiKey(admin.row, admin.key) },
        { ...body, admin_key: toWireApiKey(admin.row, null) },
      );
    },
  });
}

export async function createApiKey(
  service: LedgerService,
  caller: Caller,
  input: { name: string; scopes: Scope[] },
): Promise<Reply> {
  // A key can hand on only what it holds, so an admin cannot mint itself an owner key.
  const beyond = input.scopes.filter((scope) => !scopeAllows(caller.scopes, scope));
  if (beyond.length > 0) {
    const detail = `This key cannot grant the \`${beyond.join('`, `')}\` scope: a key grants only scopes its own scopes include.`;
    return problemReply(caller, 'insufficient_scope', detail);
  }
  return service.submit(caller, 'createApiKey', input, {
    kind: 'task',
    async run(writer) {
      const created = apiKeyRow(caller.environmentId, caller.environmentName, input.name, input.scopes, writer.now);
      await writer.session.insertMany('api_keys', [created.row]);
      const body = toWireApiKey(created.row);
      writer.audits.push(auditOf(caller, 'api_key.created', `api_key:${created.row.id}`, null, null, body));
      return okReply(201, toWireApiKey(created.row, created.key), toWireApiKey(created.row, null));
    },
  });
}

export async function revokeApiKey(
  service: LedgerService,
  caller: Caller,
  keyId: string,
  onRevoked: () => void,
): Promise<Reply> {
  return service.submit(
    caller,
    'revokeApiKey',
    { keyId },
    {
      kind: 'task',
      async run(writer) {
        const db = queryBuilder(writer.session);
        const row = await db
          .selectFrom('api_keys')
          .selectAll()
          .where('environment_id', '=', caller.environmentId)
          .where('id', '=', keyId)
          .executeTakeFirst();
        if (row === undefined) {
          return problemReply(caller, 'api_key_not_found', `No API key "${keyId}" in this environment.`);
        }
        // As with minting: a key acts only on keys within its own scopes, so no admin can remove the owner.
        const beyond = row.scopes.split(',').filter((scope) => !scopeAllows(caller.scopes, scope as Scope));
        if (beyond.length > 0) {
          const detail = `This key cannot revoke a key with the \`${beyond.join('`, `')}\` scope: a key revokes only keys its own scopes include.`;
          return problemReply(caller, 'insufficient_scope', detail);
        }
        if (row.revoked_at === null) {
          await db
            .updateTable('api_keys')
            .set({ revoked_at: BigInt(writer.now) })
            .where('environment_id', '=', caller.environmentId)
            .where('id', '=', keyId)
            .execute();
          writer.audits.push(auditOf(caller, 'api_key.revoked', `api_key:${keyId}`, null, toWireApiKey(row), null));
          row.revoked_at = BigInt(writer.now);
        }
        // Its console sessions end with it, in the same transaction.
        await db
          .updateTable('console_sessions')
          .set({ ended_at: BigInt(writer.now) })
          .where('environment_id', '=', caller.environmentId)
          .where('api_key_id', '=', keyId)
          .where('ended_at', 'is', null)
          .execute();
        onRevoked();
        return okReply(200, toWireApiKey(row));
      },
    },
  );
}
