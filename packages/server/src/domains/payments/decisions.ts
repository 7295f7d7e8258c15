/**
 * The pure rules of Stripe payments: money between Bursar's exact decimals and Stripe's minor units,
 * what each Stripe event does given what is stored, and how a failed off-session charge is worded.
 * No I/O, clock or randomness: the shell loads the stored state, decides here, then commits.
 */
import type { Decimal } from '@bursar/core';
import { divideDecimalRoundingHalfEven, multiplyDecimal } from '@bursar/core';

/**
 * Currencies Stripe counts in whole units (https://docs.stripe.com/currencies#zero-decimal). Every
 * other currency Bursar accepts counts in hundredths; Stripe's three-decimal currencies are refused.
 */
const zeroDecimalCurrencies = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
]);
const threeDecimalCurrencies = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

/** The largest amount Stripe takes in one charge (8 digits of minor units, https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts). */
const minorUnitsMax = 99_999_999n;

function minorUnitDigits(currency: string): number {
  return zeroDecimalCurrencies.has(currency) ? 0 : 2;
}

/** An exact price in Stripe's minor units, or why it is not one (a fraction of a cent, too large). */
export function toMinorUnits(
  currency: string,
  total: Decimal,
): { ok: true; units: bigint } | { ok: false; reason: string } {
  if (threeDecimalCurrencies.has(currency)) {
    return { ok: false, reason: `is in ${currency}, a three-decimal currency Bursar does not charge through Stripe` };
  }
  const digits = minorUnitDigits(currency);
  if (total.scale > digits) {
    const divisor = 10n ** BigInt(total.scale - digits);
    if (total.units % divisor !== 0n) {
      return { ok: false, reason: `must come to a whole number of ${currency}'s smallest unit (${digits} decimals)` };
    }
    return checkedMinor(total.units / divisor);
  }
  return checkedMinor(total.units * 10n ** BigInt(digits - total.scale));
}

function checkedMinor(units: bigint): { ok: true; units: bigint } | { ok: false; reason: string } {
  if (units <= 0n) return { ok: false, reason: 'must be more than zero: Stripe charges no empty payment' };
  if (units > minorUnitsMax) return { ok: false, reason: 'is more than Stripe takes in one payment' };
  return { ok: true, units };
}

/**
 * Minor units as the number the Stripe SDK takes: exact, because `toMinorUnits` keeps them at
 * most 8 digits, far inside a double's integers.
 */
export function toStripeAmount(units: bigint): number {
  if (units > minorUnitsMax) throw new Error('assertion failed: minor units were checked against Stripe’s maximum');
  return Number(units);
}

/** What Stripe collected, as an exact decimal in the currency's major unit (the grant's cost basis). */
export function fromMinorUnits(currency: string, units: bigint): Decimal {
  return { units, scale: minorUnitDigits(currency) };
}

export type CheckoutStatus = 'pending_payment' | 'paid' | 'expired' | 'reversed';

/** What a Checkout Session event says, read from its data.object. */
export interface CheckoutEventFacts {
  readonly type:
    | 'checkout.session.completed'
    | 'checkout.session.async_payment_succeeded'
    | 'checkout.session.async_payment_failed'
    | 'checkout.session.expired';
  readonly paymentStatus: string;
  readonly currency: string | null;
  readonly amountTotal: bigint | null;
  readonly paymentIntent: string | null;
}

export type CheckoutDecision =
  | {
      readonly kind: 'grant';
      readonly paid: { readonly currency: string; readonly total: Decimal };
      readonly paymentIntent: string | null;
    }
  | { readonly kind: 'expire' }
  /** Nothing to change; `outcome` says why, for the webhook's answer and the event log. */
  | { readonly kind: 'none'; readonly outcome: string };

/**
 * Grants once: only a session still `pending_payment` is granted, on the first event that says it
 * is paid (`completed` with payment_status paid, or `async_payment_succeeded`), whichever order they
 * come in. An event about a session Bursar did not create changes nothing.
 */
export function decideCheckoutEvent(status: CheckoutStatus | undefined, facts: CheckoutEventFacts): CheckoutDecision {
  if (status === undefined) return { kind: 'none', outcome: 'unknown_session' };
  const paid =
    (facts.type === 'checkout.session.completed' && facts.paymentStatus === 'paid') ||
    facts.type === 'checkout.session.async_payment_succeeded';
  if (paid) {
    if (status !== 'pending_payment') return { kind: 'none', outcome: `already_${status}` };
    if (facts.currency === null || facts.amountTotal === null) return { kind: 'none', outcome: 'no_amount' };
    return {
      kind: 'grant',
      paid: { currency: facts.currency, total: fromMinorUnits(facts.currency, facts.amountTotal) },
      paymentIntent: facts.paymentIntent,
    };
  }
  if (facts.type === 'checkout.session.expired' || facts.type === 'checkout.session.async_payment_failed') {
    return status === 'pending_payment' ? { kind: 'expire' } : { kind: 'none', outcome: `already_${status}` };
  }
  // completed while an asynchronous payment (a bank debit) is still processing: wait for its outcome.
  return { kind: 'none', outcome: 'awaiting_payment' };
}

/** What a refund or dispute event says about the charge. */
export interface ReversalFacts {
  readonly type: 'charge.refunded' | 'charge.dispute.created';
  /** charge.refunded: whether the whole charge is refunded now. */
  readonly refundedFully: boolean;
  readonly reference: string;
}

export type ReversalDecision =
  | { readonly kind: 'void'; readonly reason: string }
  | { readonly kind: 'none'; readonly outcome: string };

/**
 * A full refund or a dispute voids the unspent part of the grant the payment bought, once; a
 * partial refund changes no credit (the operator decides what it is worth), and a grant already
 * voided stays as it is.
 */
export function decideReversal(grant: { voided: boolean } | undefined, facts: ReversalFacts): ReversalDecision {
  if (grant === undefined) return { kind: 'none', outcome: 'unknown_payment' };
  if (facts.type === 'charge.refunded' && !facts.refundedFully) return { kind: 'none', outcome: 'partial_refund' };
  if (grant.voided) return { kind: 'none', outcome: 'already_reversed' };
  const why = facts.type === 'charge.refunded' ? 'refunded' : 'disputed';
  return { kind: 'void', reason: `stripe payment ${facts.reference} ${why}` };
}

/** How a declined or unconfirmable off-session charge reads as the top-up's failure reason. */
export function describeChargeFailure(facts: {
  readonly code: string | null;
  readonly declineCode: string | null;
  readonly message: string | null;
}): string {
  if (facts.code === 'authentication_required') {
    return 'requires action: the bank asks the customer to authenticate, which an off-session charge cannot do';
  }
  const code = facts.declineCode ?? facts.code ?? 'declined';
  return facts.message === null ? `card declined (${code})` : `card declined (${code}): ${facts.message}`;
}

/** A month's end (UTC) as epoch milliseconds: the instant a `YYYY-MM` period closes. */
export function periodEndMs(period: string): number {
  const [year, month] = period.split('-').map(Number) as [number, number];
  return Date.UTC(year, month, 1);
}

/**
 * The invoice item for `debt` units of an asset at `scale`, priced per whole unit: exact, then
 * rounded half-even to the currency's smallest unit (the one rounding, named here).
 */
export function overageTotal(debt: bigint, scale: number, currency: string, unitPrice: Decimal): Decimal {
  const exact = multiplyDecimal({ units: unitPrice.units, scale: unitPrice.scale + scale }, debt);
  return divideDecimalRoundingHalfEven(exact, 1n, minorUnitDigits(currency));
}
