/**
 * Subscriptions over time, as pure decisions: starting one, booking what became due (trial notice,
 * trial end, renewals, allowance periods), changing plan, canceling, pausing and resuming. Each
 * decision returns the new subscription state and the grants to issue and void; the shell records
 * them in one transaction. Everything a decision voids is derived from the subscription state, so
 * the core never needs to read back what it issued before.
 *
 * Conventions:
 * - A *phase* is a run of one plan version from one anchor: it starts at subscription start, trial
 *   conversion, a plan change or a resume. Billing periods and allowance periods are counted from
 *   its anchor with addCadence, in the subscription's time zone.
 * - Each allowance always has the period containing now and the next one issued, so a balance at a
 *   period boundary never waits for a scheduler job. Nothing starting at or after a known end of
 *   the phase (a cancellation or plan change at period end, a trial that ends) is issued.
 * - A trial is period −1: [trial start, trial end). A trial that converts has period 0 of the paid
 *   plan anchored at the trial end; its first allowance periods and one-time grants are issued at
 *   the start of the trial, effective when it ends.
 * - Grants already effective are never taken back: the old plan's current credits stay until the
 *   end of the period they were granted for (with their own rollover). Grants not effective yet
 *   are voided when the period they belong to will not come.
 */

import type { Refusal } from './outcomes.ts';
import { assert, refuse } from './outcomes.ts';
import { addCadence, isTimeZone, periodIndexAt } from './periods.ts';
import type {
  Allowance,
  PlanLookup,
  PlannedGrant,
  PlanRef,
  PlanVersion,
  Subscription,
  SubscriptionDecision,
  SubscriptionEvent,
  SubscriptionPeriod,
} from './plans.ts';
import type { RolloverPlan } from './wallet.ts';

type EventData = SubscriptionEvent['data'];

/** A decision under construction: what it has planned so far. */
interface Draft {
  readonly subscription: Subscription;
  readonly grants: readonly PlannedGrant[];
  readonly voidSources: readonly string[];
  readonly periods: readonly SubscriptionPeriod[];
  readonly events: readonly SubscriptionEvent[];
}

export interface SubscriptionStartInput {
  readonly id: string;
  readonly customer: string;
  readonly timeZone: string;
  readonly trial: boolean;
}

/** Starts a subscription now: on trial when asked and the plan has one, else active with period 0 from now. */
export function decideSubscriptionStart(
  plan: PlanVersion,
  input: SubscriptionStartInput,
  now: number,
): SubscriptionDecision {
  assert(isTimeZone(input.timeZone), 'the shell checks the time zone before starting a subscription');
  const trial = input.trial ? plan.trial : null;
  const lookup: PlanLookup = () => plan;
  const ref: PlanRef = { planId: plan.planId, version: plan.version };
  const common = {
    id: input.id,
    customer: input.customer,
    plan: ref,
    timeZone: input.timeZone,
    trialNoticeSent: false,
    cancelAtPeriodEnd: false,
    pendingPlan: null,
    pausedAt: null,
    endedAt: null,
    createdAt: now,
    allowancesIssued: plan.allowances.map(() => -1),
  };
  if (trial === null) {
    const subscription: Subscription = {
      ...common,
      ...periodZero(plan, now, input.timeZone),
      status: 'active',
      trialEndsAt: null,
    };
    const draft = startedDraft(subscription, oneTimeGrants(subscription, plan, now));
    return finish(issueCurrent(draft, lookup, now), lookup);
  }
  const trialEndsAt = addCadence(now, trial.duration, 1, input.timeZone);
  const subscription: Subscription = {
    ...common,
    status: 'trialing',
    anchorAt: trialEndsAt,
    periodIndex: -1,
    periodStartsAt: now,
    periodEndsAt: trialEndsAt,
    trialEndsAt,
  };
  const trialGrants: PlannedGrant[] = trial.grants.map((grant, index) => ({
    source: `${input.id}/trial/${index}`,
    asset: grant.asset,
    amount: grant.amount,
    category: 'trial',
    priority: 0,
    effectiveAt: now,
    expiresAt: trialEndsAt,
    features: null,
    rollover: null,
  }));
  const converting = trial.onEnd === 'convert' ? oneTimeGrants(subscription, plan, trialEndsAt) : [];
  const draft = startedDraft(subscription, [...trialGrants, ...converting]);
  return finish(issueCurrent(draft, lookup, now), lookup);
}

function startedDraft(subscription: Subscription, grants: readonly PlannedGrant[]): Draft {
  return {
    subscription,
    grants,
    voidSources: [],
    periods: [currentPeriod(subscription)],
    events: [
      event('subscription.created', subscription, {
        customer: subscription.customer,
        status: subscription.status,
        ...periodData(subscription),
        trial_ends_at: isoOrNull(subscription.trialEndsAt),
      }),
    ],
  };
}

/**
 * Books everything due at or before `now`, in time order, however long ago it became due: the trial
 * notice, the trial end, every period end (renewal, or the cancellation or plan change waiting for
 * it), and every allowance period that started, including ones already over (they are issued and
 * settled at once, as if issued on time and left unused). Running it at t1 and then at t2 plans the
 * same grants, periods and events as running it once at t2.
 */
export function decideSubscriptionDue(
  subscription: Subscription,
  plans: PlanLookup,
  now: number,
): SubscriptionDecision {
  return finish(catchUp(subscription, plans, now), plans);
}

/**
 * Moves a trialing or active subscription to another plan version. `immediate`: a new phase starts
 * now (a trial ends now); grants not effective yet are voided, effective ones kept; the new plan's
 * allowances and one-time grants are issued. `period_end`: the change waits for the current period
 * to end (the trial end when trialing); the new plan's first allowance periods are issued now,
 * effective then. A second period-end change replaces the first.
 */
export function decidePlanChange(
  subscription: Subscription,
  plans: PlanLookup,
  next: PlanRef,
  timing: 'immediate' | 'period_end',
  now: number,
): SubscriptionDecision | Refusal {
  const draft = catchUp(subscription, plans, now);
  const current = draft.subscription;
  if (current.status !== 'trialing' && current.status !== 'active') {
    return refuse('subscription_transition_invalid', `A ${current.status} subscription cannot change plan.`);
  }
  if (samePlan(next, current.plan)) {
    return refuse('subscription_transition_invalid', 'The subscription already follows this plan version.');
  }
  if (timing === 'period_end' && current.pendingPlan !== null && samePlan(next, current.pendingPlan)) {
    return refuse('subscription_transition_invalid', 'This plan version is already scheduled for the period end.');
  }
  const nextPlan = plans(next);
  const changed =
    timing === 'immediate' ? changeNow(draft, plans, nextPlan, now) : changeLater(draft, plans, nextPlan, now);
  return finish(changed, plans);
}

function changeNow(draft: Draft, plans: PlanLookup, nextPlan: PlanVersion, now: number): Draft {
  const voided = voidScheduled(draft, plans, now, (effectiveAt) => effectiveAt > now);
  const before = voided.subscription;
  const trialEnded =
    before.status === 'trialing'
      ? [event('subscription.trial_ended', before, { trial_ends_at: iso(now), outcome: 'change' })]
      : [];
  const subscription: Subscription = {
    ...before,
    ...periodZero(nextPlan, now, before.timeZone),
    plan: { planId: nextPlan.planId, version: nextPlan.version },
    status: 'active',
    trialEndsAt: before.status === 'trialing' ? now : before.trialEndsAt,
    pendingPlan: null,
    cancelAtPeriodEnd: false,
    allowancesIssued: nextPlan.allowances.map(() => -1),
  };
  const changed = event('subscription.changed', subscription, {
    from: planKey(before.plan),
    to: planKey(subscription.plan),
    timing: 'immediate',
    effective_at: iso(now),
    ...periodData(subscription),
  });
  return issueCurrent(
    {
      subscription,
      grants: [...voided.grants, ...oneTimeGrants(subscription, nextPlan, now)],
      voidSources: voided.voidSources,
      periods: [...voided.periods, currentPeriod(subscription)],
      events: [...voided.events, ...trialEnded, changed],
    },
    plans,
    now,
  );
}

function changeLater(draft: Draft, plans: PlanLookup, nextPlan: PlanVersion, now: number): Draft {
  const switchAt = draft.subscription.periodEndsAt;
  const voided = voidScheduled(draft, plans, now, (effectiveAt) => effectiveAt >= switchAt);
  const before = voided.subscription;
  const pendingPlan: PlanRef = { planId: nextPlan.planId, version: nextPlan.version };
  const subscription: Subscription = { ...before, pendingPlan, cancelAtPeriodEnd: false };
  // The next phase's first allowance periods are issued now, effective at the switch; a trial that
  // converts into the new plan also brings its one-time grants, as a start on that plan would.
  const preIssued = nextPlan.allowances.map((_, index) => allowanceGrant(subscription, nextPlan, switchAt, index, 0));
  const converting = before.status === 'trialing' ? oneTimeGrants(subscription, nextPlan, switchAt) : [];
  const changed = event('subscription.changed', before, {
    from: planKey(before.plan),
    to: planKey(pendingPlan),
    timing: 'period_end',
    effective_at: iso(switchAt),
  });
  return {
    ...voided,
    subscription,
    grants: [...voided.grants, ...preIssued, ...converting],
    events: [...voided.events, changed],
  };
}

/**
 * Cancels a subscription. `immediate` (and any cancel of a paused subscription): it ends now, grants
 * not effective yet are voided, effective ones kept. `period_end`: it ends when the current period
 * ends (a trial: when the trial ends); what would start at or after that is voided now.
 */
export function decideCancel(
  subscription: Subscription,
  plans: PlanLookup,
  timing: 'immediate' | 'period_end',
  now: number,
): SubscriptionDecision | Refusal {
  const draft = catchUp(subscription, plans, now);
  const current = draft.subscription;
  if (current.status === 'canceled' || current.status === 'ended') {
    return refuse('subscription_transition_invalid', `The subscription is already ${current.status}.`);
  }
  if (timing === 'immediate' || current.status === 'paused') {
    const voided = voidScheduled(draft, plans, now, (effectiveAt) => effectiveAt > now);
    const ended: Subscription = {
      ...voided.subscription,
      status: 'canceled',
      endedAt: now,
      pendingPlan: null,
      cancelAtPeriodEnd: false,
    };
    const events = [
      event('subscription.canceled', ended, { timing: 'immediate', effective_at: iso(now) }),
      event('subscription.ended', ended, { ended_at: iso(now), reason: 'canceled' }),
    ];
    return finish({ ...voided, subscription: ended, events: [...voided.events, ...events] }, plans);
  }
  if (current.cancelAtPeriodEnd) {
    return refuse('subscription_transition_invalid', 'The subscription is already canceled at the period end.');
  }
  const endsAt = current.periodEndsAt;
  const voided = voidScheduled(draft, plans, now, (effectiveAt) => effectiveAt >= endsAt);
  const canceling: Subscription = { ...voided.subscription, cancelAtPeriodEnd: true, pendingPlan: null };
  const canceled = event('subscription.canceled', canceling, { timing: 'period_end', effective_at: iso(endsAt) });
  return finish({ ...voided, subscription: canceling, events: [...voided.events, canceled] }, plans);
}

/**
 * Pauses an active subscription: nothing is due while paused, grants not effective yet are voided,
 * effective ones kept. A subscription waiting for a period-end change or cancellation is not paused:
 * the period end it waits for would never come.
 */
export function decidePause(
  subscription: Subscription,
  plans: PlanLookup,
  now: number,
): SubscriptionDecision | Refusal {
  const draft = catchUp(subscription, plans, now);
  const current = draft.subscription;
  if (current.status !== 'active') {
    return refuse('subscription_transition_invalid', `A ${current.status} subscription cannot be paused.`);
  }
  if (current.pendingPlan !== null || current.cancelAtPeriodEnd) {
    return refuse(
      'subscription_transition_invalid',
      'The subscription has a change or cancellation scheduled for the period end; it cannot be paused.',
    );
  }
  const voided = voidScheduled(draft, plans, now, (effectiveAt) => effectiveAt > now);
  const paused: Subscription = { ...voided.subscription, status: 'paused', pausedAt: now };
  const pausedEvent = event('subscription.paused', paused, { paused_at: iso(now) });
  return finish({ ...voided, subscription: paused, events: [...voided.events, pausedEvent] }, plans);
}

/** Resumes a paused subscription: a new phase of the same plan version starts now, with fresh allowances. */
export function decideResume(
  subscription: Subscription,
  plans: PlanLookup,
  now: number,
): SubscriptionDecision | Refusal {
  if (subscription.status !== 'paused') {
    return refuse('subscription_transition_invalid', `A ${subscription.status} subscription cannot be resumed.`);
  }
  const plan = plans(subscription.plan);
  const resumed: Subscription = {
    ...subscription,
    ...periodZero(plan, now, subscription.timeZone),
    status: 'active',
    pausedAt: null,
    allowancesIssued: plan.allowances.map(() => -1),
  };
  const draft: Draft = {
    subscription: resumed,
    grants: [],
    voidSources: [],
    periods: [currentPeriod(resumed)],
    events: [event('subscription.resumed', resumed, periodData(resumed))],
  };
  return finish(issueCurrent(draft, plans, now), plans);
}

// ---------------------------------------------------------------------------------------------
// Catching up with time.

type Boundary = { readonly at: number; readonly kind: 'trial_notice' | 'trial_end' | 'period_end' };

function catchUp(subscription: Subscription, plans: PlanLookup, now: number): Draft {
  let draft: Draft = { subscription, grants: [], voidSources: [], periods: [], events: [] };
  let previous: Boundary | null = null;
  for (let boundary = nextBoundary(subscription, plans); boundary !== null && boundary.at <= now; ) {
    assert(
      previous === null || boundary.at > previous.at || boundary.kind !== previous.kind,
      'every boundary passed moves the subscription on',
    );
    draft = passBoundary(draft, plans, boundary);
    previous = boundary;
    boundary = nextBoundary(draft.subscription, plans);
  }
  return issueCurrent(draft, plans, now);
}

function nextBoundary(subscription: Subscription, plans: PlanLookup): Boundary | null {
  if (subscription.status === 'active') return { at: subscription.periodEndsAt, kind: 'period_end' };
  if (subscription.status !== 'trialing') return null;
  const noticeAt = trialNoticeAt(subscription, plans(subscription.plan));
  if (noticeAt !== null) return { at: noticeAt, kind: 'trial_notice' };
  return { at: subscription.periodEndsAt, kind: 'trial_end' };
}

/** When `subscription.trial_ending` is due, or null once sent. */
function trialNoticeAt(subscription: Subscription, plan: PlanVersion): number | null {
  if (subscription.trialNoticeSent || plan.trial === null || subscription.trialEndsAt === null) return null;
  const noticeAt = addCadence(subscription.trialEndsAt, plan.trial.noticeBefore, -1, subscription.timeZone);
  return Math.min(noticeAt, subscription.trialEndsAt);
}

function passBoundary(draft: Draft, plans: PlanLookup, boundary: Boundary): Draft {
  const subscription = draft.subscription;
  if (boundary.kind === 'trial_notice') {
    const notice = event('subscription.trial_ending', subscription, {
      trial_ends_at: isoOrNull(subscription.trialEndsAt),
    });
    return { ...draft, subscription: { ...subscription, trialNoticeSent: true }, events: [...draft.events, notice] };
  }
  // Allowance periods of the ending phase that started before the boundary are issued first.
  const caughtUp = issueCurrent(draft, plans, boundary.at);
  if (boundary.kind === 'trial_end') return endTrial(caughtUp, plans, boundary.at);
  if (subscription.cancelAtPeriodEnd) return endSubscription(caughtUp, 'canceled', boundary.at, 'canceled');
  if (subscription.pendingPlan !== null) return switchPlan(caughtUp, plans(subscription.pendingPlan), boundary.at);
  return renew(caughtUp, plans(subscription.plan));
}

function endTrial(draft: Draft, plans: PlanLookup, at: number): Draft {
  const subscription = draft.subscription;
  const plan = plans(subscription.plan);
  const outcome = subscription.cancelAtPeriodEnd
    ? 'cancel'
    : subscription.pendingPlan !== null
      ? 'change'
      : (plan.trial?.onEnd ?? 'end');
  const ended = {
    ...draft,
    events: [...draft.events, event('subscription.trial_ended', subscription, { trial_ends_at: iso(at), outcome })],
  };
  if (outcome === 'cancel') return endSubscription(ended, 'canceled', at, 'canceled');
  if (outcome === 'end') return endSubscription(ended, 'ended', at, 'trial_ended');
  if (subscription.pendingPlan !== null) return switchPlan(ended, plans(subscription.pendingPlan), at);
  const converted: Subscription = { ...subscription, ...periodZero(plan, at, subscription.timeZone), status: 'active' };
  return { ...ended, subscription: converted, periods: [...ended.periods, currentPeriod(converted)] };
}

function endSubscription(
  draft: Draft,
  status: 'canceled' | 'ended',
  at: number,
  reason: 'canceled' | 'trial_ended',
): Draft {
  const subscription: Subscription = { ...draft.subscription, status, endedAt: at, cancelAtPeriodEnd: false };
  const ended = event('subscription.ended', subscription, { ended_at: iso(at), reason });
  return { ...draft, subscription, events: [...draft.events, ended] };
}

/** The pending plan starts a phase at `at`; its first allowance periods were issued when the change was made. */
function switchPlan(draft: Draft, nextPlan: PlanVersion, at: number): Draft {
  const before = draft.subscription;
  const subscription: Subscription = {
    ...before,
    ...periodZero(nextPlan, at, before.timeZone),
    plan: { planId: nextPlan.planId, version: nextPlan.version },
    status: 'active',
    pendingPlan: null,
    allowancesIssued: nextPlan.allowances.map(() => 0),
  };
  const changed = event('subscription.changed', subscription, {
    from: planKey(before.plan),
    to: planKey(subscription.plan),
    timing: 'period_end',
    effective_at: iso(at),
    ...periodData(subscription),
  });
  return {
    ...draft,
    subscription,
    periods: [...draft.periods, currentPeriod(subscription)],
    events: [...draft.events, changed],
  };
}

function renew(draft: Draft, plan: PlanVersion): Draft {
  const before = draft.subscription;
  const periodIndex = before.periodIndex + 1;
  const subscription: Subscription = {
    ...before,
    periodIndex,
    periodStartsAt: before.periodEndsAt,
    periodEndsAt: addCadence(before.anchorAt, plan.period, periodIndex + 1, before.timeZone),
  };
  const renewed = event('subscription.renewed', subscription, periodData(subscription));
  return {
    ...draft,
    subscription,
    periods: [...draft.periods, currentPeriod(subscription)],
    events: [...draft.events, renewed],
  };
}

// ---------------------------------------------------------------------------------------------
// Allowances and grants.

/** When the current phase of the plan ends for sure (null: it goes on): grants starting then or later are not issued. */
function phaseEndsAt(subscription: Subscription, plan: PlanVersion): number | null {
  const converts = subscription.status !== 'trialing' || plan.trial?.onEnd === 'convert';
  return subscription.cancelAtPeriodEnd || subscription.pendingPlan !== null || !converts
    ? subscription.periodEndsAt
    : null;
}

/**
 * Issues, per allowance of the current phase, every period not issued yet up to the one after the
 * period containing `horizon` (before the anchor: period 0), except those starting at or after the
 * phase's end.
 */
function issueCurrent(draft: Draft, plans: PlanLookup, horizon: number): Draft {
  const subscription = draft.subscription;
  if (subscription.status !== 'trialing' && subscription.status !== 'active') return draft;
  const plan = plans(subscription.plan);
  const endsAt = phaseEndsAt(subscription, plan);
  const grants: PlannedGrant[] = [];
  const allowancesIssued = plan.allowances.map((allowance, index) => {
    const through =
      Math.max(periodIndexAt(subscription.anchorAt, allowance.cadence, horizon, subscription.timeZone), -1) + 1;
    let issued = subscription.allowancesIssued[index] ?? -1;
    for (let period = issued + 1; period <= through; period += 1) {
      const grant = allowanceGrant(subscription, plan, subscription.anchorAt, index, period);
      if (endsAt !== null && grant.effectiveAt >= endsAt) break;
      grants.push(grant);
      issued = period;
    }
    return issued;
  });
  if (grants.length === 0) return draft;
  return { ...draft, subscription: { ...subscription, allowancesIssued }, grants: [...draft.grants, ...grants] };
}

function allowanceGrant(
  subscription: Subscription,
  plan: PlanVersion,
  anchorAt: number,
  index: number,
  period: number,
): PlannedGrant {
  const allowance = plan.allowances[index] as Allowance;
  const startsAt = addCadence(anchorAt, allowance.cadence, period, subscription.timeZone);
  const endsAt = addCadence(anchorAt, allowance.cadence, period + 1, subscription.timeZone);
  return {
    source: allowanceSource(subscription.id, anchorAt, plan, index, period),
    asset: allowance.asset,
    amount: allowance.amount,
    category: 'plan',
    priority: allowance.priority,
    effectiveAt: startsAt,
    expiresAt: endsAt,
    features: allowance.features,
    rollover: rolloverPlan(allowance, endsAt, subscription.timeZone),
  };
}

/**
 * `{subscription}/allowance/{anchorAt}/{plan}@{version}/{allowance}/{period}`: the anchor and the plan
 * tell phases apart, so a plan change or a resume never collides with a source issued before.
 */
function allowanceSource(subscriptionId: string, anchorAt: number, plan: PlanRef, index: number, period: number) {
  return `${subscriptionId}/allowance/${anchorAt}/${planKey(plan)}/${index}/${period}`;
}

/** What the period's unused allowance becomes at its end; percent caps round down (the vendor never gives away fractions). */
export function rolloverPlan(allowance: Allowance, periodEndsAt: number, timeZone: string): RolloverPlan | null {
  const rule = allowance.rollover;
  if (rule.kind === 'none') return null;
  const expiresAt = rule.expiresAfter === null ? null : addCadence(periodEndsAt, rule.expiresAfter, 1, timeZone);
  switch (rule.kind) {
    case 'all':
      return { amountMax: null, expiresAt };
    case 'amount':
      return { amountMax: rule.amountMax < allowance.amount ? rule.amountMax : allowance.amount, expiresAt };
    case 'percent': {
      const share = (allowance.amount * rule.percent.units) / (100n * 10n ** BigInt(rule.percent.scale));
      return { amountMax: share < allowance.amount ? share : allowance.amount, expiresAt };
    }
  }
}

/** One-time grants of a plan version; their source names the version, so each is issued at most once per subscription. */
function oneTimeGrants(subscription: Subscription, plan: PlanVersion, effectiveAt: number): PlannedGrant[] {
  return plan.oneTimeGrants.map((grant, index) => ({
    source: `${subscription.id}/once/${planKey(plan)}/${index}`,
    asset: grant.asset,
    amount: grant.amount,
    category: grant.category,
    priority: grant.priority,
    effectiveAt,
    expiresAt:
      grant.expiresAfter === null ? null : addCadence(effectiveAt, grant.expiresAfter, 1, subscription.timeZone),
    features: grant.features,
    rollover: null,
  }));
}

// ---------------------------------------------------------------------------------------------
// Voiding what will not come.

interface ScheduledGrant {
  readonly source: string;
  readonly effectiveAt: number;
  /** For allowance periods of the current phase: which allowance, so its issued count can go down. */
  readonly allowanceIndex: number | null;
}

/**
 * Grants this subscription issued earlier that are not effective at `now`, derived from its state:
 * the current phase's pre-issued allowance periods, the pending plan's first periods, and the one-time
 * grants a trial conversion brings.
 */
function scheduledGrants(subscription: Subscription, plans: PlanLookup, now: number): ScheduledGrant[] {
  const plan = plans(subscription.plan);
  const scheduled: ScheduledGrant[] = [];
  plan.allowances.forEach((allowance, index) => {
    for (let period = subscription.allowancesIssued[index] ?? -1; period >= 0; period -= 1) {
      const effectiveAt = addCadence(subscription.anchorAt, allowance.cadence, period, subscription.timeZone);
      if (effectiveAt <= now) break;
      scheduled.push({
        source: allowanceSource(subscription.id, subscription.anchorAt, plan, index, period),
        effectiveAt,
        allowanceIndex: index,
      });
    }
  });
  const pending = subscription.pendingPlan === null ? null : plans(subscription.pendingPlan);
  if (pending !== null) {
    for (const [index] of pending.allowances.entries()) {
      scheduled.push({
        source: allowanceSource(subscription.id, subscription.periodEndsAt, pending, index, 0),
        effectiveAt: subscription.periodEndsAt,
        allowanceIndex: null,
      });
    }
  }
  const converting = subscription.status === 'trialing' ? conversionPlan(subscription, plan, pending) : null;
  if (converting !== null && subscription.trialEndsAt !== null) {
    for (const grant of oneTimeGrants(subscription, converting, subscription.trialEndsAt)) {
      scheduled.push({ source: grant.source, effectiveAt: grant.effectiveAt, allowanceIndex: null });
    }
  }
  return scheduled;
}

/** The plan a trialing subscription will convert into when its trial ends, if any. */
function conversionPlan(
  subscription: Subscription,
  plan: PlanVersion,
  pending: PlanVersion | null,
): PlanVersion | null {
  if (pending !== null) return pending;
  return !subscription.cancelAtPeriodEnd && plan.trial?.onEnd === 'convert' ? plan : null;
}

/** Voids the scheduled grants `voids` selects (by effective time), lowering the issued counts to match. */
function voidScheduled(draft: Draft, plans: PlanLookup, now: number, voids: (effectiveAt: number) => boolean): Draft {
  const subscription = draft.subscription;
  const chosen = scheduledGrants(subscription, plans, now).filter((grant) => voids(grant.effectiveAt));
  if (chosen.length === 0) return draft;
  const allowancesIssued = subscription.allowancesIssued.map(
    (issued, index) => issued - chosen.filter((grant) => grant.allowanceIndex === index).length,
  );
  // A grant this same decision planned (while catching up) is simply not issued: the shell never
  // has to issue and void one source in one transaction.
  const planned = new Set(draft.grants.map((grant) => grant.source));
  const dropped = new Set(chosen.filter((grant) => planned.has(grant.source)).map((grant) => grant.source));
  return {
    ...draft,
    subscription: { ...subscription, allowancesIssued },
    grants: draft.grants.filter((grant) => !dropped.has(grant.source)),
    voidSources: [
      ...draft.voidSources,
      ...chosen.map((grant) => grant.source).filter((source) => !dropped.has(source)),
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Small pieces.

function finish(draft: Draft, plans: PlanLookup): SubscriptionDecision {
  return { ...draft, nextDueAt: nextDueAt(draft.subscription, plans) };
}

/** The earliest of the trial notice, the trial end, the period end and the next allowance period to pre-issue. */
function nextDueAt(subscription: Subscription, plans: PlanLookup): number | null {
  if (subscription.status !== 'trialing' && subscription.status !== 'active') return null;
  const plan = plans(subscription.plan);
  const endsAt = phaseEndsAt(subscription, plan);
  const candidates = [nextBoundary(subscription, plans)?.at ?? subscription.periodEndsAt];
  plan.allowances.forEach((allowance, index) => {
    const issued = subscription.allowancesIssued[index] ?? -1;
    const upcoming = addCadence(subscription.anchorAt, allowance.cadence, issued + 1, subscription.timeZone);
    if (endsAt !== null && upcoming >= endsAt) return;
    // Period `issued + 1` is issued once period `issued` has started.
    candidates.push(
      issued >= 0
        ? addCadence(subscription.anchorAt, allowance.cadence, issued, subscription.timeZone)
        : subscription.anchorAt,
    );
  });
  return Math.min(...candidates);
}

function periodZero(
  plan: PlanVersion,
  anchorAt: number,
  timeZone: string,
): Pick<Subscription, 'anchorAt' | 'periodIndex' | 'periodStartsAt' | 'periodEndsAt'> {
  return {
    anchorAt,
    periodIndex: 0,
    periodStartsAt: anchorAt,
    periodEndsAt: addCadence(anchorAt, plan.period, 1, timeZone),
  };
}

function currentPeriod(subscription: Subscription): SubscriptionPeriod {
  return {
    index: subscription.periodIndex,
    startsAt: subscription.periodStartsAt,
    endsAt: subscription.periodEndsAt,
    plan: subscription.plan,
  };
}

function event(type: SubscriptionEvent['type'], subscription: Subscription, data: EventData): SubscriptionEvent {
  return {
    type,
    data: {
      subscription: subscription.id,
      plan: subscription.plan.planId,
      version: subscription.plan.version,
      ...data,
    },
  };
}

function periodData(subscription: Subscription): EventData {
  return {
    period: subscription.periodIndex,
    period_starts_at: iso(subscription.periodStartsAt),
    period_ends_at: iso(subscription.periodEndsAt),
  };
}

function samePlan(a: PlanRef, b: PlanRef): boolean {
  return a.planId === b.planId && a.version === b.version;
}

function planKey(plan: PlanRef): string {
  return `${plan.planId}@${plan.version}`;
}

function iso(instant: number): string {
  return new Date(instant).toISOString();
}

function isoOrNull(instant: number | null): string | null {
  return instant === null ? null : iso(instant);
}
