/**
 * Rating: how a usage event becomes quantities (the feature's meter), and how quantities become
 * a cost in an asset (a price option). Exact from end to end; one named rounding at the end.
 * Pure: period-to-date usage, the provider's model price and the time come from the caller.
 */
import type { Decimal } from './money.ts';
import { isExactJsonNumber, parseDecimal } from './money.ts';
import type { Refusal } from './outcomes.ts';
import { refuse } from './outcomes.ts';
import type { Rational, RoundingMode } from './rational.ts';
import {
  add,
  compare,
  divide,
  fromDecimal,
  fromInteger,
  max,
  min,
  multiply,
  subtract,
  toUnits,
  zero,
} from './rational.ts';

/** Where a quantity comes from: one per event, or a numeric property of the event. */
export type QuantitySource = { readonly count: true } | { readonly property: string };

/** A feature's meter: the named quantities one event carries (`input_tokens`, `output_tokens`, …). */
export type Meter = Readonly<Record<string, QuantitySource>>;

export type Quantities = ReadonlyMap<string, Rational>;

/** Reads the meter's quantities from an event's properties; a missing property counts as zero. */
export function decideQuantities(meter: Meter, properties: Readonly<Record<string, unknown>>): Quantities | Refusal {
  const quantities = new Map<string, Rational>();
  for (const [name, source] of Object.entries(meter)) {
    if ('count' in source) {
      quantities.set(name, fromInteger(1n));
      continue;
    }
    const value = properties[source.property];
    if (value === undefined || value === null) {
      quantities.set(name, zero);
      continue;
    }
    // A JSON number arrives as a double, which JS may print in exponent form (1e-7): it is read
    // through its shortest decimal text. An integer past 2^53 is refused, since the double is
    // already not what was sent (9007199254740993 parses as …992). A string must be a plain decimal.
    const text =
      typeof value === 'number' && isExactJsonNumber(value)
        ? plainDecimalText(value)
        : typeof value === 'string'
          ? value
          : null;
    const parsed = text === null || /e/i.test(text) ? null : parseDecimal(text);
    if (parsed === null || !parsed.ok) {
      return refuse('invalid_quantity', `Property "${source.property}" must be a non-negative number.`, {
        field: `properties.${source.property}`,
      });
    }
    quantities.set(name, fromDecimal(parsed.value));
  }
  return quantities;
}

/** The shortest decimal text of a finite double, without exponent: 1e-7 → "0.0000001", 1e21 → "1000…0". */
function plainDecimalText(value: number): string {
  const text = String(value);
  const match = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (match === null) return text;
  const [, sign = '', whole = '', fraction = '', exponentText = '0'] = match;
  const digits = whole + fraction;
  const point = whole.length + Number(exponentText);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

export interface Tier {
  /** The upper bound of the tier in the period (exclusive); null for the last tier. */
  readonly upTo: Decimal | null;
  readonly unitPrice: Decimal;
  readonly per: bigint;
}

/** Provider token prices are quoted per million tokens, in USD. */
export type ProviderPriceKind = 'input' | 'output' | 'cached_input' | 'cache_write';

export type RateModel =
  /** unitPrice per `per` units: "2 credits per 1,000 tokens" is unitPrice 2, per 1000. */
  | { readonly kind: 'per_unit'; readonly unitPrice: Decimal; readonly per: bigint }
  /** Graduated over the customer's period: each unit is priced by the tier its running total falls in. */
  | { readonly kind: 'graduated'; readonly tiers: readonly Tier[] }
  /** Provider cost of the event's model × markup, converted to the asset at `assetPerUsd`. */
  | {
      readonly kind: 'cost_plus';
      readonly providerPrice: ProviderPriceKind;
      readonly markup: Decimal;
      readonly assetPerUsd: Decimal;
    };

/** One rate of a component; `when` matches event dimensions, and the most specific match wins. */
export interface Rate {
  readonly when: Readonly<Record<string, string>>;
  readonly model: RateModel;
}

export interface Component {
  readonly quantity: string;
  readonly rates: readonly Rate[];
}

/** A way to pay for a feature in one asset. A feature lists several in preference order (fallback assets). */
export interface PriceOption {
  readonly asset: string;
  readonly components: readonly Component[];
  /** The least an event costs, in the asset's units (0 for none). */
  readonly minimum: bigint;
  readonly rounding: RoundingMode;
}

export interface ModelPrice {
  readonly model: string;
  readonly perMillion: Readonly<Record<ProviderPriceKind, Decimal>>;
  /** The fraction taken off for batch requests, 0 to 1. */
  readonly batchDiscount: Decimal;
}

export interface RatingContext {
  /** Event properties as strings, for `when` matches and the model name. */
  readonly dimensions: Readonly<Record<string, string>>;
  /** The customer's usage of a quantity earlier in the period, for graduated tiers. */
  readonly usedBefore: (quantity: string) => Rational;
  /** The provider price of the event's model at the event's time, for cost-plus rates. */
  readonly modelPrice: ModelPrice | null;
  readonly batch: boolean;
}

export interface CostLine {
  readonly quantity: string;
  readonly amount: Rational;
  readonly when: Readonly<Record<string, string>>;
  readonly model: RateModel['kind'];
  readonly cost: Rational;
}

export interface Cost {
  readonly asset: string;
  /** In the asset's units, rounded once with the option's mode, and at least the minimum. */
  readonly units: bigint;
  /** The exact cost before rounding. */
  readonly exact: Rational;
  readonly lines: readonly CostLine[];
}

/** Prices quantities with one option. */
export function decideCost(
  option: PriceOption,
  quantities: Quantities,
  context: RatingContext,
  scale: number,
): Cost | Refusal {
  const lines: CostLine[] = [];
  let exact = zero;
  for (const component of option.components) {
    const amount = quantities.get(component.quantity) ?? zero;
    const rate = selectRate(component.rates, context.dimensions);
    if (rate === null) {
      return refuse('price_not_found', `No rate of "${component.quantity}" matches this event.`, {
        quantity: component.quantity,
      });
    }
    const cost = costOf(rate.model, component.quantity, amount, context);
    if (cost === null) {
      return refuse(
        'model_price_not_found',
        `No provider price for model "${context.dimensions.model ?? ''}" at this time.`,
        {
          model: context.dimensions.model ?? null,
        },
      );
    }
    lines.push({ quantity: component.quantity, amount, when: rate.when, model: rate.model.kind, cost });
    exact = add(exact, cost);
  }
  const rounded = toUnits(exact, scale, option.rounding);
  return { asset: option.asset, units: rounded > option.minimum ? rounded : option.minimum, exact, lines };
}

/** The rate whose `when` matches with the most keys; the first listed wins a tie. */
export function selectRate(rates: readonly Rate[], dimensions: Readonly<Record<string, string>>): Rate | null {
  let best: Rate | null = null;
  let bestKeys = -1;
  for (const rate of rates) {
    const keys = Object.entries(rate.when);
    if (!keys.every(([key, value]) => dimensions[key] === value)) continue;
    if (keys.length > bestKeys) {
      best = rate;
      bestKeys = keys.length;
    }
  }
  return best;
}

function costOf(model: RateModel, quantity: string, amount: Rational, context: RatingContext): Rational | null {
  switch (model.kind) {
    case 'per_unit':
      return divide(multiply(amount, fromDecimal(model.unitPrice)), fromInteger(model.per));
    case 'graduated':
      return graduatedCost(model.tiers, context.usedBefore(quantity), amount);
    case 'cost_plus': {
      if (context.modelPrice === null) return null;
      const perToken = divide(fromDecimal(context.modelPrice.perMillion[model.providerPrice]), fromInteger(1_000_000n));
      const discount = context.batch
        ? subtract(fromInteger(1n), fromDecimal(context.modelPrice.batchDiscount))
        : fromInteger(1n);
      return multiply(
        multiply(multiply(multiply(amount, perToken), discount), fromDecimal(model.markup)),
        fromDecimal(model.assetPerUsd),
      );
    }
  }
}

/** Each unit of [before, before + amount) is priced by the tier it falls in. */
export function graduatedCost(tiers: readonly Tier[], before: Rational, amount: Rational): Rational {
  const end = add(before, amount);
  let lower = zero;
  let cost = zero;
  for (const tier of tiers) {
    const upper = tier.upTo === null ? null : fromDecimal(tier.upTo);
    const from = max(lower, before);
    const to = upper === null ? end : min(upper, end);
    if (compare(to, from) > 0) {
      cost = add(cost, divide(multiply(subtract(to, from), fromDecimal(tier.unitPrice)), fromInteger(tier.per)));
    }
    if (upper === null) break;
    lower = upper;
  }
  return cost;
}
