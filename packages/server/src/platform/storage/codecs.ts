/**
 * Column codecs: what a column holds, in the form the code uses. Rows read through the query
 * builder are typed by the schema (`TableRow`: bigint columns as bigint, text as string, null
 * where declared), which the drivers guarantee; these decode what the schema does not type:
 * times (bigint milliseconds) as numbers, and values of untyped rows (`SqlRow`, aggregates).
 */

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
