/** The entitlement decision table: switches, static limits, usage limits and credit, layer by layer. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Entitlement, EntitlementQuestion } from '../src/index.ts';
import { decideEntitlement, rational } from '../src/index.ts';
import { month } from './plan-fixture.ts';

const feature = 'chat';
const on: Entitlement = { feature, kind: 'boolean', enabled: true };
const off: Entitlement = { feature, kind: 'boolean', enabled: false };
const limit = (units: bigint, scale = 0): Entitlement => ({ feature, kind: 'limit', limit: { units, scale } });
const metered = (units: bigint): Entitlement => ({
  feature,
  kind: 'metered',
  limit: { units, scale: 0 },
  cadence: month,
  quantity: null,
});
const otherFeature: Entitlement = { feature: 'sso', kind: 'boolean', enabled: true };

interface Row {
  readonly why: string;
  readonly entitlements: readonly Entitlement[];
  readonly quantity?: string;
  readonly used?: readonly [number, bigint][];
  readonly credit?: { cost: bigint; available: bigint } | null;
  /** allowed/reason, the index of the deciding entitlement (or null), and the remaining as decimal text. */
  readonly expected: [boolean, string | null, number | null, string | null];
}

const quantityOf = (text: string) => {
  const [whole = '0', fraction = ''] = text.split('.');
  return rational.fromDecimal({ units: BigInt(whole + fraction), scale: fraction.length });
};

const table: Row[] = [
  { why: 'nothing at all: not entitled', entitlements: [], expected: [false, 'not_entitled', null, null] },
  {
    why: "another feature's entitlement does not count",
    entitlements: [otherFeature],
    expected: [false, 'not_entitled', null, null],
  },
  {
    why: 'no entitlement, but priced: credit decides (enough)',
    entitlements: [],
    credit: { cost: 5n, available: 5n },
    expected: [true, null, null, null],
  },
  {
    why: 'no entitlement, but priced: credit decides (short)',
    entitlements: [],
    credit: { cost: 6n, available: 5n },
    expected: [false, 'insufficient_balance', null, null],
  },
  { why: 'enabled switch', entitlements: [on], expected: [true, null, 0, null] },
  { why: 'disabled switch', entitlements: [off], expected: [false, 'feature_disabled', 0, null] },
  {
    why: 'one subscription enables, another disables: enabled',
    entitlements: [off, on],
    expected: [true, null, 1, null],
  },
  {
    why: 'disabled switch stops before a limit',
    entitlements: [off, limit(10n)],
    expected: [false, 'feature_disabled', 0, null],
  },
  {
    why: 'quantity equal to the limit passes',
    entitlements: [limit(10n)],
    quantity: '10',
    expected: [true, null, 0, '0'],
  },
  {
    why: 'quantity over the limit',
    entitlements: [limit(10n)],
    quantity: '11',
    expected: [false, 'limit_exceeded', 0, '-1'],
  },
  {
    why: 'the most generous limit decides',
    entitlements: [limit(5n), limit(20n), limit(10n)],
    quantity: '12',
    expected: [true, null, 1, '8'],
  },
  {
    why: 'decimal limits are exact',
    entitlements: [limit(25n, 1)],
    quantity: '2.6',
    expected: [false, 'limit_exceeded', 0, '-0.1'],
  },
  {
    why: 'metered: used + quantity within the limit',
    entitlements: [metered(100n)],
    quantity: '30',
    used: [[0, 70n]],
    expected: [true, null, 0, '0'],
  },
  {
    why: 'metered: one unit over',
    entitlements: [metered(100n)],
    quantity: '31',
    used: [[0, 70n]],
    expected: [false, 'usage_limit_exceeded', 0, '-1'],
  },
  {
    why: 'metered: no usage recorded counts as zero',
    entitlements: [metered(100n)],
    quantity: '100',
    expected: [true, null, 0, '0'],
  },
  {
    why: 'metered: the most generous remainder decides, not the largest limit',
    entitlements: [metered(1000n), metered(200n)],
    quantity: '50',
    used: [
      [0, 990n],
      [1, 10n],
    ],
    expected: [true, null, 1, '140'],
  },
  {
    why: 'a passing limit, then a failing usage limit',
    entitlements: [limit(100n), metered(10n)],
    quantity: '11',
    expected: [false, 'usage_limit_exceeded', 1, '-1'],
  },
  {
    why: 'every layer passes, credit short',
    entitlements: [on, limit(10n), metered(10n)],
    quantity: '2',
    credit: { cost: 3n, available: 2n },
    expected: [false, 'insufficient_balance', 2, '8'],
  },
  {
    why: 'every layer passes, credit enough',
    entitlements: [on, limit(10n)],
    quantity: '2',
    credit: { cost: 2n, available: 2n },
    expected: [true, null, 1, '8'],
  },
];

describe('decideEntitlement', () => {
  for (const row of table) {
    it(row.why, () => {
      const question: EntitlementQuestion = {
        feature,
        quantity: quantityOf(row.quantity ?? '1'),
        entitlements: row.entitlements,
        usedByEntitlement: new Map((row.used ?? []).map(([index, used]) => [index, rational.fromInteger(used)])),
        credit: row.credit === undefined || row.credit === null ? null : { ...row.credit, asset: 'credits' },
      };
      const answer = decideEntitlement(question);
      const [allowed, reason, deciding, remaining] = row.expected;
      assert.equal(answer.allowed, allowed);
      assert.equal(answer.reason, reason);
      assert.equal(answer.entitlement, deciding === null ? null : row.entitlements[deciding]);
      assert.equal(answer.remaining === null ? null : rational.toDecimalText(answer.remaining), remaining);
    });
  }
});
