/**
 * Holds reserve credit from specific grants (by the consumption order) for work whose cost is
 * not known yet. A hold is captured (fully or partly), released, extended or expires; it ends
 * exactly once. Reserved credit stays capturable after its grant expires.
 */
import { planDraws } from './consumption.ts';
import { insufficient } from './debits.ts';
import {
  consumeDraws,
  consumeReservations,
  entriesFromDraws,
  reserveDraws,
  splitReservations,
  unreserve,
} from './draws.ts';
import { consumptionEvents } from './events.ts';
import { replaceHold, withHold, withoutHold } from './hold-index.ts';
import type { Accepted, DecisionContext, PlannedTransaction } from './ledger.ts';
import { makeTransaction } from './ledger.ts';
import type { Refusal } from './outcomes.ts';
import { refuse } from './outcomes.ts';
import type { Hold, Reservation, Wallet } from './wallet.ts';

export interface HoldRequest {
  readonly amount: bigint;
  readonly feature: string | null;
  readonly expiresAt: number;
}

export interface HoldResult {
  readonly hold: Hold;
  readonly transaction: PlannedTransaction;
}

export function decideHold(
  wallet: Wallet,
  request: HoldRequest,
  context: DecisionContext,
): Accepted<HoldResult> | Refusal {
  const plan = planDraws(wallet, request.amount, request.feature, context.now);
  if (plan.shortfall > 0n) return insufficient(plan, request.amount);
  const hold: Hold = {
    id: context.nextId('hold'),
    amount: request.amount,
    reservations: plan.draws,
    feature: request.feature,
    expiresAt: request.expiresAt,
    createdAt: context.now,
  };
  const next = { ...reserveDraws(wallet, plan.draws), holds: withHold(wallet.holds, hold) };
  const transaction = holdTransaction(wallet, hold, 'hold', request.amount, context);
  return {
    kind: 'accepted',
    wallet: next,
    transactions: [transaction],
    events: [],
    holdsEnded: [],
    result: { hold, transaction },
  };
}

export interface CaptureRequest {
  /** Defaults to the whole held amount. */
  readonly amount: bigint | null;
  /** What to do when `amount` exceeds the hold: draw the excess like a debit, or refuse. */
  readonly onExcess: 'draw' | 'refuse';
}

export interface CaptureResult {
  /** The hold as it was when captured. */
  readonly hold: Hold;
  readonly transaction: PlannedTransaction;
  readonly draws: readonly Reservation[];
  readonly released: bigint;
}

export function decideCapture(
  wallet: Wallet,
  holdId: string,
  request: CaptureRequest,
  context: DecisionContext,
): Accepted<CaptureResult> | Refusal {
  const hold = wallet.holds.find((open) => open.id === holdId);
  if (hold === undefined)
    return refuse('hold_not_open', 'The hold has already been captured, released or has expired.');
  const amount = request.amount ?? hold.amount;
  const excess = amount > hold.amount ? amount - hold.amount : 0n;
  if (excess > 0n && request.onExcess === 'refuse') {
    return refuse('capture_exceeds_hold', 'The capture is larger than the held amount.', {
      held: hold.amount,
      requested: amount,
    });
  }
  const excessPlan = planDraws(wallet, excess, hold.feature, context.now);
  if (excessPlan.shortfall > 0n) return insufficient(excessPlan, excess);
  const { taken, rest } = splitReservations(hold.reservations, amount);
  const ended = { ...wallet, holds: withoutHold(wallet.holds, holdId) };
  const next = consumeDraws(unreserve(consumeReservations(ended, taken), rest), excessPlan.draws);
  const draws = [...taken, ...excessPlan.draws];
  const transaction = makeTransaction({
    id: context.nextId('txn'),
    kind: 'capture',
    customer: wallet.customer,
    asset: wallet.asset,
    amount,
    feature: hold.feature,
    holdId,
    entries: [...entriesFromDraws(draws), { account: 'consumption', grantId: null, amount }],
    createdAt: context.now,
  });
  const released = hold.amount - (amount < hold.amount ? amount : hold.amount);
  return {
    kind: 'accepted',
    wallet: next,
    transactions: [transaction],
    events: consumptionEvents(wallet, next, context.now),
    holdsEnded: [{ holdId, status: 'captured', capturedAmount: amount, endedAt: context.now }],
    result: { hold, transaction, draws, released },
  };
}

export function decideRelease(
  wallet: Wallet,
  holdId: string,
  context: DecisionContext,
): Accepted<HoldResult> | Refusal {
  const hold = wallet.holds.find((open) => open.id === holdId);
  if (hold === undefined)
    return refuse('hold_not_open', 'The hold has already been captured, released or has expired.');
  const next = { ...unreserve(wallet, hold.reservations), holds: withoutHold(wallet.holds, holdId) };
  const transaction = holdTransaction(wallet, hold, 'release', hold.amount, context);
  return {
    kind: 'accepted',
    wallet: next,
    transactions: [transaction],
    events: [],
    holdsEnded: [{ holdId, status: 'released', capturedAmount: 0n, endedAt: context.now }],
    result: { hold, transaction },
  };
}

export interface ExtendRequest {
  readonly additionalAmount: bigint;
  /** A later expiry, or null to keep the current one. */
  readonly expiresAt: number | null;
}

export function decideExtend(
  wallet: Wallet,
  holdId: string,
  request: ExtendRequest,
  context: DecisionContext,
): Accepted<HoldResult> | Refusal {
  const hold = wallet.holds.find((open) => open.id === holdId);
  if (hold === undefined)
    return refuse('hold_not_open', 'The hold has already been captured, released or has expired.');
  if (request.expiresAt !== null && request.expiresAt < hold.expiresAt) {
    return refuse('validation_failed', 'A hold can only be extended to a later expiry.', { field: 'expires_at' });
  }
  const plan = planDraws(wallet, request.additionalAmount, hold.feature, context.now);
  if (plan.shortfall > 0n) return insufficient(plan, request.additionalAmount);
  const extended: Hold = {
    ...hold,
    amount: hold.amount + request.additionalAmount,
    reservations: [...hold.reservations, ...plan.draws],
    expiresAt: request.expiresAt ?? hold.expiresAt,
  };
  const next = {
    ...reserveDraws(wallet, plan.draws),
    holds: replaceHold(wallet.holds, extended),
  };
  const transaction = holdTransaction(wallet, extended, 'extend', request.additionalAmount, context);
  return {
    kind: 'accepted',
    wallet: next,
    transactions: [transaction],
    events: [],
    holdsEnded: [],
    result: { hold: extended, transaction },
  };
}

/** Hold, extend and release transactions move no credit: they record the reservation's life in the ledger. */
function holdTransaction(
  wallet: Wallet,
  hold: Hold,
  kind: 'hold' | 'extend' | 'release',
  amount: bigint,
  context: DecisionContext,
): PlannedTransaction {
  return makeTransaction({
    id: context.nextId('txn'),
    kind,
    customer: wallet.customer,
    asset: wallet.asset,
    amount,
    feature: hold.feature,
    holdId: hold.id,
    entries: [],
    createdAt: context.now,
  });
}
