/**
 * The finance part of recording a usage event, called by the usage domain inside the batch that
 * charges it: the event's cost at the model provider's price is stored beside the charge, and the
 * customer's rolling margin window is updated, with `margin.low` queued on a crossing.
 */
import type { MarginWindow, ModelPrice, Rational } from '@bursar/core';
import { decideMarginWindow, decideProviderCost, parseDecimal, rational } from '@bursar/core';
import type { Batch } from '../../platform/commit/batch.ts';
import type { Preload } from '../../platform/commit/command.ts';
import type { AssetInfo } from '../../platform/service.ts';
import { toBigint } from '../../platform/storage/codecs.ts';
import type { SqlRow } from '../../platform/storage/database.ts';

/** What the usage domain knows of a rated event that provider cost needs (its RatedEvent fits). */
export interface PricedUsage {
  readonly event: {
    readonly id: string;
    readonly customer: string;
    readonly feature: string;
    readonly timestamp: number;
    readonly properties?: Readonly<Record<string, string | number | boolean | null>> | undefined;
  };
  readonly dimensions: Readonly<Record<string, string>>;
  /** The model's provider price in force when the request was made; null: not a model call. */
  readonly modelPrice: ModelPrice | null;
  readonly batchRequest: boolean;
}

const windowKeyColumns = ['environment_id', 'customer_id'];

/** The rows recording provider cost reads in the batch: the margin policy and the customer's window (locked). */
export function providerCostPreloads(environmentId: string, usage: PricedUsage): Preload[] {
  if (usage.modelPrice === null) return [];
  return [
    { table: 'finance_settings', keyColumns: ['environment_id'], key: [environmentId] },
    {
      table: 'margin_windows',
      keyColumns: windowKeyColumns,
      key: [environmentId, usage.event.customer],
      lock: true,
      defaultRow: { environment_id: environmentId, customer_id: usage.event.customer, days: '{}', low: 0n },
    },
  ];
}

/** Each batch's margin windows as its events leave them, by customer, started from the preloaded rows. */
const windowsByBatch = new WeakMap<Batch, Map<string, MarginWindow>>();

/**
 * Records the provider cost of a charged event priced through the model catalog, and moves the
 * customer's margin window. An event without a model, or whose token counts do not read, costs
 * nothing here (it was charged by its meter, which may not count tokens at all).
 */
export function recordProviderCost(
  batch: Batch,
  environmentId: string,
  usage: PricedUsage,
  asset: AssetInfo,
  charged: bigint,
  transactionId: string,
): void {
  const model = usage.dimensions.model;
  if (usage.modelPrice === null || model === undefined) return;
  const cost = decideProviderCost(usage.modelPrice, usage.event.properties ?? {}, usage.batchRequest);
  if ('kind' in cost) return;
  batch.insert('event_costs', {
    environment_id: environmentId,
    event_id: usage.event.id,
    customer_id: usage.event.customer,
    feature: usage.event.feature,
    model,
    occurred_at: BigInt(usage.event.timestamp),
    provider_cost: rational.toDecimalText(cost),
    asset: asset.code,
    charged,
    transaction_id: transactionId,
  });
  updateMarginWindow(batch, environmentId, usage, asset, cost, transactionId);
}

function updateMarginWindow(
  batch: Batch,
  environmentId: string,
  usage: PricedUsage,
  asset: AssetInfo,
  cost: Rational,
  transactionId: string,
): void {
  const settings = batch.preloaded('finance_settings', [environmentId]);
  const threshold = settings?.margin_low_threshold;
  if (settings === undefined || threshold === null || threshold === undefined) return;
  const parsedThreshold = parseDecimal(String(threshold));
  if (!parsedThreshold.ok) return;
  const customer = usage.event.customer;
  const windows = windowsByBatch.get(batch) ?? new Map<string, MarginWindow>();
  windowsByBatch.set(batch, windows);
  const windowKey = `${environmentId}\u0000${customer}`;
  const before = windows.get(windowKey) ?? readWindow(batch.preloaded('margin_windows', [environmentId, customer]));
  const currency = String(settings.margin_currency);
  const revenue = revenueOfTransaction(batch, environmentId, transactionId, currency);
  const windowDays = Number(toBigint(settings.margin_window_days));
  const day = new Date(usage.event.timestamp).toISOString().slice(0, 10);
  const decided = decideMarginWindow(before, day, revenue, cost, {
    threshold: rational.fromDecimal(parsedThreshold.value),
    windowDays,
  });
  windows.set(windowKey, decided.window);
  batch.update('margin_windows', windowKeyColumns, {
    environment_id: environmentId,
    customer_id: customer,
    days: writeWindowDays(decided.window),
    low: decided.window.low ? 1n : 0n,
  });
  if (!decided.crossed) return;
  let revenueTotal = rational.zero;
  let costTotal = rational.zero;
  for (const totals of Object.values(decided.window.days)) {
    revenueTotal = rational.add(revenueTotal, totals.revenue);
    costTotal = rational.add(costTotal, totals.cost);
  }
  batch.events.push({
    environmentId,
    event: {
      type: 'margin.low',
      customer,
      asset: asset.code,
      data: {
        customer,
        asset: asset.code,
        currency,
        revenue: rational.toDecimalText(revenueTotal),
        provider_cost: rational.toDecimalText(costTotal),
        margin_percent: decided.margin === null ? null : rational.toDecimalText(decided.margin, 2),
        threshold: String(threshold),
        window_days: windowDays,
      },
    },
  });
}

/**
 * Revenue the debit recognized, exactly: each credit drawn from a grant whose cost basis is in
 * `currency` at that grant's price per credit. The report rounds the same draws to the cent.
 */
function revenueOfTransaction(batch: Batch, environmentId: string, transactionId: string, currency: string): Rational {
  const transaction = batch.plannedTransaction(environmentId, transactionId);
  if (transaction === undefined) return rational.zero;
  const grants = new Map<string, { amount: bigint; total: Rational }>();
  for (const slot of batch.slots()) {
    if (slot.key.environmentId !== environmentId || slot.key.customer !== transaction.customer) continue;
    for (const grant of [...slot.initial.grants, ...slot.current.grants]) {
      if (grant.costBasis === null || grant.costBasis.currency !== currency) continue;
      grants.set(grant.id, { amount: grant.amount, total: rational.fromDecimal(grant.costBasis.total) });
    }
  }
  let revenue = rational.zero;
  for (const entry of transaction.entries) {
    const grant = entry.grantId === null ? undefined : grants.get(entry.grantId);
    if (entry.account !== 'grant' || grant === undefined || grant.amount === 0n) continue;
    const perCredit = rational.divide(grant.total, rational.fromInteger(grant.amount));
    revenue = rational.add(revenue, rational.multiply(perCredit, rational.fromInteger(-entry.amount)));
  }
  return revenue;
}

function readWindow(row: SqlRow | undefined): MarginWindow {
  if (row === undefined) return { days: {}, low: false };
  const stored = JSON.parse(String(row.days)) as Record<string, { revenue: string; cost: string }>;
  const days: Record<string, { revenue: Rational; cost: Rational }> = {};
  for (const [day, totals] of Object.entries(stored)) {
    days[day] = { revenue: rationalOfText(totals.revenue), cost: rationalOfText(totals.cost) };
  }
  return { days, low: toBigint(row.low) === 1n };
}

function writeWindowDays(window: MarginWindow): string {
  return JSON.stringify(
    Object.fromEntries(
      Object.entries(window.days).map(([day, totals]) => [
        day,
        { revenue: rational.toDecimalText(totals.revenue), cost: rational.toDecimalText(totals.cost) },
      ]),
    ),
  );
}

/** Exact decimal text (as toDecimalText writes it) back to a rational. */
export function rationalOfText(text: string): Rational {
  const negative = text.startsWith('-');
  const parsed = parseDecimal(negative ? text.slice(1) : text);
  if (!parsed.ok) throw new Error(`assertion failed: stored decimal ${text} reads`);
  const value = rational.fromDecimal(parsed.value);
  return negative ? rational.subtract(rational.zero, value) : value;
}
