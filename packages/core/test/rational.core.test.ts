import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Rational, RoundingMode } from '../src/rational.ts';
import {
  add,
  compare,
  divide,
  fromDecimal,
  fromInteger,
  multiply,
  roundingModes,
  subtract,
  toDecimalText,
  toUnits,
  zero,
} from '../src/rational.ts';

const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
// biome-ignore lint/suspicious/noConsole: the seed must be printed so a failure replays
console.log(`rational.core.test seed=${seed} (replay with FC_SEED=${seed})`);
const runs = { seed, numRuns: 300 };

/** n/d written as a plain record, not normalized: the functions under test do the normalizing. */
function r(numerator: bigint, denominator = 1n): Rational {
  return { numerator, denominator };
}

function text(value: Rational): string {
  return `${value.numerator}/${value.denominator}`;
}

describe('arithmetic normalizes (lowest terms, positive denominator)', () => {
  const cases: [string, () => Rational, Rational][] = [
    ['1/2 + 1/3 = 5/6', () => add(r(1n, 2n), r(1n, 3n)), r(5n, 6n)],
    ['1/6 + 1/3 = 1/2 (3/6 reduced)', () => add(r(1n, 6n), r(1n, 3n)), r(1n, 2n)],
    ['1/2 + 1/2 = 1', () => add(r(1n, 2n), r(1n, 2n)), r(1n)],
    ['1/2 + (-1/2) = 0/1', () => add(r(1n, 2n), r(-1n, 2n)), r(0n)],
    ['0 + 0 = 0/1', () => add(zero, zero), r(0n)],
    ['3/4 - 1/4 = 1/2', () => subtract(r(3n, 4n), r(1n, 4n)), r(1n, 2n)],
    ['1/4 - 3/4 = -1/2', () => subtract(r(1n, 4n), r(3n, 4n)), r(-1n, 2n)],
    ['5 - 5 = 0/1', () => subtract(r(5n), r(5n)), r(0n)],
    ['2/3 × 3/4 = 1/2', () => multiply(r(2n, 3n), r(3n, 4n)), r(1n, 2n)],
    ['-2/3 × 3/4 = -1/2', () => multiply(r(-2n, 3n), r(3n, 4n)), r(-1n, 2n)],
    ['0 × 7/9 = 0/1', () => multiply(zero, r(7n, 9n)), r(0n)],
    ['1/2 ÷ 1/4 = 2', () => divide(r(1n, 2n), r(1n, 4n)), r(2n)],
    ['1/2 ÷ -1/4 = -2 (sign moves to the numerator)', () => divide(r(1n, 2n), r(-1n, 4n)), r(-2n)],
    ['-3/4 ÷ -3/8 = 2', () => divide(r(-3n, 4n), r(-3n, 8n)), r(2n)],
    ['6 ÷ 4 = 3/2', () => divide(r(6n), r(4n)), r(3n, 2n)],
    ['fromDecimal 2.50 (250, scale 2) = 5/2', () => fromDecimal({ units: 250n, scale: 2 }), r(5n, 2n)],
    ['fromDecimal 0.001 = 1/1000', () => fromDecimal({ units: 1n, scale: 3 }), r(1n, 1000n)],
    ['fromDecimal 0 (scale 4) = 0/1', () => fromDecimal({ units: 0n, scale: 4 }), r(0n)],
    ['fromInteger 7 = 7/1', () => fromInteger(7n), r(7n)],
  ];
  for (const [name, compute, expected] of cases) {
    it(name, () => {
      assert.deepEqual(compute(), expected);
    });
  }

  it('refuses to divide by zero', () => {
    assert.throws(() => divide(r(1n), zero), RangeError);
  });

  const comparisons: [Rational, Rational, number][] = [
    [r(1n, 2n), r(1n, 3n), 1],
    [r(1n, 3n), r(1n, 2n), -1],
    [r(2n, 4n), r(1n, 2n), 0],
    [r(-1n, 2n), r(1n, 3n), -1],
    [r(0n), r(-1n, 1000n), 1],
    [r(999n, 1000n), r(1n), -1],
  ];
  for (const [a, b, expected] of comparisons) {
    it(`compare(${text(a)}, ${text(b)}) = ${expected}`, () => {
      assert.equal(compare(a, b), expected);
    });
  }
});

describe('toUnits', () => {
  // [value, scale, down, up, half_even, half_up] — each row checkable by hand.
  const table: [string, Rational, number, bigint, bigint, bigint, bigint][] = [
    // exact values: every mode agrees
    ['7 at scale 0', r(7n), 0, 7n, 7n, 7n, 7n],
    ['0 at scale 2', zero, 2, 0n, 0n, 0n, 0n],
    ['3.01 at scale 2 = 301', r(301n, 100n), 2, 301n, 301n, 301n, 301n],
    ['1/4 at scale 2 = 25', r(1n, 4n), 2, 25n, 25n, 25n, 25n],
    ['1/8 at scale 6 = 125000', r(1n, 8n), 6, 125_000n, 125_000n, 125_000n, 125_000n],
    ['3 at scale 6 = 3000000', r(3n), 6, 3_000_000n, 3_000_000n, 3_000_000n, 3_000_000n],
    // halves: half_even goes to the even neighbour, half_up goes away from zero
    ['0.5 at scale 0', r(1n, 2n), 0, 0n, 1n, 0n, 1n],
    ['1.5 at scale 0', r(3n, 2n), 0, 1n, 2n, 2n, 2n],
    ['2.5 at scale 0', r(5n, 2n), 0, 2n, 3n, 2n, 3n],
    ['0.125 at scale 2 (12.5 hundredths)', r(1n, 8n), 2, 12n, 13n, 12n, 13n],
    ['0.135 at scale 2 (13.5 hundredths)', r(27n, 200n), 2, 13n, 14n, 14n, 14n],
    ['0.0000005 at scale 6', r(1n, 2_000_000n), 6, 0n, 1n, 0n, 1n],
    ['0.0000015 at scale 6', r(3n, 2_000_000n), 6, 1n, 2n, 2n, 2n],
    // below and above half
    ['1/3 at scale 0', r(1n, 3n), 0, 0n, 1n, 0n, 0n],
    ['2/3 at scale 0', r(2n, 3n), 0, 0n, 1n, 1n, 1n],
    ['1/3 at scale 2 (33.33…)', r(1n, 3n), 2, 33n, 34n, 33n, 33n],
    ['2/3 at scale 6 (666666.66…)', r(2n, 3n), 6, 666_666n, 666_667n, 666_667n, 666_667n],
    ['3.002 at scale 0', r(3002n, 1000n), 0, 3n, 4n, 3n, 3n],
    ['3.002 at scale 2', r(3002n, 1000n), 2, 300n, 301n, 300n, 300n],
    // tiny positives: `up` never gives away the fraction of a unit
    ['1e-30 at scale 0', r(1n, 10n ** 30n), 0, 0n, 1n, 0n, 0n],
    ['1e-30 at scale 2', r(1n, 10n ** 30n), 2, 0n, 1n, 0n, 0n],
    ['1e-30 at scale 6', r(1n, 10n ** 30n), 6, 0n, 1n, 0n, 0n],
  ];
  for (const [name, value, scale, down, up, halfEven, halfUp] of table) {
    const expected: Record<RoundingMode, bigint> = { down, up, half_even: halfEven, half_up: halfUp };
    for (const mode of roundingModes) {
      it(`${name}, ${mode} → ${expected[mode]}`, () => {
        assert.equal(toUnits(value, scale, mode), expected[mode]);
      });
    }
  }

  it('refuses negative values (costs are never negative)', () => {
    for (const mode of roundingModes) assert.throws(() => toUnits(r(-1n, 2n), 0, mode), RangeError);
  });
});

describe('toDecimalText', () => {
  const table: [Rational, number | undefined, string][] = [
    [zero, undefined, '0'],
    [r(5n, 2n), undefined, '2.5'],
    [r(-5n, 2n), undefined, '-2.5'],
    [r(1n, 8n), undefined, '0.125'],
    [r(1234n), undefined, '1234'],
    [r(3002n, 1000n), undefined, '3.002'],
    [r(1n, 10n ** 18n), undefined, '0.000000000000000001'],
    [r(1n, 3n), undefined, '0.333333333333333333'],
    [r(2n, 3n), undefined, '0.666666666666666667'],
    [r(2n, 3n), 2, '0.67'],
    [r(1n, 3n), 0, '0'],
    [r(-1n, 10n ** 30n), undefined, '0'],
    [r(5n, 2n), 0, '2'],
  ];
  for (const [value, digits, expected] of table) {
    it(`${text(value)} with ${digits ?? 'default 18'} digits → ${expected}`, () => {
      assert.equal(digits === undefined ? toDecimalText(value) : toDecimalText(value, digits), expected);
    });
  }
});

const rationalArb = fc
  .record({
    numerator: fc.bigInt(-(10n ** 15n), 10n ** 15n),
    denominator: fc.bigInt(1n, 10n ** 9n),
  })
  .map(({ numerator, denominator }) => divide(fromInteger(numerator), fromInteger(denominator)));

const nonNegativeArb = fc
  .record({ numerator: fc.bigInt(0n, 10n ** 15n), denominator: fc.bigInt(1n, 10n ** 9n) })
  .map(({ numerator, denominator }) => divide(fromInteger(numerator), fromInteger(denominator)));

function isNormal(value: Rational): boolean {
  let [x, y] = [value.numerator < 0n ? -value.numerator : value.numerator, value.denominator];
  while (y !== 0n) [x, y] = [y, x % y];
  return value.denominator > 0n && (value.numerator === 0n ? value.denominator === 1n : x === 1n);
}

describe('properties', () => {
  it('(a + b) - b = a, and every result is in lowest terms', () => {
    fc.assert(
      fc.property(rationalArb, rationalArb, (a, b) => {
        const sum = add(a, b);
        const back = subtract(sum, b);
        assert.ok(isNormal(sum), `sum ${text(sum)} not normalized`);
        assert.ok(isNormal(back), `difference ${text(back)} not normalized`);
        assert.deepEqual(back, a);
      }),
      runs,
    );
  });

  it('(a × b) ÷ b = a when b ≠ 0', () => {
    fc.assert(
      fc.property(rationalArb, rationalArb, (a, b) => {
        fc.pre(b.numerator !== 0n);
        const product = multiply(a, b);
        assert.ok(isNormal(product));
        assert.deepEqual(divide(product, b), a);
      }),
      runs,
    );
  });

  it('down ≤ half_even, half_up ≤ up, and up - down ∈ {0, 1}', () => {
    fc.assert(
      fc.property(nonNegativeArb, fc.integer({ min: 0, max: 12 }), (x, scale) => {
        const down = toUnits(x, scale, 'down');
        const up = toUnits(x, scale, 'up');
        const halfEven = toUnits(x, scale, 'half_even');
        const halfUp = toUnits(x, scale, 'half_up');
        assert.ok(down <= halfEven && halfEven <= up, `${down} ≤ ${halfEven} ≤ ${up}`);
        assert.ok(down <= halfUp && halfUp <= up, `${down} ≤ ${halfUp} ≤ ${up}`);
        assert.ok(up - down === 0n || up - down === 1n, `up ${up} - down ${down}`);
        // up - down is 0 exactly when x × 10^scale is an integer
        const exact = (x.numerator * 10n ** BigInt(scale)) % x.denominator === 0n;
        assert.equal(up === down, exact);
      }),
      runs,
    );
  });

  it('an integer-valued rational converts exactly in every mode', () => {
    fc.assert(
      fc.property(fc.bigInt(0n, 10n ** 20n), fc.integer({ min: 0, max: 12 }), (n, scale) => {
        for (const mode of roundingModes) {
          assert.equal(toUnits(fromInteger(n), scale, mode), n * 10n ** BigInt(scale));
        }
      }),
      runs,
    );
  });

  it('a decimal of at most `scale` places converts exactly in every mode', () => {
    fc.assert(
      fc.property(fc.bigInt(0n, 10n ** 20n), fc.integer({ min: 0, max: 6 }), (units, scale) => {
        for (const mode of roundingModes) {
          assert.equal(toUnits(fromDecimal({ units, scale }), 6, mode), units * 10n ** BigInt(6 - scale));
        }
      }),
      runs,
    );
  });
});
