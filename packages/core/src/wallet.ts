/**
 * A wallet is one customer's balance in one asset: its live grant lots, its open holds, its debt
 * and its policy. These types are the state every decision reads and returns anew; nothing here
 * mutates its input.
 */
import type { Decimal } from './money.ts';

export const grantCategories = [
  'paid',
  'promotional',
  'plan',
  'rollover',
  'trial',
  'support',
  'referral',
  'adjustment',
] as const;
export type GrantCategory = (typeof grantCategories)[number];

/** What the customer paid for a grant, in total, in some currency asset: exact, never rounded. */
export interface CostBasis {
  readonly currency: string;
  readonly total: Decimal;
}

export interface Grant {
  readonly id: string;
  readonly amount: bigint;
  /** Unconsumed credit of this lot, reserved part included. Zero once depleted, expired or voided. */
  readonly remaining: bigint;
  /** The part of `remaining` reserved by open holds. Always 0 ≤ reserved ≤ remaining. */
  readonly reserved: bigint;
  readonly category: GrantCategory;
  readonly priority: number;
  readonly effectiveAt: number;
  readonly expiresAt: number | null;
  /** Features this lot may pay for; null means any feature (and draws that name none). */
  readonly features: readonly string[] | null;
  readonly costBasis: CostBasis | null;
  readonly createdAt: number;
  readonly voidedAt: number | null;
  /** Plan allowance lots: what their unused credit becomes when they expire. Absent: it all expires. */
  readonly rollover?: RolloverPlan;
}

/** One slice of a hold: `grantId` null reserves against the wallet's overdraft. */
export interface Reservation {
  readonly grantId: string | null;
  readonly amount: bigint;
}

export interface Hold {
  readonly id: string;
  readonly amount: bigint;
  readonly reservations: readonly Reservation[];
  readonly feature: string | null;
  readonly expiresAt: number;
  readonly createdAt: number;
}

/** `<category>_first` draws that one category before all others and means nothing else. */
export type CategoryOrderKey = `${GrantCategory}_first`;

export const categoryOrderKeys: readonly CategoryOrderKey[] = grantCategories.map(
  (category) => `${category}_first` as const,
);

/**
 * The named consumption-order keys. `priority` is ascending (a lower number is spent first);
 * `expires_at` is soonest first (never-expiring last); `created_at` is oldest first (FIFO) and
 * `created_at_desc` newest first (LIFO); `cost_basis` is cheapest per unit first (free credit costs
 * zero) and `cost_basis_desc` dearest first.
 */
export const orderKeys: readonly [OrderKey, ...OrderKey[]] = [
  'priority',
  'expires_at',
  'created_at',
  'created_at_desc',
  'cost_basis',
  'cost_basis_desc',
  ...categoryOrderKeys,
];
export type OrderKey =
  | 'priority'
  | 'expires_at'
  | 'created_at'
  | 'created_at_desc'
  | 'cost_basis'
  | 'cost_basis_desc'
  | CategoryOrderKey;

/** SPEC §4: priority ascending, then soonest expiry (never-expiring last), then oldest first. */
export const defaultConsumptionOrder: readonly OrderKey[] = ['priority', 'expires_at', 'created_at'];

export interface WalletPolicy {
  readonly overdraftLimit: bigint;
  readonly consumptionOrder: readonly OrderKey[];
  /** New grants that are effective now and unrestricted pay the wallet's debt first. */
  readonly repayDebtFirst: boolean;
  /** `balance.low` fires when available credit falls below this; `balance.recovered` when it climbs back. */
  readonly lowBalanceThreshold: bigint | null;
}

export const defaultWalletPolicy: WalletPolicy = {
  overdraftLimit: 0n,
  consumptionOrder: defaultConsumptionOrder,
  repayDebtFirst: true,
  lowBalanceThreshold: null,
};

export interface Wallet {
  readonly customer: string;
  readonly asset: string;
  readonly policy: WalletPolicy;
  /** Credit consumed beyond the grants, owed by the customer (≥ 0). */
  readonly debt: bigint;
  /** The part of the overdraft reserved by open holds (≥ 0); debt + debtReserved ≤ overdraftLimit. */
  readonly debtReserved: bigint;
  /** Grants that may still matter: unvoided with remaining credit, or reserved by a hold. */
  readonly grants: readonly Grant[];
  readonly holds: readonly Hold[];
  /** The wallet's auto top-up rule and where it stands; absent when the wallet has none. */
  readonly topUp?: TopUpState;
}

/** When available credit falls below `threshold`, request a top-up of `amount` (at most `monthlyCap` a month). */
export interface TopUpRule {
  readonly enabled: boolean;
  readonly threshold: bigint;
  readonly amount: bigint;
  readonly monthlyCap: bigint | null;
  /** Failed top-ups in a row after which the rule stops requesting. */
  readonly failuresMax: number;
  /** What each top-up costs the customer, kept on its grant when the payment provider reports no cost. */
  readonly costBasis?: CostBasis;
}

export interface TopUpState {
  readonly rule: TopUpRule;
  /** The top-up requested and not yet settled: while it is set, no other is requested. */
  readonly pending: string | null;
  /** The month (`YYYY-MM`, UTC) `monthAmount` counts. */
  readonly month: string | null;
  readonly monthAmount: bigint;
  readonly failures: number;
}

export function emptyWallet(customer: string, asset: string, policy: WalletPolicy = defaultWalletPolicy): Wallet {
  return { customer, asset, policy, debt: 0n, debtReserved: 0n, grants: [], holds: [] };
}

/** A grant is dead when voided or past expiry: its unreserved credit belongs in `expired`/`voided`. */
export function isGrantDead(grant: Grant, now: number): boolean {
  return grant.voidedAt !== null || (grant.expiresAt !== null && now >= grant.expiresAt);
}

export type UnusableReason =
  | 'not_yet_effective'
  | 'expired'
  | 'voided'
  | 'restricted_to_other_features'
  | 'nothing_unreserved';

/** SPEC §4 "usable grant": effective, not expired, not voided, has unreserved credit, feature allowed. */
export function unusableReason(grant: Grant, feature: string | null, now: number): UnusableReason | null {
  if (grant.voidedAt !== null) return 'voided';
  if (now < grant.effectiveAt) return 'not_yet_effective';
  if (grant.expiresAt !== null && now >= grant.expiresAt) return 'expired';
  if (grant.features !== null && (feature === null || !grant.features.includes(feature))) {
    return 'restricted_to_other_features';
  }
  if (grant.remaining - grant.reserved <= 0n) return 'nothing_unreserved';
  return null;
}

/**
 * The credit an expired grant carries into a rollover lot: its unreserved remainder, capped by the
 * grant's rollover plan. Zero for voided grants and grants without one. Settlement books exactly
 * this; viewBalance counts it before settlement has run.
 */
export function rolloverAmount(grant: Grant): bigint {
  if (grant.rollover === undefined || grant.voidedAt !== null) return 0n;
  const unreserved = grant.remaining - grant.reserved;
  const cap = grant.rollover.amountMax;
  if (unreserved <= 0n) return 0n;
  return cap !== null && cap < unreserved ? cap : unreserved;
}

/**
 * The lot an expired grant's rolled credit moves into: same priority, features and cost basis,
 * effective when the grant expired, with no rollover of its own (rolled credit never rolls again).
 * It keeps the age of the credit it came from, so the consumption order is the same whenever
 * settlement books it, and on an expiry tie with a newer allowance the rolled credit goes first.
 */
export function rolledGrant(grant: Grant, id: string, amount: bigint, bookedAt: number): Grant {
  return {
    id,
    amount,
    remaining: amount,
    reserved: 0n,
    category: 'rollover',
    priority: grant.priority,
    effectiveAt: grant.expiresAt ?? bookedAt,
    expiresAt: grant.rollover?.expiresAt ?? null,
    features: grant.features,
    costBasis: grant.costBasis,
    createdAt: grant.createdAt,
    voidedAt: null,
  };
}

/** What unused credit of a grant becomes when it expires: at most `amountMax` (null: all) moves to a rollover grant. */
export interface RolloverPlan {
  readonly amountMax: bigint | null;
  /** When the rolled credit expires; null: never. */
  readonly expiresAt: number | null;
}
