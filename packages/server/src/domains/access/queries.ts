/** Reads of the access domain: environments, API keys, and the audit log with its verification. */

import { verifyAuditChain } from '../../platform/commit/audit-chain.ts';
import type { Caller, Reply } from '../../platform/contract.ts';
import { scopeAllows } from '../../platform/contract.ts';
import { fieldReply, isFieldError, type LedgerService, okReply, problemReply } from '../../platform/service.ts';
import { toTime } from '../../platform/storage/codecs.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';
import type { PageQuery } from '../../platform/storage/paging.ts';
import { bigintColumn, keyset, readPage, textColumn } from '../../platform/storage/paging.ts';
import { toTimestamp } from '../../platform/wire.ts';
import { toWireApiKey, toWireEnvironment } from './operations.ts';

const environmentKeys = keyset('environments', 'asc', textColumn('id'));

/**
 * Environments in the order they were created (ids are time-ordered): every one for an owner, only
 * its own for an admin, so tenants do not learn of each other.
 */
export async function listEnvironments(service: LedgerService, caller: Caller, query: PageQuery): Promise<Reply> {
  const filters = scopeAllows(caller.scopes, 'owner') ? {} : { 'id = ?': caller.environmentId };
  const found = await readPage(service.database.reader, 'environments', environmentKeys, filters, query);
  if (isFieldError(found)) return fieldReply(caller, [found]);
  return okReply(200, { data: found.rows.map(toWireEnvironment), next_cursor: found.nextCursor });
}

const apiKeyKeys = keyset('api_keys', 'desc', textColumn('id'));

/** The environment's API keys, newest first. */
export async function listApiKeys(service: LedgerService, caller: Caller, query: PageQuery): Promise<Reply> {
  const filters = { 'environment_id = ?': caller.environmentId };
  const found = await readPage(service.database.reader, 'api_keys', apiKeyKeys, filters, query);
  if (isFieldError(found)) return fieldReply(caller, [found]);
  return okReply(200, { data: found.rows.map((row) => toWireApiKey(row)), next_cursor: found.nextCursor });
}

/** The calling key itself, so a client (the MCP server) can learn its scopes and environment before it calls. */
export async function getCurrentApiKey(service: LedgerService, caller: Caller): Promise<Reply> {
  const row = await queryBuilder(service.database.reader)
    .selectFrom('api_keys')
    .selectAll()
    .where('environment_id', '=', caller.environmentId)
    .where('id', '=', caller.apiKeyId)
    .executeTakeFirst();
  // Only a key revoked and deleted between authentication and this read; revocation keeps the row.
  if (row === undefined) return problemReply(caller, 'api_key_not_found', 'The calling API key no longer exists.');
  return okReply(200, {
    ...toWireApiKey(row),
    environment: { id: caller.environmentId, name: caller.environmentName },
  });
}

const auditKeys = keyset('audit_events', 'desc', bigintColumn('seq'));

/**
 * An audit event about a customer: the customer itself or one of its wallets is the target, or
 * the object before or after the change names the customer (grants, transactions, holds and
 * subscriptions all carry `customer`).
 */
const aboutCustomer = `(${[
  "target LIKE ('customer:' || CAST(? AS TEXT)) ESCAPE '\\'",
  "target LIKE ('wallet:' || CAST(? AS TEXT) || '/%') ESCAPE '\\'",
  `after LIKE ('%"customer":"' || CAST(? AS TEXT) || '"%') ESCAPE '\\'`,
  `before LIKE ('%"customer":"' || CAST(? AS TEXT) || '"%') ESCAPE '\\'`,
].join(' OR ')})`;

/** The audit log, newest first. */
export async function listAuditEvents(
  service: LedgerService,
  caller: Caller,
  query: PageQuery & {
    action?: string | undefined;
    target?: string | undefined;
    actor?: string | undefined;
    customer?: string | undefined;
    from?: number | undefined;
    to?: number | undefined;
  },
): Promise<Reply> {
  const filters = {
    'environment_id = ?': caller.environmentId,
    'action = ?': query.action,
    'target = ?': query.target,
    'actor = ?': query.actor,
    // A customer key has no quote or backslash, so it stands in the stored JSON as it is; `_` is
    // LIKE's wildcard and is escaped.
    [aboutCustomer]: query.customer?.replaceAll('_', '\\_'),
    'created_at >= ?': query.from === undefined ? undefined : BigInt(query.from),
    'created_at < ?': query.to === undefined ? undefined : BigInt(query.to),
  };
  const found = await readPage(service.database.reader, 'audit_events', auditKeys, filters, query);
  if (isFieldError(found)) return fieldReply(caller, [found]);
  const data = found.rows.map((row) => ({
    id: row.id,
    seq: Number(row.seq),
    action: row.action,
    target: row.target,
    actor: row.actor,
    reason: row.reason,
    before: row.before === null ? null : JSON.parse(row.before),
    after: row.after === null ? null : JSON.parse(row.after),
    request_id: row.request_id,
    created_at: toTimestamp(toTime(row.created_at)),
    prev_hash: row.prev_hash,
    hash: row.hash,
  }));
  return okReply(200, { data, next_cursor: found.nextCursor });
}

export async function verifyAuditLog(service: LedgerService, caller: Caller): Promise<Reply> {
  const result = await verifyAuditChain(service.database.reader, caller.environmentId, service.auditKey);
  return okReply(200, {
    valid: result.valid,
    events_checked: result.eventsChecked,
    first_invalid_seq: result.brokenAtSeq === null ? null : Number(result.brokenAtSeq),
    head_hash: result.headHash,
    problem: result.problem,
  });
}
