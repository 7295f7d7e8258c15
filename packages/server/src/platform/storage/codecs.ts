/** Column codecs both backends share: integer columns come back as bigint, number or digit strings. */
export function toBigint(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  throw new Error(`assertion failed: expected an integer column, got ${typeof value}`);
}

/** Times and small counts are stored as 64-bit integers and used as JS numbers (milliseconds fit). */
export function toTime(value: unknown): number {
  return Number(toBigint(value));
}
