/**
 * Read operations, rendered by the same wire functions as writes: wallet state from memory when it
 * is known current (platform/wallet-reads.ts), everything else from the reader connection. Lists read bounded pages by key with opaque cursors (paging.ts).
 */
import type { Wallet } from '@bursar/core';
import { decideCheck, decideSettlement, emptyWallet, formatAmount } from '@bursar/core';
import { customerOfId } from '../../platform/commit/id-owners.ts';
import { grantFromRow } from '../../platform/commit/wallet-store.ts';
import type { Caller, Reply } from '../../platform/contract.ts';
import type { LedgerService } from '../../platform/service.ts';
import { fieldReply, isFieldError, okReply, problemReply } from '../../platform/service.ts';
import { toTime } from '../../platform/storage/codecs.ts';
import type { SqlValue } from '../../platform/storage/database.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';
import type { PageQuery } from '../../platform/storage/paging.ts';
import { childRowsOf, cursorKey, keyset, readPage, textColumn } from '../../platform/storage/paging.ts';
import type { TableRow } from '../../platform/storage/schema.ts';
import type { PricedAmountInput } from '../pricing/index.ts';
import { resolvePricedAmount } from '../pricing/index.ts';
import { toWireAsset, toWireCustomer } from './catalog.ts';
import {
  toWireBalance,
  toWireDraws,
  toWireExplanation,
  toWireGrant,
  toWireHold,
  toWireTransaction,
  transactionFromRows,
} from './wire.ts';

const assetKeys = keyset('assets', 'asc', textColumn('code'));

/** The environment's assets by code. */
export async function listAssets(service: LedgerService, caller: Caller, query: PageQuery): Promise<Reply> {
  const filters = { 'environment_id = ?': caller.environmentId };
  const found = await readPage(service.database.reader, 'assets', assetKeys, filters, query);
  if (isFieldError(found)) return fieldReply(caller, [found]);
  return okReply(200, { data: found.rows.map(toWireAsset), next_cursor: found.nextCursor });
}

export async function getCustomer(service: LedgerService, caller: Caller, customer: string): Promise<Reply> {
  const row = await queryBuilder(service.database.reader)
    .selectFrom('customers')
    .selectAll()
    .where('environment_id', '=', caller.environmentId)
    .where('id', '=', customer)
    .executeTakeFirst();
  return row === undefined
    ? problemReply(caller, 'customer_not_found', `No customer "${customer}" in this environment.`)
    : okReply(200, toWireCustomer(row));
}

const customerKeys = keyset('customers', 'desc', textColumn('id'));

/** The environment's customers by id, last first. */
/**
 * Customers whose id starts with `q` or whose name contains it, ignoring case (ASCII case on
 * SQLite, whose LOWER folds only ASCII); LIKE's wildcards in `q` match themselves.
 */
const customerSearch =
  "(LOWER(id) LIKE (CAST(? AS TEXT) || '%') ESCAPE '\\' OR LOWER(name) LIKE ('%' || CAST(? AS TEXT) || '%') ESCAPE '\\')";

export async function listCustomers(
  service: LedgerService,
  caller: Caller,
  query: PageQuery & { q?: string | undefined },
): Promise<Reply> {
  const filters = {
    'environment_id = ?': caller.environmentId,
    [customerSearch]: query.q === undefined ? undefined : query.q.toLowerCase().replace(/[\\%_]/g, '\\$&'),
  };
  const found = await readPage(service.database.reader, 'customers', customerKeys, filters, query);
  if (isFieldError(found)) return fieldReply(caller, [found]);
  return okReply(200, { data: found.rows.map(toWireCustomer), next_cursor: found.nextCursor });
}

/**
 * The customer's live wallets (one asset, or all), settled at read time: from memory when the
 * cached state is known current (platform/wallet-reads.ts), else from the reader connection.
 */
async function walletsOf(
  service: LedgerService,
  caller: Caller,
  customer: string,
  asset: string | undefined,
): Promise<Wallet[]> {
  const stored =
    asset === undefined
      ? await service.wallets.ofCustomer(caller.environmentId, customer)
      : [await service.wallets.current({ environmentId: caller.environmentId, customer, asset })];
  // Reads see what time already decided (expired holds released, dead grants' credit gone)
  // without waiting for a write or the sweeper to book it.
  const context = { now: service.clock.now(), nextId: () => 'txn_unbooked' };
  return stored.flatMap((wallet) => (wallet === null ? [] : [decideSettlement(wallet, context).wallet]));
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

async function scaleOf(service: LedgerService, caller: Caller, asset: string): Promise<number> {
  const info = await service.asset(caller.environmentId, asset);
  if (info === undefined) throw new Error('assertion failed: rows name existing assets');
  return info.scale;
}

function grantOwner(row: TableRow<'grants'>) {
  return { customer: row.customer_id, asset: row.asset, reason: row.reason, metadata: row.metadata };
}

export async function getGrant(service: LedgerService, caller: Caller, grantId: string): Promise<Reply> {
  const customer = await customerOfId(service.database.reader, caller.environmentId, grantId);
  const row =
    customer === undefined
      ? undefined
      : await queryBuilder(service.database.reader)
          .selectFrom('grants')
          .selectAll()
          .where('environment_id', '=', caller.environmentId)
          .where('customer_id', '=', customer)
          .where('id', '=', grantId)
          .executeTakeFirst();
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

const grantKeys = keyset('grants', 'desc', textColumn('id'));

/** Grants, newest first; `status` is decided against the clock, as a read of one grant is. */
export async function listGrants(
  service: LedgerService,
  caller: Caller,
  query: PageQuery & { customer?: string | undefined; asset?: string | undefined; status?: string | undefined },
): Promise<Reply> {
  const now = service.clock.now();
  const filters: Record<string, SqlValue | undefined> = {
    'environment_id = ?': caller.environmentId,
    'customer_id = ?': query.customer,
    'asset = ?': query.asset,
  };
  if (query.status !== undefined) filters[grantStatusFilters[query.status] ?? '1 = 0'] = BigInt(now);
  const found = await readPage(service.database.reader, 'grants', grantKeys, filters, query);
  if (isFieldError(found)) return fieldReply(caller, [found]);
  const data = [];
  for (const row of found.rows)
    data.push(toWireGrant(grantFromRow(row), grantOwner(row), await scaleOf(service, caller, row.asset), now));
  return okReply(200, { data, next_cursor: found.nextCursor });
}

export async function getHold(service: LedgerService, caller: Caller, holdId: string): Promise<Reply> {
  const reader = queryBuilder(service.database.reader);
  const customer = await customerOfId(service.database.reader, caller.environmentId, holdId);
  const row =
    customer === undefined
      ? undefined
      : await reader
          .selectFrom('holds')
          .selectAll()
          .where('environment_id', '=', caller.environmentId)
          .where('customer_id', '=', customer)
          .where('id', '=', holdId)
          .executeTakeFirst();
  if (row === undefined) return problemReply(caller, 'hold_not_found', `No hold "${holdId}" in this environment.`);
  const reservations = await reader
    .selectFrom('hold_reservations')
    .select(['grant_id', 'amount'])
    .where('environment_id', '=', caller.environmentId)
    .where('customer_id', '=', row.customer_id)
    .where('hold_id', '=', holdId)
    .orderBy('position')
    .execute();
  return okReply(200, await renderHold(service, caller, row, reservations, service.clock.now()));
}

/** A hold's status against the clock: an open hold past its expiry has ended, booked or not. */
const holdStatusFilters: Record<string, string> = {
  open: "status = 'open' AND expires_at > ?",
  expired: "(status = 'expired' OR (status = 'open' AND expires_at <= ?))",
  // Without a `?`: set by the clock's value like the others, but not bound.
  captured: "status = 'captured'",
  released: "status = 'released'",
};

const holdKeys = keyset('holds', 'desc', textColumn('id'));

/** Holds, newest first, each with the grants it reserves; `status` is decided against the clock, as getHold's is. */
export async function listHolds(
  service: LedgerService,
  caller: Caller,
  query: PageQuery & { customer?: string | undefined; asset?: string | undefined; status?: string | undefined },
): Promise<Reply> {
  const now = service.clock.now();
  const filters: Record<string, SqlValue | undefined> = {
    'environment_id = ?': caller.environmentId,
    'customer_id = ?': query.customer,
    'asset = ?': query.asset,
  };
  if (query.status !== undefined) filters[holdStatusFilters[query.status] ?? '1 = 0'] = BigInt(now);
  const found = await readPage(service.database.reader, 'holds', holdKeys, filters, query);
  if (isFieldError(found)) return fieldReply(caller, [found]);
  const reservations = await childRowsOf(
    service.database.reader,
    'hold_reservations',
    'hold_id',
    caller.environmentId,
    found.rows.map((row) => row.id),
    'position',
  );
  const data = [];
  for (const row of found.rows) data.push(await renderHold(service, caller, row, reservations.get(row.id) ?? [], now));
  return okReply(200, { data, next_cursor: found.nextCursor });
}

async function renderHold(
  service: LedgerService,
  caller: Caller,
  row: TableRow<'holds'>,
  reservations: readonly Pick<TableRow<'hold_reservations'>, 'grant_id' | 'amount'>[],
  now: number,
) {
  const expiresAt = toTime(row.expires_at);
  // An open hold past its expiry has ended, whether or not the sweeper booked it yet.
  const status = row.status === 'open' && now >= expiresAt ? 'expired' : row.status;
  const hold = {
    id: row.id,
    amount: row.amount,
    reservations: reservations.map((reservation) => ({ grantId: reservation.grant_id, amount: reservation.amount })),
    feature: row.feature,
    expiresAt,
    createdAt: toTime(row.created_at),
  };
  const endedAt = row.ended_at === null ? (status === 'expired' ? expiresAt : null) : toTime(row.ended_at);
  return toWireHold(
    hold,
    { customer: row.customer_id, asset: row.asset, status, captured: row.captured, endedAt, metadata: row.metadata },
    await scaleOf(service, caller, row.asset),
  );
}

/** Transactions with their entries, read with one statement for all of them. */
async function renderTransactions(service: LedgerService, caller: Caller, rows: readonly TableRow<'transactions'>[]) {
  const entries = await childRowsOf(
    service.database.reader,
    'entries',
    'transaction_id',
    caller.environmentId,
    rows.map((row) => ({ customer: row.customer_id, id: row.id })),
    'position',
  );
  const rendered = [];
  for (const row of rows) {
    rendered.push(
      toWireTransaction(
        transactionFromRows(row, entries.get(row.id) ?? []),
        row.metadata,
        await scaleOf(service, caller, row.asset),
      ),
    );
  }
  return rendered;
}

export async function getTransaction(service: LedgerService, caller: Caller, transactionId: string): Promise<Reply> {
  const customer = await customerOfId(service.database.reader, caller.environmentId, transactionId);
  const row =
    customer === undefined
      ? undefined
      : await queryBuilder(service.database.reader)
          .selectFrom('transactions')
          .selectAll()
          .where('environment_id', '=', caller.environmentId)
          .where('customer_id', '=', customer)
          .where('id', '=', transactionId)
          .executeTakeFirst();
  if (row === undefined)
    return problemReply(caller, 'transaction_not_found', `No transaction "${transactionId}" in this environment.`);
  const [rendered] = await renderTransactions(service, caller, [row]);
  return okReply(200, rendered);
}

const transactionKeys = keyset('transactions', 'desc', textColumn('id'));

/** Ledger transactions with their entries, newest first. */
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
  // No index maps grants to entries (every debit would write to it at a random place); a grant
  // filter instead walks its customer's transactions, which are indexed, and checks their entries.
  let customer = query.customer;
  if (query.grant !== undefined) {
    const owner = await customerOfId(service.database.reader, caller.environmentId, query.grant);
    const grant =
      owner === undefined
        ? undefined
        : await queryBuilder(service.database.reader)
            .selectFrom('grants')
            .select('customer_id')
            .where('environment_id', '=', caller.environmentId)
            .where('customer_id', '=', owner)
            .where('id', '=', query.grant)
            .executeTakeFirst();
    if (grant === undefined || (customer !== undefined && customer !== grant.customer_id)) {
      const checked = cursorKey(transactionKeys, query.cursor);
      if (isFieldError(checked)) return fieldReply(caller, [checked]);
      return okReply(200, { data: [], next_cursor: null });
    }
    customer = grant.customer_id;
  }
  const filters = {
    'environment_id = ?': caller.environmentId,
    'customer_id = ?': customer,
    'asset = ?': query.asset,
    'kind = ?': query.kind,
    'hold_id = ?': query.hold,
    '(grant_id = ? OR EXISTS (SELECT 1 FROM entries e WHERE e.environment_id = transactions.environment_id AND e.customer_id = transactions.customer_id AND e.transaction_id = transactions.id AND e.grant_id = ?))':
      query.grant,
    'created_at > ?': query.created_after === undefined ? undefined : BigInt(query.created_after),
    'created_at < ?': query.created_before === undefined ? undefined : BigInt(query.created_before),
  };
  const found = await readPage(service.database.reader, 'transactions', transactionKeys, filters, query);
  if (isFieldError(found)) return fieldReply(caller, [found]);
  return okReply(200, {
    data: await renderTransactions(service, caller, found.rows),
    next_cursor: found.nextCursor,
  });
}
