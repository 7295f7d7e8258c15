/**
 * Pure rules of the portal: whether a customer's auto-recharge settings lie within the operator's
 * limits, compared exactly (an amount in the asset's units against a decimal limit), and the price
 * of a top-up at the operator's unit price.
 */
import type { Decimal } from '@bursar/core';
import { formatDecimal, parseDecimal } from '@bursar/core';
import type { FieldError } from '../../platform/contract.ts';

export interface AutoRechargeLimits {
  readonly editable: boolean;
  readonly threshold_max: string | null;
  readonly amount_min: string | null;
  readonly amount_max: string | null;
  readonly monthly_cap_max: string | null;
}

export interface AutoRechargeChoice {
  /** Each amount in the asset's smallest units. */
  readonly threshold: bigint;
  readonly amount: bigint;
  readonly monthlyCap: bigint | null;
}

function decimalOf(text: string): Decimal {
  const parsed = parseDecimal(text);
  if (!parsed.ok) throw new Error(`assertion failed: a stored portal limit is a decimal (${text})`);
  return parsed.value;
}

/** Compares `units` (at `scale`) with a decimal limit: negative, zero or positive. */
function compareToLimit(units: bigint, scale: number, limit: Decimal): number {
  const left = units * 10n ** BigInt(limit.scale);
  const right = limit.units * 10n ** BigInt(scale);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Every field of the choice outside the operator's limits, named. */
export function limitViolations(choice: AutoRechargeChoice, scale: number, limits: AutoRechargeLimits): FieldError[] {
  const errors: FieldError[] = [];
  if (limits.threshold_max !== null && compareToLimit(choice.threshold, scale, decimalOf(limits.threshold_max)) > 0)
    errors.push({ field: 'threshold', message: `must be at most ${limits.threshold_max}` });
  if (limits.amount_min !== null && compareToLimit(choice.amount, scale, decimalOf(limits.amount_min)) < 0)
    errors.push({ field: 'amount', message: `must be at least ${limits.amount_min}` });
  if (limits.amount_max !== null && compareToLimit(choice.amount, scale, decimalOf(limits.amount_max)) > 0)
    errors.push({ field: 'amount', message: `must be at most ${limits.amount_max}` });
  if (limits.monthly_cap_max !== null) {
    if (choice.monthlyCap === null)
      errors.push({ field: 'monthly_cap', message: `is required, at most ${limits.monthly_cap_max}` });
    else if (compareToLimit(choice.monthlyCap, scale, decimalOf(limits.monthly_cap_max)) > 0)
      errors.push({ field: 'monthly_cap', message: `must be at most ${limits.monthly_cap_max}` });
  }
  return errors;
}

/** Whether a limit pair is ordered (min ≤ max); both decimals. */
export function isOrdered(min: string | null, max: string | null): boolean {
  if (min === null || max === null) return true;
  const low = decimalOf(min);
  return compareToLimit(low.units, low.scale, decimalOf(max)) <= 0;
}

/** A decimal as stored: its canonical text ("1.50" → "1.5"). */
export function canonicalDecimal(text: string): string {
  return formatDecimal(decimalOf(text));
}
