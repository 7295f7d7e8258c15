/**
 * Pricing simulation: stored events of a period replayed through draft prices, per customer,
 * feature and asset: what they were charged against what the draft would charge. Read-only; no
 * balance, grant or ledger row changes. Graduated tiers replay the period's usage from its start.
 */

import type { SimulatePricingBody } from '@bursar/api';
import { simulationEventsMax } from '@bursar/api';
import type { Meter, PriceOption, Rational } from '@bursar/core';
import { decideCost, decideQuantities, formatAmount, rational } from '@bursar/core';
import type { Caller, Reply } from '../../platform/contract.ts';
import type { AssetInfo, LedgerService } from '../../platform/service.ts';
import { fieldReply, okReply } from '../../platform/service.ts';
import { toTime } from '../../platform/storage/codecs.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';
import { toTimestamp } from '../../platform/wire.ts';
import { checkPrices, PriceCatalog, toPriceOption } from '../pricing/index.ts';
import { periodOf } from './events.ts';

const pageSize = 1000;

interface Line {
  customer: string;
  feature: string;
  asset: AssetInfo;
  events: number;
  charged: bigint;
  simulated: bigint;
}

export async function simulatePricing(
  service: LedgerService,
  caller: Caller,
  input: SimulatePricingBody,
): Promise<Reply> {
  if (input.to <= input.from) return fieldReply(caller, [{ field: 'to', message: 'must be later than from' }]);
  const errors = await checkPrices(service, caller, input.prices);
  if (errors.length > 0) return fieldReply(caller, errors);
  const catalog = new PriceCatalog(service, caller.environmentId);
  const draft = new Map<string, { option: PriceOption; asset: AssetInfo }[]>();
  for (const price of input.prices) {
    const options = [];
    for (const option of price.options) {
      const asset = await service.asset(caller.environmentId, option.asset);
      if (asset === undefined) throw new Error('assertion failed: checked prices name existing assets');
      options.push({ option: toPriceOption(option, asset.scale), asset });
    }
    draft.set(price.feature, options);
  }
  // Replay from the start of the first period, so graduated tiers see the usage before `from`.
  const replayFrom = Date.parse(`${periodOf(input.from)}-01T00:00:00Z`);
  const totals = new Map<string, Rational>();
  const lines = new Map<string, Line>();
  let replayed = 0;
  let unpriced = 0;
  let cursor: { at: bigint; id: string } | null = null;
  for (;;) {
    const page = await eventsPage(service, caller.environmentId, input, replayFrom, cursor);
    for (const row of page) {
      replayed += 1;
      if (replayed > simulationEventsMax) {
        return fieldReply(caller, [
          { field: 'from', message: `the period holds more than ${simulationEventsMax} events: narrow it` },
        ]);
      }
      const at = toTime(row.occurred_at);
      const customer = row.customer_id;
      const feature = row.feature;
      const properties = JSON.parse(row.properties) as Record<string, unknown>;
      const meter = await catalog.meter(feature);
      const options = draft.get(feature);
      const counted = at >= input.from;
      const quantities = meter === undefined ? null : decideQuantities(meter as Meter, properties);
      if (quantities === null || 'kind' in quantities || options === undefined) {
        if (counted) unpriced += 1;
        continue;
      }
      const period = periodOf(at);
      const totalKey = (quantity: string) => [customer, feature, quantity, period].join('\u0000');
      const dimensions = Object.fromEntries(Object.entries(properties).map(([name, value]) => [name, String(value)]));
      const modelPrice = dimensions.model === undefined ? null : await catalog.modelPrice(dimensions.model, at);
      // The draft is priced in the asset the event was charged in when the draft offers it, else in its first.
      const chosen = options.find(({ asset }) => asset.code === row.asset) ?? options[0];
      if (chosen === undefined) continue;
      const usedBefore = (quantity: string) => totals.get(totalKey(quantity)) ?? rational.zero;
      const cost = decideCost(
        chosen.option,
        quantities,
        { dimensions, usedBefore, modelPrice, batch: properties.batch === true },
        chosen.asset.scale,
      );
      for (const [quantity, amount] of quantities)
        totals.set(totalKey(quantity), rational.add(usedBefore(quantity), amount));
      if (!counted) continue;
      if ('kind' in cost) {
        unpriced += 1;
        continue;
      }
      const chargedAsset = await service.asset(caller.environmentId, row.asset);
      if (chargedAsset === undefined) throw new Error('assertion failed: stored events name existing assets');
      addTo(lines, customer, feature, chargedAsset, { events: 1, charged: row.cost, simulated: 0n });
      addTo(lines, customer, feature, chosen.asset, { events: 0, charged: 0n, simulated: cost.units });
    }
    const last = page.at(-1);
    if (page.length < pageSize || last === undefined) break;
    cursor = { at: last.occurred_at, id: last.id };
  }
  return okReply(200, {
    from: toTimestamp(input.from),
    to: toTimestamp(input.to),
    events: [...lines.values()].reduce((sum, line) => sum + line.events, 0),
    lines: [...lines.values()].map((line) => ({
      customer: line.customer,
      feature: line.feature,
      asset: line.asset.code,
      events: line.events,
      charged: formatAmount(line.charged, line.asset.scale),
      simulated: formatAmount(line.simulated, line.asset.scale),
      difference: formatAmount(line.simulated - line.charged, line.asset.scale),
    })),
    unpriced,
  });
}

function addTo(
  lines: Map<string, Line>,
  customer: string,
  feature: string,
  asset: AssetInfo,
  add: { events: number; charged: bigint; simulated: bigint },
): void {
  const key = [customer, feature, asset.code].join('\u0000');
  const line = lines.get(key) ?? { customer, feature, asset, events: 0, charged: 0n, simulated: 0n };
  line.events += add.events;
  line.charged += add.charged;
  line.simulated += add.simulated;
  lines.set(key, line);
}

/** Stored events in time order (then id), from `from` up to `input.to`, a page at a time. */
async function eventsPage(
  service: LedgerService,
  environmentId: string,
  input: SimulatePricingBody,
  from: number,
  cursor: { at: bigint; id: string } | null,
) {
  const { customer, feature } = input;
  return queryBuilder(service.database.reader)
    .selectFrom('events')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .where('occurred_at', '>=', BigInt(from))
    .where('occurred_at', '<', BigInt(input.to))
    .$if(customer !== undefined, (query) => query.where('customer_id', '=', customer ?? ''))
    .$if(feature !== undefined, (query) => query.where('feature', '=', feature ?? ''))
    .$if(cursor !== null, (query) =>
      query.where((where) =>
        where.or([
          where('occurred_at', '>', cursor?.at ?? 0n),
          where.and([where('occurred_at', '=', cursor?.at ?? 0n), where('id', '>', cursor?.id ?? '')]),
        ]),
      ),
    )
    .orderBy('occurred_at')
    .orderBy('id')
    .limit(pageSize)
    .execute();
}
