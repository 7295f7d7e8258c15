/**
 * Column codecs: one per kind of stored value that the code reads as something else. Rows read
 * through the query builder are typed by the schema (`TableRow`: bigint columns as bigint, text
 * as string, null where declared), which the drivers guarantee; these turn a typed column into
 * the value the code uses: times (bigint milliseconds) into numbers, exact decimal text into a
 * `Decimal` and back, and aggregates of untyped rows into bigints.
 */
import type { Decimal } from '@bursar/core';
import { formatDecimal, parseDecimal } from '@bursar/core';

/** A 64-bit integer column or aggregate: bigint on both backends, digit strings from PostgreSQL's numeric sums. */
export function toBigint(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  throw new Error(`assertion failed: expected an integer column, got ${typeof value}`);
}

/** A time column (epoch milliseconds, which fit a JS number). */
export function toTime(value: unknown): number {
  return Number(toBigint(value));
}

/** A decimal text column (`cost_total`, model prices): checked when it was written, so failing here is a bug. */
export function toDecimal(text: string): Decimal {
  const parsed = parseDecimal(text);
  if (!parsed.ok) throw new Error(`assertion failed: stored decimal "${text}" ${parsed.reason}`);
  return parsed.value;
}

/** A decimal as its column stores it. */
export function decimalText(value: Decimal): string {
  return formatDecimal(value);
}
