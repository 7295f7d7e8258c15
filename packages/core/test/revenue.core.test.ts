/**
 * The pure revenue and margin decisions: a lot's movements never lose a cent, deferred revenue
 * never goes negative under either breakage policy, periods roll up with the identity, and the
 * provider cost, percentile and margin window rules give their hand-computed answers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { BreakagePolicy, LotMovement, PaidLot, RevenueMovement } from '../src/index.ts';
import {
  breakageAtExpiry,
  decideLotRevenue,
  decideMarginWindow,
  decideProviderCost,
  lotValueOf,
  parseDecimal,
  percentile,
  rational,
  summarizeRevenue,
} from '../src/index.ts';

const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
// biome-ignore lint/suspicious/noConsole: the seed is printed so a failing run replays
console.log(`revenue.core.test seed=${seed} (replay with FC_SEED=${seed})`);

const day = 86_400_000;
const start = Date.UTC(2026, 0, 1);

function lot(amount: bigint, value: bigint): PaidLot {
  return {
    grantId: 'g',
    customer: 'c',
    asset: 'credits',
    currency: 'usd',
    amount,
    value,
    issuedAt: start,
    transactionId: 't0',
  };
}

function decimal(text: string) {
  const parsed = parseDecimal(text);
  if (!parsed.ok) throw new Error(text);
  return rational.fromDecimal(parsed.value);
}

/** Random movements a lot could see: consumption, reversals of it, then possibly an expiry or a void of the rest. */
const historyArbitrary = fc
  .record({
    amount: fc.bigInt({ min: 1n, max: 100_000n }),
    value: fc.bigInt({ min: 0n, max: 10_000_000n }),
    draws: fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean()), { maxLength: 12 }),
    ending: fc.constantFrom('expired' as const, 'refunded' as const, 'open' as const),
    rate: fc.constantFrom('0', '0.1', '0.2', '0.5', '0.9'),
  })
  .map(({ amount, value, draws, ending, rate }) => {
    const movements: LotMovement[] = [];
    let left = amount;
    let consumed = 0n;
    draws.forEach(([share, back], index) => {
      const at = start + (index + 1) * day;
      if (back && consumed > 0n) {
        const units = BigInt(Math.max(1, Math.floor(share * Number(consumed))));
        movements.push({ at, transactionId: `t${index + 1}`, kind: 'consumed', units: -units });
        consumed -= units;
        left += units;
      } else if (left > 0n) {
        const units = BigInt(Math.max(1, Math.floor(share * Number(left))));
        movements.push({ at, transactionId: `t${index + 1}`, kind: 'consumed', units });
        consumed += units;
        left -= units;
      }
    });
    if (ending !== 'open' && left > 0n)
      movements.push({ at: start + 40 * day, transactionId: 'tend', kind: ending, units: left });
    return { lot: lot(amount, value), movements, ending, left: ending === 'open' ? left : 0n, rate };
  });

function sums(made: readonly RevenueMovement[]) {
  const total = { addition: 0n, recognized: 0n, breakage: 0n, refund: 0n };
  for (const movement of made) total[movement.kind] += movement.amount;
  return total;
}

describe('a paid lot', () => {
  it('moves exactly its value, and never leaves deferred revenue negative, under both policies', () => {
    fc.assert(
      fc.property(historyArbitrary, ({ lot: paid, movements, left, rate }) => {
        const policies: BreakagePolicy[] = [breakageAtExpiry, { kind: 'spread', expectedRate: decimal(rate) }];
        for (const policy of policies) {
          const made = decideLotRevenue(paid, movements, policy);
          let deferred = 0n;
          for (const movement of made) {
            deferred += movement.kind === 'addition' ? movement.amount : -movement.amount;
            assert.ok(deferred >= 0n, 'deferred revenue never goes negative');
            assert.ok(deferred <= paid.value, 'nor above the cost basis');
          }
          const total = sums(made);
          assert.equal(total.addition, paid.value);
          // What stays deferred is at most the value of the credit still in the lot (spread breakage may take some).
          assert.ok(deferred <= paid.value - lotValueOf(paid, paid.amount - left));
          if (policy.kind === 'at_expiry') assert.equal(deferred, paid.value - lotValueOf(paid, paid.amount - left));
          if (left === 0n) assert.equal(deferred, 0n, 'a lot emptied has moved its whole value');
        }
      }),
      { seed, numRuns: 300 },
    );
  });

  it('allocates $10,000 over 8,500 credits with no cent lost', () => {
    const paid = lot(8500n, 1_000_000n);
    const movements: LotMovement[] = [1n, 4249n, 2549n, 1n].map((units, index) => ({
      at: start + index * day,
      transactionId: `t${index}`,
      kind: 'consumed',
      units,
    }));
    movements.push({ at: start + 60 * day, transactionId: 'x', kind: 'expired', units: 1700n });
    const made = decideLotRevenue(paid, movements, breakageAtExpiry);
    assert.deepEqual(
      made.map((movement) => [movement.kind, movement.amount]),
      [
        ['addition', 1_000_000n],
        ['recognized', 118n],
        ['recognized', 499_882n],
        ['recognized', 299_882n],
        ['recognized', 118n],
        ['breakage', 200_000n],
      ],
    );
  });

  it('spread breakage is taken back by a refund of the rest, and by a reversal', () => {
    const paid = lot(1000n, 10_000n);
    const spread: BreakagePolicy = { kind: 'spread', expectedRate: decimal('0.2') };
    const made = decideLotRevenue(
      paid,
      [
        { at: start + day, transactionId: 'd', kind: 'consumed', units: 400n },
        { at: start + 2 * day, transactionId: 'r', kind: 'consumed', units: -100n },
        { at: start + 3 * day, transactionId: 'v', kind: 'refunded', units: 700n },
      ],
      spread,
    );
    assert.deepEqual(
      made.map((movement) => [movement.transactionId, movement.kind, movement.amount]),
      [
        ['t0', 'addition', 10_000n],
        ['d', 'recognized', 4000n],
        ['d', 'breakage', 1000n],
        ['r', 'breakage', -250n],
        ['r', 'recognized', -1000n],
        ['v', 'breakage', -750n],
        ['v', 'refund', 7000n],
      ],
    );
  });
});

describe('the period roll-up', () => {
  it('chains closings into openings and keeps the identity in every row', () => {
    const made = decideLotRevenue(
      lot(100n, 1000n),
      [
        { at: start + 2 * day, transactionId: 'a', kind: 'consumed', units: 30n },
        { at: start + 40 * day, transactionId: 'b', kind: 'consumed', units: 30n },
        { at: start + 70 * day, transactionId: 'c', kind: 'expired', units: 40n },
      ],
      breakageAtExpiry,
    );
    const rows = summarizeRevenue(made, {
      from: '2026-01-15',
      to: '2026-04-01',
      granularity: 'month',
      timeZone: 'UTC',
    });
    assert.deepEqual(
      rows.map((row) => [row.period, row.opening, row.additions, row.recognized, row.breakage, row.closing]),
      [
        ['2026-01', 700n, 0n, 0n, 0n, 700n],
        ['2026-02', 700n, 0n, 300n, 0n, 400n],
        ['2026-03', 400n, 0n, 0n, 400n, 0n],
      ],
    );
  });

  it('counts days in the time zone asked for', () => {
    const made = decideLotRevenue(lot(10n, 100n), [], breakageAtExpiry);
    // 1 January 00:00 UTC is still 31 December in New York.
    const rows = summarizeRevenue(made, {
      from: '2025-12-31',
      to: '2026-01-02',
      granularity: 'day',
      timeZone: 'America/New_York',
    });
    assert.deepEqual(
      rows.map((row) => [row.period, row.additions, row.closing]),
      [
        ['2025-12-31', 100n, 100n],
        ['2026-01-01', 0n, 100n],
      ],
    );
  });
});

describe('provider cost and margin', () => {
  const price = {
    model: 'm',
    perMillion: {
      input: { units: 3n, scale: 0 },
      output: { units: 15n, scale: 0 },
      cached_input: { units: 3n, scale: 1 },
      cache_write: { units: 375n, scale: 2 },
    },
    batchDiscount: { units: 5n, scale: 1 },
  };

  it('prices each token class, reasoning as output, and the batch discount', () => {
    const cost = decideProviderCost(
      price,
      {
        input_tokens: 100_000,
        output_tokens: '10000',
        cached_input_tokens: 50_000,
        cache_write_tokens: 20_000,
        reasoning_tokens: 1000,
      },
      false,
    );
    assert.ok(!('kind' in cost));
    assert.equal(rational.toDecimalText(cost), '0.555');
    const batch = decideProviderCost(price, { input_tokens: 1_000_000 }, true);
    assert.ok(!('kind' in batch));
    assert.equal(rational.toDecimalText(batch), '1.5');
    const refused = decideProviderCost(price, { input_tokens: -1 }, false);
    assert.ok('kind' in refused);
  });

  it('percentiles are nearest-rank values', () => {
    const values = ['10', '20', '30', '40'].map(decimal);
    assert.equal(rational.toDecimalText(percentile(values, 50) ?? rational.zero), '20');
    assert.equal(rational.toDecimalText(percentile(values, 75) ?? rational.zero), '30');
    assert.equal(rational.toDecimalText(percentile(values, 90) ?? rational.zero), '40');
    assert.equal(percentile([], 50), null);
  });

  it('the margin window fires on the crossing only, re-arms, and forgets days outside it', () => {
    const policy = { threshold: decimal('20'), windowDays: 2 };
    let window = { days: {}, low: false };
    const step = (dayText: string, revenue: string, cost: string) => {
      const decided = decideMarginWindow(window, dayText, decimal(revenue), decimal(cost), policy);
      window = decided.window;
      return decided.crossed;
    };
    assert.equal(step('2026-01-01', '10', '5'), false); // 50%
    assert.equal(step('2026-01-01', '0', '4'), true); // 10%: crosses
    assert.equal(step('2026-01-02', '1', '1'), false); // still low: no second alert
    assert.equal(step('2026-01-02', '20', '0'), false); // back above: re-armed
    assert.equal(window.low, false);
    assert.equal(step('2026-01-04', '1', '5'), true); // the 1st and 2nd have left the window
    assert.deepEqual(Object.keys(window.days), ['2026-01-04']);
  });
});
