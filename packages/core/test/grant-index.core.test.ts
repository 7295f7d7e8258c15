import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { countBalance } from '../src/balance.ts';
import type { GrantTotals } from '../src/grant-index.ts';
import { countTotals, grantPosition, grantTotals, nextExpiryOf, orderedPositions } from '../src/grant-index.ts';
import { grantComparator } from '../src/grant-order.ts';
import { holdDeadline } from '../src/hold-index.ts';
import type { DecisionContext, OrderKey, Refusal, Wallet } from '../src/index.ts';
import {
  assertWalletInvariants,
  decideCapture,
  decideDebit,
  decideExtend,
  decideGrant,
  decideHold,
  decidePlannedGrant,
  decidePolicy,
  decideRelease,
  decideSettlement,
  decideVoid,
  emptyWallet,
  viewBalance,
  withoutSpentGrants,
} from '../src/index.ts';

const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
// biome-ignore lint/suspicious/noConsole: the seed is printed so a failing run replays
console.log(`grant-index.core.test seed=${seed} (replay with FC_SEED=${seed})`);

type Command =
  | {
      op: 'grant';
      amount: bigint;
      features: readonly string[] | null;
      delay: number;
      ttl: number | null;
      priority: number;
      rollover: boolean;
    }
  | { op: 'debit'; amount: bigint; feature: string | null }
  | { op: 'hold'; amount: bigint; feature: string | null; ttl: number }
  | { op: 'capture'; pick: number; amount: bigint | null }
  | { op: 'release'; pick: number }
  | { op: 'extend'; pick: number; amount: bigint; later: number }
  | { op: 'void'; pick: number }
  | { op: 'order'; order: readonly OrderKey[] }
  | { op: 'prune' }
  | { op: 'advance'; by: number };

const amount = fc.bigInt(1n, 60n);
const feature = fc.constantFrom<string | null>('a', 'b', null);
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    arbitrary: fc.record({
      op: fc.constant('grant' as const),
      amount,
      features: fc.constantFrom<readonly string[] | null>(null, null, ['a'], ['a', 'b'], ['b', 'b']),
      delay: fc.constantFrom(0, 0, 5, 20),
      ttl: fc.constantFrom<number | null>(null, 10, 30, 100),
      priority: fc.integer({ min: 0, max: 2 }),
      rollover: fc.boolean(),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ op: fc.constant('debit' as const), amount, feature }), weight: 3 },
  {
    arbitrary: fc.record({ op: fc.constant('hold' as const), amount, feature, ttl: fc.integer({ min: 1, max: 40 }) }),
    weight: 2,
  },
  fc.record({ op: fc.constant('capture' as const), pick: fc.nat(), amount: fc.option(amount, { nil: null }) }),
  fc.record({ op: fc.constant('release' as const), pick: fc.nat() }),
  fc.record({
    op: fc.constant('extend' as const),
    pick: fc.nat(),
    amount: fc.bigInt(0n, 30n),
    later: fc.integer({ min: 0, max: 20 }),
  }),
  fc.record({ op: fc.constant('void' as const), pick: fc.nat() }),
  fc.record({
    op: fc.constant('order' as const),
    order: fc.constantFrom<readonly OrderKey[]>(
      ['priority', 'expires_at', 'created_at'],
      ['created_at_desc'],
      ['promotional_first', 'expires_at'],
      ['cost_basis', 'created_at'],
    ),
  }),
  fc.record({ op: fc.constant('prune' as const) }),
  { arbitrary: fc.record({ op: fc.constant('advance' as const), by: fc.integer({ min: 1, max: 25 }) }), weight: 2 },
);

function pick<T>(items: readonly T[], index: number): T | undefined {
  return items.length === 0 ? undefined : items[index % items.length];
}

/** The sums of a totals record, with the next expiry resolved, for comparison. */
function sums(grants: Wallet['grants'], totals: GrantTotals) {
  const { from: _from, until: _until, nextExpiry: _next, freeByFeature, ...rest } = totals;
  const byFeature = [...freeByFeature].filter(([, free]) => free !== 0n).sort(([a], [b]) => (a < b ? -1 : 1));
  return { ...rest, freeByFeature: byFeature, nextExpiry: nextExpiryOf(grants, totals) };
}

/** Every index the wallet carries equals the one computed from scratch over a copy of its arrays. */
function assertIndexesAgree(wallet: Wallet, now: number): void {
  const carried = grantTotals(wallet.grants, now);
  const counted = countTotals([...wallet.grants], now);
  assert.ok(carried.from <= now && now < carried.until, 'the carried totals hold now');
  assert.ok(counted.from <= carried.from && carried.until <= counted.until, 'within the counted interval');
  assert.deepEqual(sums(wallet.grants, carried), sums(wallet.grants, counted), 'carried totals = counted totals');
  for (const feature of [null, 'a', 'b', 'c']) {
    assert.deepEqual(
      viewBalance(wallet, now, feature),
      countBalance(wallet, now, feature),
      `balance view (${feature})`,
    );
  }
  const order = wallet.policy.consumptionOrder;
  const compare = grantComparator(order);
  const sorted = [...wallet.grants].sort(compare).map((grant) => grant.id);
  const kept = [...orderedPositions(wallet.grants, order)].map((position) => wallet.grants[position]?.id);
  assert.deepEqual(kept, sorted, 'the kept consumption order = a fresh sort');
  for (const [position, grant] of wallet.grants.entries())
    assert.equal(grantPosition(wallet.grants, grant.id), position);
  assert.equal(grantPosition(wallet.grants, 'grt_none'), -1);
  const deadline = Math.min(Number.POSITIVE_INFINITY, ...wallet.holds.map((hold) => hold.expiresAt));
  assert.equal(holdDeadline(wallet.holds), deadline, 'the kept hold deadline = the soonest expiry');
  // Settlement decided on the kept indexes equals settlement on fresh arrays (which count everything).
  const context = { now, nextId: (prefix: string) => `${prefix}_settle` };
  const kept2 = decideSettlement(wallet, context);
  const fresh = decideSettlement({ ...wallet, grants: [...wallet.grants], holds: [...wallet.holds] }, context);
  assert.deepEqual(kept2.transactions, fresh.transactions, 'settlement books the same');
  assert.deepEqual([...kept2.wallet.grants], [...fresh.wallet.grants]);
  assert.deepEqual([...kept2.wallet.holds], [...fresh.wallet.holds]);
}

describe('the grant index and the hold deadline', () => {
  it('always equal what is computed from scratch, after every step of random command sequences', () => {
    fc.assert(
      fc.property(
        fc.bigInt(0n, 40n),
        fc.array(commandArb, { minLength: 1, maxLength: 80 }),
        (overdraftLimit, commands) => {
          let now = 1000;
          let step = 0;
          const policy = decidePolicy(emptyWallet('cus', 'credits'), { overdraftLimit });
          assert.equal(policy.kind, 'accepted');
          let wallet = (policy as { wallet: Wallet }).wallet;
          const ctx = (): DecisionContext => ({ now, nextId: (prefix) => `${prefix}_${now}_${++step}` });
          const apply = (outcome: { readonly kind: 'accepted'; readonly wallet: Wallet } | Refusal): void => {
            if (outcome.kind === 'accepted') wallet = outcome.wallet;
          };
          for (const command of commands) {
            apply(decideSettlement(wallet, ctx()));
            switch (command.op) {
              case 'grant':
                if (command.rollover)
                  apply(
                    decidePlannedGrant(
                      wallet,
                      {
                        source: `s${step}`,
                        asset: 'credits',
                        amount: command.amount,
                        category: 'plan',
                        priority: command.priority,
                        effectiveAt: now + command.delay,
                        expiresAt: now + command.delay + (command.ttl ?? 50),
                        features: command.features,
                        rollover: { amountMax: command.amount / 2n, expiresAt: now + command.delay + 200 },
                      },
                      ctx(),
                    ),
                  );
                else
                  apply(
                    decideGrant(
                      wallet,
                      {
                        amount: command.amount,
                        category: command.priority === 2 ? 'promotional' : 'paid',
                        priority: command.priority,
                        effectiveAt: now + command.delay,
                        expiresAt: command.ttl === null ? null : now + command.delay + command.ttl,
                        features: command.features,
                        costBasis: command.priority === 1 ? { currency: 'usd', total: { units: 3n, scale: 1 } } : null,
                        reason: null,
                        source: 'issuance',
                      },
                      ctx(),
                    ),
                  );
                break;
              case 'debit':
                apply(decideDebit(wallet, { amount: command.amount, feature: command.feature }, ctx()));
                break;
              case 'hold':
                apply(
                  decideHold(
                    wallet,
                    { amount: command.amount, feature: command.feature, expiresAt: now + command.ttl },
                    ctx(),
                  ),
                );
                break;
              case 'capture': {
                const hold = pick(wallet.holds, command.pick);
                if (hold !== undefined)
                  apply(decideCapture(wallet, hold.id, { amount: command.amount, onExcess: 'draw' }, ctx()));
                break;
              }
              case 'release': {
                const hold = pick(wallet.holds, command.pick);
                if (hold !== undefined) apply(decideRelease(wallet, hold.id, ctx()));
                break;
              }
              case 'extend': {
                const hold = pick(wallet.holds, command.pick);
                if (hold !== undefined)
                  apply(
                    decideExtend(
                      wallet,
                      hold.id,
                      { additionalAmount: command.amount, expiresAt: hold.expiresAt + command.later },
                      ctx(),
                    ),
                  );
                break;
              }
              case 'void': {
                const lot = pick(wallet.grants, command.pick);
                if (lot !== undefined) apply(decideVoid(wallet, lot.id, 'test', ctx()));
                break;
              }
              case 'order':
                apply(decidePolicy(wallet, { consumptionOrder: command.order }));
                break;
              case 'prune':
                // What the committer does after every batch.
                wallet = { ...wallet, grants: withoutSpentGrants(wallet.grants, now) };
                break;
              case 'advance':
                now += command.by;
                break;
            }
            assertWalletInvariants(wallet);
            assertIndexesAgree(wallet, now);
          }
        },
      ),
      { seed, numRuns: 300 },
    );
  });
});
