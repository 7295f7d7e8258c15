/**
 * Debits: an immediate, atomic consumption of credit by the consumption order, within the
 * overdraft policy, or a refusal that says how much is available. A dry-run check explains
 * the same plan without changing anything.
 */
import type { DrawPlan, GrantExplanation } from './consumption.ts';
import { explainOrder, planDraws } from './consumption.ts';
import { consumeDraws, entriesFromDraws } from './draws.ts';
import { consumptionEvents } from './events.ts';
import type { Accepted, DecisionContext, PlannedTransaction } from './ledger.ts';
import { makeTransaction } from './ledger.ts';
import type { Refusal } from './outcomes.ts';
import { refuse } from './outcomes.ts';
import type { Reservation, Wallet } from './wallet.ts';

export interface DebitRequest {
  readonly amount: bigint;
  readonly feature: string | null;
}

export interface DebitResult {
  readonly transaction: PlannedTransaction;
  readonly draws: readonly Reservation[];
}

/** Draws `amount` now, or refuses with `insufficient_balance` and the amount available. */
export function decideDebit(
  wallet: Wallet,
  request: DebitRequest,
  context: DecisionContext,
): Accepted<DebitResult> | Refusal {
  return decideConsumption(wallet, request, context, { kind: 'debit', counterAccount: 'consumption', reason: null });
}

/** A negative adjustment: consumes like a debit (same floor), booked against the `adjustment` account. */
export function decideNegativeAdjustment(
  wallet: Wallet,
  request: { readonly amount: bigint; readonly reason: string },
  context: DecisionContext,
): Accepted<DebitResult> | Refusal {
  return decideConsumption(wallet, { amount: request.amount, feature: null }, context, {
    kind: 'adjust',
    counterAccount: 'adjustment',
    reason: request.reason,
  });
}

function decideConsumption(
  wallet: Wallet,
  request: DebitRequest,
  context: DecisionContext,
  booking: { kind: 'debit' | 'adjust'; counterAccount: 'consumption' | 'adjustment'; reason: string | null },
): Accepted<DebitResult> | Refusal {
  const plan = planDraws(wallet, request.amount, request.feature, context.now);
  if (plan.shortfall > 0n) return insufficient(plan, request.amount);
  const next = consumeDraws(wallet, plan.draws);
  const transaction = makeTransaction({
    id: context.nextId('txn'),
    kind: booking.kind,
    customer: wallet.customer,
    asset: wallet.asset,
    amount: request.amount,
    feature: request.feature,
    reason: booking.reason,
    entries: [
      ...entriesFromDraws(plan.draws),
      { account: booking.counterAccount, grantId: null, amount: request.amount },
    ],
    createdAt: context.now,
  });
  return {
    kind: 'accepted',
    wallet: next,
    transactions: [transaction],
    events: consumptionEvents(wallet, next, context.now),
    holdsEnded: [],
    result: { transaction, draws: plan.draws },
  };
}

export function insufficient(plan: DrawPlan, requested: bigint): Refusal {
  return refuse('insufficient_balance', 'The wallet does not have enough credit available for this request.', {
    available: plan.available,
    requested,
  });
}

export interface CheckResult {
  readonly allowed: boolean;
  readonly available: bigint;
  readonly draws: readonly Reservation[];
  readonly shortfall: bigint;
  readonly explanation: readonly GrantExplanation[];
}

/** The dry run of a debit: would it pass, which grants would it draw, and why in that order. */
export function decideCheck(wallet: Wallet, request: DebitRequest, now: number): CheckResult {
  const plan = planDraws(wallet, request.amount, request.feature, now);
  return {
    allowed: plan.shortfall === 0n,
    available: plan.available,
    draws: plan.draws,
    shortfall: plan.shortfall,
    explanation: explainOrder(wallet, request.feature, now),
  };
}
