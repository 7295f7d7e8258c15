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
import { toBigint, toTime } from '../../platform/storage/codecs.ts';
import type { SqlValue } from '../../platform/storage/database.ts';
import { toTimestamp } from '../../platform/wire.ts';
import { decimalTextToRational } from './events.ts';

const pageSize = 5000;

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
  let cursor: { at: bigint; id: string } | null = null;
  for (;;) {
    const clauses = ['environment_id = ?', 'customer_id = ?', 'occurred_at >= ?', 'occurred_at < ?'];
    const params: SqlValue[] = [caller.environmentId, customer, BigInt(query.from), BigInt(query.to)];
    if (query.feature !== undefined) {
      clauses.push('feature = ?');
      params.push(query.feature);
    }
    if (cursor !== null) {
      clauses.push('(occurred_at > ? OR (occurred_at = ? AND id > ?))');
      params.push(cursor.at, cursor.at, cursor.id);
    }
    const rows = await service.database.reader.all(
      `SELECT id, feature, occurred_at, properties, quantities, asset, cost FROM events WHERE ${clauses.join(' AND ')} ORDER BY occurred_at, id LIMIT ${pageSize}`,
      params,
    );
    for (const row of rows) {
      read += 1;
      if (read > usageEventsMax) {
        return fieldReply(caller, [
          { field: 'from', message: `the range holds more than ${usageEventsMax} events: narrow it` },
        ]);
      }
      const properties = JSON.parse(String(row.properties)) as Record<string, unknown>;
      const groupValue = query.group_by === undefined ? undefined : properties[query.group_by];
      const group = groupValue === undefined || groupValue === null ? null : String(groupValue);
      const quantities = JSON.parse(String(row.quantities)) as Record<string, string>;
      add(toTime(row.occurred_at), String(row.feature), group, 1, quantities, String(row.asset), toBigint(row.cost));
    }
    const last = rows.at(-1);
    if (rows.length < pageSize || last === undefined) break;
    cursor = { at: toBigint(last.occurred_at), id: String(last.id) };
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
  const clauses = ['environment_id = ?', 'customer_id = ?', 'hour >= ?', 'hour < ?', 'events > 0'];
  const params: SqlValue[] = [environmentId, customer, BigInt(query.from), BigInt(query.to)];
  if (query.feature !== undefined) {
    clauses.push('feature = ?');
    params.push(query.feature);
  }
  const rows = await service.database.reader.all(`SELECT * FROM usage_rollups WHERE ${clauses.join(' AND ')}`, params);
  for (const row of rows) {
    const quantities = JSON.parse(String(row.quantities)) as Record<string, string>;
    add(
      toTime(row.hour),
      String(row.feature),
      null,
      Number(toBigint(row.events)),
      quantities,
      String(row.asset),
      toBigint(row.cost),
    );
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
