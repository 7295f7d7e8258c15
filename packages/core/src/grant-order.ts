/**
 * The consumption order as one comparison of two grants: the policy's named keys, then creation
 * time, then id, so the order is total and a plan deterministic.
 */
import { compareRatios } from './money.ts';
import type { Grant, GrantCategory, OrderKey } from './wallet.ts';
import { grantCategories } from './wallet.ts';

export type Comparator = (a: Grant, b: Grant) => number;

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

/** One comparator per order, made once: a big wallet's order is kept by binary insertion with it. */
const comparatorsByOrder = new Map<string, Comparator>();

export function grantComparator(order: readonly OrderKey[]): Comparator {
  const key = order.join(',');
  let compare = comparatorsByOrder.get(key);
  if (compare === undefined) {
    const keys = order.map((name) => comparators[name]);
    compare = (a, b) => {
      for (const byKey of keys) {
        const difference = byKey(a, b);
        if (difference !== 0) return difference;
      }
      return tieBreak(a, b);
    };
    comparatorsByOrder.set(key, compare);
  }
  return compare;
}
