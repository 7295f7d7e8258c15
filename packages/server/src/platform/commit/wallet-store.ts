/**
 * Loading and locking wallets inside a write transaction, and mapping rows to the core's
 * Wallet, Grant and Hold values. Wallet rows are locked in key order so concurrent writers on
 * PostgreSQL never deadlock; on SQLite the transaction already holds the write lock.
 */
import type { Grant, GrantCategory, Hold, OrderKey, Reservation, Wallet, WalletPolicy } from '@bursar/core';
import { defaultWalletPolicy } from '@bursar/core';
import { toBigint, toDecimal, toTime } from '../storage/codecs.ts';
import type { SqlRow, SqlSession } from '../storage/database.ts';
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

/** Creates missing wallet rows, then locks all of them; returns each wallet's row by key text. */
export async function lockWallets(
  session: SqlSession,
  keys: readonly WalletKey[],
  create: readonly WalletKey[],
  now: number,
): Promise<Map<string, SqlRow>> {
  await session.insertMany(
    'wallets',
    create.map((key) => defaultWalletRow(key, now)),
    { onConflictDoNothing: true },
  );
  const rows = await session.selectByKeys(
    'wallets',
    ['environment_id', 'customer_id', 'asset'],
    keys.map((key) => [key.environmentId, key.customer, key.asset]),
    { lock: true },
  );
  return new Map(rows.map((row) => [walletKeyText(keyOfRow(row)), row]));
}

function keyOfRow(row: SqlRow): WalletKey {
  return { environmentId: String(row.environment_id), customer: String(row.customer_id), asset: String(row.asset) };
}

export async function loadWallet(session: SqlSession, row: SqlRow): Promise<Wallet> {
  const key = keyOfRow(row);
  const params = [key.environmentId, key.customer, key.asset];
  const grantRows = await session.all(
    'SELECT * FROM grants WHERE environment_id = ? AND customer_id = ? AND asset = ? AND remaining > 0 ORDER BY created_at, id',
    params,
  );
  const holdRows = await session.all(
    "SELECT * FROM holds WHERE environment_id = ? AND customer_id = ? AND asset = ? AND status = 'open' ORDER BY created_at, id",
    params,
  );
  const reservationRows =
    holdRows.length === 0
      ? []
      : await session.all(
          `SELECT r.hold_id, r.grant_id, r.amount FROM hold_reservations r JOIN holds h
             ON h.environment_id = r.environment_id AND h.id = r.hold_id
           WHERE h.environment_id = ? AND h.customer_id = ? AND h.asset = ? AND h.status = 'open'
           ORDER BY r.hold_id, r.position`,
          params,
        );
  const reservations = new Map<string, Reservation[]>();
  for (const reservation of reservationRows) {
    const list = reservations.get(String(reservation.hold_id)) ?? [];
    list.push({
      grantId: reservation.grant_id === null ? null : String(reservation.grant_id),
      amount: toBigint(reservation.amount),
    });
    reservations.set(String(reservation.hold_id), list);
  }
  const topUp = topUpStateFromRow(row);
  return {
    ...(topUp === undefined ? {} : { topUp }),
    customer: key.customer,
    asset: key.asset,
    policy: policyFromRow(row),
    debt: toBigint(row.debt),
    debtReserved: toBigint(row.debt_reserved),
    grants: grantRows.map(grantFromRow),
    holds: holdRows.map((hold) => holdFromRow(hold, reservations.get(String(hold.id)) ?? [])),
  };
}

function policyFromRow(row: SqlRow): WalletPolicy {
  return {
    overdraftLimit: toBigint(row.overdraft_limit),
    consumptionOrder: String(row.consumption_order).split(',') as OrderKey[],
    repayDebtFirst: toBigint(row.repay_debt_first) === 1n,
    lowBalanceThreshold:
      row.low_balance_threshold === null || row.low_balance_threshold === undefined
        ? null
        : toBigint(row.low_balance_threshold),
  };
}

export function grantFromRow(row: SqlRow): Grant {
  return {
    id: String(row.id),
    amount: toBigint(row.amount),
    remaining: toBigint(row.remaining),
    reserved: toBigint(row.reserved),
    category: String(row.category) as GrantCategory,
    priority: toTime(row.priority),
    effectiveAt: toTime(row.effective_at),
    expiresAt: row.expires_at === null ? null : toTime(row.expires_at),
    features: row.features === null ? null : (JSON.parse(String(row.features)) as string[]),
    costBasis:
      row.cost_currency === null
        ? null
        : { currency: String(row.cost_currency), total: toDecimal(String(row.cost_total)) },
    createdAt: toTime(row.created_at),
    voidedAt: row.voided_at === null ? null : toTime(row.voided_at),
    ...rolloverFromText(row.rollover),
  };
}

function rolloverFromText(text: unknown): Pick<Grant, 'rollover'> {
  if (text === null || text === undefined) return {};
  const stored = JSON.parse(String(text)) as { amount_max: string | null; expires_at: number | null };
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

function holdFromRow(row: SqlRow, reservations: Reservation[]): Hold {
  return {
    id: String(row.id),
    amount: toBigint(row.amount),
    reservations,
    feature: row.feature === null ? null : String(row.feature),
    expiresAt: toTime(row.expires_at),
    createdAt: toTime(row.created_at),
  };
}
