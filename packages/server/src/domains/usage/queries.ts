/**
 * Usage queries: a customer's recorded events summed by feature and time bucket (hour, day or the
 * whole range), optionally broken down by one event property (model, user, session), with exact
 * quantity totals and cost per asset. Whole-hour ranges without a breakdown read the hourly rollups
 * kept as events are written; other queries sum the events in range.
 */

import type { UsageQuery } from '@bursar/api';
import { usageEventsMax } from '@bursar/api';
import type { Rational } from '@bursar/core';
import { formatAmount, rational } from '@bursar/core';
import type { Caller, Reply } from '../../platform/contract.ts';
import type { LedgerService } from '../../platform/service.ts';
import { fieldReply, okReply, problemReply } from '../../platform/service.ts';
import { toTime } from '../../platform/storage/codecs.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';
import { toTimestamp } from '../../platform/wire.ts';
import { readCustomerEvents } from './event-range.ts';
import { decimalTextToRational } from './events.ts';

interface Bucket {
  start: number;
  feature: string;
  group: string | null;
  events: number;
  quantities: Map<string, Rational>;
  cost: Map<string, bigint>;
}

function bucketStart(at: number, granularity: 'hour' | 'day' | 'period', from: number): number {
  if (granularity === 'period') return from;
  const size = granularity === 'hour' ? 3_600_000 : 86_400_000;
  return Math.floor(at / size) * size;
}

export async function getUsage(
  service: LedgerService,
  caller: Caller,
  customer: string,
  query: UsageQuery,
): Promise<Reply> {
  if (query.to <= query.from) return fieldReply(caller, [{ field: 'to', message: 'must be later than from' }]);
  if (!(await service.customerExists(caller.environmentId, customer))) {
    return problemReply(caller, 'customer_not_found', `No customer "${customer}" in this environment.`);
  }
  const granularity = query.granularity ?? 'day';
  const buckets = new Map<string, Bucket>();
  const add: AddUsage = (at, feature, group, events, quantities, asset, cost) => {
    const start = bucketStart(at, granularity, query.from);
    const key = [start, feature, group ?? '\u0001'].join('\u0000');
    const bucket = buckets.get(key) ?? { start, feature, group, events: 0, quantities: new Map(), cost: new Map() };
    bucket.events += events;
    for (const [name, text] of Object.entries(quantities)) {
      bucket.quantities.set(
        name,
        rational.add(bucket.quantities.get(name) ?? rational.zero, decimalTextToRational(text)),
      );
    }
    bucket.cost.set(asset, (bucket.cost.get(asset) ?? 0n) + cost);
    buckets.set(key, bucket);
  };
  if (query.group_by === undefined && query.from % hourMs === 0 && query.to % hourMs === 0) {
    await addRollups(service, caller.environmentId, customer, query, add);
    return render(service, caller, customer, query, granularity, buckets);
  }
  let read = 0;
  const range = {
    environmentId: caller.environmentId,
    customer,
    from: query.from,
    to: query.to,
    feature: query.feature,
  };
  for await (const row of readCustomerEvents(service.database.reader, range)) {
    read += 1;
    if (read > usageEventsMax) {
      return fieldReply(caller, [
        { field: 'from', message: `the range holds more than ${usageEventsMax} events: narrow it` },
      ]);
    }
    const properties = JSON.parse(row.properties) as Record<string, unknown>;
    const groupValue = query.group_by === undefined ? undefined : properties[query.group_by];
    const group = groupValue === undefined || groupValue === null ? null : String(groupValue);
    const quantities = JSON.parse(row.quantities) as Record<string, string>;
    add(toTime(row.occurred_at), row.feature, group, 1, quantities, row.asset, row.cost);
  }
  return render(service, caller, customer, query, granularity, buckets);
}

const hourMs = 3_600_000;

type AddUsage = (
  at: number,
  feature: string,
  group: string | null,
  events: number,
  quantities: Record<string, string>,
  asset: string,
  cost: bigint,
) => void;

async function addRollups(
  service: LedgerService,
  environmentId: string,
  customer: string,
  query: UsageQuery,
  add: AddUsage,
): Promise<void> {
  const rows = await queryBuilder(service.database.reader)
    .selectFrom('usage_rollups')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .where('customer_id', '=', customer)
    .where('hour', '>=', BigInt(query.from))
    .where('hour', '<', BigInt(query.to))
    .where('events', '>', 0n)
    .$if(query.feature !== undefined, (rollups) => rollups.where('feature', '=', query.feature as string))
    .execute();
  for (const row of rows) {
    const quantities = JSON.parse(row.quantities) as Record<string, string>;
    const events = Number(row.events); // a count of events, not money
    add(toTime(row.hour), row.feature, null, events, quantities, row.asset, row.cost);
  }
}

async function render(
  service: LedgerService,
  caller: Caller,
  customer: string,
  query: UsageQuery,
  granularity: string,
  buckets: Map<string, Bucket>,
): Promise<Reply> {
  const rendered = [];
  for (const bucket of [...buckets.values()].sort((a, b) => a.start - b.start || (a.feature < b.feature ? -1 : 1))) {
    const cost: Record<string, string> = {};
    for (const [code, units] of bucket.cost)
      cost[code] = formatAmount(units, (await service.asset(caller.environmentId, code))?.scale ?? 0);
    rendered.push({
      start: toTimestamp(bucket.start),
      feature: bucket.feature,
      group: bucket.group,
      events: bucket.events,
      quantities: Object.fromEntries(
        [...bucket.quantities].map(([name, total]) => [name, rational.toDecimalText(total)]),
      ),
      cost,
    });
  }
  return okReply(200, {
    customer,
    from: toTimestamp(query.from),
    to: toTimestamp(query.to),
    granularity,
    group_by: query.group_by ?? null,
    buckets: rendered,
  });
}
