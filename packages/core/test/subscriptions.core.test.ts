/**
 * Subscription decisions: start (with and without trial), what becomes due (notice, trial end,
 * renewals, allowance periods), plan changes mid-period (immediate and at period end), cancel,
 * pause and resume, rollover plans per rule; and, over random plans and histories, the catch-up
 * property (due at t1 then t2 plans exactly what due at t2 alone plans) with unique sources.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type {
  Cadence,
  PlanLookup,
  PlannedGrant,
  PlanVersion,
  Refusal,
  RolloverRule,
  Subscription,
  SubscriptionDecision,
} from '../src/index.ts';
import {
  decideCancel,
  decidePause,
  decidePlanChange,
  decideResume,
  decideSubscriptionDue,
  decideSubscriptionStart,
} from '../src/index.ts';
import { allowance, at, iso, lookupOf, month, planVersion, trialOf, week } from './plan-fixture.ts';

const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
// biome-ignore lint/suspicious/noConsole: the seed is printed so a failing run replays
console.log(`subscriptions.core.test seed=${seed} (replay with FC_SEED=${seed})`);

function decided(outcome: SubscriptionDecision | Refusal): SubscriptionDecision {
  if ('kind' in outcome) assert.fail(`expected a decision, got ${outcome.code}: ${outcome.detail}`);
  return outcome;
}

function refusedWith(outcome: SubscriptionDecision | Refusal, code: string): void {
  assert.ok('kind' in outcome && outcome.kind === 'refused', 'expected a refusal');
  assert.equal(outcome.code, code);
}

/** A compact, readable row per planned grant: source, amount, bounds. */
function rows(grants: readonly PlannedGrant[]): string[] {
  return grants.map((grant) => `${grant.source} ${grant.amount} [${iso(grant.effectiveAt)}, ${iso(grant.expiresAt)})`);
}

const pro = planVersion('pro', {
  oneTimeGrants: [
    { asset: 'credits', amount: 500n, category: 'promotional', expiresAfter: null, priority: 2, features: null },
  ],
});
const max = planVersion('max', {
  allowances: [allowance({ amount: 5000n })],
  oneTimeGrants: [
    { asset: 'credits', amount: 200n, category: 'promotional', expiresAfter: month, priority: 2, features: null },
  ],
});
const lite = planVersion('lite', { allowances: [allowance({ amount: 100n })] });
const trialPlan = planVersion('pro', {
  version: 2,
  oneTimeGrants: pro.oneTimeGrants,
  trial: trialOf(
    {
      duration: { interval: 'day', count: 14 },
      grants: [{ asset: 'credits', amount: 100n }],
      noticeBefore: { interval: 'day', count: 3 },
    },
    'convert',
  ),
});
const plans = lookupOf(pro, max, lite, trialPlan);

function start(plan: PlanVersion, startAt: string, options: { trial?: boolean; timeZone?: string } = {}) {
  return decideSubscriptionStart(
    plan,
    { id: 'sub', customer: 'cus', timeZone: options.timeZone ?? 'UTC', trial: options.trial ?? false },
    at(startAt),
  );
}

function source(anchor: string, plan: string, index: number, period: number): string {
  return `sub/allowance/${at(anchor)}/${plan}/${index}/${period}`;
}

describe('decideSubscriptionStart', () => {
  it('without a trial: period 0 from now, one-time grants, the current and the next allowance period', () => {
    const started = start(pro, '2024-01-31T00:00:00Z');
    const subscription = started.subscription;
    assert.equal(subscription.status, 'active');
    assert.deepEqual(
      [subscription.periodIndex, iso(subscription.periodStartsAt), iso(subscription.periodEndsAt)],
      [0, '2024-01-31T00:00:00.000Z', '2024-02-29T00:00:00.000Z'],
    );
    assert.deepEqual(rows(started.grants), [
      'sub/once/pro@1/0 500 [2024-01-31T00:00:00.000Z, null)',
      `${source('2024-01-31T00:00:00Z', 'pro@1', 0, 0)} 1000 [2024-01-31T00:00:00.000Z, 2024-02-29T00:00:00.000Z)`,
      `${source('2024-01-31T00:00:00Z', 'pro@1', 0, 1)} 1000 [2024-02-29T00:00:00.000Z, 2024-03-31T00:00:00.000Z)`,
    ]);
    assert.deepEqual(subscription.allowancesIssued, [1]);
    assert.equal(iso(started.nextDueAt), '2024-02-29T00:00:00.000Z');
    assert.deepEqual(
      started.events.map((event) => event.type),
      ['subscription.created'],
    );
    assert.deepEqual(started.periods, [
      {
        index: 0,
        startsAt: at('2024-01-31T00:00:00Z'),
        endsAt: at('2024-02-29T00:00:00Z'),
        plan: { planId: 'pro', version: 1 },
      },
    ]);
  });

  it("counts periods in the subscription's time zone: midnight Jan 31 in New York ends at midnight Feb 29 there", () => {
    const started = start(pro, '2024-01-31T05:00:00Z', { timeZone: 'America/New_York' });
    assert.equal(iso(started.subscription.periodEndsAt), '2024-02-29T05:00:00.000Z');
    assert.equal(iso(started.grants[2]?.expiresAt ?? null), '2024-03-31T04:00:00.000Z', 'Mar 31 midnight is EDT');
  });

  it('with a trial: period −1 until the trial ends, trial credit, and the paid plan pre-issued at the trial end', () => {
    const started = start(trialPlan, '2024-01-31T00:00:00Z', { trial: true });
    const subscription = started.subscription;
    assert.equal(subscription.status, 'trialing');
    assert.deepEqual(
      [
        subscription.periodIndex,
        iso(subscription.periodEndsAt),
        iso(subscription.trialEndsAt),
        iso(subscription.anchorAt),
      ],
      [-1, '2024-02-14T00:00:00.000Z', '2024-02-14T00:00:00.000Z', '2024-02-14T00:00:00.000Z'],
    );
    assert.deepEqual(rows(started.grants), [
      'sub/trial/0 100 [2024-01-31T00:00:00.000Z, 2024-02-14T00:00:00.000Z)',
      'sub/once/pro@2/0 500 [2024-02-14T00:00:00.000Z, null)',
      `${source('2024-02-14T00:00:00Z', 'pro@2', 0, 0)} 1000 [2024-02-14T00:00:00.000Z, 2024-03-14T00:00:00.000Z)`,
    ]);
    assert.equal(started.grants[0]?.category, 'trial');
    assert.equal(iso(started.nextDueAt), '2024-02-11T00:00:00.000Z', 'the notice, 3 days before the end');
  });

  it('a trial that ends (no conversion) pre-issues nothing of the paid plan', () => {
    const ending = planVersion('pro', {
      version: 3,
      trial: trialOf(trialPlan.trial as NonNullable<PlanVersion['trial']>, 'end'),
    });
    const started = start(ending, '2024-01-31T00:00:00Z', { trial: true });
    assert.deepEqual(rows(started.grants), ['sub/trial/0 100 [2024-01-31T00:00:00.000Z, 2024-02-14T00:00:00.000Z)']);
    const due = decideSubscriptionDue(started.subscription, lookupOf(ending), at('2024-03-01T00:00:00Z'));
    assert.deepEqual(
      due.events.map((event) => event.type),
      ['subscription.trial_ending', 'subscription.trial_ended', 'subscription.ended'],
    );
    assert.equal(due.subscription.status, 'ended');
    assert.equal(iso(due.subscription.endedAt), '2024-02-14T00:00:00.000Z');
    assert.deepEqual(due.grants, []);
    assert.equal(due.nextDueAt, null);
  });

  it('asking for a trial on a plan without one starts it active', () => {
    assert.equal(start(pro, '2024-01-31T00:00:00Z', { trial: true }).subscription.status, 'active');
  });
});

describe('rollover plans of allowance grants', () => {
  const expiring = (rule: RolloverRule) => {
    const plan = planVersion('r', { allowances: [allowance({ amount: 999n, rollover: rule })] });
    const grant = start(plan, '2024-01-31T00:00:00Z').grants[0] as PlannedGrant;
    return grant.rollover === null
      ? null
      : { amountMax: grant.rollover.amountMax, expiresAt: iso(grant.rollover.expiresAt) };
  };
  const twoMonths: Cadence = { interval: 'month', count: 2 };
  // The first allowance period ends Feb 29 2024; "2 months after" is Apr 29.
  const table: [string, RolloverRule, { amountMax: bigint | null; expiresAt: string | null } | null][] = [
    ['none: all of it expires', { kind: 'none' }, null],
    ['all, never expiring', { kind: 'all', expiresAfter: null }, { amountMax: null, expiresAt: null }],
    [
      'all, 2 months after the period end',
      { kind: 'all', expiresAfter: twoMonths },
      { amountMax: null, expiresAt: '2024-04-29T00:00:00.000Z' },
    ],
    [
      'amount cap below the allowance',
      { kind: 'amount', amountMax: 300n, expiresAfter: null },
      { amountMax: 300n, expiresAt: null },
    ],
    [
      'amount cap above the allowance: the allowance',
      { kind: 'amount', amountMax: 5000n, expiresAfter: null },
      { amountMax: 999n, expiresAt: null },
    ],
    [
      'percent 12.5 of 999 = 124.875, rounded down',
      { kind: 'percent', percent: { units: 125n, scale: 1 }, expiresAfter: null },
      { amountMax: 124n, expiresAt: null },
    ],
    [
      'percent 33.33 of 999 = 332.9667, rounded down',
      { kind: 'percent', percent: { units: 3333n, scale: 2 }, expiresAfter: null },
      { amountMax: 332n, expiresAt: null },
    ],
    [
      'percent 100',
      { kind: 'percent', percent: { units: 100n, scale: 0 }, expiresAfter: twoMonths },
      { amountMax: 999n, expiresAt: '2024-04-29T00:00:00.000Z' },
    ],
    [
      'percent 0',
      { kind: 'percent', percent: { units: 0n, scale: 0 }, expiresAfter: null },
      { amountMax: 0n, expiresAt: null },
    ],
  ];
  for (const [why, rule, expected] of table) it(why, () => assert.deepEqual(expiring(rule), expected));
});

describe('decideSubscriptionDue', () => {
  it('books the trial notice, the trial end and the renewals in time order, with catch-up allowances', () => {
    const started = start(trialPlan, '2024-01-31T00:00:00Z', { trial: true });
    const due = decideSubscriptionDue(started.subscription, plans, at('2024-04-01T00:00:00Z'));
    assert.deepEqual(
      due.events.map((event) => `${event.type} ${event.data.period ?? ''}`),
      ['subscription.trial_ending ', 'subscription.trial_ended ', 'subscription.renewed 1'],
    );
    assert.deepEqual(
      due.periods.map((period) => [period.index, iso(period.startsAt), iso(period.endsAt)]),
      [
        [0, '2024-02-14T00:00:00.000Z', '2024-03-14T00:00:00.000Z'],
        [1, '2024-03-14T00:00:00.000Z', '2024-04-14T00:00:00.000Z'],
      ],
    );
    assert.deepEqual(rows(due.grants), [
      `${source('2024-02-14T00:00:00Z', 'pro@2', 0, 1)} 1000 [2024-03-14T00:00:00.000Z, 2024-04-14T00:00:00.000Z)`,
      `${source('2024-02-14T00:00:00Z', 'pro@2', 0, 2)} 1000 [2024-04-14T00:00:00.000Z, 2024-05-14T00:00:00.000Z)`,
    ]);
    assert.equal(due.subscription.status, 'active');
    assert.equal(due.subscription.trialNoticeSent, true);
    assert.equal(iso(due.nextDueAt), '2024-04-14T00:00:00.000Z');
  });

  it('issues past allowance periods after a long downtime, once each', () => {
    const started = start(lite, '2024-01-01T00:00:00Z');
    const due = decideSubscriptionDue(started.subscription, plans, at('2024-06-15T00:00:00Z'));
    assert.deepEqual(
      due.grants.map((grant) => iso(grant.effectiveAt)),
      [
        '2024-03-01T00:00:00.000Z',
        '2024-04-01T00:00:00.000Z',
        '2024-05-01T00:00:00.000Z',
        '2024-06-01T00:00:00.000Z',
        '2024-07-01T00:00:00.000Z',
      ],
    );
    assert.equal(due.events.length, 5, 'renewals for periods 1 to 5');
    assert.equal(due.subscription.periodIndex, 5);
    assert.deepEqual(decideSubscriptionDue(due.subscription, plans, at('2024-06-15T00:00:00Z')).grants, []);
  });

  it('an allowance shorter than the billing period is due at its own boundaries', () => {
    const weekly = planVersion('weekly', { allowances: [allowance({ amount: 70n, cadence: week })] });
    const started = start(weekly, '2024-01-01T00:00:00Z');
    assert.equal(iso(started.nextDueAt), '2024-01-08T00:00:00.000Z', 'the next week starts: pre-issue the one after');
    const due = decideSubscriptionDue(started.subscription, lookupOf(weekly), at('2024-01-20T00:00:00Z'));
    assert.deepEqual(
      due.grants.map((grant) => iso(grant.effectiveAt)),
      ['2024-01-15T00:00:00.000Z', '2024-01-22T00:00:00.000Z'],
    );
    assert.equal(iso(due.nextDueAt), '2024-01-22T00:00:00.000Z');
  });

  it('has nothing due for paused, canceled and ended subscriptions', () => {
    const paused = decided(
      decidePause(start(pro, '2024-01-01T00:00:00Z').subscription, plans, at('2024-01-10T00:00:00Z')),
    );
    const due = decideSubscriptionDue(paused.subscription, plans, at('2025-01-01T00:00:00Z'));
    assert.deepEqual([due.grants, due.events, due.nextDueAt], [[], [], null]);
  });
});

describe('decidePlanChange', () => {
  const startedAt = '2024-01-01T00:00:00Z';

  it('immediate, mid-period: the old current period stays, its next is voided, the new plan starts now', () => {
    const started = start(pro, startedAt);
    const change = decided(
      decidePlanChange(
        started.subscription,
        plans,
        { planId: 'max', version: 1 },
        'immediate',
        at('2024-01-15T00:00:00Z'),
      ),
    );
    assert.deepEqual(change.voidSources, [source(startedAt, 'pro@1', 0, 1)]);
    assert.deepEqual(rows(change.grants), [
      'sub/once/max@1/0 200 [2024-01-15T00:00:00.000Z, 2024-02-15T00:00:00.000Z)',
      `${source('2024-01-15T00:00:00Z', 'max@1', 0, 0)} 5000 [2024-01-15T00:00:00.000Z, 2024-02-15T00:00:00.000Z)`,
      `${source('2024-01-15T00:00:00Z', 'max@1', 0, 1)} 5000 [2024-02-15T00:00:00.000Z, 2024-03-15T00:00:00.000Z)`,
    ]);
    const subscription = change.subscription;
    assert.deepEqual(
      [subscription.plan, iso(subscription.anchorAt), subscription.periodIndex, iso(subscription.periodEndsAt)],
      [{ planId: 'max', version: 1 }, '2024-01-15T00:00:00.000Z', 0, '2024-02-15T00:00:00.000Z'],
    );
    assert.deepEqual(
      change.events.map((event) => [event.type, event.data.from, event.data.to, event.data.timing]),
      [['subscription.changed', 'pro@1', 'max@1', 'immediate']],
    );
  });

  it('at period end: the next period of the old plan is voided, the new plan is pre-issued at the boundary', () => {
    const started = start(max, startedAt);
    const change = decided(
      decidePlanChange(
        started.subscription,
        plans,
        { planId: 'lite', version: 1 },
        'period_end',
        at('2024-01-15T00:00:00Z'),
      ),
    );
    assert.deepEqual(change.voidSources, [source(startedAt, 'max@1', 0, 1)]);
    assert.deepEqual(rows(change.grants), [
      `${source('2024-02-01T00:00:00Z', 'lite@1', 0, 0)} 100 [2024-02-01T00:00:00.000Z, 2024-03-01T00:00:00.000Z)`,
    ]);
    assert.deepEqual(change.subscription.pendingPlan, { planId: 'lite', version: 1 });
    assert.deepEqual(change.subscription.plan, { planId: 'max', version: 1 }, 'nothing switches before the boundary');

    const switched = decideSubscriptionDue(change.subscription, plans, at('2024-02-10T00:00:00Z'));
    assert.deepEqual(
      rows(switched.grants),
      [`${source('2024-02-01T00:00:00Z', 'lite@1', 0, 1)} 100 [2024-03-01T00:00:00.000Z, 2024-04-01T00:00:00.000Z)`],
      'period 0 of the new plan was issued with the change, never again',
    );
    assert.deepEqual(
      [
        switched.subscription.plan.planId,
        iso(switched.subscription.anchorAt),
        switched.subscription.pendingPlan,
        switched.subscription.allowancesIssued,
      ],
      ['lite', '2024-02-01T00:00:00.000Z', null, [1]],
    );
    assert.deepEqual(
      switched.events.map((event) => [event.type, event.data.timing, event.data.period]),
      [['subscription.changed', 'period_end', 0]],
    );
  });

  it('a second period-end change replaces the first and voids what the first pre-issued', () => {
    const started = start(max, startedAt);
    const first = decided(
      decidePlanChange(
        started.subscription,
        plans,
        { planId: 'lite', version: 1 },
        'period_end',
        at('2024-01-15T00:00:00Z'),
      ),
    );
    const second = decided(
      decidePlanChange(
        first.subscription,
        plans,
        { planId: 'pro', version: 1 },
        'period_end',
        at('2024-01-20T00:00:00Z'),
      ),
    );
    assert.deepEqual(second.voidSources, [source('2024-02-01T00:00:00Z', 'lite@1', 0, 0)]);
    assert.deepEqual(
      second.grants.map((grant) => grant.source),
      [source('2024-02-01T00:00:00Z', 'pro@1', 0, 0)],
    );
    assert.deepEqual(second.subscription.pendingPlan, { planId: 'pro', version: 1 });
  });

  it('during a trial, at period end: the trial converts into the new plan, with its one-time grants', () => {
    const started = start(trialPlan, '2024-01-31T00:00:00Z', { trial: true });
    const change = decided(
      decidePlanChange(
        started.subscription,
        plans,
        { planId: 'max', version: 1 },
        'period_end',
        at('2024-02-01T00:00:00Z'),
      ),
    );
    assert.deepEqual(change.voidSources, [source('2024-02-14T00:00:00Z', 'pro@2', 0, 0), 'sub/once/pro@2/0']);
    assert.deepEqual(
      change.grants.map((grant) => [grant.source, iso(grant.effectiveAt)]),
      [
        [source('2024-02-14T00:00:00Z', 'max@1', 0, 0), '2024-02-14T00:00:00.000Z'],
        ['sub/once/max@1/0', '2024-02-14T00:00:00.000Z'],
      ],
    );
    const converted = decideSubscriptionDue(change.subscription, plans, at('2024-02-20T00:00:00Z'));
    assert.deepEqual(converted.subscription.plan, { planId: 'max', version: 1 });
    assert.equal(converted.subscription.status, 'active');
    assert.deepEqual(
      converted.grants.map((grant) => grant.source),
      [source('2024-02-14T00:00:00Z', 'max@1', 0, 1)],
    );
  });

  it('during a trial, immediately: the trial ends now and what it pre-issued is voided', () => {
    const started = start(trialPlan, '2024-01-31T00:00:00Z', { trial: true });
    const change = decided(
      decidePlanChange(
        started.subscription,
        plans,
        { planId: 'max', version: 1 },
        'immediate',
        at('2024-02-01T00:00:00Z'),
      ),
    );
    assert.deepEqual(change.voidSources, [source('2024-02-14T00:00:00Z', 'pro@2', 0, 0), 'sub/once/pro@2/0']);
    assert.equal(iso(change.subscription.trialEndsAt), '2024-02-01T00:00:00.000Z');
    assert.deepEqual(
      change.events.map((event) => event.type),
      ['subscription.trial_ended', 'subscription.changed'],
    );
  });

  it('refuses the same version, a version already pending, and ended subscriptions', () => {
    const started = start(pro, startedAt);
    refusedWith(
      decidePlanChange(
        started.subscription,
        plans,
        { planId: 'pro', version: 1 },
        'immediate',
        at('2024-01-02T00:00:00Z'),
      ),
      'subscription_transition_invalid',
    );
    const pending = decided(
      decidePlanChange(
        started.subscription,
        plans,
        { planId: 'lite', version: 1 },
        'period_end',
        at('2024-01-02T00:00:00Z'),
      ),
    );
    refusedWith(
      decidePlanChange(
        pending.subscription,
        plans,
        { planId: 'lite', version: 1 },
        'period_end',
        at('2024-01-03T00:00:00Z'),
      ),
      'subscription_transition_invalid',
    );
    const canceled = decided(decideCancel(started.subscription, plans, 'immediate', at('2024-01-02T00:00:00Z')));
    refusedWith(
      decidePlanChange(
        canceled.subscription,
        plans,
        { planId: 'max', version: 1 },
        'immediate',
        at('2024-01-03T00:00:00Z'),
      ),
      'subscription_transition_invalid',
    );
  });
});

describe('decideCancel, decidePause, decideResume', () => {
  const startedAt = '2024-01-01T00:00:00Z';

  it('immediate cancel ends now, voids the pre-issued next period and keeps the current one', () => {
    const canceled = decided(
      decideCancel(start(pro, startedAt).subscription, plans, 'immediate', at('2024-01-10T00:00:00Z')),
    );
    assert.deepEqual(canceled.voidSources, [source(startedAt, 'pro@1', 0, 1)]);
    assert.deepEqual(
      [canceled.subscription.status, iso(canceled.subscription.endedAt), canceled.nextDueAt],
      ['canceled', '2024-01-10T00:00:00.000Z', null],
    );
    assert.deepEqual(
      canceled.events.map((event) => [event.type, event.data.effective_at ?? null]),
      [
        ['subscription.canceled', '2024-01-10T00:00:00.000Z'],
        ['subscription.ended', null],
      ],
    );
    refusedWith(
      decideCancel(canceled.subscription, plans, 'immediate', at('2024-01-11T00:00:00Z')),
      'subscription_transition_invalid',
    );
  });

  it('cancel at period end voids what starts then, and ends at the boundary without issuing more', () => {
    const canceling = decided(
      decideCancel(start(pro, startedAt).subscription, plans, 'period_end', at('2024-01-10T00:00:00Z')),
    );
    assert.deepEqual(canceling.voidSources, [source(startedAt, 'pro@1', 0, 1)]);
    assert.equal(canceling.subscription.cancelAtPeriodEnd, true);
    assert.equal(canceling.events[0]?.data.effective_at, '2024-02-01T00:00:00.000Z');
    assert.equal(iso(canceling.nextDueAt), '2024-02-01T00:00:00.000Z');
    const ended = decideSubscriptionDue(canceling.subscription, plans, at('2024-05-01T00:00:00Z'));
    assert.deepEqual(
      [ended.subscription.status, iso(ended.subscription.endedAt), ended.grants, ended.nextDueAt],
      ['canceled', '2024-02-01T00:00:00.000Z', [], null],
    );
  });

  it('cancel at period end during a trial ends with the trial and voids the paid plan it pre-issued', () => {
    const started = start(trialPlan, '2024-01-31T00:00:00Z', { trial: true });
    const canceling = decided(decideCancel(started.subscription, plans, 'period_end', at('2024-02-01T00:00:00Z')));
    assert.deepEqual(canceling.voidSources, [source('2024-02-14T00:00:00Z', 'pro@2', 0, 0), 'sub/once/pro@2/0']);
    const ended = decideSubscriptionDue(canceling.subscription, plans, at('2024-03-01T00:00:00Z'));
    assert.deepEqual(
      [ended.subscription.status, iso(ended.subscription.endedAt), ended.grants],
      ['canceled', '2024-02-14T00:00:00.000Z', []],
    );
  });

  it('pause voids the next period; resume starts a new phase now with fresh allowances and no one-time grants', () => {
    const paused = decided(decidePause(start(pro, startedAt).subscription, plans, at('2024-01-10T00:00:00Z')));
    assert.deepEqual(paused.voidSources, [source(startedAt, 'pro@1', 0, 1)]);
    assert.deepEqual(
      [paused.subscription.status, iso(paused.subscription.pausedAt), paused.nextDueAt],
      ['paused', '2024-01-10T00:00:00.000Z', null],
    );
    const resumed = decided(decideResume(paused.subscription, plans, at('2024-03-05T00:00:00Z')));
    assert.deepEqual(rows(resumed.grants), [
      `${source('2024-03-05T00:00:00Z', 'pro@1', 0, 0)} 1000 [2024-03-05T00:00:00.000Z, 2024-04-05T00:00:00.000Z)`,
      `${source('2024-03-05T00:00:00Z', 'pro@1', 0, 1)} 1000 [2024-04-05T00:00:00.000Z, 2024-05-05T00:00:00.000Z)`,
    ]);
    assert.deepEqual(
      [resumed.subscription.status, resumed.subscription.pausedAt, resumed.subscription.periodIndex],
      ['active', null, 0],
    );
    assert.deepEqual(
      resumed.events.map((event) => event.type),
      ['subscription.resumed'],
    );
  });

  it('refuses pausing what is not active or has a period-end change waiting, and resuming what is not paused', () => {
    const started = start(pro, startedAt);
    refusedWith(
      decideResume(started.subscription, plans, at('2024-01-02T00:00:00Z')),
      'subscription_transition_invalid',
    );
    const pending = decided(decideCancel(started.subscription, plans, 'period_end', at('2024-01-02T00:00:00Z')));
    refusedWith(
      decidePause(pending.subscription, plans, at('2024-01-03T00:00:00Z')),
      'subscription_transition_invalid',
    );
    const trialing = start(trialPlan, startedAt, { trial: true });
    refusedWith(
      decidePause(trialing.subscription, plans, at('2024-01-03T00:00:00Z')),
      'subscription_transition_invalid',
    );
  });
});

// --------------------------------------------------------------------------------------------
// The catch-up property over random plans and histories.

const cadenceArbitrary: fc.Arbitrary<Cadence> = fc.oneof(
  fc.record({ interval: fc.constant('day' as const), count: fc.integer({ min: 1, max: 10 }) }),
  fc.constant(week),
  fc.record({ interval: fc.constant('month' as const), count: fc.integer({ min: 1, max: 2 }) }),
);
const ruleArbitrary: fc.Arbitrary<RolloverRule> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({ kind: fc.constant('all' as const), expiresAfter: fc.option(cadenceArbitrary) }),
  fc.record({
    kind: fc.constant('amount' as const),
    amountMax: fc.bigInt({ min: 0n, max: 500n }),
    expiresAfter: fc.option(cadenceArbitrary),
  }),
);
const planArbitrary = (planId: string): fc.Arbitrary<PlanVersion> =>
  fc
    .record({
      period: cadenceArbitrary,
      allowances: fc.array(
        fc
          .record({ amount: fc.bigInt({ min: 1n, max: 1000n }), cadence: cadenceArbitrary, rollover: ruleArbitrary })
          .map((fields) => allowance(fields)),
        { maxLength: 2 },
      ),
      once: fc.boolean(),
      trial: fc.option(
        fc.record({
          duration: fc.record({ interval: fc.constant('day' as const), count: fc.integer({ min: 1, max: 20 }) }),
          outcome: fc.constantFrom('convert' as const, 'end' as const),
          notice: fc.integer({ min: 1, max: 5 }),
        }),
      ),
    })
    .map(({ period, allowances, once, trial }) =>
      planVersion(planId, {
        period,
        allowances,
        oneTimeGrants: once ? pro.oneTimeGrants : [],
        trial:
          trial === null
            ? null
            : trialOf(
                {
                  duration: trial.duration,
                  grants: [{ asset: 'credits', amount: 10n }],
                  noticeBefore: { interval: 'day', count: trial.notice },
                },
                trial.outcome,
              ),
      }),
    );

type Action = 'none' | 'change_immediate' | 'change_period_end' | 'cancel_period_end' | 'cancel_immediate' | 'pause';
const dayMs = 86_400_000;

function act(
  subscription: Subscription,
  lookup: PlanLookup,
  action: Action,
  now: number,
): SubscriptionDecision | Refusal {
  const next = { planId: 'b', version: 1 };
  switch (action) {
    case 'none':
      return decideSubscriptionDue(subscription, lookup, now);
    case 'change_immediate':
      return decidePlanChange(subscription, lookup, next, 'immediate', now);
    case 'change_period_end':
      return decidePlanChange(subscription, lookup, next, 'period_end', now);
    case 'cancel_period_end':
      return decideCancel(subscription, lookup, 'period_end', now);
    case 'cancel_immediate':
      return decideCancel(subscription, lookup, 'immediate', now);
    case 'pause':
      return decidePause(subscription, lookup, now);
  }
}

describe('catch-up property', () => {
  it('due at t1 then at t2 plans the same as due at t2 alone; sources are never issued twice; only scheduled grants are voided', () => {
    fc.assert(
      fc.property(
        planArbitrary('a'),
        planArbitrary('b'),
        fc.constantFrom('UTC', 'America/New_York', 'Asia/Kolkata', 'Pacific/Auckland'),
        fc.boolean(),
        fc.constantFrom<Action>(
          'none',
          'change_immediate',
          'change_period_end',
          'cancel_period_end',
          'cancel_immediate',
          'pause',
        ),
        fc.integer({ min: 0, max: 60 * dayMs }),
        fc.integer({ min: 0, max: 120 * dayMs }),
        fc.integer({ min: 0, max: 120 * dayMs }),
        (planA, planB, timeZone, trial, action, actionAfter, firstGap, secondGap) => {
          const lookup = lookupOf(planA, planB);
          const startAt = at('2024-01-15T10:00:00Z');
          const started = decideSubscriptionStart(planA, { id: 'sub', customer: 'cus', timeZone, trial }, startAt);
          const actionAt = startAt + actionAfter;
          const acted = act(started.subscription, lookup, action, actionAt);
          const afterAction = 'kind' in acted ? decideSubscriptionDue(started.subscription, lookup, actionAt) : acted;
          const t1 = actionAt + firstGap;
          const t2 = t1 + secondGap;
          const first = decideSubscriptionDue(afterAction.subscription, lookup, t1);
          const second = decideSubscriptionDue(first.subscription, lookup, t2);
          const once = decideSubscriptionDue(afterAction.subscription, lookup, t2);

          const sorted = (grants: readonly PlannedGrant[]) =>
            [...grants].sort((a, b) => (a.source < b.source ? -1 : 1));
          assert.deepEqual(sorted([...first.grants, ...second.grants]), sorted(once.grants));
          assert.deepEqual([...first.events, ...second.events], once.events);
          assert.deepEqual([...first.periods, ...second.periods], once.periods);
          assert.deepEqual(second.subscription, once.subscription);
          assert.deepEqual([first.voidSources, second.voidSources, once.voidSources], [[], [], []]);

          const history = [started, afterAction, first, second];
          const issued = new Map<string, PlannedGrant>();
          history.forEach((decision, index) => {
            const decidedAt = [startAt, actionAt, t1, t2][index] as number;
            for (const source of decision.voidSources) {
              const grant = issued.get(source);
              assert.ok(grant !== undefined, `voids ${source}, which was issued before`);
              assert.ok(grant.effectiveAt > decidedAt, `voids ${source} only before it is effective`);
            }
            for (const grant of decision.grants) {
              assert.ok(!issued.has(grant.source), `issues ${grant.source} once`);
              issued.set(grant.source, grant);
            }
          });
          const last = second.subscription;
          if (last.status === 'active' || last.status === 'trialing')
            assert.ok((second.nextDueAt ?? 0) > t2, 'nothing left due');
          else assert.equal(second.nextDueAt, null);
        },
      ),
      { seed, numRuns: 250 },
    );
  });
});
