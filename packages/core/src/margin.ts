/**
 * What a usage event cost at the model provider's price, and the margin arithmetic over it:
 * gross margin and margin percentage, percentiles across customers, the rolling-window margin
 * alert, and the reconciliation of attributed cost against a provider's own export. Exact rationals.
 */
import type { Refusal } from './outcomes.ts';
import type { Meter, ModelPrice } from './pricing.ts';
import { decideQuantities } from './pricing.ts';
import type { Rational } from './rational.ts';
import { add, compare, divide, fromDecimal, fromInteger, multiply, subtract, zero } from './rational.ts';

/**
 * The token classes of an event, read from its properties. They are disjoint: `input_tokens` are
 * the uncached input, `cached_input_tokens` the input read from the cache, `cache_write_tokens` the
 * input written to it, and `reasoning_tokens` are billed as output, apart from `output_tokens`.
 */
export const providerTokenMeter: Meter = {
  input_tokens: { property: 'input_tokens' },
  cached_input_tokens: { property: 'cached_input_tokens' },
  cache_write_tokens: { property: 'cache_write_tokens' },
  output_tokens: { property: 'output_tokens' },
  reasoning_tokens: { property: 'reasoning_tokens' },
};

/**
 * An event's provider cost in USD: each token class at the model's price per million in force
 * when the request was made, less the batch discount for a batch request. Exact, never rounded.
 */
export function decideProviderCost(
  price: ModelPrice,
  properties: Readonly<Record<string, unknown>>,
  batch: boolean,
): Rational | Refusal {
  const tokens = decideQuantities(providerTokenMeter, properties);
  if ('kind' in tokens) return tokens;
  const of = (name: string) => tokens.get(name) ?? zero;
  const perMillion = price.perMillion;
  let cost = zero;
  const lines: [Rational, Rational][] = [
    [of('input_tokens'), fromDecimal(perMillion.input)],
    [of('cached_input_tokens'), fromDecimal(perMillion.cached_input)],
    [of('cache_write_tokens'), fromDecimal(perMillion.cache_write)],
    [add(of('output_tokens'), of('reasoning_tokens')), fromDecimal(perMillion.output)],
  ];
  for (const [count, rate] of lines) cost = add(cost, multiply(count, rate));
  cost = divide(cost, fromInteger(1_000_000n));
  return batch ? multiply(cost, subtract(fromInteger(1n), fromDecimal(price.batchDiscount))) : cost;
}

/** Gross margin percentage, (revenue − cost) / revenue × 100; null without revenue. */
export function marginPercent(revenue: Rational, cost: Rational): Rational | null {
  if (revenue.numerator === 0n) return null;
  return multiply(divide(subtract(revenue, cost), revenue), fromInteger(100n));
}

/**
 * The p-th percentile (0 < p ≤ 100) of values by the nearest-rank method: the smallest value with
 * at least p% of the values at or below it. An actual value, never an interpolation.
 */
export function percentile(values: readonly Rational[], p: number): Rational | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort(compare);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1] ?? null;
}

// ----- the margin alert ---------------------------------------------------------------------

export interface MarginWindow {
  /** Revenue and provider cost by UTC day (`YYYY-MM-DD`), for the days of the window only. */
  readonly days: Readonly<Record<string, { readonly revenue: Rational; readonly cost: Rational }>>;
  readonly low: boolean;
}

export interface MarginPolicy {
  /** Margin percentage below which the customer's margin is low. */
  readonly threshold: Rational;
  readonly windowDays: number;
}

/**
 * Adds one event's revenue and cost to a customer's window (the `windowDays` UTC days ending on the
 * event's day), drops the days before it, and says whether the margin just crossed below the
 * threshold. It fires once on the crossing; climbing back to the threshold or above re-arms it.
 * A window with cost and no revenue is low; an empty one is not.
 */
export function decideMarginWindow(
  window: MarginWindow,
  day: string,
  revenue: Rational,
  cost: Rational,
  policy: MarginPolicy,
): { readonly window: MarginWindow; readonly crossed: boolean; readonly margin: Rational | null } {
  const firstDay = daysBefore(day, policy.windowDays - 1);
  const days: Record<string, { revenue: Rational; cost: Rational }> = {};
  for (const [known, totals] of Object.entries(window.days)) if (known >= firstDay) days[known] = totals;
  const today = days[day] ?? { revenue: zero, cost: zero };
  days[day] = { revenue: add(today.revenue, revenue), cost: add(today.cost, cost) };
  let revenueTotal = zero;
  let costTotal = zero;
  for (const totals of Object.values(days)) {
    revenueTotal = add(revenueTotal, totals.revenue);
    costTotal = add(costTotal, totals.cost);
  }
  const margin = marginPercent(revenueTotal, costTotal);
  const low = margin === null ? costTotal.numerator > 0n : compare(margin, policy.threshold) < 0;
  return { window: { days, low }, crossed: low && !window.low, margin };
}

function daysBefore(day: string, count: number): string {
  const at = Date.parse(`${day}T00:00:00Z`) - count * 86_400_000;
  return new Date(at).toISOString().slice(0, 10);
}
