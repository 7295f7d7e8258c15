/**
 * Plans as data: what a plan version gives a subscriber (recurring allowances with rollover,
 * one-time grants, a trial, entitlements, price overrides) and the state of a subscription.
 * A published plan version never changes; subscriptions name the version they follow.
 */
import type { Decimal } from './money.ts';
import type { Rational } from './rational.ts';
import type { GrantCategory, RolloverPlan } from './wallet.ts';

export const intervals = ['day', 'week', 'month', 'year'] as const;
export type Interval = (typeof intervals)[number];

/** Every `count` intervals, counted in the wall clock of a subscription's time zone. */
export interface Cadence {
  readonly interval: Interval;
  readonly count: number;
}

/**
 * What a period's unused allowance becomes when the period ends. `amount` caps what one period
 * carries; `percent` caps it at a share of the allowance, rounded down. Rolled credit lives until
 * `expiresAfter` past the end of the period it came from (null: never) and never rolls again.
 */
export type RolloverRule =
  | { readonly kind: 'none' }
  | { readonly kind: 'all'; readonly expiresAfter: Cadence | null }
  | { readonly kind: 'amount'; readonly amountMax: bigint; readonly expiresAfter: Cadence | null }
  | { readonly kind: 'percent'; readonly percent: Decimal; readonly expiresAfter: Cadence | null };

/** Credit granted afresh every period of `cadence`, anchored to the subscription's start; it expires at the period end. */
export interface Allowance {
  readonly asset: string;
  readonly amount: bigint;
  readonly cadence: Cadence;
  readonly rollover: RolloverRule;
  readonly priority: number;
  readonly features: readonly string[] | null;
}

/** Credit granted once, when the subscription starts (or when it moves to this version immediately). */
export interface OneTimeGrant {
  readonly asset: string;
  readonly amount: bigint;
  readonly category: GrantCategory;
  /** Null: never expires. */
  readonly expiresAfter: Cadence | null;
  readonly priority: number;
  readonly features: readonly string[] | null;
}

export interface Trial {
  readonly duration: Cadence;
  /** Trial credit, granted at the start and expiring when the trial ends. */
  readonly grants: readonly { readonly asset: string; readonly amount: bigint }[];
  /** `convert`: the paid plan starts when the trial ends; `end`: the subscription ends with the trial. */
  readonly onEnd: 'convert' | 'end';
  /** `subscription.trial_ending` is sent this long before the trial ends. */
  readonly noticeBefore: Cadence;
}

export type Entitlement =
  | { readonly feature: string; readonly kind: 'boolean'; readonly enabled: boolean }
  /** A static numeric limit (seats, projects): a check of quantity n passes when n ≤ limit. */
  | { readonly feature: string; readonly kind: 'limit'; readonly limit: Decimal }
  /** A usage limit per period of `cadence` (anchored to the subscription): used + n ≤ limit. */
  | {
      readonly feature: string;
      readonly kind: 'metered';
      readonly limit: Decimal;
      readonly cadence: Cadence;
      /** The meter quantity counted; null: the feature meter's first quantity. */
      readonly quantity: string | null;
    };

/** Subscribers of the plan pay for `feature` with `priceBook`'s prices instead of the default book's. */
export interface PriceOverride {
  readonly feature: string;
  readonly priceBook: string;
}

export interface PlanVersion {
  readonly planId: string;
  readonly version: number;
  /** The subscription's billing period: renewals, `subscription.renewed` and period-end changes follow it. */
  readonly period: Cadence;
  readonly allowances: readonly Allowance[];
  readonly oneTimeGrants: readonly OneTimeGrant[];
  readonly trial: Trial | null;
  readonly entitlements: readonly Entitlement[];
  readonly priceOverrides: readonly PriceOverride[];
}

export type SubscriptionStatus = 'trialing' | 'active' | 'paused' | 'canceled' | 'ended';

export interface PlanRef {
  readonly planId: string;
  readonly version: number;
}

export interface Subscription {
  readonly id: string;
  readonly customer: string;
  readonly plan: PlanRef;
  readonly status: SubscriptionStatus;
  /** IANA time zone whose wall clock periods are counted in (month ends, DST). */
  readonly timeZone: string;
  /** Start of period 0 of the current plan: periods and allowance periods are counted from it. */
  readonly anchorAt: number;
  /** The current billing period, by index from the anchor. */
  readonly periodIndex: number;
  readonly periodStartsAt: number;
  readonly periodEndsAt: number;
  readonly trialEndsAt: number | null;
  readonly trialNoticeSent: boolean;
  readonly cancelAtPeriodEnd: boolean;
  /** A change that takes effect when the current period ends (a downgrade). */
  readonly pendingPlan: PlanRef | null;
  readonly pausedAt: number | null;
  readonly endedAt: number | null;
  readonly createdAt: number;
  /** Per allowance of the current plan (by index), the last allowance period whose grant was issued; −1: none. */
  readonly allowancesIssued: readonly number[];
}

/**
 * A grant a subscription decision asks for. `source` is unique per environment and customer, so
 * issuing it twice is impossible and a scheduled grant can be found again to void it:
 * `{subscription}/allowance/{anchorAt}/{plan}@{version}/{allowanceIndex}/{period}` (the anchor and plan
 * tell phases apart: a plan change or resume starts a new one), `{subscription}/once/{plan}@{version}/{index}`
 * (so a version's one-time grants come at most once per subscription), `{subscription}/trial/{index}`. Its period may be past (catch-up after downtime): it is then
 * issued and settled at once, exactly as if it had been issued on time and left unused.
 */
export interface PlannedGrant {
  readonly source: string;
  readonly asset: string;
  readonly amount: bigint;
  readonly category: GrantCategory;
  readonly priority: number;
  readonly effectiveAt: number;
  readonly expiresAt: number | null;
  readonly features: readonly string[] | null;
  readonly rollover: RolloverPlan | null;
}

export interface SubscriptionPeriod {
  readonly index: number;
  readonly startsAt: number;
  readonly endsAt: number;
  readonly plan: PlanRef;
}

export interface SubscriptionEvent {
  readonly type:
    | 'subscription.created'
    | 'subscription.renewed'
    | 'subscription.changed'
    | 'subscription.paused'
    | 'subscription.resumed'
    | 'subscription.canceled'
    | 'subscription.ended'
    | 'subscription.trial_ending'
    | 'subscription.trial_ended';
  readonly data: Readonly<Record<string, string | number | null>>;
}

/** What a subscription decision asks the shell to record, all in one transaction. */
export interface SubscriptionDecision {
  readonly subscription: Subscription;
  readonly grants: readonly PlannedGrant[];
  /** Sources of grants issued earlier and not yet effective that must be voided (e.g. a next period that will not come). */
  readonly voidSources: readonly string[];
  /** Periods this decision started, in order. */
  readonly periods: readonly SubscriptionPeriod[];
  readonly events: readonly SubscriptionEvent[];
  /** When the scheduler must look at this subscription again; null once it has ended. */
  readonly nextDueAt: number | null;
}

/** Looks up a plan version the decision needs (the current one and a pending one). */
export type PlanLookup = (plan: PlanRef) => PlanVersion;

export interface EntitlementQuestion {
  readonly feature: string;
  readonly quantity: Rational;
  /** Entitlements of the feature from every live subscription of the customer. */
  readonly entitlements: readonly Entitlement[];
  /** For metered entitlements: the usage of the current period, by entitlement index in `entitlements`. */
  readonly usedByEntitlement: ReadonlyMap<number, Rational>;
  /** When the feature is priced: the cost of `quantity` and the credit available to pay it. */
  readonly credit: { readonly cost: bigint; readonly available: bigint; readonly asset: string } | null;
}

export type EntitlementDenial = 'not_entitled' | 'feature_disabled' | 'limit_exceeded' | 'usage_limit_exceeded';

export interface EntitlementAnswer {
  readonly allowed: boolean;
  /** Null when allowed. */
  readonly reason: EntitlementDenial | 'insufficient_balance' | null;
  /** The entitlement that decided (the most generous one of its kind), if any. */
  readonly entitlement: Entitlement | null;
  /** For limits: what is left after this quantity would be used (negative when short). */
  readonly remaining: Rational | null;
}
