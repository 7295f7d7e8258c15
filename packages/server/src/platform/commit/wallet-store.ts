/**
 * Loading and locking wallets inside a write transaction, and mapping rows to the core's
 * Wallet, Grant and Hold values. Wallet rows are locked in key order so concurrent writers on
 * PostgreSQL never deadlock; on SQLite the transaction already holds the write lock.
 */
import type { Grant, GrantCategory, Hold, OrderKey, Reservation, Wallet, WalletPolicy } from '@bursar/core';
import { defaultWalletPolicy } from '@bursar/core';
import { toDecimal, toTime } from '../storage/codecs.ts';
import type { SqlRow, SqlSession } from '../storage/database.ts';
import { preparedQuery } from '../storage/kysely.ts';
import type { TableRow } from '../storage/schema.ts';
import { topUpStateFromRow } from './top-up-rows.ts';
import type { WalletKey } from './wallet-key.ts';
import { walletKeyText } from './wallet-key.ts';

function defaultWalletRow(key: WalletKey, now: number): SqlRow {
  return {
    environment_id: key.environmentId,
    customer_id: key.customer,
    asset: key.asset,
    overdraft_limit: 0n,
    consumption_order: defaultWalletPolicy.consumptionOrder.join(','),
    repay_debt_first: 1n,
    low_balance_threshold: null,
    debt: 0n,
    debt_reserved: 0n,
    balance: 0n,
    version: 0n,
    created_at: BigInt(now),
  };
}

type WalletRow = TableRow<'wallets'>;

const walletKeyColumns = ['environment_id', 'customer_id', 'asset'] as const;

/**
 * Creates missing wallet rows, then locks all of them; returns each wallet's stored version by key
 * text, and how many were new. Only the key and the version are read: a cached wallet needs no more,
 * and building whole rows was a tenth of a debit batch on SQLite (docs/performance.md).
 */
export async function lockWallets(
  session: SqlSession,
  keys: readonly WalletKey[],
  create: readonly WalletKey[],
  now: number,
): Promise<{ versions: Map<string, bigint>; created: number }> {
  const inserted = await session.insertMany(
    'wallets',
    create.map((key) => defaultWalletRow(key, now)),
    { onConflictDoNothing: true },
  );
  const rows = (await session.selectByKeys(
    'wallets',
    walletKeyColumns,
    keys.map((key) => [key.environmentId, key.customer, key.asset]),
    { lock: true, columns: [...walletKeyColumns, 'version'] },
  )) as Pick<WalletRow, (typeof walletKeyColumns)[number] | 'version'>[];
  return {
    versions: new Map(rows.map((row) => [walletKeyText(keyOfRow(row)), row.version])),
    created: inserted.length,
  };
}

/** The whole rows of wallets already locked (the ones not cached at their stored version), by key text. */
export async function walletRowsOf(session: SqlSession, keys: readonly WalletKey[]): Promise<Map<string, WalletRow>> {
  // Whole rows of one table: the drivers type them as the schema does.
  const rows = (await session.selectByKeys(
    'wallets',
    walletKeyColumns,
    keys.map((key) => [key.environmentId, key.customer, key.asset]),
  )) as WalletRow[];
  return new Map(rows.map((row) => [walletKeyText(keyOfRow(row)), row]));
}

function keyOfRow(row: Pick<WalletRow, (typeof walletKeyColumns)[number]>): WalletKey {
  return { environmentId: row.environment_id, customer: row.customer_id, asset: row.asset };
}

type WalletArgs = { environmentId: string; customer: string; asset: string };

// Prepared once: a wallet is loaded on every cache miss of the debit path.
const liveGrantsOf = preparedQuery((db, wallet: WalletArgs) =>
  db
    .selectFrom('grants')
    .selectAll()
    .where('environment_id', '=', wallet.environmentId)
    .where('customer_id', '=', wallet.customer)
    .where('asset', '=', wallet.asset)
    .where('remaining', '>', 0n)
    .orderBy('created_at')
    .orderBy('id'),
);

const openHoldsOf = preparedQuery((db, wallet: WalletArgs) =>
  db
    .selectFrom('holds')
    .selectAll()
    .where('environment_id', '=', wallet.environmentId)
    .where('customer_id', '=', wallet.customer)
    .where('asset', '=', wallet.asset)
    .where('status', '=', 'open')
    .orderBy('created_at')
    .orderBy('id'),
);

export async function loadWallet(session: SqlSession, row: WalletRow): Promise<Wallet> {
  const key = keyOfRow(row);
  const grantRows = await liveGrantsOf(session, key);
  const holdRows = await openHoldsOf(session, key);
  // By the open holds' keys: a join from the wallet's holds let SQLite walk every reservation of the
  // environment in key order instead (9.7 ms for a wallet of 5 holds beside one of 3,000).
  const reservationRows = (await session.selectByKeys(
    'hold_reservations',
    ['environment_id', 'customer_id', 'hold_id'],
    holdRows.map((hold) => [key.environmentId, key.customer, hold.id]),
  )) as TableRow<'hold_reservations'>[];
  reservationRows.sort((a, b) =>
    a.hold_id < b.hold_id ? -1 : a.hold_id > b.hold_id ? 1 : Number(a.position - b.position),
  );
  const reservations = new Map<string, Reservation[]>();
  for (const reservation of reservationRows) {
    const list = reservations.get(reservation.hold_id) ?? [];
    list.push({ grantId: reservation.grant_id, amount: reservation.amount });
    reservations.set(reservation.hold_id, list);
  }
  const topUp = topUpStateFromRow(row);
  return {
    ...(topUp === undefined ? {} : { topUp }),
    customer: key.customer,
    asset: key.asset,
    policy: policyFromRow(row),
    debt: row.debt,
    debtReserved: row.debt_reserved,
    grants: grantRows.map(grantFromRow),
    holds: holdRows.map((hold) => holdFromRow(hold, reservations.get(hold.id) ?? [])),
  };
}

function policyFromRow(row: WalletRow): WalletPolicy {
  return {
    overdraftLimit: row.overdraft_limit,
    consumptionOrder: row.consumption_order.split(',') as OrderKey[],
    repayDebtFirst: row.repay_debt_first === 1n,
    lowBalanceThreshold: row.low_balance_threshold,
  };
}

export function grantFromRow(row: TableRow<'grants'>): Grant {
  return {
    id: row.id,
    amount: row.amount,
    remaining: row.remaining,
    reserved: row.reserved,
    category: row.category as GrantCategory,
    priority: toTime(row.priority),
    effectiveAt: toTime(row.effective_at),
    expiresAt: row.expires_at === null ? null : toTime(row.expires_at),
    features: row.features === null ? null : (JSON.parse(row.features) as string[]),
    costBasis:
      row.cost_currency === null || row.cost_total === null
        ? null
        : { currency: row.cost_currency, total: toDecimal(row.cost_total) },
    createdAt: toTime(row.created_at),
    voidedAt: row.voided_at === null ? null : toTime(row.voided_at),
    ...rolloverFromText(row.rollover),
  };
}

function rolloverFromText(text: string | null): Pick<Grant, 'rollover'> {
  if (text === null) return {};
  const stored = JSON.parse(text) as { amount_max: string | null; expires_at: number | null };
  return {
    rollover: {
      amountMax: stored.amount_max === null ? null : BigInt(stored.amount_max),
      expiresAt: stored.expires_at,
    },
  };
}

export function rolloverToText(grant: Grant): string | null {
  if (grant.rollover === undefined) return null;
  return JSON.stringify({
    amount_max: grant.rollover.amountMax === null ? null : grant.rollover.amountMax.toString(),
    expires_at: grant.rollover.expiresAt,
  });
}

function holdFromRow(row: TableRow<'holds'>, reservations: Reservation[]): Hold {
  return {
    id: row.id,
    amount: row.amount,
    reservations,
    feature: row.feature,
    expiresAt: toTime(row.expires_at),
    createdAt: toTime(row.created_at),
  };
}
