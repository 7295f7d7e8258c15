/**
 * Auto top-up decisions: a request only on a crossing below the threshold, never a second while one
 * is pending, never past the monthly cap, none after too many failures in a row; and, over random
 * runs of spends, refills and outcomes, the same rules hold as invariants.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decideTopUpOutcome, decideTopUpRequest } from '../src/topups.ts';
import type { TopUpRule, TopUpState, Wallet } from '../src/wallet.ts';
import { emptyWallet } from '../src/wallet.ts';
import { paidGrant } from './grant-fixture.ts';

const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
// biome-ignore lint/suspicious/noConsole: the seed is printed so a failing run replays
console.log(`topups.core.test seed=${seed} (replay with FC_SEED=${seed})`);

const rule: TopUpRule = { enabled: true, threshold: 50n, amount: 100n, monthlyCap: 250n, failuresMax: 2 };
const fresh: TopUpState = { rule, pending: null, month: null, monthAmount: 0n, failures: 0 };

function walletWith(remaining: bigint, topUp: TopUpState = fresh): Wallet {
  return { ...emptyWallet('c', 'credits'), grants: [paidGrant(remaining)], topUp };
}

function withBalance(wallet: Wallet, remaining: bigint): Wallet {
  return walletWith(remaining, wallet.topUp);
}

function withoutRule(wallet: Wallet): Wallet {
  const { topUp: _rule, ...rest } = wallet;
  return rest;
}

describe('decideTopUpRequest', () => {
  it('requests the rule amount on a crossing below the threshold and marks it pending', () => {
    const request = decideTopUpRequest(walletWith(60n), walletWith(40n), 1, 't1', '2026-11');
    assert.equal(request?.amount, 100n);
    assert.deepEqual(request?.wallet.topUp, { ...fresh, pending: 't1', month: '2026-11', monthAmount: 100n });
  });

  const refusals: [string, Wallet, Wallet][] = [
    ['no crossing: already below', walletWith(45n), walletWith(40n)],
    ['no crossing: landing on the threshold', walletWith(60n), walletWith(50n)],
    ['no rule', withoutRule(walletWith(60n)), withoutRule(walletWith(40n))],
    ['rule disabled', walletWith(60n), walletWith(40n, { ...fresh, rule: { ...rule, enabled: false } })],
    ['one pending', walletWith(60n), walletWith(40n, { ...fresh, pending: 't0' })],
    ['too many failures', walletWith(60n), walletWith(40n, { ...fresh, failures: 2 })],
    ['monthly cap', walletWith(60n), walletWith(40n, { ...fresh, month: '2026-11', monthAmount: 200n })],
  ];
  for (const [name, before, after] of refusals) {
    it(`requests nothing: ${name}`, () => {
      assert.equal(decideTopUpRequest(before, after, 1, 't1', '2026-11'), null);
    });
  }

  it('starts a new month from zero', () => {
    const after = walletWith(40n, { ...fresh, month: '2026-10', monthAmount: 200n });
    assert.equal(decideTopUpRequest(walletWith(60n), after, 1, 't1', '2026-11')?.wallet.topUp?.monthAmount, 100n);
  });
});

describe('decideTopUpOutcome', () => {
  const pending: TopUpState = { ...fresh, pending: 't1', month: '2026-11', monthAmount: 100n, failures: 1 };

  it('success clears the pending request and the failure count, keeping the month spend', () => {
    assert.deepEqual(decideTopUpOutcome(walletWith(40n, pending), 't1', 100n, true).topUp, {
      ...pending,
      pending: null,
      failures: 0,
    });
  });

  it('failure clears the pending request, counts the failure and gives the allowance back', () => {
    assert.deepEqual(decideTopUpOutcome(walletWith(40n, pending), 't1', 100n, false).topUp, {
      ...pending,
      pending: null,
      failures: 2,
      monthAmount: 0n,
    });
  });

  it('ignores an outcome for a top-up that is not the pending one', () => {
    const wallet = walletWith(40n, pending);
    assert.equal(decideTopUpOutcome(wallet, 't0', 100n, true), wallet);
  });
});

type Step =
  | { readonly kind: 'balance'; readonly remaining: bigint }
  | { readonly kind: 'outcome'; readonly succeeded: boolean };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('balance' as const), remaining: fc.bigInt({ min: 0n, max: 200n }) }),
  fc.record({ kind: fc.constant('outcome' as const), succeeded: fc.boolean() }),
);

describe('auto top-up invariants over random runs', () => {
  it('at most one pending, the month never past its cap, no request after failuresMax failures', () => {
    fc.assert(
      fc.property(fc.array(stepArbitrary, { maxLength: 60 }), (steps) => {
        let wallet = walletWith(200n);
        let requested = 0;
        for (const step of steps) {
          const state = wallet.topUp as TopUpState;
          if (step.kind === 'outcome') {
            if (state.pending !== null) wallet = decideTopUpOutcome(wallet, state.pending, rule.amount, step.succeeded);
            continue;
          }
          const after = withBalance(wallet, step.remaining);
          const request = decideTopUpRequest(wallet, after, 1, `t${requested + 1}`, '2026-11');
          if (request !== null) {
            assert.equal(state.pending, null, 'a second request while one is pending');
            assert.ok(state.failures < rule.failuresMax, 'a request after too many failures');
            requested += 1;
          }
          wallet = request?.wallet ?? after;
          const monthAmount = (wallet.topUp as TopUpState).monthAmount;
          assert.ok(monthAmount >= 0n && monthAmount <= (rule.monthlyCap as bigint), `month spend ${monthAmount}`);
        }
      }),
      { seed, numRuns: 300 },
    );
  });
});
