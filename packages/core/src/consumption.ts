/**
 * Consumption order: which grants a draw takes credit from, in what order, and why.
 * The order is a list of named keys; ties always fall back to creation time, then id, so a
 * plan is deterministic.
 */
import { grantTotals, orderedPositions, usableFree } from './grant-index.ts';
import type { Grant, Reservation, UnusableReason, Wallet } from './wallet.ts';
import { unusableReason } from './wallet.ts';

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
  const draws: Reservation[] = [];
  let left = amount;
  // Walk the kept order and stop once the amount is covered: a draw touches the grants it uses
  // (and the unusable ones before them), not all of them.
  const grants = wallet.grants;
  if (left > 0n) {
    for (const position of orderedPositions(grants, wallet.policy.consumptionOrder)) {
      const grant = grants[position] as Grant;
      if (unusableReason(grant, feature, now) !== null) continue;
      const free = grant.remaining - grant.reserved;
      const take = free < left ? free : left;
      draws.push({ grantId: grant.id, amount: take });
      left -= take;
      if (left === 0n) break;
    }
  }
  const overdraftLeft = wallet.policy.overdraftLimit - wallet.debt - wallet.debtReserved;
  const available = usableFree(grantTotals(grants, now), feature) + (overdraftLeft > 0n ? overdraftLeft : 0n);
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
  const ranked: GrantExplanation[] = [];
  for (const position of orderedPositions(wallet.grants, wallet.policy.consumptionOrder)) {
    const grant = wallet.grants[position] as Grant;
    if (unusableReason(grant, feature, now) === null)
      ranked.push({ grantId: grant.id, rank: ranked.length + 1, unusable: null });
  }
  const skipped: GrantExplanation[] = wallet.grants
    .map((grant) => ({ grantId: grant.id, rank: null, unusable: unusableReason(grant, feature, now) }))
    .filter((explanation) => explanation.unusable !== null);
  return [...ranked, ...skipped];
}
