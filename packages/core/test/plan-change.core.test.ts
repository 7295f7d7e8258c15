/**
 * decidePlanChangeEffect against what the change then does: over random plans (allowances, rollover
 * rules, one-time grants), spending with and without overdraft debt, the time in the period and the
 * timing, the preview's decision is decidePlanChange's, and booking that decision as the shell does
 * and letting time reach the effective instant leaves exactly the balance the preview announced,
 * negative only when it says so. The basis changes with the wallet, the request and a passed renewal.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type {
  DecisionContext,
  PlanLookup,
  PlanRef,
  PlanVersion,
  Subscription,
  SubscriptionDecision,
  Wallet,
} from '../src/index.ts';
import {
  decideDebit,
  decidePlanChange,
  decidePlanChangeEffect,
  decidePlannedGrant,
  decideSettlement,
  decideSubscriptionDue,
  decideSubscriptionStart,
  decideVoid,
  emptyWallet,
  planChangeBasis,
  viewBalance,
} from '../src/index.ts';
import { allowance, at, lookupOf, planVersion } from './plan-fixture.ts';

const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
// biome-ignore lint/suspicious/noConsole: the seed is printed so a failing run replays
console.log(`plan-change.core.test seed=${seed} (replay with FC_SEED=${seed})`);

const day = 86_400_000;

let idCounter = 0;

/** Ids unique over the whole test, as the shell's are. */
function contextAt(now: number): DecisionContext {
  return {
    now,
    nextId: (prefix) => {
      idCounter += 1;
      return `${prefix}_${idCounter}`;
    },
  };
}

/** Books a subscription decision on the wallet as the shell does: each new source once, then the voids. */
function book(wallet: Wallet, decision: SubscriptionDecision, issued: Map<string, string>, now: number): Wallet {
  const context = contextAt(now);
  let current = decideSettlement(wallet, context).wallet;
  for (const planned of decision.grants) {
    if (issued.has(planned.source)) continue;
    const granted = decidePlannedGrant(current, planned, context);
    assert.equal(granted.kind, 'accepted');
    if (granted.kind !== 'accepted') throw new Error('unreachable');
    issued.set(planned.source, granted.result.grant.id);
    current = decideSettlement(granted.wallet, context).wallet;
  }
  for (const source of decision.voidSources) {
    const grantId = issued.get(source);
    if (grantId === undefined) continue;
    const voided = decideVoid(current, grantId, 'test', context);
    if (voided.kind === 'accepted') current = decideSettlement(voided.wallet, context).wallet;
  }
  return current;
}

const planArbitrary = (planId: string) =>
  fc
    .record({
      amount: fc.bigInt({ min: 1n, max: 20_000n }),
      rollover: fc.oneof(
        fc.constant({ kind: 'none' as const }),
        fc.constant({ kind: 'all' as const, expiresAfter: null }),
        fc
          .bigInt({ min: 0n, max: 10_000n })
          .map((amountMax) => ({ kind: 'amount' as const, amountMax, expiresAfter: null })),
      ),
      once: fc.option(fc.bigInt({ min: 1n, max: 5_000n }), { nil: null }),
    })
    .map(({ amount, rollover, once }) =>
      planVersion(planId, {
        allowances: [allowance({ amount, rollover })],
        oneTimeGrants:
          once === null
            ? []
            : [
                {
                  asset: 'credits',
                  amount: once,
                  category: 'promotional',
                  expiresAfter: null,
                  priority: 0,
                  features: null,
                },
              ],
      }),
    );

interface Scenario {
  readonly from: PlanVersion;
  readonly to: PlanVersion;
  readonly overdraft: bigint;
  readonly spend: bigint;
  readonly spendDay: number;
  readonly changeDay: number;
  readonly timing: 'immediate' | 'period_end';
}

const scenarios = fc.record({
  from: planArbitrary('from'),
  to: planArbitrary('to'),
  overdraft: fc.bigInt({ min: 0n, max: 30_000n }),
  spend: fc.bigInt({ min: 0n, max: 40_000n }),
  spendDay: fc.integer({ min: 0, max: 27 }),
  changeDay: fc.integer({ min: 0, max: 50 }),
  timing: fc.constantFrom('immediate' as const, 'period_end' as const),
});

/** A subscription to `from` started on January 1, with a debit on `spendDay`, as of the change time. */
function history(scenario: Scenario) {
  const startAt = at('2026-01-01T00:00:00Z');
  const plans: PlanLookup = lookupOf(scenario.from, scenario.to);
  const issued = new Map<string, string>();
  const started = decideSubscriptionStart(
    scenario.from,
    { id: 'sub_1', customer: 'c', timeZone: 'UTC', trial: false },
    startAt,
  );
  const policy = { ...emptyWallet('c', 'credits').policy, overdraftLimit: scenario.overdraft };
  let wallet = book(emptyWallet('c', 'credits', policy), started, issued, startAt);
  let subscription: Subscription = started.subscription;
  const spendAt = startAt + scenario.spendDay * day + 1;
  const due = decideSubscriptionDue(subscription, plans, spendAt);
  wallet = book(wallet, due, issued, spendAt);
  subscription = due.subscription;
  const debit = decideDebit(wallet, { amount: scenario.spend, feature: null }, contextAt(spendAt));
  if (debit.kind === 'accepted') wallet = debit.wallet;
  const now = spendAt + scenario.changeDay * day;
  return { plans, issued, wallet, subscription, now };
}

describe('decidePlanChangeEffect', () => {
  it('announces the balance the booked change leaves at its effective instant, negative only when it says so', () => {
    fc.assert(
      fc.property(scenarios, (scenario) => {
        const { plans, issued, wallet, subscription, now } = history(scenario);
        const next: PlanRef = { planId: 'to', version: 1 };
        const wallets = new Map([['credits', wallet]]);
        const outcome = decidePlanChangeEffect(
          { subscription, plans, next, timing: scenario.timing, now, wallets, issued },
          contextAt(now),
        );
        const change = decidePlanChange(subscription, plans, next, scenario.timing, now);
        if ('kind' in change) {
          assert.equal(outcome.kind, 'refused');
          return;
        }
        assert.equal(outcome.kind, 'accepted');
        if (outcome.kind !== 'accepted') return;
        assert.deepEqual(outcome.decision, change, 'the preview decides exactly the change');
        const [effect] = outcome.effect.assets;
        assert.ok(effect !== undefined);
        assert.equal(effect.balanceBefore, viewBalance(wallet, now).balance);
        // The change booked, then whatever falls due until it takes effect (a period-end switch).
        const issuedAfter = new Map(issued);
        let after = book(wallet, change, issuedAfter, now);
        const at = outcome.effect.effectiveAt;
        if (at > now) after = book(after, decideSubscriptionDue(change.subscription, plans, at), issuedAfter, at);
        const view = viewBalance(after, at);
        assert.equal(effect.balanceAfter, view.balance, 'balance when the change takes effect');
        assert.equal(effect.availableAfter, view.available);
        assert.equal(outcome.effect.negative.includes('credits'), view.balance < 0n, 'a negative balance is announced');
        const planned = change.grants.filter(
          (grant) => grant.source.includes('/allowance/') && grant.source.includes('/to@1/'),
        );
        assert.equal(
          effect.newAllowance,
          planned.reduce((sum, grant) => sum + grant.amount, 0n),
        );
      }),
      { seed, numRuns: 150 },
    );
  });

  it('names the state: another wallet, another request or a passed renewal is another basis', () => {
    const scenario: Scenario = {
      from: planVersion('from'),
      to: planVersion('to', { allowances: [allowance({ amount: 100n })] }),
      overdraft: 0n,
      spend: 10n,
      spendDay: 3,
      changeDay: 2,
      timing: 'period_end',
    };
    const { plans, wallet, subscription, now } = history(scenario);
    const next = { planId: 'to', version: 1 };
    const basis = (changes: Partial<Parameters<typeof planChangeBasis>[0]>) =>
      planChangeBasis({
        subscription,
        plans,
        next,
        timing: 'period_end',
        now,
        wallets: new Map([['credits', wallet]]),
        ...changes,
      });
    assert.equal(basis({}), basis({}));
    assert.equal(basis({ now: now + day }), basis({}), 'time alone, with nothing due, changes nothing');
    assert.notEqual(basis({ timing: 'immediate' }), basis({}));
    const spent = decideDebit(wallet, { amount: 1n, feature: null }, contextAt(now));
    assert.equal(spent.kind, 'accepted');
    if (spent.kind === 'accepted') assert.notEqual(basis({ wallets: new Map([['credits', spent.wallet]]) }), basis({}));
    assert.notEqual(basis({ now: at('2026-02-01T00:00:01Z') }), basis({}), 'a renewal due since is another state');
  });
});
