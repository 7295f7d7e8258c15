/**
 * What-if on real history: a customer's recorded charges replayed against a plan version's
 * allowances and rollover rules, period by period, without a wallet, a ledger or a clock.
 */
import { addCadence } from './periods.ts';
import type { PlanVersion } from './plans.ts';
import { rolloverPlan } from './subscriptions.ts';

/** One recorded charge: `amount` units of `asset` (at its scale) at instant `at`. */
export interface ChargedUsage {
  readonly asset: string;
  readonly at: number;
  readonly amount: bigint;
}

export interface PlanReplayInput {
  readonly plan: PlanVersion;
  /** Period 0 starts here; periods follow the plan's `period` cadence in `timeZone`. */
  readonly from: number;
  /** Usage at or after this instant is not replayed; the period holding it is the last. */
  readonly to: number;
  readonly timeZone: string;
  /** In time order. */
  readonly usage: readonly ChargedUsage[];
}

/**
 * One asset in one period. Conservation: granted + carriedIn = consumed + carriedOut + expired;
 * usage = consumed + overage. `rolledOver` is the part of carriedOut this period's allowance made.
 */
export interface PlanReplayLine {
  readonly asset: string;
  readonly granted: bigint;
  readonly carriedIn: bigint;
  readonly usage: bigint;
  readonly consumed: bigint;
  readonly overage: bigint;
  readonly rolledOver: bigint;
  readonly expired: bigint;
  readonly carriedOut: bigint;
}

export interface PlanReplayPeriod {
  readonly index: number;
  readonly startsAt: number;
  readonly endsAt: number;
  readonly lines: readonly PlanReplayLine[];
}

/** A lot of plan credit alive during the replay: an allowance of one period, or what rolled from it. */
interface Lot {
  readonly asset: string;
  readonly priority: number;
  /** The period start of the allowance it came from: older credit goes first on an expiry tie. */
  readonly bornAt: number;
  readonly expiresAt: number | null;
  /** The allowance it came from (index in the plan), or null for a rolled lot, which never rolls again. */
  readonly allowance: number | null;
  remaining: bigint;
}

type Tally = { -readonly [key in keyof PlanReplayLine]: PlanReplayLine[key] };

/** The periods of the replay, from `from` to the period holding `to` (exclusive end). */
export function replayPeriods(
  plan: PlanVersion,
  from: number,
  to: number,
  timeZone: string,
): { startsAt: number; endsAt: number }[] {
  const periods = [];
  for (let index = 0; addCadence(from, plan.period, index, timeZone) < to; index += 1)
    periods.push({
      startsAt: addCadence(from, plan.period, index, timeZone),
      endsAt: addCadence(from, plan.period, index + 1, timeZone),
    });
  return periods;
}

/**
 * Replays usage against the plan: each period grants every allowance as a lot expiring at the
 * period end; a charge draws the live lots in consumption order (priority, then earliest expiry,
 * then oldest) and what they cannot cover is overage. At the end of a period each allowance lot's
 * remainder rolls over up to its rule's cap (the same cap a subscription's grant carries) and the
 * rest expires; a rolled lot expires, whatever is left of it, when its own expiry passes.
 */
export function decidePlanReplay(input: PlanReplayInput): PlanReplayPeriod[] {
  const { plan, timeZone } = input;
  const assets = [...new Set(plan.allowances.map((allowance) => allowance.asset))];
  const periods: PlanReplayPeriod[] = [];
  let lots: Lot[] = [];
  let next = 0;
  for (const [index, period] of replayPeriods(plan, input.from, input.to, timeZone).entries()) {
    const tallies = new Map<string, Tally>();
    const tally = (asset: string): Tally => {
      let line = tallies.get(asset);
      if (line === undefined) {
        line = {
          asset,
          granted: 0n,
          carriedIn: 0n,
          usage: 0n,
          consumed: 0n,
          overage: 0n,
          rolledOver: 0n,
          expired: 0n,
          carriedOut: 0n,
        };
        tallies.set(asset, line);
      }
      return line;
    };
    for (const asset of assets) tally(asset);
    for (const lot of lots) tally(lot.asset).carriedIn += lot.remaining;
    for (const [allowance, { asset, amount, priority }] of plan.allowances.entries()) {
      lots.push({ asset, priority, bornAt: period.startsAt, expiresAt: period.endsAt, allowance, remaining: amount });
      tally(asset).granted += amount;
    }
    /** Rolled lots expired by `at` leave, their remainder counted as expired; allowance lots end with the period. */
    const expireThrough = (at: number) => {
      lots = lots.filter((lot) => {
        const dead = lot.expiresAt !== null && lot.expiresAt <= at;
        if (dead && lot.allowance === null) tally(lot.asset).expired += lot.remaining;
        return !dead || lot.allowance !== null;
      });
    };
    for (; next < input.usage.length; next += 1) {
      const charge = input.usage[next];
      if (charge === undefined || charge.at >= period.endsAt || charge.at >= input.to) break;
      if (charge.at < period.startsAt) continue;
      expireThrough(charge.at);
      const line = tally(charge.asset);
      line.usage += charge.amount;
      let owed = charge.amount;
      for (const lot of consumptionOrder(lots, charge.asset)) {
        if (owed === 0n) break;
        const drawn = lot.remaining < owed ? lot.remaining : owed;
        lot.remaining -= drawn;
        owed -= drawn;
        line.consumed += drawn;
      }
      line.overage += owed;
    }
    expireThrough(period.endsAt);
    const survivors: Lot[] = [];
    for (const lot of lots) {
      if (lot.allowance === null) {
        survivors.push(lot);
        continue;
      }
      const allowance = plan.allowances[lot.allowance];
      if (allowance === undefined) throw new Error('assertion failed: a lot names an allowance of the plan');
      const rule = rolloverPlan(allowance, period.endsAt, timeZone);
      const cap = rule === null ? 0n : (rule.amountMax ?? lot.remaining);
      const rolled = lot.remaining < cap ? lot.remaining : cap;
      const line = tally(lot.asset);
      line.rolledOver += rolled;
      line.expired += lot.remaining - rolled;
      if (rolled > 0n && rule !== null)
        survivors.push({ ...lot, expiresAt: rule.expiresAt, allowance: null, remaining: rolled });
    }
    lots = survivors;
    for (const lot of lots) tally(lot.asset).carriedOut += lot.remaining;
    periods.push({ index, startsAt: period.startsAt, endsAt: period.endsAt, lines: [...tallies.values()] });
  }
  return periods;
}

function consumptionOrder(lots: readonly Lot[], asset: string): Lot[] {
  const expiry = (lot: Lot) => lot.expiresAt ?? Number.POSITIVE_INFINITY;
  return lots
    .filter((lot) => lot.asset === asset && lot.remaining > 0n)
    .sort((a, b) => a.priority - b.priority || expiry(a) - expiry(b) || a.bornAt - b.bornAt);
}
