/**
 * Revenue recognition for credits, decided from the ledger alone: a paid grant's cost basis is
 * deferred when it is issued and leaves deferral as its credit is consumed (recognized), expires
 * (breakage) or is voided (refund), valued so that every cent of the purchase is accounted for.
 */
import type { TransactionKind } from './ledger.ts';
import type { Decimal } from './money.ts';
import { localDateOf, nextLocalDate } from './periods.ts';
import type { Rational } from './rational.ts';
import { compare, fromDecimal, fromInteger, toUnits } from './rational.ts';

/** When breakage is recognized: when the credit expires, or ahead of it, alongside consumption. */
export type BreakagePolicy =
  | { readonly kind: 'at_expiry' }
  /** `expectedRate` is the fraction of a paid lot expected to expire unused, 0 ≤ rate < 1. */
  | { readonly kind: 'spread'; readonly expectedRate: Rational };

export const breakageAtExpiry: BreakagePolicy = { kind: 'at_expiry' };

/** How credit leaves a paid lot. */
export type LotMovementKind = 'consumed' | 'expired' | 'refunded';

/**
 * What a ledger transaction's entries on a lot mean for revenue. Debits, captures, negative
 * adjustments and the debt a new grant repays consume credit (a reversal returns it, with the
 * opposite sign); expiry and the part of an allowance that does not roll over break; a void is the
 * unspent credit handed back (a refund). Holds move nothing until they are captured.
 */
export function lotMovementKindOf(kind: TransactionKind): LotMovementKind | null {
  switch (kind) {
    case 'grant':
    case 'debit':
    case 'capture':
    case 'adjust':
    case 'reverse':
      return 'consumed';
    case 'expire':
    case 'rollover':
      return 'expired';
    case 'void':
      return 'refunded';
    case 'hold':
    case 'extend':
    case 'release':
    case 'hold_expire':
      return null;
  }
}

/** A grant with a cost basis: `value` is its cost in the currency's smallest unit. */
export interface PaidLot {
  readonly grantId: string;
  readonly customer: string;
  readonly asset: string;
  readonly currency: string;
  /** Credit units granted. */
  readonly amount: bigint;
  readonly value: bigint;
  readonly issuedAt: number;
  readonly transactionId: string;
}

/** Credit leaving a lot (`units` > 0) or coming back to it (`units` < 0, a reversal). */
export interface LotMovement {
  readonly at: number;
  readonly transactionId: string;
  readonly kind: LotMovementKind;
  readonly units: bigint;
}

export type RevenueMovementKind = 'addition' | 'recognized' | 'breakage' | 'refund';

/** A change of deferred revenue, in the currency's smallest unit; negative undoes an earlier one. */
export interface RevenueMovement {
  readonly at: number;
  readonly transactionId: string;
  readonly grantId: string;
  readonly customer: string;
  readonly asset: string;
  readonly currency: string;
  readonly kind: RevenueMovementKind;
  readonly amount: bigint;
}

/** A cost basis in the currency's smallest unit, rounded half-even once (a total finer than the currency). */
export function costBasisValue(total: Decimal, currencyScale: number): bigint {
  return toUnits(fromDecimal(total), currencyScale, 'half_even');
}

/**
 * The value of the first `units` credits of a lot: value × units / amount, rounded half-even.
 * Each movement is valued as the difference of this at the lot's cumulative units out before and
 * after it, so the movements of a lot that is spent to zero sum to its value exactly (no cent is
 * lost or made, whatever the price per credit), and rounding never drifts by more than half a cent.
 */
export function lotValueOf(lot: Pick<PaidLot, 'amount' | 'value'>, units: bigint): bigint {
  if (lot.amount === 0n) return 0n;
  return toUnits({ numerator: lot.value * units, denominator: lot.amount }, 0, 'half_even');
}

/**
 * Every revenue movement of one paid lot, in the order of its ledger movements (which must be in
 * ledger order). Deferred revenue of the lot after any prefix is its value minus what the prefix
 * recognized, broke and refunded, and is never negative.
 */
export function decideLotRevenue(
  lot: PaidLot,
  movements: readonly LotMovement[],
  policy: BreakagePolicy,
): RevenueMovement[] {
  const made: RevenueMovement[] = [];
  const emit = (at: number, transactionId: string, kind: RevenueMovementKind, amount: bigint) => {
    if (amount !== 0n) made.push({ ...lotKey(lot), at, transactionId, kind, amount });
  };
  emit(lot.issuedAt, lot.transactionId, 'addition', lot.value);
  // Running state: units out of the lot, net units consumed, and what each kind took at the plain
  // per-credit value; `breakage` is what has been reported as breakage (expiry plus any spread).
  let unitsOut = 0n;
  let unitsConsumed = 0n;
  const plain = { consumed: 0n, expired: 0n, refunded: 0n };
  let breakage = 0n;
  for (const movement of movements) {
    const before = lotValueOf(lot, unitsOut);
    unitsOut += movement.units;
    const change = lotValueOf(lot, unitsOut) - before;
    plain[movement.kind] += change;
    if (movement.kind === 'consumed') unitsConsumed += movement.units;
    const deferredPlain = lot.value - plain.consumed - plain.expired - plain.refunded;
    const breakageNow = clamp(spreadTarget(lot, unitsConsumed, policy), plain.expired, plain.expired + deferredPlain);
    // Breakage taken back (spread ahead of credit that was then used or refunded) is written
    // first, so the lot's deferred revenue stays non-negative line by line, not only per movement.
    const breakageChange = breakageNow - breakage;
    if (breakageChange < 0n) emit(movement.at, movement.transactionId, 'breakage', breakageChange);
    if (movement.kind === 'consumed') emit(movement.at, movement.transactionId, 'recognized', change);
    if (movement.kind === 'refunded') emit(movement.at, movement.transactionId, 'refund', change);
    if (breakageChange > 0n) emit(movement.at, movement.transactionId, 'breakage', breakageChange);
    breakage = breakageNow;
  }
  return made;
}

/**
 * Under `spread`, the breakage to have recognized once `consumed` credits were used: in the
 * proportion of expected breakage to expected consumption (rate / (1 − rate) of what consumption
 * recognized), so by the time the expected share is consumed, the expected breakage is recognized.
 * The caller keeps it between what actually expired and what is still deferred.
 */
function spreadTarget(lot: PaidLot, consumed: bigint, policy: BreakagePolicy): bigint {
  if (policy.kind === 'at_expiry' || consumed <= 0n || lot.amount === 0n) return 0n;
  const rate = policy.expectedRate;
  const expectedConsumed = rate.denominator - rate.numerator;
  return toUnits(
    {
      numerator: lot.value * consumed * rate.numerator,
      denominator: lot.amount * expectedConsumed,
    },
    0,
    'half_even',
  );
}

function clamp(value: bigint, low: bigint, high: bigint): bigint {
  return value < low ? low : value > high ? high : value;
}

function lotKey(lot: PaidLot) {
  return { grantId: lot.grantId, customer: lot.customer, asset: lot.asset, currency: lot.currency };
}

/** True for a usable expected breakage rate: at least 0 and below 1. */
export function isBreakageRate(rate: Rational): boolean {
  return rate.numerator >= 0n && compare(rate, fromInteger(1n)) < 0;
}

// ----- periods and reports -----------------------------------------------------------------

export type PeriodGranularity = 'day' | 'month';

export interface ReportWindow {
  /** First local day of the report, `YYYY-MM-DD`, inclusive. */
  readonly from: string;
  /** Local day after the report, `YYYY-MM-DD`, exclusive. */
  readonly to: string;
  readonly granularity: PeriodGranularity;
  readonly timeZone: string;
}

/** The period (`YYYY-MM-DD` or `YYYY-MM`) of a local day. */
export function periodOfDate(date: string, granularity: PeriodGranularity): string {
  return granularity === 'day' ? date : date.slice(0, 7);
}

/** The periods a window covers, in order. */
export function periodsOf(window: ReportWindow): string[] {
  const periods: string[] = [];
  for (let date = window.from; date < window.to; date = nextLocalDate(date)) {
    const period = periodOfDate(date, window.granularity);
    if (periods[periods.length - 1] !== period) periods.push(period);
  }
  return periods;
}

/** Where an instant falls against a window: before it, in one of its periods, or after it. */
export function placeInWindow(at: number, window: ReportWindow): 'before' | 'after' | { period: string } {
  const date = localDateOf(at, window.timeZone);
  if (date < window.from) return 'before';
  if (date >= window.to) return 'after';
  return { period: periodOfDate(date, window.granularity) };
}

export interface RevenueRow {
  readonly period: string;
  readonly customer: string;
  readonly asset: string;
  readonly currency: string;
  readonly opening: bigint;
  readonly additions: bigint;
  readonly recognized: bigint;
  readonly breakage: bigint;
  readonly refunds: bigint;
  readonly closing: bigint;
}

interface Totals {
  additions: bigint;
  recognized: bigint;
  breakage: bigint;
  refunds: bigint;
}

const totalsField: Record<RevenueMovementKind, keyof Totals> = {
  addition: 'additions',
  recognized: 'recognized',
  breakage: 'breakage',
  refund: 'refunds',
};

/**
 * Rolls movements up per period, customer, asset and currency. Each row's closing is its opening
 * plus additions minus recognized, breakage and refunds, and is the next period's opening; a key
 * appears in every period from its first movement (or from the window's start, when it opens with
 * deferred revenue) on, and a period with nothing deferred and nothing moved is left out.
 */
export function summarizeRevenue(movements: readonly RevenueMovement[], window: ReportWindow): RevenueRow[] {
  const periods = periodsOf(window);
  const keys = new Map<string, { opening: bigint; byPeriod: Map<string, Totals>; sample: RevenueMovement }>();
  for (const movement of movements) {
    const place = placeInWindow(movement.at, window);
    if (place === 'after') continue;
    const keyText = JSON.stringify([movement.customer, movement.asset, movement.currency]);
    let key = keys.get(keyText);
    if (key === undefined) {
      key = { opening: 0n, byPeriod: new Map(), sample: movement };
      keys.set(keyText, key);
    }
    const signed = movement.kind === 'addition' ? movement.amount : -movement.amount;
    if (place === 'before') {
      key.opening += signed;
      continue;
    }
    let totals = key.byPeriod.get(place.period);
    if (totals === undefined) {
      totals = { additions: 0n, recognized: 0n, breakage: 0n, refunds: 0n };
      key.byPeriod.set(place.period, totals);
    }
    totals[totalsField[movement.kind]] += movement.amount;
  }
  const rows: RevenueRow[] = [];
  for (const [, key] of [...keys].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    let opening = key.opening;
    for (const period of periods) {
      const totals = key.byPeriod.get(period);
      if (totals === undefined && opening === 0n) continue;
      const moved = totals ?? { additions: 0n, recognized: 0n, breakage: 0n, refunds: 0n };
      const closing = opening + moved.additions - moved.recognized - moved.breakage - moved.refunds;
      rows.push({
        period,
        customer: key.sample.customer,
        asset: key.sample.asset,
        currency: key.sample.currency,
        opening,
        ...moved,
        closing,
      });
      opening = closing;
    }
  }
  return rows.sort((a, b) => (a.period < b.period ? -1 : a.period > b.period ? 1 : 0));
}

/** Free credit consumed: units of the asset drawn from lots without a cost basis (never revenue). */
export interface PromotionalMovement {
  readonly at: number;
  readonly customer: string;
  readonly asset: string;
  readonly units: bigint;
}

export interface PromotionalRow {
  readonly period: string;
  readonly customer: string;
  readonly asset: string;
  readonly consumed: bigint;
}

export function summarizePromotional(
  movements: readonly PromotionalMovement[],
  window: ReportWindow,
): PromotionalRow[] {
  const rows = new Map<string, PromotionalRow>();
  for (const movement of movements) {
    const place = placeInWindow(movement.at, window);
    if (typeof place === 'string') continue;
    const key = JSON.stringify([place.period, movement.customer, movement.asset]);
    const row = rows.get(key);
    rows.set(key, {
      period: place.period,
      customer: movement.customer,
      asset: movement.asset,
      consumed: (row?.consumed ?? 0n) + movement.units,
    });
  }
  return [...rows.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, row]) => row)
    .filter((row) => row.consumed !== 0n);
}

// ----- the journal -----------------------------------------------------------------------

export interface JournalAccounts {
  /** Debited when a paid grant is issued (cash or receivable). */
  readonly cash: string;
  readonly deferred: string;
  readonly revenue: string;
  readonly breakage: string;
  /** Credited when unspent credit is refunded. */
  readonly refunds: string;
}

export const defaultJournalAccounts: JournalAccounts = {
  cash: 'Cash',
  deferred: 'Deferred revenue',
  revenue: 'Credit revenue',
  breakage: 'Breakage revenue',
  refunds: 'Refunds payable',
};

export interface JournalLine {
  readonly date: string;
  readonly transactionId: string;
  readonly grantId: string;
  readonly customer: string;
  readonly asset: string;
  readonly currency: string;
  readonly kind: RevenueMovementKind;
  readonly debit: string;
  readonly credit: string;
  /** Always positive: a negative movement (a reversal) swaps the two accounts. */
  readonly amount: bigint;
}

/** One double-entry line per movement in the window, in ledger order, dated by its local day. */
export function journalLines(
  movements: readonly RevenueMovement[],
  window: ReportWindow,
  accounts: JournalAccounts,
): JournalLine[] {
  const lines: JournalLine[] = [];
  for (const movement of movements) {
    if (typeof placeInWindow(movement.at, window) === 'string') continue;
    const [debit, credit] = accountsOf(movement.kind, accounts);
    const negative = movement.amount < 0n;
    lines.push({
      date: localDateOf(movement.at, window.timeZone),
      transactionId: movement.transactionId,
      grantId: movement.grantId,
      customer: movement.customer,
      asset: movement.asset,
      currency: movement.currency,
      kind: movement.kind,
      debit: negative ? credit : debit,
      credit: negative ? debit : credit,
      amount: negative ? -movement.amount : movement.amount,
    });
  }
  return lines;
}

function accountsOf(kind: RevenueMovementKind, accounts: JournalAccounts): [debit: string, credit: string] {
  switch (kind) {
    case 'addition':
      return [accounts.cash, accounts.deferred];
    case 'recognized':
      return [accounts.deferred, accounts.revenue];
    case 'breakage':
      return [accounts.deferred, accounts.breakage];
    case 'refund':
      return [accounts.deferred, accounts.refunds];
  }
}
