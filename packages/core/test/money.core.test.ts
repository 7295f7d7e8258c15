import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  AMOUNT_MAX,
  addChecked,
  compareRatios,
  divideDecimalRoundingHalfEven,
  formatAmount,
  formatDecimal,
  parseAmount,
  parseDecimal,
} from '../src/money.ts';

const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
// biome-ignore lint/suspicious/noConsole: the seed is printed so a failing run replays
console.log(`money.core.test seed=${seed} (replay with FC_SEED=${seed})`);

describe('parseAmount', () => {
  const accepted: [string, number, bigint, boolean?][] = [
    ['12.5', 2, 1250n],
    ['12.50', 2, 1250n],
    ['12.500000', 2, 1250n],
    ['12', 0, 12n],
    ['12.0', 0, 12n],
    ['0', 12, 0n],
    ['0.000000000001', 12, 1n],
    ['1.5', 12, 1_500_000_000_000n],
    ['9223372036854775807', 0, AMOUNT_MAX],
    ['92233720368547758.07', 2, AMOUNT_MAX],
    ['-1', 0, -1n, true],
    ['-12.5', 2, -1250n, true],
  ];
  for (const [text, scale, units, signed] of accepted) {
    it(`accepts ${JSON.stringify(text)} at scale ${scale}${signed ? ' (signed)' : ''}`, () => {
      assert.deepEqual(parseAmount(text, scale, { signed: signed === true }), { ok: true, units });
    });
  }

  const refused: [string, number, RegExp][] = [
    ['-1', 0, /negative/],
    ['1e3', 0, /decimal string/],
    [' 7', 0, /decimal string/],
    ['7 ', 0, /decimal string/],
    ['', 2, /decimal string/],
    ['.5', 2, /decimal string/],
    ['5.', 2, /decimal string/],
    ['+5', 2, /decimal string/],
    ['0x10', 0, /decimal string/],
    ['12.5', 0, /more than 0 decimal places/],
    ['12.505', 2, /more than 2 decimal places/],
    ['0.0000000000001', 12, /more than 12 decimal places/],
    ['9223372036854775808', 0, /exceeds the largest amount/],
    ['92233720368547758.08', 2, /exceeds the largest amount/],
    ['-9223372036854775808', 0, /exceeds the largest amount/],
  ];
  for (const [text, scale, reason] of refused) {
    it(`refuses ${JSON.stringify(text)} at scale ${scale}`, () => {
      const parsed = parseAmount(text, scale, { signed: text === '-9223372036854775808' });
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.reason, reason);
    });
  }

  it("names the asset's scale when there are too many decimals", () => {
    const parsed = parseAmount('1.234', 2);
    assert.deepEqual(parsed, { ok: false, reason: "has more than 2 decimal places (the asset's scale)" });
  });
});

describe('formatAmount', () => {
  const table: [bigint, number, string][] = [
    [0n, 0, '0'],
    [0n, 2, '0'],
    [0n, 12, '0'],
    [1250n, 2, '12.5'],
    [1200n, 2, '12'],
    [5n, 2, '0.05'],
    [-5n, 2, '-0.05'],
    [-1n, 0, '-1'],
    [1n, 12, '0.000000000001'],
    [AMOUNT_MAX, 0, '9223372036854775807'],
    [AMOUNT_MAX, 12, '9223372.036854775807'],
  ];
  for (const [units, scale, text] of table) {
    it(`formats ${units} at scale ${scale} as ${text}`, () => assert.equal(formatAmount(units, scale), text));
  }
});

describe('parseDecimal', () => {
  it('accepts exact decimals and normalizes trailing zeros', () => {
    assert.deepEqual(parseDecimal('0.0125'), { ok: true, value: { units: 125n, scale: 4 } });
    assert.deepEqual(parseDecimal('1.1764705882'), { ok: true, value: { units: 11764705882n, scale: 10 } });
    assert.deepEqual(parseDecimal('10.500'), { ok: true, value: { units: 105n, scale: 1 } });
    assert.deepEqual(parseDecimal('7'), { ok: true, value: { units: 7n, scale: 0 } });
    assert.deepEqual(parseDecimal('0.123456789012345678'), {
      ok: true,
      value: { units: 123456789012345678n, scale: 18 },
    });
  });
  it('refuses negatives, exponents, blanks, 19 decimals and huge values', () => {
    for (const text of ['-1', '1e3', '', ' 1', 'abc']) {
      const parsed = parseDecimal(text);
      assert.equal(parsed.ok, false, text);
      if (!parsed.ok) assert.match(parsed.reason, /non-negative decimal string/);
    }
    const tooPrecise = parseDecimal('0.1234567890123456789');
    assert.equal(tooPrecise.ok, false);
    if (!tooPrecise.ok) assert.match(tooPrecise.reason, /more than 18 decimal places/);
    assert.equal(parseDecimal(`1${'0'.repeat(39)}`).ok, false);
  });
  it('round-trips through formatDecimal', () => {
    const parsed = parseDecimal('1.05');
    assert.ok(parsed.ok);
    if (parsed.ok) assert.equal(formatDecimal(parsed.value), '1.05');
  });
});

describe('divideDecimalRoundingHalfEven', () => {
  const d = (units: bigint, scale: number) => ({ units, scale });
  const table: [string, ReturnType<typeof d>, bigint, number, string][] = [
    ['exact', d(10n, 0), 4n, 1, '2.5'],
    ['half to even (down)', d(25n, 1), 1n, 0, '2'], // 2.5 → 2
    ['half to even (up)', d(35n, 1), 1n, 0, '4'], // 3.5 → 4
    ['half to even at 1 digit', d(5n, 0), 4n, 1, '1.2'], // 1.25 → 1.2
    ['above half rounds up', d(2n, 0), 3n, 2, '0.67'],
    ['below half rounds down', d(1n, 0), 3n, 2, '0.33'],
    ['cost basis per unit', d(10000n, 0), 8500n, 10, '1.1764705882'],
    ['fewer digits than the value has', d(12345n, 4), 1n, 2, '1.23'], // 1.2345 → 1.23
    ['fewer digits, exact half', d(125n, 3), 1n, 2, '0.12'], // 0.125 → 0.12
    ['fewer digits, exact half odd', d(135n, 3), 1n, 2, '0.14'], // 0.135 → 0.14
  ];
  for (const [name, value, divisor, digits, expected] of table) {
    it(name, () => assert.equal(formatDecimal(divideDecimalRoundingHalfEven(value, divisor, digits)), expected));
  }
  it('refuses a non-positive divisor', () => {
    assert.throws(() => divideDecimalRoundingHalfEven(d(1n, 0), 0n, 2), RangeError);
    assert.throws(() => divideDecimalRoundingHalfEven(d(1n, 0), -1n, 2), RangeError);
  });
});

describe('compareRatios', () => {
  const d = (units: bigint, scale: number) => ({ units, scale });
  it('compares exactly across scales', () => {
    assert.equal(compareRatios(d(10000n, 0), 8500n, d(1n, 0), 1n), 1); // 1.176… > 1
    assert.equal(compareRatios(d(5n, 1), 1n, d(1n, 0), 2n), 0); // 0.5 = 1/2
    assert.equal(compareRatios(d(1n, 0), 3n, d(333333n, 6), 1n), 1); // 1/3 > 0.333333
    assert.equal(compareRatios(d(0n, 0), 1n, d(1n, 18), 1n), -1);
  });
  it('is antisymmetric', () => {
    fc.assert(
      fc.property(
        fc.bigInt(0n, 10n ** 20n),
        fc.integer({ min: 0, max: 18 }),
        fc.bigInt(1n, 10n ** 9n),
        fc.bigInt(0n, 10n ** 20n),
        fc.integer({ min: 0, max: 18 }),
        fc.bigInt(1n, 10n ** 9n),
        (a, as, ad, b, bs, bd) => {
          assert.equal(compareRatios(d(a, as), ad, d(b, bs), bd), -compareRatios(d(b, bs), bd, d(a, as), ad));
        },
      ),
      { seed, numRuns: 200 },
    );
  });
});

describe('properties', () => {
  it('format then parse round-trips every amount at every scale', () => {
    fc.assert(
      fc.property(fc.bigInt(-AMOUNT_MAX, AMOUNT_MAX), fc.integer({ min: 0, max: 12 }), (units, scale) => {
        const text = formatAmount(units, scale);
        assert.deepEqual(parseAmount(text, scale, { signed: true }), { ok: true, units });
      }),
      { seed, numRuns: 1000 },
    );
  });

  it('parse then format gives the shortest form of the same value', () => {
    fc.assert(
      fc.property(
        fc.bigInt(0n, AMOUNT_MAX),
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 0, max: 3 }),
        (units, scale, zeros) => {
          const padded =
            scale + zeros === 0
              ? formatAmount(units, scale)
              : formatAmount(units, scale).includes('.')
                ? formatAmount(units, scale) + '0'.repeat(zeros)
                : `${formatAmount(units, scale)}.${'0'.repeat(zeros || 1)}`;
          const parsed = parseAmount(padded, scale);
          assert.deepEqual(parsed, { ok: true, units });
        },
      ),
      { seed, numRuns: 500 },
    );
  });

  it('addChecked never wraps: it returns the exact sum or undefined', () => {
    const amount = fc.oneof(fc.bigInt(-AMOUNT_MAX, AMOUNT_MAX), fc.constantFrom(AMOUNT_MAX, -AMOUNT_MAX, 0n, 1n, -1n));
    fc.assert(
      fc.property(amount, amount, (a, b) => {
        const sum = addChecked(a, b);
        const exact = a + b;
        if (exact > AMOUNT_MAX || exact < -AMOUNT_MAX) assert.equal(sum, undefined);
        else assert.equal(sum, exact);
      }),
      { seed, numRuns: 1000 },
    );
    assert.equal(addChecked(AMOUNT_MAX, 1n), undefined);
    assert.equal(addChecked(-AMOUNT_MAX, -1n), undefined);
    assert.equal(addChecked(AMOUNT_MAX, 0n), AMOUNT_MAX);
  });
});
