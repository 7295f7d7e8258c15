/**
 * Exact rationals for rating: a cost is built from quantities, decimal rates and divisions by
 * "per N units" without losing anything, and rounded once, at the end, to the asset's scale with
 * a named rounding mode.
 */
import type { Decimal } from './money.ts';

export interface Rational {
  readonly numerator: bigint;
  /** Always positive. */
  readonly denominator: bigint;
}

export const zero: Rational = { numerator: 0n, denominator: 1n };

export function fromDecimal(value: Decimal): Rational {
  return normalize(value.units, 10n ** BigInt(value.scale));
}

export function fromInteger(value: bigint): Rational {
  return { numerator: value, denominator: 1n };
}

export function add(a: Rational, b: Rational): Rational {
  return normalize(a.numerator * b.denominator + b.numerator * a.denominator, a.denominator * b.denominator);
}

export function subtract(a: Rational, b: Rational): Rational {
  return add(a, { numerator: -b.numerator, denominator: b.denominator });
}

export function multiply(a: Rational, b: Rational): Rational {
  return normalize(a.numerator * b.numerator, a.denominator * b.denominator);
}

export function divide(a: Rational, b: Rational): Rational {
  if (b.numerator === 0n) throw new RangeError('division by zero');
  return normalize(a.numerator * b.denominator, a.denominator * b.numerator);
}

export function compare(a: Rational, b: Rational): number {
  const left = a.numerator * b.denominator;
  const right = b.numerator * a.denominator;
  return left < right ? -1 : left > right ? 1 : 0;
}

export function min(a: Rational, b: Rational): Rational {
  return compare(a, b) <= 0 ? a : b;
}

export function max(a: Rational, b: Rational): Rational {
  return compare(a, b) >= 0 ? a : b;
}

export const roundingModes = ['up', 'down', 'half_even', 'half_up'] as const;
export type RoundingMode = (typeof roundingModes)[number];

/**
 * Rounds a non-negative rational to integer units of an asset with `scale` decimals. `up` is the
 * default for prices: the vendor never gives away a fraction of a unit.
 */
export function toUnits(value: Rational, scale: number, mode: RoundingMode): bigint {
  if (value.numerator < 0n) throw new RangeError('costs are never negative');
  const scaled = value.numerator * 10n ** BigInt(scale);
  const quotient = scaled / value.denominator;
  const remainder = scaled % value.denominator;
  if (remainder === 0n) return quotient;
  const twice = remainder * 2n;
  switch (mode) {
    case 'down':
      return quotient;
    case 'up':
      return quotient + 1n;
    case 'half_up':
      return twice >= value.denominator ? quotient + 1n : quotient;
    case 'half_even':
      return twice > value.denominator || (twice === value.denominator && quotient % 2n === 1n)
        ? quotient + 1n
        : quotient;
  }
}

/** The exact decimal text of a rational with a finite expansion, else `digits` places rounded half-even. */
export function toDecimalText(value: Rational, digits = 18): string {
  const negative = value.numerator < 0n;
  const magnitude = { numerator: negative ? -value.numerator : value.numerator, denominator: value.denominator };
  const units = toUnits(magnitude, digits, 'half_even');
  const text = units.toString().padStart(digits + 1, '0');
  const whole = text.slice(0, text.length - digits);
  const fraction = text.slice(text.length - digits).replace(/0+$/, '');
  return `${negative && units !== 0n ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}`;
}

function normalize(numerator: bigint, denominator: bigint): Rational {
  if (denominator === 0n) throw new RangeError('zero denominator');
  const sign = denominator < 0n ? -1n : 1n;
  const divisor = gcd(numerator < 0n ? -numerator : numerator, denominator < 0n ? -denominator : denominator);
  return { numerator: (sign * numerator) / divisor, denominator: (sign * denominator) / divisor };
}

function gcd(a: bigint, b: bigint): bigint {
  let [x, y] = [a, b];
  while (y !== 0n) [x, y] = [y, x % y];
  return x === 0n ? 1n : x;
}
