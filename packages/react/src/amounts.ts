/**
 * Exact arithmetic and formatting of the API's decimal strings: amounts stay strings or bigints end to end,
 * and only a chart's bar height is ever a floating-point number.
 */

const decimalPattern = /^(-?)(\d+)(?:\.(\d+))?$/;

/** A decimal as an integer count of 10^-scale units. */
interface ScaledDecimal {
  readonly units: bigint;
  readonly scale: number;
}

/** True when `text` is a plain decimal the API could send or accept ("12", "-0.5", "3.000"). */
export function isDecimal(text: string): boolean {
  return decimalPattern.test(text.trim());
}

function parseDecimal(text: string): ScaledDecimal {
  const match = decimalPattern.exec(text.trim());
  if (!match) throw new TypeError(`not a decimal: ${JSON.stringify(text)}`);
  const [, sign, whole = '0', fraction = ''] = match;
  const units = BigInt(whole + fraction);
  return { units: sign === '-' ? -units : units, scale: fraction.length };
}

function rescale(value: ScaledDecimal, scale: number): bigint {
  return value.units * 10n ** BigInt(scale - value.scale);
}

function toText(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = scale === 0 ? '' : digits.slice(digits.length - scale).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** The exact sum of decimal strings, as a decimal string without trailing zeros. */
export function sumDecimals(values: readonly string[]): string {
  const parsed = values.map(parseDecimal);
  const scale = Math.max(0, ...parsed.map((value) => value.scale));
  return toText(
    parsed.reduce((total, value) => total + rescale(value, scale), 0n),
    scale,
  );
}

/** a − b, exactly. */
export function subtractDecimals(a: string, b: string): string {
  const [left, right] = [parseDecimal(a), parseDecimal(b)];
  const scale = Math.max(left.scale, right.scale);
  return toText(rescale(left, scale) - rescale(right, scale), scale);
}

/** a × b, exactly (a price times a quantity). */
export function multiplyDecimals(a: string, b: string): string {
  const [left, right] = [parseDecimal(a), parseDecimal(b)];
  return toText(left.units * right.units, left.scale + right.scale);
}

/** −1, 0 or 1 as a is less than, equal to or greater than b, exactly. */
export function compareDecimals(a: string, b: string): -1 | 0 | 1 {
  const [left, right] = [parseDecimal(a), parseDecimal(b)];
  const scale = Math.max(left.scale, right.scale);
  const difference = rescale(left, scale) - rescale(right, scale);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}

/** Intl can keep at most this many fraction digits; the API's scales are far below it. */
const fractionDigitsMax = 20;

/**
 * A decimal string in the reader's locale, digit for digit: Intl.NumberFormat formats a numeric string as an
 * exact decimal (ECMA-402 "Intl.NumberFormat v3"), so no float ever stands between the API and the screen.
 */
export function formatDecimal(text: string, locale: string | undefined, options: { signed?: boolean } = {}): string {
  const { scale } = parseDecimal(text);
  const format = new Intl.NumberFormat(locale, {
    minimumFractionDigits: 0,
    maximumFractionDigits: Math.min(scale, fractionDigitsMax),
    signDisplay: options.signed ? 'exceptZero' : 'auto',
  });
  return format.format(text.trim() as Intl.StringNumericLiteral);
}

/** The part `used` is of `total` as a whole percentage, exactly rounded down (0 when total is zero). */
export function percentOf(used: string, total: string): number {
  const [part, whole] = [parseDecimal(used), parseDecimal(total)];
  const scale = Math.max(part.scale, whole.scale);
  const denominator = rescale(whole, scale);
  if (denominator <= 0n) return 0;
  const hundredths = (rescale(part, scale) * 100n) / denominator;
  return Number(hundredths < 0n ? 0n : hundredths > 100n ? 100n : hundredths);
}

/**
 * The one place a decimal becomes a float: a chart needs numbers to draw bar heights, and a bar a pixel off
 * misstates nothing. Labels and totals are formatted from the strings themselves.
 */
export function toChartNumber(text: string): number {
  return Number(text);
}
