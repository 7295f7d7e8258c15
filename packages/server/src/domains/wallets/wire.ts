/**
 * Rendering ledger values for the wire: amounts as decimal strings in the asset's unit, times as
 * RFC 3339, snake_case fields. The one place response bodies are shaped.
 */
import type { BalanceView, Grant, GrantExplanation, Hold, PlannedTransaction, Reservation, Wallet } from '@bursar/core';
import {
  divideDecimalRoundingHalfEven,
  formatAmount,
  formatDecimal,
  isGrantDead,
  transactionDirection,
  viewBalance,
} from '@bursar/core';
import { toBigint, toTime } from '../../platform/storage/codecs.ts';
import type { SqlRow } from '../../platform/storage/database.ts';
import { nullableText, toTimestamp } from '../../platform/wire.ts';

export function toWireBalance(wallet: Wallet, scale: number, now: number, feature: string | null = null) {
  return balanceBody(wallet.asset, viewBalance(wallet, now, feature), wallet, scale);
}

function balanceBody(asset: string, view: BalanceView, wallet: Wallet, scale: number) {
  return {
    asset,
    balance: formatAmount(view.balance, scale),
    held: formatAmount(view.held, scale),
    available: formatAmount(view.available, scale),
    debt: formatAmount(view.debt, scale),
    overdraft_limit: formatAmount(view.overdraftLimit, scale),
    scheduled: formatAmount(view.scheduled, scale),
    next_expiry:
      view.nextExpiry === null
        ? null
        : { at: toTimestamp(view.nextExpiry.at), amount: formatAmount(view.nextExpiry.amount, scale) },
    consumption_order: wallet.policy.consumptionOrder,
    repay_debt_first: wallet.policy.repayDebtFirst,
    low_balance_threshold:
      wallet.policy.lowBalanceThreshold === null ? null : formatAmount(wallet.policy.lowBalanceThreshold, scale),
  };
}

function grantStatus(grant: Grant, now: number): string {
  if (grant.voidedAt !== null) return 'voided';
  if (isGrantDead(grant, now)) return 'expired';
  if (now < grant.effectiveAt) return 'scheduled';
  return grant.remaining === 0n ? 'depleted' : 'active';
}

export function toWireGrant(
  grant: Grant,
  owner: { customer: string; asset: string; reason: string | null; metadata: string | null },
  scale: number,
  now: number,
) {
  return {
    id: grant.id,
    customer: owner.customer,
    asset: owner.asset,
    amount: formatAmount(grant.amount, scale),
    remaining: formatAmount(grant.remaining, scale),
    reserved: formatAmount(grant.reserved, scale),
    category: grant.category,
    priority: grant.priority,
    effective_at: toTimestamp(grant.effectiveAt),
    expires_at: toTimestamp(grant.expiresAt),
    features: grant.features,
    cost_basis:
      grant.costBasis === null
        ? null
        : {
            currency: grant.costBasis.currency,
            total: formatDecimal(grant.costBasis.total),
            // Display only: the exact basis is total / amount; this rounds half-even to 18 places.
            unit_price: formatDecimal(
              divideDecimalRoundingHalfEven(grant.costBasis.total, grant.amount === 0n ? 1n : grant.amount, 18),
            ),
          },
    reason: owner.reason,
    metadata: parseMetadata(owner.metadata),
    status: grantStatus(grant, now),
    voided_at: toTimestamp(grant.voidedAt),
    created_at: toTimestamp(grant.createdAt),
  };
}

export function toWireDraws(draws: readonly Reservation[], scale: number) {
  return draws.map((draw) => ({ grant: draw.grantId, amount: formatAmount(draw.amount, scale) }));
}

export function toWireTransaction(transaction: PlannedTransaction, metadata: string | null, scale: number) {
  return {
    id: transaction.id,
    kind: transaction.kind,
    customer: transaction.customer,
    asset: transaction.asset,
    amount: formatAmount(transaction.amount, scale),
    direction: transactionDirection(transaction),
    feature: transaction.feature,
    hold: transaction.holdId,
    grant: transaction.grantId,
    reverses: transaction.reversesId,
    reason: transaction.reason,
    metadata: parseMetadata(metadata),
    entries: transaction.entries.map((entry) => ({
      account: entry.account,
      grant: entry.grantId,
      amount: formatAmount(entry.amount, scale),
    })),
    draws: transaction.entries
      .filter((entry) => (entry.account === 'grant' || entry.account === 'debt') && entry.amount < 0n)
      .map((entry) => ({ grant: entry.grantId, amount: formatAmount(-entry.amount, scale) })),
    created_at: toTimestamp(transaction.createdAt),
  };
}

/** Rebuilds a planned transaction from its stored rows (entries in position order). */
export function transactionFromRows(row: SqlRow, entries: readonly SqlRow[]): PlannedTransaction {
  return {
    id: String(row.id),
    kind: String(row.kind) as PlannedTransaction['kind'],
    customer: String(row.customer_id),
    asset: String(row.asset),
    amount: toBigint(row.amount),
    feature: nullableText(row.feature),
    holdId: nullableText(row.hold_id),
    grantId: nullableText(row.grant_id),
    reversesId: nullableText(row.reverses_id),
    reason: nullableText(row.reason),
    entries: entries.map((entry) => ({
      account: String(entry.account) as PlannedTransaction['entries'][number]['account'],
      grantId: nullableText(entry.grant_id),
      amount: toBigint(entry.amount),
    })),
    createdAt: toTime(row.created_at),
  };
}

export function toWireHold(
  hold: Hold,
  state: {
    customer: string;
    asset: string;
    status: string;
    captured: bigint;
    endedAt: number | null;
    metadata: string | null;
  },
  scale: number,
) {
  return {
    id: hold.id,
    customer: state.customer,
    asset: state.asset,
    amount: formatAmount(hold.amount, scale),
    captured: formatAmount(state.captured, scale),
    status: state.status,
    feature: hold.feature,
    reservations: toWireDraws(hold.reservations, scale),
    expires_at: toTimestamp(hold.expiresAt),
    metadata: parseMetadata(state.metadata),
    created_at: toTimestamp(hold.createdAt),
    ended_at: toTimestamp(state.endedAt),
  };
}

export function toWireExplanation(explanation: readonly GrantExplanation[]) {
  return explanation.map((item) => ({ grant: item.grantId, rank: item.rank, skipped_because: item.unusable }));
}

function parseMetadata(metadata: string | null): Record<string, string> | null {
  return metadata === null ? null : (JSON.parse(metadata) as Record<string, string>);
}
