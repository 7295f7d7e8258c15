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
import type { SqlRow } from '../../platform/storage/database.ts';
import { toTimestamp } from '../../platform/wire.ts';
import { describeApiKey, generateApiKey } from './api-keys.ts';

/**
 * An API key as listed; `key` adds the secret, which only the reply that created the key shows,
 * or null for the stored replay of that reply, which says the secret was shown once.
 */
export function toWireApiKey(row: SqlRow, key?: string | null) {
  return {
    id: String(row.id),
    name: String(row.name),
    scopes: String(row.scopes).split(','),
    prefix: String(row.prefix),
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
  const row: SqlRow = {
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

export function toWireEnvironment(row: SqlRow) {
  return { id: String(row.id), name: String(row.name), created_at: toTimestamp(toTime(row.created_at)) };
}

export async function createEnvironment(
  service: LedgerService,
  caller: Caller,
  input: { name: string },
): Promise<Reply> {
  return service.submit(caller, 'createEnvironment', input, {
    kind: 'task',
    async run(writer) {
      const row: SqlRow = {
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
      const admin = apiKeyRow(String(row.id), input.name, 'admin', ['admin'], writer.now);
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
        const [row] = await writer.session.all('SELECT * FROM api_keys WHERE environment_id = ? AND id = ?', [
          caller.environmentId,
          keyId,
        ]);
        if (row === undefined) {
          return problemReply(caller, 'api_key_not_found', `No API key "${keyId}" in this environment.`);
        }
        // As with minting: a key acts only on keys within its own scopes, so no admin can remove the owner.
        const beyond = String(row.scopes)
          .split(',')
          .filter((scope) => !scopeAllows(caller.scopes, scope as Scope));
        if (beyond.length > 0) {
          const detail = `This key cannot revoke a key with the \`${beyond.join('`, `')}\` scope: a key revokes only keys its own scopes include.`;
          return problemReply(caller, 'insufficient_scope', detail);
        }
        if (row.revoked_at === null) {
          await writer.session.run('UPDATE api_keys SET revoked_at = ? WHERE environment_id = ? AND id = ?', [
            BigInt(writer.now),
            caller.environmentId,
            keyId,
          ]);
          writer.audits.push(auditOf(caller, 'api_key.revoked', `api_key:${keyId}`, null, toWireApiKey(row), null));
          row.revoked_at = BigInt(writer.now);
        }
        onRevoked();
        return okReply(200, toWireApiKey(row));
      },
    },
  );
}
