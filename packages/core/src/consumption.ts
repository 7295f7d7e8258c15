/**
 * Consumption order: which grants a draw takes credit from, in what order, and why.
 * The order is a list of named keys; ties always fall back to creation time, then id, so a
 * plan is deterministic.
 */
import { compareRatios } from './money.ts';
import type { Grant, GrantCategory, OrderKey, Reservation, UnusableReason, Wallet } from './wallet.ts';
import { grantCategories, unusableReason } from './wallet.ts';

type Comparator = (a: Grant, b: Grant) => number;

/** Grants of `category` before all others; every other category ties, so the next key decides. */
function categoryFirst(category: GrantCategory): Comparator {
  const rank = (grant: Grant) => (grant.category === category ? 0 : 1);
  return (a, b) => rank(a) - rank(b);
}

const categoryComparators = Object.fromEntries(
  grantCategories.map((category) => [`${category}_first`, categoryFirst(category)]),
) as Record<`${GrantCategory}_first`, Comparator>;

const comparators: Record<OrderKey, Comparator> = {
  ...categoryComparators,
  priority: (a, b) => a.priority - b.priority,
  expires_at: (a, b) => (a.expiresAt ?? Number.POSITIVE_INFINITY) - (b.expiresAt ?? Number.POSITIVE_INFINITY) || 0,
  created_at: (a, b) => a.createdAt - b.createdAt,
  created_at_desc: (a, b) => b.createdAt - a.createdAt,
  cost_basis: (a, b) => compareCostPerUnit(a, b),
  cost_basis_desc: (a, b) => compareCostPerUnit(b, a),
};

/** Free credit (no cost basis) counts as cost zero. */
function compareCostPerUnit(a: Grant, b: Grant): number {
  const zero = { units: 0n, scale: 0 };
  return compareRatios(a.costBasis?.total ?? zero, a.amount || 1n, b.costBasis?.total ?? zero, b.amount || 1n);
}

const tieBreak: Comparator = (a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function orderGrants(grants: readonly Grant[], order: readonly OrderKey[]): Grant[] {
  return [...grants].sort((a, b) => {
    for (const key of order) {
      const difference = comparators[key](a, b);
      if (difference !== 0) return difference;
    }
    return tieBreak(a, b);
  });
}

export interface DrawPlan {
  /** Slices taken from grants (and, with grantId null, from the overdraft), in draw order. */
  readonly draws: readonly Reservation[];
  /** The part of the request no grant or overdraft could cover; zero when the plan is complete. */
  readonly shortfall: bigint;
  readonly available: bigint;
}

/**
 * Plans how `amount` would be drawn from a wallet for `feature` at `now`: unreserved credit of
 * usable grants in consumption order, then the overdraft left. Pure; the caller decides whether a
 * shortfall refuses the request.
 */
export function planDraws(wallet: Wallet, amount: bigint, feature: string | null, now: number): DrawPlan {
  const usable = wallet.grants.filter((grant) => unusableReason(grant, feature, now) === null);
  const draws: Reservation[] = [];
  let left = amount;
  let available = 0n;
  for (const grant of orderGrants(usable, wallet.policy.consumptionOrder)) {
    const free = grant.remaining - grant.reserved;
    available += free;
    if (left === 0n) continue;
    const take = free < left ? free : left;
    draws.push({ grantId: grant.id, amount: take });
    left -= take;
  }
  const overdraftLeft = wallet.policy.overdraftLimit - wallet.debt - wallet.debtReserved;
  available += overdraftLeft > 0n ? overdraftLeft : 0n;
  if (left > 0n && overdraftLeft > 0n) {
    const take = overdraftLeft < left ? overdraftLeft : left;
    draws.push({ grantId: null, amount: take });
    left -= take;
  }
  return { draws, shortfall: left, available };
}

export interface GrantExplanation {
  readonly grantId: string;
  readonly rank: number | null;
  readonly unusable: UnusableReason | null;
}

/** Explains a plan: every grant of the wallet, its rank in the consumption order, or why it is skipped. */
export function explainOrder(wallet: Wallet, feature: string | null, now: number): GrantExplanation[] {
  const usable = orderGrants(
    wallet.grants.filter((grant) => unusableReason(grant, feature, now) === null),
    wallet.policy.consumptionOrder,
  );
  const ranked: GrantExplanation[] = usable.map((grant, index) => ({
    grantId: grant.id,
    rank: index + 1,
    unusable: null,
  }));
  const skipped: GrantExplanation[] = wallet.grants
    .map((grant) => ({ grantId: grant.id, rank: null, unusable: unusableReason(grant, feature, now) }))
    .filter((explanation) => explanation.unusable !== null);
  return [...ranked, ...skipped];
}
