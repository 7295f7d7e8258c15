/**
 * Exact money: amounts are bigint counts of an asset's smallest unit, written on the wire as
 * decimal strings in the asset's unit. No floating point touches an amount, a rate or a price.
 */

/** The largest amount any balance, grant or transaction may hold: a signed 64-bit integer column. */
export const AMOUNT_MAX = 2n ** 63n - 1n;

/** Asset scales are fixed at creation: 0 to 12 decimal places. */
export const SCALE_MAX = 12;

/** Rates and prices keep up to 18 fractional digits (SPEC §3). */
export const DECIMAL_FRACTION_DIGITS_MAX = 18;

export type AmountParse =
  | { readonly ok: true; readonly units: bigint }
  | { readonly ok: false; readonly reason: string };

const decimalPattern = /^(-?)(\d+)(?:\.(\d+))?$/;

/**
 * Parses a decimal string ("12.5") into units of an asset with `scale` decimal places.
 * More decimals than the scale, signs where not allowed, exponents, blanks and values
 * beyond AMOUNT_MAX are refused with a reason fit for an error message.
 */
export function parseAmount(text: string, scale: number, options: { signed?: boolean } = {}): AmountParse {
  const match = decimalPattern.exec(text);
  if (match === null) return { ok: false, reason: 'must be a decimal string such as "12.5"' };
  const [, sign = '', whole = '', fraction = ''] = match;
  if (sign === '-' && options.signed !== true) return { ok: false, reason: 'must not be negative' };
  const fractionTrimmed = fraction.replace(/0+$/, '');
  if (fractionTrimmed.length > scale) {
    return { ok: false, reason: `has more than ${scale} decimal places (the asset's scale)` };
  }
  const magnitude = BigInt(whole + fractionTrimmed.padEnd(scale, '0'));
  if (magnitude > AMOUNT_MAX)
    return { ok: false, reason: `exceeds the largest amount (${formatAmount(AMOUNT_MAX, scale)})` };
  return { ok: true, units: sign === '-' ? -magnitude : magnitude };
}

/** Formats units as the shortest exact decimal string in the asset's unit: 1250n at scale 2 is "12.5". */
export function formatAmount(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}`;
}

/** Adds two amounts, or returns undefined when the sum leaves the signed 64-bit range. */
export function addChecked(a: bigint, b: bigint): bigint | undefined {
  const sum = a + b;
  return sum > AMOUNT_MAX || sum < -AMOUNT_MAX ? undefined : sum;
}

/**
 * Whether a number parsed from JSON is the number the client wrote, as far as anyone can tell: a
 * safe integer, or a finite fraction (read as its shortest decimal form). An integer past 2^53 was
 * already rounded by the parser (9007199254740993 arrives as …992), and 1e400 arrives as Infinity.
 */
export function isExactJsonNumber(value: number): boolean {
  return Number.isSafeInteger(value) || (Number.isFinite(value) && !Number.isInteger(value));
}

/** An exact decimal: `units / 10^scale`. Used for prices and cost bases, never rounded implicitly. */
export interface Decimal {
  readonly units: bigint;
  readonly scale: number;
}

export type DecimalParse =
  | { readonly ok: true; readonly value: Decimal }
  | { readonly ok: false; readonly reason: string };

/** Parses a non-negative exact decimal with at most 18 fractional digits ("1.1764705882"). */
export function parseDecimal(text: string): DecimalParse {
  const match = decimalPattern.exec(text);
  if (match === null || match[1] === '-')
    return { ok: false, reason: 'must be a non-negative decimal string such as "0.0125"' };
  const [, , whole = '', fraction = ''] = match;
  const fractionTrimmed = fraction.replace(/0+$/, '');
  if (fractionTrimmed.length > DECIMAL_FRACTION_DIGITS_MAX) {
    return { ok: false, reason: `has more than ${DECIMAL_FRACTION_DIGITS_MAX} decimal places` };
  }
  const units = BigInt(whole + fractionTrimmed);
  if (units > 10n ** 38n) return { ok: false, reason: 'is too large' };
  return { ok: true, value: { units, scale: fractionTrimmed.length } };
}

export function formatDecimal(value: Decimal): string {
  return formatAmount(value.units, value.scale);
}

/** Multiplies an exact decimal by an integer count; the result is exact (no rounding). */
export function multiplyDecimal(value: Decimal, count: bigint): Decimal {
  return normalizeDecimal({ units: value.units * count, scale: value.scale });
}

/** Divides an exact decimal by a positive count, rounding half-even to `fractionDigits`. Named, explicit rounding. */
export function divideDecimalRoundingHalfEven(value: Decimal, divisor: bigint, fractionDigits: number): Decimal {
  if (divisor <= 0n) throw new RangeError('divisor must be positive');
  const shift = fractionDigits - value.scale;
  const numerator = shift >= 0 ? value.units * 10n ** BigInt(shift) : value.units;
  const denominator = shift >= 0 ? divisor : divisor * 10n ** BigInt(-shift);
  const quotient = numerator / denominator;
  const remainder = numerator % denominator;
  const twice = remainder * 2n;
  const roundUp = twice > denominator || (twice === denominator && quotient % 2n === 1n);
  return normalizeDecimal({ units: roundUp ? quotient + 1n : quotient, scale: fractionDigits });
}

/** Compares a/b with c/d exactly, for positive denominators: negative, zero or positive like a comparator. */
export function compareRatios(
  aNumerator: Decimal,
  aDenominator: bigint,
  bNumerator: Decimal,
  bDenominator: bigint,
): number {
  const scale = Math.max(aNumerator.scale, bNumerator.scale);
  const left = aNumerator.units * 10n ** BigInt(scale - aNumerator.scale) * bDenominator;
  const right = bNumerator.units * 10n ** BigInt(scale - bNumerator.scale) * aDenominator;
  return left < right ? -1 : left > right ? 1 : 0;
}

function normalizeDecimal(value: Decimal): Decimal {
  let { units, scale } = value;
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale -= 1;
  }
  return { units, scale };
}
