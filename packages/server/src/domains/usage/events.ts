/**
 * Usage events: each is deduplicated by its id, rated by the price in force at its timestamp, and
 * debited from the first of the price's assets that the customer's wallet covers, all in the
 * batch's transaction. An event that is rejected records nothing, so it may be sent again later.
 */

import type { ListEventsQuery } from '@bursar/api';
import type { Cost, ModelPrice, OutcomeCode, PriceOption, Quantities, Rational, Refusal } from '@bursar/core';
import { decideCost, decideDebit, decideQuantities, formatAmount, rational } from '@bursar/core';
import type { Batch, BatchPart } from '../../platform/commit/batch.ts';
import type { Preload } from '../../platform/commit/command.ts';
import type { WalletKey } from '../../platform/commit/wallet-key.ts';
import type { Caller, Reply } from '../../platform/contract.ts';
import type { AssetInfo, LedgerService } from '../../platform/service.ts';
import { fieldReply, isFieldError, okReply } from '../../platform/service.ts';
import { toTime } from '../../platform/storage/codecs.ts';
import type { SqlRow, SqlSession } from '../../platform/storage/database.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';
import { bigintColumn, keyset, readPage, textColumn } from '../../platform/storage/paging.ts';
import type { TableRow } from '../../platform/storage/schema.ts';
import { toTimestamp } from '../../platform/wire.ts';
import { providerCostPreloads, recordProviderCost } from '../finance/index.ts';
import type { PriceInForce } from '../pricing/index.ts';
import { PriceCatalog } from '../pricing/index.ts';

type StoredEvent = TableRow<'events'>;

export const eventAgeMaxMs = 35 * 86_400_000;
export const eventFutureMaxMs = 5 * 60_000;

export interface EventInput {
  id: string;
  customer: string;
  feature: string;
  timestamp: number;
  properties?: Record<string, string | number | boolean | null> | undefined;
}

type EventResult =
  | { id: string; status: 'accepted' | 'duplicate'; asset: string; cost: string; transaction: string }
  | { id: string; status: 'rejected'; code: OutcomeCode; detail: string };

function rejected(id: string, code: OutcomeCode, detail: string): EventResult {
  return { id, status: 'rejected', code, detail };
}

/** What a batch's events read and changed: ids recorded, period totals and hourly rollups (their rows exist, preloaded). */
interface UsageInBatch {
  /** Usage event ids recorded by this batch, so a duplicate inside one batch is caught too. */
  /** The events recorded in this batch, by `eventKey`. */
  readonly eventIds: Set<string>;
  readonly totals: Map<string, { key: SqlRow; total: Rational; changed: boolean }>;
  readonly rollups: Map<string, { key: SqlRow; events: bigint; cost: bigint; quantities: Map<string, Rational> }>;
}

/** The usage domain's part of every batch, registered with the committer at start. */
export const usageBatchPart: BatchPart<UsageInBatch> = {
  name: 'usage',
  start: () => ({ eventIds: new Set(), totals: new Map(), rollups: new Map() }),
  async flush(usage: UsageInBatch, session: SqlSession) {
    const changed = [...usage.totals.values()].filter((entry) => entry.changed);
    await session.updateMany(
      'usage_totals',
      usageKeyColumns,
      changed.map((entry) => ({ ...entry.key, total: rational.toDecimalText(entry.total) })),
    );
    await session.updateMany(
      'usage_rollups',
      rollupKeyColumns,
      [...usage.rollups.values()].map((entry) => ({
        ...entry.key,
        events: entry.events,
        cost: entry.cost,
        quantities: JSON.stringify(
          Object.fromEntries([...entry.quantities].map(([name, total]) => [name, rational.toDecimalText(total)])),
        ),
      })),
    );
  },
};

/** Usage totals are kept per calendar month (UTC) of the event's timestamp: `YYYY-MM`. */
export function periodOf(at: number): string {
  return new Date(at).toISOString().slice(0, 7);
}

export async function ingestEvents(
  service: LedgerService,
  caller: Caller,
  input: { events: EventInput[] },
): Promise<Reply> {
  const now = service.clock.now();
  // Checks first; then every event's command is submitted in request order in one tick, so the
  // request's events share a batch and are charged in the order they were sent.
  const catalog = new PriceCatalog(service, caller.environmentId);
  await catalog.preloadOverrides(input.events.map((event) => event.customer));
  const stored = await storedEvents(service, caller.environmentId, input.events);
  // Only the first copy of an event in the request is checked and charged; a later copy answers what the first did.
  const firstIndex = new Map<string, number>();
  input.events.forEach((event, index) => {
    const key = eventKey(event.customer, event.id);
    if (!firstIndex.has(key)) firstIndex.set(key, index);
  });
  const checked = await Promise.all(
    input.events.map((event, index) =>
      firstIndex.get(eventKey(event.customer, event.id)) === index
        ? checkEvent(service, caller, catalog, stored, event, now)
        : null,
    ),
  );
  const answers = checked.map((outcome) => (typeof outcome === 'function' ? outcome() : outcome));
  const results = await Promise.all(
    input.events.map(async (event, index) => {
      const first = firstIndex.get(eventKey(event.customer, event.id)) ?? index;
      const answer = await answers[first];
      if (answer === null || answer === undefined) throw new Error('assertion failed: a first copy is answered');
      return first === index ? answer : repeatOf(answer);
    }),
  );
  const count = (status: EventResult['status']) => results.filter((result) => result.status === status).length;
  return okReply(200, {
    accepted: count('accepted'),
    duplicates: count('duplicate'),
    rejected: count('rejected'),
    results,
  });
}

/**
 * An event's identity: its id within its customer. Ids are the integrator's, unique per customer,
 * so the key of every event row starts with its customer (docs/distribution.md).
 */
export function eventKey(customer: string, id: string): string {
  return `${customer}\u0000${id}`;
}

/** The request's events stored already, by `eventKey`: one read, before anything is priced. */
async function storedEvents(
  service: LedgerService,
  environmentId: string,
  events: readonly EventInput[],
): Promise<Map<string, StoredEvent>> {
  const keys = new Map(events.map((event) => [eventKey(event.customer, event.id), [event.customer, event.id]]));
  if (keys.size === 0) return new Map();
  // Whole rows of one table: the drivers type them as the schema does.
  const rows = (await service.database.reader.selectByKeys(
    'events',
    ['environment_id', 'customer_id', 'id'],
    [...keys.values()].map(([customer, id]) => [environmentId, customer ?? '', id ?? '']),
  )) as StoredEvent[];
  return new Map(rows.map((row) => [eventKey(row.customer_id, row.id), row]));
}

/** A later copy of an id in the same request: a duplicate of what the first copy charged, or its refusal. */
function repeatOf(first: EventResult): EventResult {
  return first.status === 'rejected' ? first : { ...first, status: 'duplicate' };
}

/** An event priced up to its quantities: everything but the cost, which needs the batch's period totals. */
export interface RatedEvent {
  readonly event: EventInput;
  readonly book: string;
  readonly version: number;
  readonly options: PriceInForce['options'];
  readonly period: string;
  readonly quantities: Quantities;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly modelPrice: ModelPrice | null;
  readonly batchRequest: boolean;
}

/** Meter, price in force and model price of an event; or the outcome code saying why it cannot be rated. */
export async function rateEvent(
  catalog: PriceCatalog,
  event: EventInput,
): Promise<RatedEvent | { code: OutcomeCode; detail: string }> {
  const meter = await catalog.meter(event.feature);
  if (meter === undefined)
    return { code: 'feature_not_found', detail: `No feature "${event.feature}" in this environment.` };
  const found = await catalog.price(event.feature, event.timestamp, event.customer);
  if (typeof found === 'string')
    return { code: found, detail: 'No price in force at the event time prices this feature.' };
  const properties = event.properties ?? {};
  const quantities = decideQuantities(meter, properties);
  if ('kind' in quantities) return { code: quantities.code, detail: quantities.detail };
  const dimensions = Object.fromEntries(Object.entries(properties).map(([name, value]) => [name, String(value)]));
  return {
    event,
    book: found.book,
    version: found.version,
    options: found.options,
    period: periodOf(event.timestamp),
    quantities,
    dimensions,
    modelPrice: dimensions.model === undefined ? null : await catalog.modelPrice(dimensions.model, event.timestamp),
    batchRequest: properties.batch === true,
  };
}

/** What the batch reads for an event: the stored event (a repeat) and its period totals, created when missing and locked. */
export function eventPreloads(environmentId: string, rated: RatedEvent): Preload[] {
  const hour = hourOf(rated.event.timestamp);
  return [
    // A rollup row per option asset: which one pays is decided in the batch.
    ...rated.options.map(({ asset }) => {
      const key = rollupKey(environmentId, rated.event, hour, asset.code);
      return {
        table: 'usage_rollups' as const,
        keyColumns: rollupKeyColumns,
        key: rollupKeyColumns.map((column) => String(key[column])),
        lock: true,
        defaultRow: { ...key, events: 0n, cost: 0n, quantities: '{}' },
      };
    }),
    {
      table: 'events',
      keyColumns: ['environment_id', 'customer_id', 'id'],
      key: [environmentId, rated.event.customer, rated.event.id],
    },
    ...[...rated.quantities.keys()].map((quantity) => {
      const row = usageRow(environmentId, rated.event, quantity, rated.period);
      return {
        table: 'usage_totals' as const,
        keyColumns: usageKeyColumns,
        key: usageKeyColumns.map((column) => String(row[column])),
        lock: true,
        defaultRow: { ...row, total: '0' },
      };
    }),
    ...providerCostPreloads(environmentId, rated),
  ];
}

/** True when the customer's event id is stored already, or recorded earlier in this batch. */
export function isRepeated(batch: Batch, environmentId: string, customer: string, id: string): boolean {
  return (
    batch.part(usageBatchPart).eventIds.has(eventKey(customer, id)) ||
    batch.preloaded('events', [environmentId, customer, id]) !== undefined
  );
}

/** The event's cost in one option, counting the customer's usage earlier in the period. */
export function costInBatch(
  batch: Batch,
  environmentId: string,
  rated: RatedEvent,
  option: PriceOption,
  scale: number,
): Cost | Refusal {
  const usedBefore = (quantity: string) =>
    usageTotal(batch, usageRow(environmentId, rated.event, quantity, rated.period)).total;
  return decideCost(
    option,
    rated.quantities,
    { dimensions: rated.dimensions, usedBefore, modelPrice: rated.modelPrice, batch: rated.batchRequest },
    scale,
  );
}

/** Records a charged event and adds its quantities to the period totals. */
export function recordEvent(
  batch: Batch,
  environmentId: string,
  rated: RatedEvent,
  asset: AssetInfo,
  cost: bigint,
  transactionId: string,
): void {
  const { event } = rated;
  batch.part(usageBatchPart).eventIds.add(eventKey(event.customer, event.id));
  batch.insert('events', {
    environment_id: environmentId,
    id: event.id,
    customer_id: event.customer,
    feature: event.feature,
    occurred_at: BigInt(event.timestamp),
    properties: JSON.stringify(event.properties ?? {}),
    quantities: JSON.stringify(
      Object.fromEntries([...rated.quantities].map(([name, amount]) => [name, rational.toDecimalText(amount)])),
    ),
    asset: asset.code,
    cost,
    transaction_id: transactionId,
    price_book: rated.book,
    price_version: BigInt(rated.version),
    received_at: BigInt(batch.now),
  });
  const rollup = usageRollup(batch, rollupKey(environmentId, event, hourOf(event.timestamp), asset.code));
  rollup.events += 1n;
  rollup.cost += cost;
  for (const [quantity, amount] of rated.quantities) {
    const total = usageTotal(batch, usageRow(environmentId, event, quantity, rated.period));
    total.total = rational.add(total.total, amount);
    total.changed = true;
    rollup.quantities.set(quantity, rational.add(rollup.quantities.get(quantity) ?? rational.zero, amount));
  }
  recordProviderCost(batch, environmentId, rated, asset, cost, transactionId);
}

const hourMs = 3_600_000;

export function hourOf(at: number): number {
  return Math.floor(at / hourMs) * hourMs;
}

const rollupKeyColumns = ['environment_id', 'customer_id', 'feature', 'hour', 'asset'];

function rollupKey(environmentId: string, event: EventInput, hour: number, asset: string): SqlRow {
  return {
    environment_id: environmentId,
    customer_id: event.customer,
    feature: event.feature,
    hour: BigInt(hour),
    asset,
  };
}

/** The batch's running rollup of one hour and asset, started from the preloaded (and locked) row. */
function usageRollup(batch: Batch, key: SqlRow) {
  const text = rollupKeyColumns.map((column) => String(key[column])).join('\u0000');
  const { rollups } = batch.part(usageBatchPart);
  let entry = rollups.get(text);
  if (entry === undefined) {
    const row = batch.preloaded(
      'usage_rollups',
      rollupKeyColumns.map((column) => String(key[column])),
    );
    if (row === undefined) throw new Error('assertion failed: usage rollups are preloaded, created when missing');
    const stored = JSON.parse(row.quantities) as Record<string, string>;
    entry = {
      key,
      events: row.events,
      cost: row.cost,
      quantities: new Map(Object.entries(stored).map(([name, text]) => [name, decimalTextToRational(text)])),
    };
    rollups.set(text, entry);
  }
  return entry;
}

/** Rejects what can be rejected before the batch, else returns the step that submits the event. */
async function checkEvent(
  service: LedgerService,
  caller: Caller,
  catalog: PriceCatalog,
  stored: ReadonlyMap<string, StoredEvent>,
  event: EventInput,
  now: number,
): Promise<EventResult | (() => Promise<EventResult>)> {
  if (event.timestamp < now - eventAgeMaxMs || event.timestamp > now + eventFutureMaxMs) {
    return rejected(event.id, 'event_out_of_window', 'Events are accepted up to 35 days old and 5 minutes ahead.');
  }
  if (!(await service.customerExists(caller.environmentId, event.customer))) {
    return rejected(event.id, 'customer_not_found', `No customer "${event.customer}" in this environment.`);
  }
  // Dedupe before pricing: a retry answers its first charge even if its timestamp or properties would not price.
  const repeat = stored.get(eventKey(event.customer, event.id));
  if (repeat !== undefined) return duplicateResult(service, repeat);
  const rated = await rateEvent(catalog, event);
  if ('code' in rated) return rejected(event.id, rated.code, rated.detail);
  const environmentId = caller.environmentId;
  const wallets: WalletKey[] = rated.options.map(({ asset }) => ({
    environmentId,
    customer: event.customer,
    asset: asset.code,
  }));
  return async () => {
    const reply = await service.committer.submit({
      environmentId,
      requestId: caller.requestId,
      idempotency: null,
      wallets,
      preload: eventPreloads(environmentId, rated),
      decide(batch) {
        if (isRepeated(batch, environmentId, event.customer, event.id))
          return okReply(200, { id: event.id, status: 'repeated' });
        let shortest: EventResult | null = null;
        for (const [index, { option, asset }] of rated.options.entries()) {
          const cost = costInBatch(batch, environmentId, rated, option, asset.scale);
          if ('kind' in cost) return okReply(200, rejected(event.id, cost.code, cost.detail));
          const key = wallets[index] as WalletKey;
          const decision = decideDebit(
            batch.wallet(key),
            { amount: cost.units, feature: event.feature },
            batch.context,
          );
          if (decision.kind === 'refused') {
            shortest ??= rejected(event.id, decision.code, decision.detail);
            continue;
          }
          const { transaction } = batch.apply(key, decision, {
            requestId: caller.requestId,
            metadata: JSON.stringify({ event: event.id }),
          });
          recordEvent(batch, environmentId, rated, asset, cost.units, transaction.id);
          return okReply(200, {
            id: event.id,
            status: 'accepted',
            asset: asset.code,
            cost: formatAmount(cost.units, asset.scale),
            transaction: transaction.id,
          });
        }
        return okReply(200, shortest ?? rejected(event.id, 'price_not_found', 'The price has no option.'));
      },
    });
    const result = JSON.parse(reply.bodyText) as EventResult | { id: string; status: 'repeated' };
    if (result.status !== 'repeated') return result;
    // A repeated id (earlier, or earlier in this batch): the first one's stored outcome answers it.
    const stored = await queryBuilder(service.database.reader)
      .selectFrom('events')
      .selectAll()
      .where('environment_id', '=', environmentId)
      .where('customer_id', '=', event.customer)
      .where('id', '=', event.id)
      .executeTakeFirst();
    return stored === undefined
      ? rejected(event.id, 'insufficient_balance', 'The first copy of this event in the batch was rejected.')
      : duplicateResult(service, stored);
  };
}

/** What a repeated event id answers: the stored event's charge. */
async function duplicateResult(service: LedgerService, stored: StoredEvent): Promise<EventResult> {
  const asset = await service.asset(stored.environment_id, stored.asset);
  if (asset === undefined) throw new Error('assertion failed: a stored event names an existing asset');
  return {
    id: stored.id,
    status: 'duplicate',
    asset: asset.code,
    cost: formatAmount(stored.cost, asset.scale),
    transaction: stored.transaction_id,
  };
}

const usageKeyColumns = ['environment_id', 'customer_id', 'feature', 'quantity', 'period'];

function usageRow(environmentId: string, event: EventInput, quantity: string, period: string): SqlRow {
  return { environment_id: environmentId, customer_id: event.customer, feature: event.feature, quantity, period };
}

/** The batch's running total of one usage row, started from the preloaded (and locked) row. */
function usageTotal(batch: Batch, key: SqlRow): { key: SqlRow; total: Rational; changed: boolean } {
  const text = usageKeyColumns.map((column) => String(key[column])).join('\u0000');
  const { totals } = batch.part(usageBatchPart);
  let entry = totals.get(text);
  if (entry === undefined) {
    const row = batch.preloaded(
      'usage_totals',
      usageKeyColumns.map((column) => String(key[column])),
    );
    if (row === undefined) throw new Error('assertion failed: usage totals are preloaded, created when missing');
    entry = { key, total: decimalTextToRational(row.total), changed: false };
    totals.set(text, entry);
  }
  return entry;
}

export function decimalTextToRational(text: string): Rational {
  const [whole = '0', fraction = ''] = text.split('.');
  return rational.fromDecimal({ units: BigInt(whole + fraction), scale: fraction.length });
}

export function toWireEvent(row: StoredEvent, scale: number) {
  return {
    id: row.id,
    customer: row.customer_id,
    feature: row.feature,
    timestamp: toTimestamp(toTime(row.occurred_at)),
    properties: JSON.parse(row.properties) as Record<string, unknown>,
    quantities: JSON.parse(row.quantities) as Record<string, string>,
    asset: row.asset,
    cost: formatAmount(row.cost, scale),
    transaction: row.transaction_id,
    price_book: row.price_book,
    price_version: Number(row.price_version),
    received_at: toTimestamp(toTime(row.received_at)),
  };
}

const eventKeys = keyset('events', 'desc', bigintColumn('occurred_at'), textColumn('id'));

/** Recorded events, newest first by when they happened; the cursor carries the last event's time and id. */
export async function listEvents(service: LedgerService, caller: Caller, query: ListEventsQuery): Promise<Reply> {
  const filters = {
    'environment_id = ?': caller.environmentId,
    'customer_id = ?': query.customer,
    'feature = ?': query.feature,
  };
  const found = await readPage(service.database.reader, 'events', eventKeys, filters, query);
  if (isFieldError(found)) return fieldReply(caller, [found]);
  const data = [];
  for (const row of found.rows) {
    const asset = await service.asset(caller.environmentId, row.asset);
    data.push(toWireEvent(row, asset?.scale ?? 0));
  }
  return okReply(200, { data, next_cursor: found.nextCursor });
}
