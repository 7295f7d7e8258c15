/**
 * decidePlanReplay: three hand-computed months of a capped rollover plan, and conservation
 * (granted + carried in = consumed + carried out + expired) over random plans and histories.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ChargedUsage, PlanReplayLine, RolloverRule } from '../src/index.ts';
import { decidePlanReplay } from '../src/index.ts';
import { allowance, at, day, month, planVersion, week } from './plan-fixture.ts';

const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
// biome-ignore lint/suspicious/noConsole: the seed is printed so a failing run replays
console.log(`plan-replay.core.test seed=${seed} (replay with FC_SEED=${seed})`);

const figures = (line: PlanReplayLine) =>
  [
    line.granted,
    line.carriedIn,
    line.usage,
    line.consumed,
    line.overage,
    line.rolledOver,
    line.expired,
    line.carriedOut,
  ].map(String);

describe('decidePlanReplay', () => {
  it('replays three months of 1,000 a month, rolling over up to 300 for a month', () => {
    const plan = planVersion('pro', {
      allowances: [allowance({ amount: 1000n, rollover: { kind: 'amount', amountMax: 300n, expiresAfter: month } })],
    });
    const usage: ChargedUsage[] = [
      { asset: 'credits', at: at('2026-01-10T00:00:00Z'), amount: 600n },
      { asset: 'credits', at: at('2026-02-03T00:00:00Z'), amount: 700n },
      { asset: 'credits', at: at('2026-02-20T00:00:00Z'), amount: 500n },
      { asset: 'credits', at: at('2026-03-15T00:00:00Z'), amount: 1500n },
    ];
    const periods = decidePlanReplay({
      plan,
      from: at('2026-01-01T00:00:00Z'),
      to: at('2026-04-01T00:00:00Z'),
      timeZone: 'UTC',
      usage,
    });
    assert.deepEqual(
      periods.map((period) => [new Date(period.startsAt).toISOString(), new Date(period.endsAt).toISOString()]),
      [
        ['2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z'],
        ['2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z'],
        ['2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z'],
      ],
    );
    //               granted  in     usage   consumed overage rolled expired out
    assert.deepEqual(
      periods.map((period) => period.lines.map(figures)),
      [
        // 400 left: 300 roll (the cap), 100 expire.
        [['1000', '0', '600', '600', '0', '300', '100', '300']],
        // The rolled 300 and the allowance both expire on March 1; the older rolled credit goes first.
        [['1000', '300', '1200', '1200', '0', '100', '0', '100']],
        // 1,100 available against 1,500 used: 400 overage.
        [['1000', '100', '1500', '1100', '400', '0', '0', '0']],
      ],
    );
  });

  it('expires a rolled lot mid-period, before a charge after its expiry', () => {
    const plan = planVersion('short', {
      allowances: [allowance({ amount: 100n, rollover: { kind: 'all', expiresAfter: week } })],
    });
    const [, second] = decidePlanReplay({
      plan,
      from: at('2026-01-01T00:00:00Z'),
      to: at('2026-03-01T00:00:00Z'),
      timeZone: 'UTC',
      usage: [{ asset: 'credits', at: at('2026-02-20T00:00:00Z'), amount: 150n }],
    });
    // 100 rolled from January expired on February 8, unused; February's 100 covers 100 of 150.
    assert.deepEqual(second?.lines.map(figures), [['100', '100', '150', '100', '50', '0', '100', '0']]);
  });

  it('conserves credit in every period, whatever the plan and history', () => {
    const rule: fc.Arbitrary<RolloverRule> = fc.oneof(
      fc.constant({ kind: 'none' } as const),
      fc.record({ kind: fc.constant('all' as const), expiresAfter: fc.constantFrom(null, day, week, month) }),
      fc.record({
        kind: fc.constant('amount' as const),
        amountMax: fc.bigInt({ min: 1n, max: 2000n }),
        expiresAfter: fc.constantFrom(null, day, week, month),
      }),
      fc.record({
        kind: fc.constant('percent' as const),
        percent: fc.record({ units: fc.bigInt({ min: 1n, max: 10000n }), scale: fc.constant(2) }),
        expiresAfter: fc.constantFrom(null, day, week, month),
      }),
    );
    const from = at('2026-01-01T00:00:00Z');
    const to = at('2026-07-01T00:00:00Z');
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            asset: fc.constantFrom('credits', 'tokens'),
            amount: fc.bigInt({ min: 1n, max: 2000n }),
            rollover: rule,
            priority: fc.integer({ min: 0, max: 2 }),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        fc.constantFrom(week, month),
        fc.array(
          fc.record({
            asset: fc.constantFrom('credits', 'tokens'),
            at: fc.integer({ min: from, max: to - 1 }),
            amount: fc.bigInt({ min: 0n, max: 1500n }),
          }),
          { maxLength: 60 },
        ),
        (allowances, period, charges) => {
          const plan = planVersion('p', {
            period,
            allowances: allowances.map((fields) => allowance({ ...fields, cadence: period })),
          });
          const usage = [...charges].sort((a, b) => a.at - b.at);
          const periods = decidePlanReplay({ plan, from, to, timeZone: 'UTC', usage });
          const carried = new Map<string, bigint>();
          let used = 0n;
          for (const period of periods) {
            for (const line of period.lines) {
              assert.equal(
                line.granted + line.carriedIn,
                line.consumed + line.carriedOut + line.expired,
                'conservation',
              );
              assert.equal(line.usage, line.consumed + line.overage, 'usage is consumed or overage');
              assert.equal(line.carriedIn, carried.get(line.asset) ?? 0n, 'carried in is the last carried out');
              assert.ok(line.rolledOver <= line.carriedOut && line.overage >= 0n && line.expired >= 0n);
              carried.set(line.asset, line.carriedOut);
              used += line.usage;
            }
          }
          assert.equal(
            used,
            usage.reduce((sum, charge) => sum + charge.amount, 0n),
            'every charge is replayed once',
          );
        },
      ),
      { seed, numRuns: 200 },
    );
  });
});
