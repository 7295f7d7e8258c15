/**
 * Reversals return consumed credit to the grants it came from, last drawn first, by a new
 * transaction; nothing is updated. Partial reversals add up to at most the original amount.
 * Credit returned to a dead grant is then booked out by settlement, as expired or voided.
 */

import { sumAmounts } from './draws.ts';
import { appendGrant, grantPosition, replaceGrants } from './grant-index.ts';
import type { Accepted, DecisionContext, PlannedEntry, PlannedTransaction } from './ledger.ts';
import { makeTransaction } from './ledger.ts';
import type { Refusal } from './outcomes.ts';
import { assert, refuse } from './outcomes.ts';
import type { Grant, Reservation, Wallet } from './wallet.ts';

export interface ReversibleTransaction {
  readonly id: string;
  readonly kind: PlannedTransaction['kind'];
  readonly amount: bigint;
  /** What the transaction drew, in draw order (grant lots and the overdraft). */
  readonly draws: readonly Reservation[];
  /** The sum of earlier reversals of this transaction. */
  readonly reversedAmount: bigint;
}

export interface ReversalResult {
  readonly transaction: PlannedTransaction;
  readonly returns: readonly Reservation[];
  /** Set when returned overdraft credit exceeded the debt still owed: the rest became this grant. */
  readonly refundGrant: Grant | null;
}

export function decideReversal(
  wallet: Wallet,
  original: ReversibleTransaction,
  request: { readonly amount: bigint | null; readonly reason: string },
  context: DecisionContext,
): Accepted<ReversalResult> | Refusal {
  const counterAccount = reversibleKinds[original.kind];
  if (counterAccount === undefined || sumAmounts(original.draws) !== original.amount) {
    return refuse('transaction_not_reversible', `A ${original.kind} transaction cannot be reversed.`);
  }
  const left = original.amount - original.reversedAmount;
  if (left === 0n || (request.amount !== null && request.amount > left)) {
    // A reversal without an amount asks for the whole transaction: that is what was requested.
    const detail =
      left === 0n
        ? 'The transaction is already fully reversed; nothing is left to reverse.'
        : 'The reversal is larger than what is left to reverse.';
    return refuse('reversal_exceeds_remaining', detail, {
      requested: request.amount ?? original.amount,
      remaining: left,
    });
  }
  const amount = request.amount ?? left;
  const returns = lastDrawnFirst(original.draws, original.reversedAmount, amount);
  const entries: PlannedEntry[] = [{ account: counterAccount, grantId: null, amount: -amount }];
  let next = wallet;
  let refundGrant: Grant | null = null;
  for (const slice of returns) {
    if (slice.grantId !== null) {
      const position = grantPosition(next.grants, slice.grantId);
      const grant = next.grants[position];
      assert(position >= 0 && grant !== undefined, 'the shell loads every grant a reversal returns to');
      next = {
        ...next,
        grants: replaceGrants(
          next.grants,
          new Map([[position, { ...grant, remaining: grant.remaining + slice.amount }]]),
        ),
      };
      entries.push({ account: 'grant', grantId: slice.grantId, amount: slice.amount });
      continue;
    }
    // Overdraft credit comes back as debt paid; if the debt was repaid since, the rest is a new lot.
    const repaid = next.debt < slice.amount ? next.debt : slice.amount;
    if (repaid > 0n) entries.push({ account: 'debt', grantId: null, amount: repaid });
    next = { ...next, debt: next.debt - repaid };
    if (slice.amount > repaid) {
      refundGrant = refundLot(slice.amount - repaid, context);
      next = { ...next, grants: appendGrant(next.grants, refundGrant, context.now) };
      entries.push({ account: 'grant', grantId: refundGrant.id, amount: refundGrant.amount });
    }
  }
  const transaction = makeTransaction({
    id: context.nextId('txn'),
    kind: 'reverse',
    customer: wallet.customer,
    asset: wallet.asset,
    amount,
    reversesId: original.id,
    reason: request.reason,
    entries,
    createdAt: context.now,
  });
  return {
    kind: 'accepted',
    wallet: next,
    transactions: [transaction],
    events: [],
    holdsEnded: [],
    result: { transaction, returns, refundGrant },
  };
}

const reversibleKinds: Partial<Record<PlannedTransaction['kind'], 'consumption' | 'adjustment'>> = {
  debit: 'consumption',
  capture: 'consumption',
  adjust: 'adjustment',
};

/** The slices `amount` returns, walking the draws backwards past what earlier reversals returned. */
export function lastDrawnFirst(draws: readonly Reservation[], alreadyReversed: bigint, amount: bigint): Reservation[] {
  const returns: Reservation[] = [];
  let skip = alreadyReversed;
  let left = amount;
  for (let index = draws.length - 1; index >= 0 && left > 0n; index -= 1) {
    const draw = draws[index];
    if (draw === undefined) continue;
    const skipped = skip < draw.amount ? skip : draw.amount;
    skip -= skipped;
    const free = draw.amount - skipped;
    const take = free < left ? free : left;
    if (take > 0n) returns.push({ grantId: draw.grantId, amount: take });
    left -= take;
  }
  return returns;
}

function refundLot(amount: bigint, context: DecisionContext): Grant {
  return {
    id: context.nextId('grt'),
    amount,
    remaining: amount,
    reserved: 0n,
    category: 'adjustment',
    priority: 0,
    effectiveAt: context.now,
    expiresAt: null,
    features: null,
    costBasis: null,
    createdAt: context.now,
    voidedAt: null,
  };
}
