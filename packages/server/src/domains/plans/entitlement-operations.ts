/**
 * checkEntitlement: "may this customer use feature X (quantity n)?" in one read. It gathers the
 * feature's entitlements from the customer's live subscriptions, the metered usage of each
 * entitlement's current period, and, when the feature is priced, the cost against the credit
 * available; the core's decideEntitlement answers and says why not.
 */

import type { CheckEntitlementBody } from '@bursar/api';
import type { Entitlement, Meter, Rational } from '@bursar/core';
import {
  addCadence,
  decideEntitlement,
  formatAmount,
  parseDecimal,
  periodIndexAt,
  rational,
  viewBalance,
} from '@bursar/core';
import { LRUCache } from 'lru-cache';
import type { Caller, Reply } from '../../platform/contract.ts';
import type { LedgerService } from '../../platform/service.ts';
import { okReply, problemReply } from '../../platform/service.ts';
import { preparedQuery, queryBuilder } from '../../platform/storage/kysely.ts';
import { PriceCatalog, resolvePricedAmount } from '../pricing/index.ts';
import { decimalTextToRational } from '../usage/index.ts';
import type { StoredPlanVersion } from './plan-operations.ts';
import { loadPlanVersion } from './plan-operations.ts';
import { subscriptionFromRow } from './subscription-operations.ts';

interface FoundEntitlement {
  readonly entitlement: Entitlement;
  /** For metered entitlements: where the current period starts. */
  readonly windowStart: number | null;
  readonly subscription: string;
}

export async function checkEntitlement(
  service: LedgerService,
  caller: Caller,
  customer: string,
  input: CheckEntitlementBody,
): Promise<Reply> {
  if (!(await service.customerExists(caller.environmentId, customer)))
    return problemReply(caller, 'customer_not_found', `No customer "${customer}" in this environment.`);
  const now = service.clock.now();
  const quantityText = input.quantity ?? '1';
  const parsedQuantity = parseDecimal(quantityText);
  if (!parsedQuantity.ok) throw new Error('assertion failed: the schema checked the quantity');
  const quantity = rational.fromDecimal(parsedQuantity.value);
  const found = await liveEntitlements(service, caller.environmentId, customer, input.feature, now);
  const catalog = new PriceCatalog(service, caller.environmentId);
  const meter = await catalog.meter(input.feature);
  const usedByEntitlement = new Map<number, Rational>();
  for (const [index, item] of found.entries()) {
    if (item.entitlement.kind !== 'metered' || item.windowStart === null || meter === undefined) continue;
    const name = item.entitlement.quantity ?? Object.keys(meter)[0] ?? 'units';
    usedByEntitlement.set(
      index,
      await usageSince(service, caller.environmentId, customer, input.feature, name, item.windowStart, now),
    );
  }
  const credit = await creditFor(service, caller, catalog, customer, input, meter, quantity, now);
  if (credit !== null && 'bodyText' in credit) return credit;
  const answer = decideEntitlement({
    feature: input.feature,
    quantity,
    entitlements: found.map((item) => item.entitlement),
    usedByEntitlement,
    credit: credit === null ? null : { cost: credit.cost, available: credit.available, asset: credit.asset },
  });
  const decidingIndex =
    answer.entitlement === null ? -1 : found.findIndex((item) => item.entitlement === answer.entitlement);
  const used = usedByEntitlement.get(decidingIndex);
  return okReply(200, {
    customer,
    feature: input.feature,
    quantity: quantityText,
    allowed: answer.allowed,
    reason: answer.reason,
    entitlement: answer.entitlement === null ? null : toWireEntitlement(answer.entitlement),
    used: used === undefined ? null : rational.toDecimalText(used),
    remaining: answer.remaining === null ? null : rational.toDecimalText(answer.remaining),
    credit:
      credit === null
        ? null
        : {
            asset: credit.asset,
            cost: formatAmount(credit.cost, credit.scale),
            available: formatAmount(credit.available, credit.scale),
          },
    subscriptions: [...new Set(found.map((item) => item.subscription))],
  });
}

/** Numbered plan versions read by checks, per service: the rows are append-only, so one read is good for ever. */
const planVersionsRead = new WeakMap<LedgerService, LRUCache<string, StoredPlanVersion>>();
const planVersionsReadMax = 10_000;

async function planVersionOf(
  service: LedgerService,
  environmentId: string,
  planId: string,
  version: number,
): Promise<StoredPlanVersion | null> {
  let cache = planVersionsRead.get(service);
  if (cache === undefined) {
    cache = new LRUCache({ max: planVersionsReadMax });
    planVersionsRead.set(service, cache);
  }
  const cacheKey = `${environmentId}\u0000${planId}\u0000${version}`;
  const cached = cache.get(cacheKey);
  if (cached !== undefined) return cached;
  const stored = await loadPlanVersion(service, service.database.reader, environmentId, planId, version);
  if (stored !== null) cache.set(cacheKey, stored);
  return stored;
}

// Compiled once: every entitlement check reads it.
const liveSubscriptionsOf = preparedQuery((db, key: { environmentId: string; customer: string }) =>
  db
    .selectFrom('subscriptions')
    .selectAll()
    .where('environment_id', '=', key.environmentId)
    .where('customer_id', '=', key.customer)
    .where('status', 'in', ['trialing', 'active'])
    .orderBy('created_at')
    .orderBy('id'),
);

/** The feature's entitlements in the customer's trialing and active subscriptions. */
async function liveEntitlements(
  service: LedgerService,
  environmentId: string,
  customer: string,
  feature: string,
  now: number,
): Promise<FoundEntitlement[]> {
  const rows = await liveSubscriptionsOf(service.database.reader, { environmentId, customer });
  const found: FoundEntitlement[] = [];
  for (const row of rows) {
    const subscription = subscriptionFromRow(row);
    const stored = await planVersionOf(service, environmentId, subscription.plan.planId, subscription.plan.version);
    if (stored === null) throw new Error('assertion failed: a subscription names an existing plan version');
    for (const entitlement of stored.plan.entitlements) {
      if (entitlement.feature !== feature) continue;
      // Before the paid plan's anchor (a trial), usage counts from the trial's start.
      const windowStart =
        entitlement.kind !== 'metered'
          ? null
          : now < subscription.anchorAt
            ? subscription.periodStartsAt
            : addCadence(
                subscription.anchorAt,
                entitlement.cadence,
                periodIndexAt(subscription.anchorAt, entitlement.cadence, now, subscription.timeZone),
                subscription.timeZone,
              );
      found.push({ entitlement, windowStart, subscription: subscription.id });
    }
  }
  return found;
}

const hourMs = 3_600_000;

/**
 * The sum of one meter quantity over the customer's recorded events of the feature since `start`:
 * whole hours from the hourly rollups kept as events are written, the partial hours at either end
 * from the events themselves, so a check costs the same early or late in a busy period.
 */
async function usageSince(
  service: LedgerService,
  environmentId: string,
  customer: string,
  feature: string,
  quantity: string,
  start: number,
  now: number,
): Promise<Rational> {
  const firstWholeHour = Math.ceil(start / hourMs) * hourMs;
  const currentHour = Math.floor(now / hourMs) * hourMs;
  const reader = service.database.reader;
  const rows =
    firstWholeHour < currentHour
      ? [
          ...(await queryBuilder(reader)
            .selectFrom('usage_rollups')
            .select('quantities')
            .where('environment_id', '=', environmentId)
            .where('customer_id', '=', customer)
            .where('feature', '=', feature)
            .where('hour', '>=', BigInt(firstWholeHour))
            .where('hour', '<', BigInt(currentHour))
            .execute()),
          ...(await eventQuantities(service, environmentId, customer, feature, start, firstWholeHour)),
          ...(await eventQuantities(service, environmentId, customer, feature, currentHour, null)),
        ]
      : await eventQuantities(service, environmentId, customer, feature, start, null);
  let total = rational.zero;
  for (const row of rows) {
    const text = (JSON.parse(row.quantities) as Record<string, string>)[quantity];
    if (text !== undefined) total = rational.add(total, decimalTextToRational(text));
  }
  return total;
}

/** Events of the feature from `from` until `to` (null: no end, events may be stamped a little ahead). */
function eventQuantities(
  service: LedgerService,
  environmentId: string,
  customer: string,
  feature: string,
  from: number,
  to: number | null,
) {
  return queryBuilder(service.database.reader)
    .selectFrom('events')
    .select('quantities')
    .where('environment_id', '=', environmentId)
    .where('customer_id', '=', customer)
    .where('occurred_at', '>=', BigInt(from))
    .$if(to !== null, (query) => query.where('occurred_at', '<', BigInt(to ?? 0)))
    .where('feature', '=', feature)
    .execute();
}

/**
 * The cost of the quantity in the first asset the wallets cover (as a hold would price it), or null
 * when the feature has no price in force: then only entitlements decide.
 */
async function creditFor(
  service: LedgerService,
  caller: Caller,
  catalog: PriceCatalog,
  customer: string,
  input: CheckEntitlementBody,
  meter: Meter | undefined,
  quantity: Rational,
  now: number,
): Promise<{ asset: string; scale: number; cost: bigint; available: bigint } | Reply | null> {
  if (meter === undefined) return null;
  const price = await catalog.price(input.feature, now, customer);
  if (typeof price === 'string') return null;
  const [firstName, firstSource] = Object.entries(meter)[0] ?? [];
  const countBased = firstSource === undefined || 'count' in firstSource;
  const properties =
    input.quantities ??
    (countBased || firstSource === undefined || firstName === undefined
      ? {}
      : { [firstSource.property]: input.quantity ?? '1' });
  const priced = await resolvePricedAmount(service, caller, {
    customer,
    feature: input.feature,
    quantities: properties,
  });
  if ('bodyText' in priced) return priced;
  // A count meter prices one event: n of them cost n times as much, rounded up like any price.
  const cost =
    countBased && input.quantities === undefined
      ? rational.toUnits(rational.multiply(rational.fromInteger(priced.amount), quantity), 0, 'up')
      : priced.amount;
  const wallet = await service.wallets.current({
    environmentId: caller.environmentId,
    customer,
    asset: priced.asset.code,
  });
  const available = wallet === null ? 0n : viewBalance(wallet, now, input.feature).available;
  return { asset: priced.asset.code, scale: priced.asset.scale, cost, available };
}

function toWireEntitlement(entitlement: Entitlement): Record<string, unknown> {
  if (entitlement.kind === 'boolean')
    return { feature: entitlement.feature, kind: 'boolean', enabled: entitlement.enabled };
  const limit = rational.toDecimalText(rational.fromDecimal(entitlement.limit));
  if (entitlement.kind === 'limit') return { feature: entitlement.feature, kind: 'limit', limit };
  return {
    feature: entitlement.feature,
    kind: 'metered',
    limit,
    cadence: entitlement.cadence,
    quantity: entitlement.quantity,
  };
}
