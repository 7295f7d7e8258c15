/**
 * Read operations: straight from the database (any process may have written), rendered by the
 * same wire functions as writes. Lists are newest first with opaque cursors and bounded pages.
 */
import type { Wallet } from '@bursar/core';
import { decideCheck, decideSettlement, emptyWallet, formatAmount } from '@bursar/core';
import type { SqlRow, SqlValue } from '../storage/database.ts';
import { toWireApiKey, toWireAsset, toWireCustomer, toWireEnvironment } from './admin-operations.ts';
import { verifyAuditChain } from './audit.ts';
import type { Caller, Reply } from './contract.ts';
import type { PricedAmountInput } from './priced-amount.ts';
import { resolvePricedAmount } from './priced-amount.ts';
import type { LedgerService } from './service.ts';
import { okReply, problemReply } from './service.ts';
import { grantFromRow, loadWallet, toBigint, toTime } from './wallet-store.ts';
import {
  nullableText,
  toTimestamp,
  toWireBalance,
  toWireDraws,
  toWireExplanation,
  toWireGrant,
  toWireHold,
  toWireTransaction,
  transactionFromRows,
} from './wire.ts';

export interface PageQuery {
  cursor?: string | undefined;
  limit?: number | undefined;
}

export function decodeCursor(cursor: string | undefined): string | null {
  return cursor === undefined ? null : Buffer.from(cursor, 'base64url').toString('utf8');
}

export function page<T>(rows: readonly SqlRow[], limit: number, render: (row: SqlRow) => T, cursorColumn = 'id') {
  const data = rows.slice(0, limit).map(render);
  const last = rows[limit - 1];
  const nextCursor =
    rows.length > limit && last !== undefined
      ? Buffer.from(String(last[cursorColumn]), 'utf8').toString('base64url')
      : null;
  return { data, next_cursor: nextCursor };
}

/** Builds `WHERE environment_id = ? AND …` from the filters that are set. */
function where(
  environmentId: string,
  filters: Record<string, SqlValue | undefined>,
  cursor: string | null,
  cursorColumn = 'id',
) {
  const clauses = ['environment_id = ?'];
  const params: SqlValue[] = [environmentId];
  for (const [clause, value] of Object.entries(filters)) {
    if (value === undefined) continue;
    clauses.push(clause);
    for (const _ of clause.matchAll(/\?/g)) params.push(value); // the value fills every `?` of its clause
  }
  if (cursor !== null) {
    clauses.push(`${cursorColumn} < ?`);
    params.push(cursorColumn === 'seq' ? BigInt(cursor) : cursor);
  }
  return { sql: clauses.join(' AND '), params };
}

export async function listEnvironments(service: LedgerService): Promise<Reply> {
  const rows = await service.database.reader.all('SELECT * FROM environments ORDER BY created_at, id');
  return okReply(200, { data: rows.map(toWireEnvironment), next_cursor: null });
}

export async function listApiKeys(service: LedgerService, caller: Caller, query: PageQuery): Promise<Reply> {
  const limit = query.limit ?? 50;
  const filter = where(caller.environmentId, {}, decodeCursor(query.cursor));
  const rows = await service.database.reader.all(
    `SELECT * FROM api_keys WHERE ${filter.sql} ORDER BY id DESC LIMIT ?`,
    [...filter.params, limit + 1],
  );
  return okReply(
    200,
    page(rows, limit, (row) => toWireApiKey(row)),
  );
}

export async function listAssets(service: LedgerService, caller: Caller): Promise<Reply> {
  const rows = await service.database.reader.all('SELECT * FROM assets WHERE environment_id = ? ORDER BY code', [
    caller.environmentId,
  ]);
  return okReply(200, { data: rows.map(toWireAsset), next_cursor: null });
}

export async function getCustomer(service: LedgerService, caller: Caller, customer: string): Promise<Reply> {
  const [row] = await service.database.reader.all('SELECT * FROM customers WHERE environment_id = ? AND id = ?', [
    caller.environmentId,
    customer,
  ]);
  return row === undefined
    ? problemReply(caller, 'customer_not_found', `No customer "${customer}" in this environment.`)
    : okReply(200, toWireCustomer(row));
}

export async function listCustomers(service: LedgerService, caller: Caller, query: PageQuery): Promise<Reply> {
  const limit = query.limit ?? 50;
  const filter = where(caller.environmentId, {}, decodeCursor(query.cursor));
  const rows = await service.database.reader.all(
    `SELECT * FROM customers WHERE ${filter.sql} ORDER BY id DESC LIMIT ?`,
    [...filter.params, limit + 1],
  );
  return okReply(200, page(rows, limit, toWireCustomer));
}

async function walletsOf(
  service: LedgerService,
  caller: Caller,
  customer: string,
  asset: string | undefined,
): Promise<Wallet[]> {
  const rows = await service.database.reader.all(
    `SELECT * FROM wallets WHERE environment_id = ? AND customer_id = ?${asset === undefined ? '' : ' AND asset = ?'} ORDER BY asset`,
    asset === undefined ? [caller.environmentId, customer] : [caller.environmentId, customer, asset],
  );
  const now = service.clock.now();
  // Reads see what time already decided (expired holds released, dead grants' credit gone)
  // without waiting for a write or the sweeper to book it.
  const context = { now, nextId: () => 'txn_unbooked' };
  return Promise.all(
    rows.map(async (row) => decideSettlement(await loadWallet(service.database.reader, row), context).wallet),
  );
}

export async function getBalances(
  service: LedgerService,
  caller: Caller,
  customer: string,
  query: { asset?: string | undefined; feature?: string | undefined },
): Promise<Reply> {
  if (!(await service.customerExists(caller.environmentId, customer)))
    return problemReply(caller, 'customer_not_found', `No customer "${customer}" in this environment.`);
  if (query.asset !== undefined && (await service.asset(caller.environmentId, query.asset)) === undefined) {
    return problemReply(caller, 'asset_not_found', `No asset "${query.asset}" in this environment.`);
  }
  const now = service.clock.now();
  const balances = [];
  for (const wallet of await walletsOf(service, caller, customer, query.asset)) {
    const asset = await service.asset(caller.environmentId, wallet.asset);
    if (asset !== undefined) balances.push(toWireBalance(wallet, asset.scale, now, query.feature ?? null));
  }
  return okReply(200, { customer, balances });
}

export async function checkDebit(service: LedgerService, caller: Caller, input: PricedAmountInput): Promise<Reply> {
  const target = await resolvePricedAmount(service, caller, input);
  if ('bodyText' in target) return target;
  const { amount } = target;
  const now = service.clock.now();
  const [wallet] = await walletsOf(service, caller, input.customer, target.asset.code);
  const state = wallet ?? emptyWallet(input.customer, target.asset.code);
  const check = decideCheck(state, { amount, feature: input.feature ?? null }, now);
  const scale = target.asset.scale;
  return okReply(200, {
    allowed: check.allowed,
    asset: target.asset.code,
    amount: formatAmount(amount, scale),
    available: formatAmount(check.available, scale),
    shortfall: formatAmount(check.shortfall, scale),
    draws: toWireDraws(check.draws, scale),
    explanation: toWireExplanation(check.explanation),
    consumption_order: state.policy.consumptionOrder,
    balance: toWireBalance(state, scale, now, input.feature ?? null),
  });
}

async function scaleOf(service: LedgerService, caller: Caller, asset: unknown): Promise<number> {
  const info = await service.asset(caller.environmentId, String(asset));
  if (info === undefined) throw new Error('assertion failed: rows name existing assets');
  return info.scale;
}

function grantOwner(row: SqlRow) {
  return {
    customer: String(row.customer_id),
    asset: String(row.asset),
    reason: nullableText(row.reason),
    metadata: nullableText(row.metadata),
  };
}

export async function getGrant(service: LedgerService, caller: Caller, grantId: string): Promise<Reply> {
  const [row] = await service.database.reader.all('SELECT * FROM grants WHERE environment_id = ? AND id = ?', [
    caller.environmentId,
    grantId,
  ]);
  if (row === undefined) return problemReply(caller, 'grant_not_found', `No grant "${grantId}" in this environment.`);
  return okReply(
    200,
    toWireGrant(grantFromRow(row), grantOwner(row), await scaleOf(service, caller, row.asset), service.clock.now()),
  );
}

const grantStatusFilters: Record<string, string> = {
  voided: 'voided_at IS NOT NULL',
  expired: 'voided_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ?',
  scheduled: 'voided_at IS NULL AND effective_at > ? AND (expires_at IS NULL OR expires_at > effective_at)',
  depleted: 'voided_at IS NULL AND remaining = 0 AND (expires_at IS NULL OR expires_at > ?)',
  active: 'voided_at IS NULL AND remaining > 0 AND effective_at <= ? AND (expires_at IS NULL OR expires_at > ?)',
};

export async function listGrants(
  service: LedgerService,
  caller: Caller,
  query: PageQuery & { customer?: string | undefined; asset?: string | undefined; status?: string | undefined },
): Promise<Reply> {
  const limit = query.limit ?? 50;
  const now = BigInt(service.clock.now());
  const filters: Record<string, SqlValue | undefined> = { 'customer_id = ?': query.customer, 'asset = ?': query.asset };
  const filter = where(caller.environmentId, filters, decodeCursor(query.cursor));
  let sql = filter.sql;
  const params = [...filter.params];
  if (query.status !== undefined) {
    const clause = grantStatusFilters[query.status] ?? '1 = 0';
    sql += ` AND ${clause}`;
    params.push(...Array.from(clause.matchAll(/\?/g), () => now));
  }
  const rows = await service.database.reader.all(`SELECT * FROM grants WHERE ${sql} ORDER BY id DESC LIMIT ?`, [
    ...params,
    limit + 1,
  ]);
  const data = [];
  for (const row of rows.slice(0, limit))
    data.push(toWireGrant(grantFromRow(row), grantOwner(row), await scaleOf(service, caller, row.asset), Number(now)));
  return okReply(200, { data, next_cursor: page(rows, limit, (row) => row).next_cursor });
}

export async function getHold(service: LedgerService, caller: Caller, holdId: string): Promise<Reply> {
  const [row] = await service.database.reader.all('SELECT * FROM holds WHERE environment_id = ? AND id = ?', [
    caller.environmentId,
    holdId,
  ]);
  if (row === undefined) return problemReply(caller, 'hold_not_found', `No hold "${holdId}" in this environment.`);
  const reservations = await service.database.reader.all(
    'SELECT * FROM hold_reservations WHERE environment_id = ? AND hold_id = ? ORDER BY position',
    [caller.environmentId, holdId],
  );
  const now = service.clock.now();
  const expiresAt = toTime(row.expires_at);
  // An open hold past its expiry has ended, whether or not the sweeper booked it yet.
  const status = row.status === 'open' && now >= expiresAt ? 'expired' : String(row.status);
  const hold = {
    id: holdId,
    amount: toBigint(row.amount),
    reservations: reservations.map((reservation) => ({
      grantId: nullableText(reservation.grant_id),
      amount: toBigint(reservation.amount),
    })),
    feature: nullableText(row.feature),
    expiresAt,
    createdAt: toTime(row.created_at),
  };
  const endedAt = row.ended_at === null ? (status === 'expired' ? expiresAt : null) : toTime(row.ended_at);
  return okReply(
    200,
    toWireHold(
      hold,
      {
        customer: String(row.customer_id),
        asset: String(row.asset),
        status,
        captured: toBigint(row.captured),
        endedAt,
        metadata: nullableText(row.metadata),
      },
      await scaleOf(service, caller, row.asset),
    ),
  );
}

async function renderTransactions(service: LedgerService, caller: Caller, rows: readonly SqlRow[]) {
  const rendered = [];
  for (const row of rows) {
    const entries = await service.database.reader.all(
      'SELECT * FROM entries WHERE environment_id = ? AND transaction_id = ? ORDER BY position',
      [caller.environmentId, row.id ?? null],
    );
    rendered.push(
      toWireTransaction(
        transactionFromRows(row, entries),
        nullableText(row.metadata),
        await scaleOf(service, caller, row.asset),
      ),
    );
  }
  return rendered;
}

export async function getTransaction(service: LedgerService, caller: Caller, transactionId: string): Promise<Reply> {
  const [row] = await service.database.reader.all('SELECT * FROM transactions WHERE environment_id = ? AND id = ?', [
    caller.environmentId,
    transactionId,
  ]);
  if (row === undefined)
    return problemReply(caller, 'transaction_not_found', `No transaction "${transactionId}" in this environment.`);
  const [rendered] = await renderTransactions(service, caller, [row]);
  return okReply(200, rendered);
}

export async function listTransactions(
  service: LedgerService,
  caller: Caller,
  query: PageQuery & {
    customer?: string | undefined;
    asset?: string | undefined;
    kind?: string | undefined;
    hold?: string | undefined;
    grant?: string | undefined;
    created_after?: number | undefined;
    created_before?: number | undefined;
  },
): Promise<Reply> {
  const limit = query.limit ?? 50;
  // No index maps grants to entries (every debit would write to it at a random place); a grant
  // filter instead walks its customer's transactions, which are indexed, and checks their entries.
  let customer = query.customer;
  if (query.grant !== undefined) {
    const [grant] = await service.database.reader.all(
      'SELECT customer_id FROM grants WHERE environment_id = ? AND id = ?',
      [caller.environmentId, query.grant],
    );
    if (grant === undefined || (customer !== undefined && customer !== grant.customer_id)) {
      return okReply(200, { data: [], next_cursor: null });
    }
    customer = String(grant.customer_id);
  }
  const filter = where(
    caller.environmentId,
    {
      'customer_id = ?': customer,
      'asset = ?': query.asset,
      'kind = ?': query.kind,
      'hold_id = ?': query.hold,
      '(grant_id = ? OR EXISTS (SELECT 1 FROM entries e WHERE e.environment_id = transactions.environment_id AND e.transaction_id = transactions.id AND e.grant_id = ?))':
        query.grant,
      'created_at > ?': query.created_after === undefined ? undefined : BigInt(query.created_after),
      'created_at < ?': query.created_before === undefined ? undefined : BigInt(query.created_before),
    },
    decodeCursor(query.cursor),
  );
  const rows = await service.database.reader.all(
    `SELECT * FROM transactions WHERE ${filter.sql} ORDER BY id DESC LIMIT ?`,
    [...filter.params, limit + 1],
  );
  return okReply(200, {
    data: await renderTransactions(service, caller, rows.slice(0, limit)),
    next_cursor: page(rows, limit, (row) => row).next_cursor,
  });
}

export async function listAuditEvents(
  service: LedgerService,
  caller: Caller,
  query: PageQuery & { action?: string | undefined; target?: string | undefined },
): Promise<Reply> {
  const limit = query.limit ?? 50;
  const filter = where(
    caller.environmentId,
    { 'action = ?': query.action, 'target = ?': query.target },
    decodeCursor(query.cursor),
    'seq',
  );
  const rows = await service.database.reader.all(
    `SELECT * FROM audit_events WHERE ${filter.sql} ORDER BY seq DESC LIMIT ?`,
    [...filter.params, limit + 1],
  );
  return okReply(
    200,
    page(
      rows,
      limit,
      (row) => ({
        id: String(row.id),
        seq: Number(row.seq),
        action: String(row.action),
        target: String(row.target),
        actor: String(row.actor),
        reason: nullableText(row.reason),
        before: row.before === null ? null : JSON.parse(String(row.before)),
        after: row.after === null ? null : JSON.parse(String(row.after)),
        request_id: nullableText(row.request_id),
        created_at: toTimestamp(toTime(row.created_at)),
        prev_hash: String(row.prev_hash),
        hash: String(row.hash),
      }),
      'seq',
    ),
  );
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
