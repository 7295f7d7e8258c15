/**
 * simulatePricing with its plan replay: the usage domain's draft-price simulation, and, when the
 * body names a plan, the customer's recorded charges replayed against that plan version's (or an
 * unpublished draft's) allowances and rollover by decidePlanReplay. Lives here because usage comes before plans.
 */

import type { PlanVersionBody, SimulatePricingBody } from '@bursar/api';
import type { PlanReplayLine, PlanReplayPeriod } from '@bursar/core';
import { decidePlanReplay, formatAmount, replayPeriods } from '@bursar/core';
import type { Caller, Reply } from '../../platform/contract.ts';
import type { AssetInfo, LedgerService } from '../../platform/service.ts';
import { fieldReply, okReply, problemReply } from '../../platform/service.ts';
import { toTimestamp } from '../../platform/wire.ts';
import { readChargedUsage, simulatePricing as simulateDraftPrices } from '../usage/index.ts';
import type { StoredPlanVersion } from './plan-operations.ts';
import { loadPlanVersion, parsePlanVersion } from './plan-operations.ts';

/** Periods are counted in UTC: the replay stands for no subscription, so it has no time zone of its own. */
const timeZone = 'UTC';
const replayPeriodsMax = 1000;

export async function simulatePricing(
  service: LedgerService,
  caller: Caller,
  input: SimulatePricingBody,
): Promise<Reply> {
  const { plan: planRef, ...draftInput } = input;
  if (planRef === undefined) return simulateDraftPrices(service, caller, draftInput);
  if (input.customer === undefined)
    return fieldReply(caller, [{ field: 'customer', message: 'is required with plan: the replay is of one customer' }]);
  const stored =
    planRef.draft === undefined
      ? await loadPublished(service, caller, planRef)
      : await parseDraft(service, caller, planRef.id, planRef.draft);
  if ('reply' in stored) return stored.reply;
  const { plan } = stored;
  const ownCadence = plan.allowances.findIndex(
    ({ cadence }) => cadence.interval !== plan.period.interval || cadence.count !== plan.period.count,
  );
  if (ownCadence >= 0)
    return fieldReply(caller, [
      {
        field: planRef.draft === undefined ? 'plan.id' : `plan.draft.allowances[${ownCadence}].cadence`,
        message: `allowance ${ownCadence} has its own cadence; the replay follows the plan's period only`,
      },
    ]);
  if (input.to > input.from && replayPeriods(plan, input.from, input.to, timeZone).length > replayPeriodsMax)
    return fieldReply(caller, [{ field: 'to', message: `the range holds more than ${replayPeriodsMax} plan periods` }]);
  const draft = await simulateDraftPrices(service, caller, draftInput);
  if (draft.problem) return draft;
  const usage = await readChargedUsage(service, {
    environmentId: caller.environmentId,
    customer: input.customer,
    from: input.from,
    to: input.to,
    feature: input.feature,
  });
  if (usage === null)
    return fieldReply(caller, [{ field: 'from', message: 'the range holds too many events: narrow it' }]);
  const periods = decidePlanReplay({ plan, from: input.from, to: input.to, timeZone, usage });
  const scales = new Map<string, AssetInfo>();
  for (const line of periods.flatMap((period) => period.lines)) {
    if (scales.has(line.asset)) continue;
    const asset = await service.asset(caller.environmentId, line.asset);
    if (asset === undefined) throw new Error('assertion failed: replayed charges and plans name existing assets');
    scales.set(line.asset, asset);
  }
  const amount = (asset: string, units: bigint) => formatAmount(units, scales.get(asset)?.scale ?? 0);
  return okReply(200, {
    ...(JSON.parse(draft.bodyText) as Record<string, unknown>),
    plan: {
      id: plan.planId,
      version: plan.version,
      draft: planRef.draft !== undefined,
      periods: periods.map((period) => ({
        index: period.index,
        starts_at: toTimestamp(period.startsAt),
        ends_at: toTimestamp(period.endsAt),
        assets: period.lines.map((line) => ({
          ...figuresOf(line, amount),
          carried_in: amount(line.asset, line.carriedIn),
          carried_out: amount(line.asset, line.carriedOut),
        })),
      })),
      totals: totalsOf(periods).map((line) => ({
        ...figuresOf(line, amount),
        carried_out: amount(line.asset, line.carriedOut),
      })),
    },
  });
}

type ReplayedVersion = StoredPlanVersion | { reply: Reply };

async function loadPublished(
  service: LedgerService,
  caller: Caller,
  planRef: { id: string; version?: number | undefined },
): Promise<ReplayedVersion> {
  const stored = await loadPlanVersion(
    service,
    service.database.reader,
    caller.environmentId,
    planRef.id,
    planRef.version ?? null,
  );
  if (stored !== null) return stored;
  const named = planRef.version === undefined ? planRef.id : `${planRef.id}@${planRef.version}`;
  return { reply: problemReply(caller, 'plan_not_found', `No plan version "${named}" in this environment.`) };
}

/**
 * Checks a draft exactly as publishPlanVersion does and numbers it as publishing it now would,
 * so its replay is the replay of the version it would become; nothing is stored.
 */
async function parseDraft(
  service: LedgerService,
  caller: Caller,
  planId: string,
  draft: PlanVersionBody,
): Promise<ReplayedVersion> {
  const latest = await loadPlanVersion(service, service.database.reader, caller.environmentId, planId, null);
  if (latest === null)
    return { reply: problemReply(caller, 'plan_not_found', `No plan "${planId}" in this environment.`) };
  const parsed = await parsePlanVersion(service, caller, planId, latest.plan.version + 1, draft, 'plan.draft.');
  return 'plan' in parsed ? parsed : { reply: fieldReply(caller, parsed) };
}

function figuresOf(line: PlanReplayLine, amount: (asset: string, units: bigint) => string) {
  return {
    asset: line.asset,
    granted: amount(line.asset, line.granted),
    usage: amount(line.asset, line.usage),
    consumed: amount(line.asset, line.consumed),
    overage: amount(line.asset, line.overage),
    rolled_over: amount(line.asset, line.rolledOver),
    expired: amount(line.asset, line.expired),
  };
}

/** Sums per asset over the periods; carried out is the last period's, what is still alive at the end. */
function totalsOf(periods: readonly PlanReplayPeriod[]): PlanReplayLine[] {
  const totals = new Map<string, PlanReplayLine>();
  for (const period of periods) {
    for (const line of period.lines) {
      const sum = totals.get(line.asset);
      totals.set(
        line.asset,
        sum === undefined
          ? line
          : {
              asset: line.asset,
              granted: sum.granted + line.granted,
              carriedIn: sum.carriedIn,
              usage: sum.usage + line.usage,
              consumed: sum.consumed + line.consumed,
              overage: sum.overage + line.overage,
              rolledOver: sum.rolledOver + line.rolledOver,
              expired: sum.expired + line.expired,
              carriedOut: line.carriedOut,
            },
      );
    }
  }
  return [...totals.values()];
}
