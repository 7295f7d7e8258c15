/**
 * previewSubscriptionChange: the credit effect of a plan change before it happens. It is decided by
 * the committer on the locked subscription and wallets, like the change, in a transaction it rolls
 * back (a dry run), through the core's decidePlanChangeEffect, which makes the change's own
 * decidePlanChange; its token is the state it was made on, so the change can refuse a stale one.
 */
import type { PreviewSubscriptionChangeBody } from '@bursar/api';
import type { PlanChangeEffect, PlanRef } from '@bursar/core';
import { decidePlanChangeEffect, formatAmount } from '@bursar/core';
import type { Caller, Reply } from '../../platform/contract.ts';
import type { LedgerService } from '../../platform/service.ts';
import { okReply, problemReply } from '../../platform/service.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';
import { toTimestamp } from '../../platform/wire.ts';
import { planRefText } from './plan-operations.ts';
import { previewToken, walletsOfPlans } from './preview-token.ts';
import {
  isStored,
  loadSubscriptionContext,
  notFound,
  planOrReply,
  subscriptionFromRow,
} from './subscription-operations.ts';

export async function previewSubscriptionChange(
  service: LedgerService,
  caller: Caller,
  subscriptionId: string,
  input: PreviewSubscriptionChangeBody,
): Promise<Reply> {
  const { environmentId } = caller;
  const context = await loadSubscriptionContext(service, environmentId, subscriptionId);
  if (context === null) return notFound(caller, subscriptionId);
  const next = await planOrReply(service, caller, input.plan, input.version ?? null);
  if (!isStored(next)) return next;
  const plans = [...context.plans, next];
  const byRef = new Map(plans.map((stored) => [planRefText(stored.plan), stored]));
  const customer = context.row.customer_id;
  const assets = [...new Set(plans.flatMap((stored) => stored.assets))];
  const timing = input.timing ?? 'immediate';
  const nextRef: PlanRef = { planId: next.plan.planId, version: next.plan.version };
  const rowKey = [environmentId, customer, subscriptionId];
  const scaleOf = new Map<string, number>();
  for (const asset of assets) scaleOf.set(asset, (await service.asset(environmentId, asset))?.scale ?? 0);
  let issued = new Map<string, string>();
  const reply = await service.committer.submit({
    environmentId,
    requestId: caller.requestId,
    idempotency: null,
    dryRun: true,
    wallets: assets.map((asset) => ({ environmentId, customer, asset })),
    preload: [{ table: 'subscriptions', keyColumns: ['environment_id', 'customer_id', 'id'], key: rowKey, lock: true }],
    async read(_batch, reader) {
      const rows = await queryBuilder(reader)
        .selectFrom('subscription_grants')
        .select(['source', 'grant_id'])
        .where('environment_id', '=', environmentId)
        .where('customer_id', '=', customer)
        .where('subscription_id', '=', subscriptionId)
        .execute();
      issued = new Map(rows.map((row) => [row.source, row.grant_id]));
    },
    decide(batch) {
      const row = batch.preloaded('subscriptions', rowKey);
      if (row === undefined) throw new Error('assertion failed: subscriptions are never deleted');
      const subscription = subscriptionFromRow(row);
      const lookup = (ref: PlanRef) => {
        const stored = byRef.get(planRefText(ref));
        if (stored === undefined) throw new PlanChangedMeanwhile();
        return stored.plan;
      };
      const wallets = walletsOfPlans(plans, environmentId, customer, (key) => batch.wallet(key));
      const state = { subscription, plans: lookup, next: nextRef, timing, now: batch.now, wallets };
      try {
        const outcome = decidePlanChangeEffect({ ...state, issued }, batch.context);
        if (outcome.kind === 'refused') return problemReply(caller, outcome.code, outcome.detail);
        const token = previewToken({ ...state, environmentId });
        return okReply(200, {
          subscription: subscriptionId,
          from: refOf(subscription.plan),
          to: refOf(nextRef),
          timing,
          ...wire(outcome.effect, scaleOf),
          preview_token: token,
        });
      } catch (error) {
        if (!(error instanceof PlanChangedMeanwhile)) throw error;
        return problemReply(
          caller,
          'subscription_changed',
          `Subscription "${subscriptionId}" changed plan while this preview was being made. Retry it.`,
        );
      }
    },
  });
  // The dry run's wallets before and after are the committer's; the preview answers its own body.
  const { dryRun: _wallets, ...answer } = reply;
  return answer;
}

/** Thrown through the core's pure decision when the locked row follows a plan this preview did not load. */
class PlanChangedMeanwhile extends Error {}

function refOf(ref: PlanRef) {
  return { plan: ref.planId, version: ref.version };
}

function wire(effect: PlanChangeEffect, scaleOf: ReadonlyMap<string, number>) {
  const time = (instant: number | null) => (instant === null ? null : toTimestamp(instant));
  const assets = effect.assets.map((asset) => {
    const amount = (units: bigint) => formatAmount(units, scaleOf.get(asset.asset) ?? 0);
    const kept = asset.remainingCredit.filter((lot) => lot.fate === 'kept');
    const sum = (values: readonly bigint[]) => values.reduce((total, value) => total + value, 0n);
    return {
      asset: asset.asset,
      new_allowance: amount(asset.newAllowance),
      one_time_grants: amount(asset.oneTimeGrants),
      remaining_credit: {
        kept: amount(sum(kept.map((lot) => lot.remaining))),
        rolls_over: amount(sum(kept.map((lot) => lot.rollsOver))),
        voided: amount(
          asset.scheduledVoided +
            sum(asset.remainingCredit.filter((lot) => lot.fate === 'voided').map((lot) => lot.remaining)),
        ),
        lots: asset.remainingCredit.map((lot) => ({
          grant: lot.grantId,
          remaining: amount(lot.remaining),
          expires_at: time(lot.expiresAt),
          fate: lot.fate,
          rolls_over: amount(lot.rollsOver),
        })),
      },
      balance_before: amount(asset.balanceBefore),
      balance_after: amount(asset.balanceAfter),
      available_after: amount(asset.availableAfter),
      debt_after: amount(asset.debtAfter),
    };
  });
  const warnings = effect.negative.map((code) => {
    const balance = assets.find((asset) => asset.asset === code)?.balance_after ?? '0';
    return {
      code: 'negative_balance' as const,
      asset: code,
      balance,
      message: `The ${code} balance would be ${balance} when the change takes effect: the new plan's credit does not cover what the customer owes.`,
    };
  });
  return {
    effective_at: toTimestamp(effect.effectiveAt),
    period: { starts_at: toTimestamp(effect.period.startsAt), ends_at: toTimestamp(effect.period.endsAt) },
    proration: 'none' as const,
    assets,
    warnings,
  };
}
