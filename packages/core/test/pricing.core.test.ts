import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Decimal } from '../src/money.ts';
import { parseDecimal } from '../src/money.ts';
import type { Refusal } from '../src/outcomes.ts';
import type {
  Component,
  Cost,
  Meter,
  ModelPrice,
  PriceOption,
  Quantities,
  Rate,
  RateModel,
  RatingContext,
  Tier,
} from '../src/pricing.ts';
import { decideCost, decideQuantities, graduatedCost, selectRate } from '../src/pricing.ts';
import type { Rational, RoundingMode } from '../src/rational.ts';
import { add, compare, fromDecimal, fromInteger, toDecimalText, zero } from '../src/rational.ts';

const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
// biome-ignore lint/suspicious/noConsole: the seed must be printed so a failure replays
console.log(`pricing.core.test seed=${seed} (replay with FC_SEED=${seed})`);
const runs = { seed, numRuns: 300 };

// ---- helpers ---------------------------------------------------------------------------------

function dec(text: string): Decimal {
  const parsed = parseDecimal(text);
  if (!parsed.ok) throw new Error(`bad decimal in test: ${text}`);
  return parsed.value;
}

function q(text: string): Rational {
  return fromDecimal(dec(text));
}

function isRefusal(value: unknown): value is Refusal {
  return typeof value === 'object' && value !== null && 'kind' in value && value.kind === 'refused';
}

function expectCost(result: Cost | Refusal): Cost {
  if (isRefusal(result)) assert.fail(`expected a cost, got refusal ${result.code}: ${result.detail}`);
  return result;
}

function expectQuantities(result: Quantities | Refusal): Quantities {
  if (isRefusal(result)) assert.fail(`expected quantities, got refusal ${result.code}: ${result.detail}`);
  return result;
}

function perUnit(unitPrice: string, per: bigint): RateModel {
  return { kind: 'per_unit', unitPrice: dec(unitPrice), per };
}

function rate(model: RateModel, when: Record<string, string> = {}): Rate {
  return { when, model };
}

function option(components: Component[], rounding: RoundingMode = 'up', minimum = 0n): PriceOption {
  return { asset: 'credits', components, minimum, rounding };
}

function quantities(entries: Record<string, string>): Quantities {
  return new Map(Object.entries(entries).map(([name, value]) => [name, q(value)]));
}

function context(overrides: Partial<RatingContext> = {}): RatingContext {
  return { dimensions: {}, usedBefore: () => zero, modelPrice: null, batch: false, ...overrides };
}

function usedBefore(map: Record<string, string>): (quantity: string) => Rational {
  return (quantity) => q(map[quantity] ?? '0');
}

/** Exact equality of two rationals, shown as decimals on failure. */
function assertSame(actual: Rational, expected: Rational, message?: string): void {
  assert.equal(
    compare(actual, expected),
    0,
    `${message ?? 'not equal'}: ${toDecimalText(actual)} ≠ ${toDecimalText(expected)}`,
  );
}

// ---- decideQuantities ------------------------------------------------------------------------

describe('decideQuantities', () => {
  it('a count meter gives 1 whatever the properties', () => {
    const result = expectQuantities(decideQuantities({ requests: { count: true } }, { requests: 99 }));
    assert.deepEqual(result.get('requests'), fromInteger(1n));
  });

  const accepted: [string, unknown, string][] = [
    ['an integer number', 1500, '1500'],
    ['zero', 0, '0'],
    ['negative zero (String(-0) is "0")', -0, '0'],
    ['a decimal number', 0.5, '0.5'],
    ['a decimal number 12.25', 12.25, '12.25'],
    ['a decimal string', '12.25', '12.25'],
    ['a decimal string with trailing zeros', '3.500', '3.5'],
    ['an integer string', '1501', '1501'],
    ['the largest safe integer', 9007199254740991, '9007199254740991'],
    ['an integer string past 2^53', '9007199254740993', '9007199254740993'],
    ['a missing property (counts as zero)', undefined, '0'],
    ['null (counts as zero)', null, '0'],
  ];
  for (const [name, value, expected] of accepted) {
    it(`accepts ${name}: ${String(value)} → ${expected}`, () => {
      const properties: Record<string, unknown> = value === undefined ? { other: 7 } : { tokens: value };
      const result = expectQuantities(decideQuantities({ input: { property: 'tokens' } }, properties));
      const got = result.get('input');
      assert.ok(got !== undefined, 'quantity "input" missing');
      assertSame(got, q(expected));
    });
  }

  const refused: [string, unknown][] = [
    ['a negative number', -1],
    ['a negative decimal', -0.5],
    ['a negative string', '-3'],
    ['a non-numeric string', 'abc'],
    ['an empty string', ''],
    ['exponent notation "1e3"', '1e3'],
    ['exponent notation "1E3"', '1E3'],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['an object', { value: 3 }],
    ['an array', [3]],
    ['a boolean', true],
    ['a bigint', 3n],
    ['a string with spaces', ' 3 '],
    ['too many decimals (19)', '0.0000000000000000001'],
    ['an integer number past 2^53 (already rounded by the JSON parser)', 2 ** 53 + 2],
    ['1e21 as a number', 1e21],
  ];
  for (const [name, value] of refused) {
    it(`refuses ${name} with invalid_quantity on properties.tokens`, () => {
      const result = decideQuantities({ input: { property: 'tokens' } }, { tokens: value });
      assert.ok(isRefusal(result), `expected a refusal for ${String(value)}`);
      assert.equal(result.code, 'invalid_quantity');
      assert.deepEqual(result.facts, { field: 'properties.tokens' });
    });
  }

  it('reads several quantities at once and names the failing property', () => {
    const meter: Meter = {
      calls: { count: true },
      input: { property: 'input_tokens' },
      output: { property: 'output_tokens' },
    };
    const ok = expectQuantities(decideQuantities(meter, { input_tokens: 10, output_tokens: '2.5' }));
    assert.deepEqual([...ok.keys()], ['calls', 'input', 'output']);
    const bad = decideQuantities(meter, { input_tokens: 10, output_tokens: 'lots' });
    assert.ok(isRefusal(bad));
    assert.deepEqual(bad.facts, { field: 'properties.output_tokens' });
  });

  // JSON.parse('{"t":0.0000001}') yields the number 1e-7, which String() prints in exponent form:
  // fractions are read through their shortest decimal text in any notation; strings must be plain.
  // (Integers past 2^53, 1e21 among them, are refused above: send them as decimal strings.)
  it('a small JSON number such as 0.0000001 (String gives "1e-7") is read exactly', () => {
    const properties = JSON.parse('{"tokens":0.0000001}') as Record<string, unknown>;
    const result = expectQuantities(decideQuantities({ input: { property: 'tokens' } }, properties));
    const got = result.get('input');
    assert.ok(got !== undefined);
    assertSame(got, q('0.0000001'));
  });
});

// ---- decideCost: worked examples -------------------------------------------------------------

describe('decideCost: per 1,000 tokens (2 credits per 1,000)', () => {
  const priced = (rounding: RoundingMode) =>
    option([{ quantity: 'input', rates: [rate(perUnit('2', 1000n))] }], rounding);
  // [tokens, scale, rounding, exact cost, units]
  const table: [string, number, RoundingMode, string, bigint][] = [
    ['1500', 0, 'up', '3', 3n], // 1500 × 2 / 1000 = 3, exact
    ['1500', 2, 'up', '3', 300n],
    ['1501', 0, 'up', '3.002', 4n], // 3.002 → 4 credits
    ['1501', 2, 'up', '3.002', 301n], // 3.002 → 3.01
    ['1501', 0, 'down', '3.002', 3n],
    ['1501', 2, 'down', '3.002', 300n],
    ['1501', 0, 'half_even', '3.002', 3n],
    ['1', 0, 'up', '0.002', 1n], // one token still costs one whole unit with 'up'
    ['0', 0, 'up', '0', 0n],
    ['2250', 0, 'half_even', '4.5', 4n], // 4.5 → 4 (even)
    ['2250', 0, 'half_up', '4.5', 5n],
    ['2750', 0, 'half_even', '5.5', 6n], // 5.5 → 6 (even)
  ];
  for (const [tokens, scale, rounding, exact, units] of table) {
    it(`${tokens} tokens, scale ${scale}, ${rounding} → exact ${exact}, ${units} units`, () => {
      const cost = expectCost(decideCost(priced(rounding), quantities({ input: tokens }), context(), scale));
      assertSame(cost.exact, q(exact));
      assert.equal(cost.units, units);
      assert.equal(cost.asset, 'credits');
      assert.equal(cost.lines.length, 1);
      assert.equal(cost.lines[0]?.model, 'per_unit');
    });
  }
});

describe('decideCost: components are summed before rounding', () => {
  // input: 400 tokens at 1 credit per 1,000 = 0.4; output: 100 tokens at 4 per 1,000 = 0.4
  const priced = (rounding: RoundingMode) =>
    option(
      [
        { quantity: 'input', rates: [rate(perUnit('1', 1000n))] },
        { quantity: 'output', rates: [rate(perUnit('4', 1000n))] },
      ],
      rounding,
    );
  const amounts = quantities({ input: '400', output: '100' });

  it('0.4 + 0.4 = 0.8 → 1 unit with up (not 1 + 1 = 2)', () => {
    const cost = expectCost(decideCost(priced('up'), amounts, context(), 0));
    assertSame(cost.exact, q('0.8'));
    assert.equal(cost.units, 1n);
    assert.deepEqual(
      cost.lines.map((line) => [line.quantity, toDecimalText(line.cost)]),
      [
        ['input', '0.4'],
        ['output', '0.4'],
      ],
    );
  });

  it('0.4 + 0.4 = 0.8 → 0 with down, 1 with half_even (not 0 + 0)', () => {
    assert.equal(expectCost(decideCost(priced('down'), amounts, context(), 0)).units, 0n);
    assert.equal(expectCost(decideCost(priced('half_even'), amounts, context(), 0)).units, 1n);
  });

  it('a quantity the meter did not produce counts as zero', () => {
    const cost = expectCost(decideCost(priced('up'), quantities({ input: '400' }), context(), 2));
    assertSame(cost.exact, q('0.4'));
    assert.equal(cost.units, 40n);
  });
});

describe('decideCost: cost-plus ($2.50/M input, $10/M output, markup 1.5, 1 credit = $0.001)', () => {
  const modelPrice: ModelPrice = {
    model: 'gpt-4o',
    perMillion: { input: dec('2.5'), output: dec('10'), cached_input: dec('1.25'), cache_write: dec('3.75') },
    batchDiscount: dec('0.5'),
  };
  const costPlus = (providerPrice: 'input' | 'output'): RateModel => ({
    kind: 'cost_plus',
    providerPrice,
    markup: dec('1.5'),
    assetPerUsd: dec('1000'),
  });
  const priced = option([
    { quantity: 'input', rates: [rate(costPlus('input'))] },
    { quantity: 'output', rates: [rate(costPlus('output'))] },
  ]);
  const amounts = quantities({ input: '10000', output: '2000' });

  it('10,000 in + 2,000 out → (0.025 + 0.02) × 1.5 × 1000 = 67.5 → 68', () => {
    const cost = expectCost(decideCost(priced, amounts, context({ modelPrice, dimensions: { model: 'gpt-4o' } }), 0));
    assertSame(cost.exact, q('67.5'));
    assert.equal(cost.units, 68n);
    assert.deepEqual(
      cost.lines.map((line) => toDecimalText(line.cost)),
      ['37.5', '30'], // 0.025 × 1.5 × 1000, 0.02 × 1.5 × 1000
    );
  });

  it('batch with a 50% discount → 33.75 → 34', () => {
    const cost = expectCost(decideCost(priced, amounts, context({ modelPrice, batch: true }), 0));
    assertSame(cost.exact, q('33.75'));
    assert.equal(cost.units, 34n);
  });

  it('at scale 2 the exact 67.5 is kept: 6750 units', () => {
    const cost = expectCost(decideCost(priced, amounts, context({ modelPrice }), 2));
    assert.equal(cost.units, 6750n);
  });

  it('without a model price → model_price_not_found, naming the model', () => {
    const result = decideCost(priced, amounts, context({ dimensions: { model: 'gpt-4o' } }), 0);
    assert.ok(isRefusal(result));
    assert.equal(result.code, 'model_price_not_found');
    assert.deepEqual(result.facts, { model: 'gpt-4o' });
  });

  it('without a model price or a model dimension → model_price_not_found, model null', () => {
    const result = decideCost(priced, amounts, context(), 0);
    assert.ok(isRefusal(result));
    assert.equal(result.code, 'model_price_not_found');
    assert.deepEqual(result.facts, { model: null });
  });
});

describe('decideCost and graduatedCost: graduated tiers (1 up to 1,000; 0.5 up to 10,000; then 0.25)', () => {
  const tiers: Tier[] = [
    { upTo: dec('1000'), unitPrice: dec('1'), per: 1n },
    { upTo: dec('10000'), unitPrice: dec('0.5'), per: 1n },
    { upTo: null, unitPrice: dec('0.25'), per: 1n },
  ];
  // [usedBefore, amount, exact cost] — each checkable by hand
  const table: [string, string, string, string][] = [
    ['0', '1000', '1000', 'all in tier 1'],
    ['900', '200', '150', '100 × 1 + 100 × 0.5'],
    ['9950', '100', '37.5', '50 × 0.5 + 50 × 0.25'],
    ['500', '20000', '7625', '500 × 1 + 9000 × 0.5 + 10500 × 0.25'],
    ['20000', '4', '1', '4 × 0.25'],
    ['999.5', '1', '0.75', '0.5 × 1 + 0.5 × 0.5'],
    ['1000', '1', '0.5', 'the bound is exclusive: unit 1000 is in tier 2'],
    ['123', '0', '0', 'nothing used'],
  ];
  for (const [before, amount, exact, why] of table) {
    it(`before ${before}, amount ${amount} → ${exact} (${why})`, () => {
      assertSame(graduatedCost(tiers, q(before), q(amount)), q(exact));
    });
  }

  it('decideCost reads usedBefore for the component quantity: 9,950 before + 100 → 37.5 → 38', () => {
    const priced = option([{ quantity: 'units', rates: [rate({ kind: 'graduated', tiers })] }]);
    const cost = expectCost(
      decideCost(priced, quantities({ units: '100' }), context({ usedBefore: usedBefore({ units: '9950' }) }), 0),
    );
    assertSame(cost.exact, q('37.5'));
    assert.equal(cost.units, 38n);
    assert.equal(cost.lines[0]?.model, 'graduated');
  });

  it('tiers with per 1,000: first 1,000 units at 2 per 1,000, beyond at 1 per 1,000', () => {
    const perThousand: Tier[] = [
      { upTo: dec('1000'), unitPrice: dec('2'), per: 1000n },
      { upTo: null, unitPrice: dec('1'), per: 1000n },
    ];
    // 500 × 2/1000 + 1000 × 1/1000 = 1 + 1 = 2
    assertSame(graduatedCost(perThousand, q('500'), q('1500')), q('2'));
  });

  it('a last tier with a bound prices nothing beyond it', () => {
    const capped: Tier[] = [{ upTo: dec('10'), unitPrice: dec('1'), per: 1n }];
    assertSame(graduatedCost(capped, q('8'), q('5')), q('2'));
  });
});

describe('decideCost: dimensions select the most specific rate', () => {
  const rates: Rate[] = [
    rate(perUnit('1', 1n)), // default
    rate(perUnit('2', 1n), { model: 'gpt-4o' }),
    rate(perUnit('3', 1n), { model: 'gpt-4o', region: 'eu' }),
  ];
  const priced = option([{ quantity: 'calls', rates }]);
  const table: [Record<string, string>, string, string][] = [
    [{}, '1', 'no dimensions → the default'],
    [{ model: 'claude' }, '1', 'a non-matching model → the default'],
    [{ model: 'gpt-4o' }, '2', 'model matches'],
    [{ model: 'gpt-4o', region: 'us' }, '2', 'region does not match → the model-only rate'],
    [{ model: 'gpt-4o', region: 'eu' }, '3', 'both match → the most specific'],
    [{ region: 'eu' }, '1', 'region alone matches no specific rate'],
    [{ model: 'gpt-4o', region: 'eu', tier: 'x' }, '3', 'extra dimensions are ignored'],
  ];
  for (const [dimensions, units, why] of table) {
    it(`${JSON.stringify(dimensions)} → ${units} (${why})`, () => {
      const cost = expectCost(decideCost(priced, quantities({ calls: '1' }), context({ dimensions }), 0));
      assert.equal(cost.units, BigInt(units));
    });
  }

  it('the order rates are listed in does not matter for specificity', () => {
    const reversed = option([{ quantity: 'calls', rates: [...rates].reverse() }]);
    const cost = expectCost(
      decideCost(reversed, quantities({ calls: '1' }), context({ dimensions: { model: 'gpt-4o', region: 'eu' } }), 0),
    );
    assert.equal(cost.units, 3n);
    assert.deepEqual(cost.lines[0]?.when, { model: 'gpt-4o', region: 'eu' });
  });

  it('the first listed wins a tie', () => {
    const tied: Rate[] = [rate(perUnit('5', 1n), { model: 'gpt-4o' }), rate(perUnit('7', 1n), { region: 'eu' })];
    assert.equal(selectRate(tied, { model: 'gpt-4o', region: 'eu' }), tied[0]);
    assert.equal(selectRate([...tied].reverse(), { model: 'gpt-4o', region: 'eu' }), tied[1]);
    const sameWhen: Rate[] = [rate(perUnit('5', 1n)), rate(perUnit('7', 1n))];
    assert.equal(selectRate(sameWhen, {}), sameWhen[0]);
  });

  it('no matching rate at all → price_not_found, naming the quantity', () => {
    const onlySpecific = option([{ quantity: 'calls', rates: [rate(perUnit('2', 1n), { model: 'gpt-4o' })] }]);
    const result = decideCost(
      onlySpecific,
      quantities({ calls: '1' }),
      context({ dimensions: { model: 'claude' } }),
      0,
    );
    assert.ok(isRefusal(result));
    assert.equal(result.code, 'price_not_found');
    assert.deepEqual(result.facts, { quantity: 'calls' });
  });

  it('a component with no rates → price_not_found', () => {
    const result = decideCost(option([{ quantity: 'calls', rates: [] }]), quantities({ calls: '1' }), context(), 0);
    assert.ok(isRefusal(result));
    assert.equal(result.code, 'price_not_found');
  });
});

describe('decideCost: minimum', () => {
  const priced = (minimum: bigint, rounding: RoundingMode = 'up') =>
    option([{ quantity: 'input', rates: [rate(perUnit('2', 1000n))] }], rounding, minimum);

  const table: [string, bigint, RoundingMode, bigint, string][] = [
    ['1', 5n, 'up', 5n, '0.002 → 1, raised to the minimum 5'],
    ['1', 5n, 'down', 5n, '0.002 → 0, raised to 5'],
    ['0', 5n, 'up', 5n, 'a zero-quantity event costs the minimum'],
    ['2000', 5n, 'up', 5n, 'exactly 4 → raised to 5'],
    ['2500', 5n, 'up', 5n, 'exactly 5 = the minimum'],
    ['3000', 5n, 'up', 6n, '6 is above the minimum and kept'],
    ['0', 0n, 'up', 0n, 'no minimum: zero stays zero'],
  ];
  for (const [tokens, minimum, rounding, units, why] of table) {
    it(`${tokens} tokens, minimum ${minimum}, ${rounding} → ${units} (${why})`, () => {
      const cost = expectCost(decideCost(priced(minimum, rounding), quantities({ input: tokens }), context(), 0));
      assert.equal(cost.units, units);
    });
  }

  it('the exact cost is reported before the minimum is applied', () => {
    const cost = expectCost(decideCost(priced(5n), quantities({ input: '1' }), context(), 0));
    assertSame(cost.exact, q('0.002'));
  });
});

// ---- properties ------------------------------------------------------------------------------

/** A non-negative decimal with up to 6 places, at most 10^6 in value. */
const decimalArb: fc.Arbitrary<Decimal> = fc
  .record({ units: fc.bigInt(0n, 10n ** 12n), scale: fc.integer({ min: 0, max: 6 }) })
  .map(({ units, scale }) => ({ units, scale }));

const quantityArb: fc.Arbitrary<Rational> = decimalArb.map(fromDecimal);

const tiersArb: fc.Arbitrary<Tier[]> = fc
  .record({
    bounds: fc.uniqueArray(fc.bigInt(1n, 10n ** 9n), { minLength: 0, maxLength: 4 }),
    boundScale: fc.integer({ min: 0, max: 3 }),
    prices: fc.array(fc.record({ unitPrice: decimalArb, per: fc.bigInt(1n, 1000n) }), {
      minLength: 5,
      maxLength: 5,
    }),
    open: fc.boolean(),
  })
  .map(({ bounds, boundScale, prices, open }) => {
    const sorted = [...bounds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const upTos: (Decimal | null)[] = sorted.map((units) => ({ units, scale: boundScale }));
    if (open || upTos.length === 0) upTos.push(null);
    return upTos.map((upTo, index) => {
      const price = prices[index] ?? { unitPrice: { units: 1n, scale: 0 }, per: 1n };
      return { upTo, unitPrice: price.unitPrice, per: price.per };
    });
  });

const perUnitArb: fc.Arbitrary<RateModel> = fc
  .record({ unitPrice: decimalArb, per: fc.bigInt(1n, 1_000_000n) })
  .map(({ unitPrice, per }) => ({ kind: 'per_unit', unitPrice, per }));

const modeArb = fc.constantFrom<RoundingMode>('up', 'down', 'half_even', 'half_up');

function describeTiers(tiers: readonly Tier[]): string {
  return tiers
    .map(
      (t) =>
        `${t.upTo === null ? '∞' : toDecimalText(fromDecimal(t.upTo))}@${toDecimalText(fromDecimal(t.unitPrice))}/${t.per}`,
    )
    .join(', ');
}

describe('properties', () => {
  it('graduated: cost(b, x) + cost(b + x, y) = cost(b, x + y) exactly', () => {
    fc.assert(
      fc.property(tiersArb, quantityArb, quantityArb, quantityArb, (tiers, before, x, y) => {
        const split = add(graduatedCost(tiers, before, x), graduatedCost(tiers, add(before, x), y));
        const whole = graduatedCost(tiers, before, add(x, y));
        assertSame(split, whole, `tiers [${describeTiers(tiers)}]`);
      }),
      runs,
    );
  });

  it('graduated: the cost never decreases as the amount grows, and is zero for a zero amount', () => {
    fc.assert(
      fc.property(tiersArb, quantityArb, quantityArb, quantityArb, (tiers, before, x, y) => {
        assertSame(graduatedCost(tiers, before, zero), zero);
        assert.ok(compare(graduatedCost(tiers, before, x), graduatedCost(tiers, before, add(x, y))) <= 0);
      }),
      runs,
    );
  });

  it('per_unit: the exact cost is additive in the quantity', () => {
    fc.assert(
      fc.property(perUnitArb, quantityArb, quantityArb, (model, x, y) => {
        const priced = option([{ quantity: 'n', rates: [rate(model)] }]);
        const cost = (amount: Rational) => expectCost(decideCost(priced, new Map([['n', amount]]), context(), 2)).exact;
        assertSame(add(cost(x), cost(y)), cost(add(x, y)));
      }),
      runs,
    );
  });

  it('rounding once: whole ≤ sum of pieces with up, ≥ with down (per_unit and graduated)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          perUnitArb,
          tiersArb.map((tiers): RateModel => ({ kind: 'graduated', tiers })),
        ),
        quantityArb,
        quantityArb,
        quantityArb,
        fc.integer({ min: 0, max: 6 }),
        (model, before, x, y, scale) => {
          for (const mode of ['up', 'down'] as const) {
            const priced = option([{ quantity: 'n', rates: [rate(model)] }], mode);
            const units = (startAt: Rational, amount: Rational) =>
              expectCost(decideCost(priced, new Map([['n', amount]]), context({ usedBefore: () => startAt }), scale))
                .units;
            const whole = units(before, add(x, y));
            const pieces = units(before, x) + units(add(before, x), y);
            if (mode === 'up') assert.ok(whole <= pieces, `up: whole ${whole} > pieces ${pieces}`);
            else assert.ok(whole >= pieces, `down: whole ${whole} < pieces ${pieces}`);
            assert.ok(pieces - whole <= 1n && whole - pieces <= 1n, `off by more than one unit`);
          }
        },
      ),
      runs,
    );
  });

  it('decideCost never returns a cost below the minimum, and never above max(minimum, rounded exact)', () => {
    fc.assert(
      fc.property(
        fc.array(perUnitArb, { minLength: 1, maxLength: 3 }),
        fc.array(quantityArb, { minLength: 3, maxLength: 3 }),
        fc.bigInt(0n, 10n ** 6n),
        modeArb,
        fc.integer({ min: 0, max: 6 }),
        (models, amounts, minimum, mode, scale) => {
          const components: Component[] = models.map((model, index) => ({
            quantity: `q${index}`,
            rates: [rate(model)],
          }));
          const amountMap = new Map(amounts.map((amount, index) => [`q${index}`, amount] as const));
          const cost = expectCost(decideCost(option(components, mode, minimum), amountMap, context(), scale));
          assert.ok(cost.units >= minimum, `${cost.units} < minimum ${minimum}`);
          let exact = zero;
          for (const line of cost.lines) exact = add(exact, line.cost);
          assertSame(cost.exact, exact, 'exact is the sum of the lines');
          const scaled = (exact.numerator * 10n ** BigInt(scale)) / exact.denominator;
          assert.ok(cost.units === minimum || cost.units - scaled <= 1n);
        },
      ),
      runs,
    );
  });
});
