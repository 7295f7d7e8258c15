/**
 * The credit effect of a plan change before it happens: the same decidePlanChange the change itself
 * makes, applied to the customer's wallets as the shell books it (each planned grant once, the
 * voids, settlement after each), and summed up per asset: the new allowance, what becomes of the
 * remaining plan credit, and the balance at the instant the change takes effect. The preview and
 * the change both decide through decidePlanChange, so they cannot disagree; `planChangeBasis` names
 * the state a preview was made on, so a change can refuse a preview that is no longer true.
 */

import { viewBalance } from './balance.ts';
import { decidePlannedGrant, decideVoid } from './grants.ts';
import type { DecisionContext } from './ledger.ts';
import type { Refusal } from './outcomes.ts';
import { assert } from './outcomes.ts';
import type { PlanLookup, PlannedGrant, PlanRef, Subscription, SubscriptionDecision } from './plans.ts';
import { decideSettlement } from './settlement.ts';
import { decidePlanChange, decideSubscriptionDue } from './subscriptions.ts';
import type { Wallet } from './wallet.ts';
import { isGrantDead, rolloverAmount } from './wallet.ts';

export interface PlanChangeInput {
  readonly subscription: Subscription;
  readonly plans: PlanLookup;
  readonly next: PlanRef;
  readonly timing: 'immediate' | 'period_end';
  readonly now: number;
  /** The customer's wallet in every asset of the plans involved, by asset. */
  readonly wallets: ReadonlyMap<string, Wallet>;
  /** Every grant this subscription has issued: source → grant id. */
  readonly issued: ReadonlyMap<string, string>;
}

/** One lot of the current plan's credit, effective now, and what the change does to it. */
export interface PlanCreditLot {
  readonly grantId: string;
  readonly remaining: bigint;
  readonly expiresAt: number | null;
  /** `kept`: it stays until it expires, then rolls over up to `rollsOver`; `voided`: it leaves with the change. */
  readonly fate: 'kept' | 'voided';
  readonly rollsOver: bigint;
}

export interface AssetChangeEffect {
  readonly asset: string;
  /** The new plan's allowance credit this change issues (its first periods), and its one-time grants. */
  readonly newAllowance: bigint;
  readonly oneTimeGrants: bigint;
  /** The current plan's credit spendable now, lot by lot. */
  readonly remainingCredit: readonly PlanCreditLot[];
  /** Credit issued ahead for periods that will not come (not spendable yet), voided by the change. */
  readonly scheduledVoided: bigint;
  /** The balance now, before the change, and at the instant it takes effect, after it (no other activity assumed). */
  readonly balanceBefore: bigint;
  readonly balanceAfter: bigint;
  readonly availableAfter: bigint;
  readonly debtAfter: bigint;
}

export interface PlanChangeEffect {
  readonly effectiveAt: number;
  /** The new plan's first period: an immediate change starts whole periods from now, so nothing is prorated. */
  readonly period: { readonly startsAt: number; readonly endsAt: number };
  readonly assets: readonly AssetChangeEffect[];
  /** Assets whose balance is negative once the change takes effect. */
  readonly negative: readonly string[];
}

export type PlanChangeOutcome =
  | { readonly kind: 'accepted'; readonly decision: SubscriptionDecision; readonly effect: PlanChangeEffect }
  | Refusal;

/** The change decidePlanChange makes, with its credit effect on the wallets. */
export function decidePlanChangeEffect(input: PlanChangeInput, context: DecisionContext): PlanChangeOutcome {
  const { now } = input;
  const decision = decidePlanChange(input.subscription, input.plans, input.next, input.timing, now);
  if ('kind' in decision) return decision;
  const caughtUp = decision.subscription;
  const effectiveAt = input.timing === 'immediate' ? now : caughtUp.periodEndsAt;
  const nextKey = planText(input.next);
  const issued = new Map(input.issued);
  const wallets = new Map(input.wallets);
  const booked = book(wallets, decision, issued, context);
  const newAllowance = new Map<string, bigint>();
  const oneTime = new Map<string, bigint>();
  for (const planned of booked.granted) {
    const totals = planned.source.includes(`/once/${nextKey}/`)
      ? oneTime
      : planned.source.includes(`/allowance/`) && planned.source.includes(`/${nextKey}/`)
        ? newAllowance
        : null;
    totals?.set(planned.asset, (totals.get(planned.asset) ?? 0n) + planned.amount);
  }
  // A period-end change takes effect at the switch: what falls due until then (the switch itself,
  // allowance periods of shorter cadences) is booked too, as the scheduler will book it.
  let period = { startsAt: caughtUp.periodStartsAt, endsAt: caughtUp.periodEndsAt };
  if (effectiveAt > now) {
    const due = decideSubscriptionDue(caughtUp, input.plans, effectiveAt);
    book(wallets, due, issued, { ...context, now: effectiveAt });
    period = { startsAt: due.subscription.periodStartsAt, endsAt: due.subscription.periodEndsAt };
  }
  const voided = booked.voided;
  const scheduledVoided = booked.scheduledVoided;
  const ownGrants = new Set(input.issued.values());
  const assets = [...input.wallets.keys()].sort().map((asset): AssetChangeEffect => {
    const before = input.wallets.get(asset) as Wallet;
    const view = viewBalance(wallets.get(asset) as Wallet, effectiveAt);
    const remainingCredit = before.grants
      .filter((lot) => ownGrants.has(lot.id) && lot.effectiveAt <= now && !isGrantDead(lot, now) && lot.remaining > 0n)
      .map((lot): PlanCreditLot => {
        const fate = voided.has(lot.id) ? 'voided' : 'kept';
        return {
          grantId: lot.id,
          remaining: lot.remaining,
          expiresAt: lot.expiresAt,
          fate,
          rollsOver: fate === 'kept' ? rolloverAmount(lot) : 0n,
        };
      });
    return {
      asset,
      newAllowance: newAllowance.get(asset) ?? 0n,
      oneTimeGrants: oneTime.get(asset) ?? 0n,
      remainingCredit,
      scheduledVoided: scheduledVoided.get(asset) ?? 0n,
      balanceBefore: viewBalance(before, now).balance,
      balanceAfter: view.balance,
      availableAfter: view.available,
      debtAfter: view.debt,
    };
  });
  const negative = assets.filter((effect) => effect.balanceAfter < 0n).map((effect) => effect.asset);
  return { kind: 'accepted', decision, effect: { effectiveAt, period, assets, negative } };
}

/**
 * Books a subscription decision on the wallets as the shell does: each source not issued yet once
 * (settling after each), then the voids of what it issued before.
 */
function book(
  wallets: Map<string, Wallet>,
  decision: SubscriptionDecision,
  issued: Map<string, string>,
  context: DecisionContext,
) {
  const settle = (wallet: Wallet) => decideSettlement(wallet, context).wallet;
  const walletOf = (asset: string) => {
    const wallet = wallets.get(asset);
    assert(wallet !== undefined, 'the shell passes a wallet for every asset of the plans');
    return settle(wallet);
  };
  const granted: PlannedGrant[] = [];
  for (const planned of decision.grants) {
    if (issued.has(planned.source)) continue;
    const accepted = decidePlannedGrant(walletOf(planned.asset), planned, context);
    assert(accepted.kind === 'accepted', 'a planned grant is always accepted');
    issued.set(planned.source, accepted.result.grant.id);
    wallets.set(planned.asset, settle(accepted.wallet));
    granted.push(planned);
  }
  const voided = new Set<string>();
  const scheduledVoided = new Map<string, bigint>();
  for (const source of decision.voidSources) {
    const grantId = issued.get(source);
    if (grantId === undefined) continue;
    for (const [asset, wallet] of wallets) {
      const grant = wallet.grants.find((lot) => lot.id === grantId);
      if (grant === undefined || grant.voidedAt !== null) continue;
      const result = decideVoid(settle(wallet), grantId, 'plan change', context);
      if (result.kind !== 'accepted') continue;
      voided.add(grantId);
      if (context.now < grant.effectiveAt)
        scheduledVoided.set(asset, (scheduledVoided.get(asset) ?? 0n) + grant.remaining - grant.reserved);
      wallets.set(asset, settle(result.wallet));
    }
  }
  return { granted, voided, scheduledVoided };
}

/**
 * The state a preview is made on, as canonical text: the subscription as of `now` (what was already
 * due booked, so a renewal passed since the preview shows), every wallet's live lots, holds, debt and
 * policy, and the request. A change whose basis differs from its preview's refuses the preview.
 */
export function planChangeBasis(input: Omit<PlanChangeInput, 'issued'>): string {
  const current = decideSubscriptionDue(input.subscription, input.plans, input.now).subscription;
  const wallets = [...input.wallets.keys()].sort().map((asset) => walletBasis(input.wallets.get(asset) as Wallet));
  return JSON.stringify(
    {
      subscription: current,
      wallets,
      request: { plan: input.next.planId, version: input.next.version, timing: input.timing },
    },
    (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value),
  );
}

/** A wallet's state as far as a plan change's effect goes: its live lots, holds, debt and policy. */
function walletBasis(wallet: Wallet) {
  return {
    asset: wallet.asset,
    debt: wallet.debt,
    debtReserved: wallet.debtReserved,
    overdraftLimit: wallet.policy.overdraftLimit,
    repayDebtFirst: wallet.policy.repayDebtFirst,
    lots: wallet.grants
      .filter((lot) => lot.remaining > 0n || lot.reserved > 0n)
      .map((lot) => [lot.id, lot.remaining, lot.reserved, lot.voidedAt])
      .sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)),
    holds: wallet.holds.map((hold) => [hold.id, hold.amount, hold.expiresAt]).sort(),
  };
}

function planText(plan: PlanRef): string {
  return `${plan.planId}@${plan.version}`;
}
