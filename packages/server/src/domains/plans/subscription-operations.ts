/**
 * Subscriptions: the shell around the core's subscription decisions. One command loads the locked
 * subscription row, decides, and records everything the decision asks for in the same transaction:
 * grants (each source at most once), voids, periods, events and the row itself. The API and the
 * scheduler both go through `commitSubscriptionDecision`, so a renewal is booked whole or not at all.
 */

import type {
  CancelSubscriptionBody,
  ChangeSubscriptionBody,
  CreateSubscriptionBody,
  ListSubscriptionsQuery,
} from '@bursar/api';
import type { PlanRef, Refusal, Subscription, SubscriptionDecision, SubscriptionStatus, Wallet } from '@bursar/core';
import {
  decideCancel,
  decidePause,
  decidePlanChange,
  decidePlannedGrant,
  decideResume,
  decideSubscriptionStart,
  decideVoid,
  isTimeZone,
  refuse,
} from '@bursar/core';
import { auditOf } from '../../platform/commit/audit-chain.ts';
import type { Batch } from '../../platform/commit/batch.ts';
import type { Command, SqlReader } from '../../platform/commit/command.ts';
import { customerOfId } from '../../platform/commit/id-owners.ts';
import type { WalletKey } from '../../platform/commit/wallet-key.ts';
import type { Caller, Reply } from '../../platform/contract.ts';
import { newId } from '../../platform/ids.ts';
import type { LedgerService } from '../../platform/service.ts';
import { fieldReply, idempotencyOf, isFieldError, okReply, problemReply } from '../../platform/service.ts';
import { toTime } from '../../platform/storage/codecs.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';
import { childRowsOf, keyset, readPage, textColumn } from '../../platform/storage/paging.ts';
import type { TableRow } from '../../platform/storage/schema.ts';
import { toTimestamp } from '../../platform/wire.ts';
import type { StoredPlanVersion } from './plan-operations.ts';
import { loadPlanVersion, planRefText } from './plan-operations.ts';
import { previewToken, walletsOfPlans } from './preview-token.ts';

type SubscriptionRow = TableRow<'subscriptions'>;
type PeriodRow = TableRow<'subscription_periods'>;

/** Who asks for a subscription decision: an API caller, or the scheduler (no key, no audit row). */
export interface DecisionOrigin {
  readonly environmentId: string;
  readonly requestId: string;
  readonly idempotency: Command['idempotency'];
  readonly caller: Caller | null;
}

export interface SubscriptionCommand {
  readonly subscriptionId: string;
  readonly customer: string;
  /** Every plan version the decision may look up; their assets are the wallets the command locks. */
  readonly plans: readonly StoredPlanVersion[];
  readonly decide: (
    current: Subscription | null,
    lookup: (ref: PlanRef) => StoredPlanVersion,
    now: number,
    wallet: (key: WalletKey) => Wallet,
  ) => Decided;
  /** For a new subscription: its metadata. */
  readonly metadata?: string | null;
  readonly auditAction: string | null;
  /** The operator's reason, kept in the audit event. */
  readonly reason?: string | undefined;
  readonly status: number;
}

type Decided = { readonly kind: 'accepted'; readonly decision: SubscriptionDecision } | Refusal;

const periodsShownMax = 100;

/** Decides on the locked subscription and records the decision; the reply is the subscription after it. */
export function commitSubscriptionDecision(
  service: LedgerService,
  origin: DecisionOrigin,
  command: SubscriptionCommand,
): Promise<Reply> {
  const environmentId = origin.environmentId;
  const byRef = new Map(command.plans.map((stored) => [planRefText(stored.plan), stored]));
  const assets = new Set(command.plans.flatMap((stored) => stored.assets));
  const wallets: WalletKey[] = [...assets].map((asset) => ({ environmentId, customer: command.customer, asset }));
  // The decision and the rows it needs, read under the subscription's and the wallets' locks.
  let decided: (Recorded & { readonly kind: 'accepted' }) | Refusal | undefined;
  return service.committer.submit({
    environmentId,
    requestId: origin.requestId,
    idempotency: origin.idempotency,
    ...(origin.caller?.dryRun === true ? { dryRun: true } : {}),
    wallets,
    preload: [
      {
        table: 'subscriptions',
        keyColumns: ['environment_id', 'customer_id', 'id'],
        key: [environmentId, command.customer, command.subscriptionId],
        lock: true,
      },
    ],
    async read(batch, reader) {
      const row = batch.preloaded('subscriptions', [environmentId, command.customer, command.subscriptionId]);
      const before = row === undefined ? null : subscriptionFromRow(row);
      const outcome = decideWithPlans(command, before, byRef, batch.now, (key) => batch.wallet(key));
      decided =
        outcome.kind === 'refused'
          ? outcome
          : {
              kind: 'accepted',
              decision: outcome.decision,
              ...(await readRecorded(reader, origin, outcome.decision, command.subscriptionId)),
            };
    },
    decide(batch) {
      if (decided === undefined) throw new Error('assertion failed: a subscription decision is read first');
      if (decided.kind === 'refused')
        return problemReply({ requestId: origin.requestId }, decided.code, decided.detail);
      const row = batch.preloaded('subscriptions', [environmentId, command.customer, command.subscriptionId]);
      const periods = recordDecision(batch, origin, decided, command.subscriptionId);
      const metadata = row === undefined ? (command.metadata ?? null) : (row.metadata as string | null);
      const after = subscriptionRow(environmentId, decided.decision, metadata, row ?? null, batch.now);
      if (row === undefined) batch.insert('subscriptions', after);
      else batch.update('subscriptions', ['environment_id', 'customer_id', 'id'], after);
      const body = toWireSubscription(after, periods);
      if (origin.caller !== null && command.auditAction !== null)
        batch.audits.push(
          auditOf(
            origin.caller,
            command.auditAction,
            `subscription:${command.subscriptionId}`,
            command.reason ?? null,
            row === undefined ? null : toWireSubscription(row, []),
            body,
          ),
        );
      return okReply(command.status, body);
    },
  });
}

/**
 * The command's decision, or `subscription_changed` when the locked row follows a plan version the
 * command did not load: another request changed the plan after this one was built, so its wallets
 * (the plans' assets) may not be the ones locked. An expected race, refused alone; a retry builds
 * the command again from the row as it is now.
 */
function decideWithPlans(
  command: SubscriptionCommand,
  current: Subscription | null,
  byRef: ReadonlyMap<string, StoredPlanVersion>,
  now: number,
  wallet: (key: WalletKey) => Wallet,
): Decided {
  const lookup = (ref: PlanRef): StoredPlanVersion => {
    const stored = byRef.get(planRefText(ref));
    if (stored === undefined) throw new PlanNotLoaded(ref);
    return stored;
  };
  try {
    return command.decide(current, lookup, now, wallet);
  } catch (error) {
    if (!(error instanceof PlanNotLoaded)) throw error;
    return refuse(
      'subscription_changed',
      `Subscription "${command.subscriptionId}" changed to plan ${planRefText(error.ref)} while this request was being decided; nothing was changed. Retry it.`,
    );
  }
}

/** Thrown by a decision's plan lookup, through the core's pure decision, for a version the command did not load. */
class PlanNotLoaded extends Error {
  readonly ref: PlanRef;

  constructor(ref: PlanRef) {
    super(`plan ${planRefText(ref)} was not loaded for this decision`);
    this.ref = ref;
  }
}

/** A decision with what it builds on: the grants its sources already issued (by source), and the periods so far. */
interface Recorded {
  readonly decision: SubscriptionDecision;
  readonly issued: ReadonlyMap<string, TableRow<'subscription_grants'>>;
  readonly periods: readonly PeriodRow[];
}

/** What a decision builds on: the grants its sources already issued, and the subscription's periods so far. */
async function readRecorded(
  reader: SqlReader,
  origin: DecisionOrigin,
  decision: SubscriptionDecision,
  subscriptionId: string,
): Promise<Omit<Recorded, 'decision'>> {
  const { environmentId } = origin;
  const customer = decision.subscription.customer;
  const sources = [...decision.grants.map((grant) => grant.source), ...decision.voidSources];
  // Whole rows of one table: the drivers type them as the schema does.
  const issuedRows = (await reader.selectByKeys(
    'subscription_grants',
    ['environment_id', 'customer_id', 'source'],
    sources.map((source) => [environmentId, customer, source]),
  )) as TableRow<'subscription_grants'>[];
  const issued = new Map(issuedRows.map((row) => [row.source, row]));
  return { issued, periods: await periodsOf(reader, environmentId, customer, subscriptionId) };
}

/**
 * Issues the planned grants (a source already issued is skipped), voids, periods and events;
 * returns every period of the subscription, the ones this decision started included.
 */
function recordDecision(batch: Batch, origin: DecisionOrigin, recorded: Recorded, subscriptionId: string): PeriodRow[] {
  const { environmentId } = origin;
  const { decision, issued } = recorded;
  const customer = decision.subscription.customer;
  const applyOptions = { requestId: origin.requestId, metadata: null };
  const reason = `subscription ${subscriptionId}`;
  for (const planned of decision.grants) {
    if (issued.has(planned.source)) continue;
    const key = { environmentId, customer, asset: planned.asset };
    const granted = decidePlannedGrant(batch.wallet(key), planned, batch.context);
    if (granted.kind === 'refused') throw new Error(`plan grant ${planned.source} refused: ${granted.detail}`);
    batch.grantExtras.set(granted.result.grant.id, { reason, metadata: null });
    batch.apply(key, granted, applyOptions);
    batch.insert('subscription_grants', {
      environment_id: environmentId,
      customer_id: customer,
      source: planned.source,
      subscription_id: subscriptionId,
      asset: planned.asset,
      grant_id: granted.result.grant.id,
      created_at: BigInt(batch.now),
    });
  }
  for (const source of decision.voidSources) {
    const row = issued.get(source);
    if (row === undefined) continue; // never issued (or issued by a later part of this batch): nothing to void
    const key = { environmentId, customer, asset: row.asset };
    const voided = decideVoid(batch.wallet(key), row.grant_id, `${reason}: the period will not come`, batch.context);
    // A lot already spent or voided is gone from the wallet state: nothing is left to void.
    if (voided.kind === 'accepted') batch.apply(key, voided, applyOptions);
  }
  for (const event of decision.events)
    batch.events.push({
      environmentId,
      event: { type: event.type, customer, asset: '', data: { subscription: subscriptionId, ...event.data } },
    });
  const started = newPeriodRows(environmentId, decision, recorded.periods.length, batch.now);
  for (const row of started) batch.insert('subscription_periods', row);
  return [...recorded.periods, ...started];
}

function newPeriodRows(
  environmentId: string,
  decision: SubscriptionDecision,
  firstPosition: number,
  now: number,
): PeriodRow[] {
  return decision.periods.map((period, offset) => ({
    environment_id: environmentId,
    customer_id: decision.subscription.customer,
    subscription_id: decision.subscription.id,
    position: BigInt(firstPosition + offset),
    period_index: BigInt(period.index),
    starts_at: BigInt(period.startsAt),
    ends_at: BigInt(period.endsAt),
    plan_id: period.plan.planId,
    plan_version: BigInt(period.plan.version),
    created_at: BigInt(now),
  }));
}

// ----- rows ------------------------------------------------------------------------------------

export function subscriptionFromRow(row: SubscriptionRow): Subscription {
  const time = (value: bigint | null) => (value === null ? null : toTime(value));
  return {
    id: row.id,
    customer: row.customer_id,
    plan: { planId: row.plan_id, version: Number(row.plan_version) },
    status: row.status as SubscriptionStatus,
    timeZone: row.time_zone,
    anchorAt: toTime(row.anchor_at),
    periodIndex: Number(row.period_index),
    periodStartsAt: toTime(row.period_starts_at),
    periodEndsAt: toTime(row.period_ends_at),
    trialEndsAt: time(row.trial_ends_at),
    trialNoticeSent: row.trial_notice_sent === 1n,
    cancelAtPeriodEnd: row.cancel_at_period_end === 1n,
    pendingPlan:
      row.pending_plan_id === null || row.pending_plan_version === null
        ? null
        : { planId: row.pending_plan_id, version: Number(row.pending_plan_version) },
    pausedAt: time(row.paused_at),
    endedAt: time(row.ended_at),
    createdAt: toTime(row.created_at),
    allowancesIssued: JSON.parse(row.allowances_issued) as number[],
  };
}

function subscriptionRow(
  environmentId: string,
  decision: SubscriptionDecision,
  metadata: string | null,
  before: SubscriptionRow | null,
  now: number,
): SubscriptionRow {
  const sub = decision.subscription;
  const big = (value: number | null) => (value === null ? null : BigInt(value));
  return {
    environment_id: environmentId,
    id: sub.id,
    customer_id: sub.customer,
    plan_id: sub.plan.planId,
    plan_version: BigInt(sub.plan.version),
    status: sub.status,
    time_zone: sub.timeZone,
    anchor_at: BigInt(sub.anchorAt),
    period_index: BigInt(sub.periodIndex),
    period_starts_at: BigInt(sub.periodStartsAt),
    period_ends_at: BigInt(sub.periodEndsAt),
    trial_ends_at: big(sub.trialEndsAt),
    trial_notice_sent: sub.trialNoticeSent ? 1n : 0n,
    cancel_at_period_end: sub.cancelAtPeriodEnd ? 1n : 0n,
    pending_plan_id: sub.pendingPlan?.planId ?? null,
    pending_plan_version: big(sub.pendingPlan?.version ?? null),
    paused_at: big(sub.pausedAt),
    ended_at: big(sub.endedAt),
    allowances_issued: JSON.stringify(sub.allowancesIssued),
    next_due_at: big(decision.nextDueAt),
    metadata,
    created_at: before === null ? BigInt(now) : before.created_at,
  };
}

function toWireSubscription(row: SubscriptionRow, periods: readonly PeriodRow[]) {
  const time = (value: bigint | null) => (value === null ? null : toTimestamp(toTime(value)));
  const pending =
    row.pending_plan_id === null
      ? null
      : { plan: row.pending_plan_id, version: Number(row.pending_plan_version), at: time(row.period_ends_at) };
  return {
    id: row.id,
    customer: row.customer_id,
    plan: row.plan_id,
    version: Number(row.plan_version),
    status: row.status,
    time_zone: row.time_zone,
    current_period: {
      index: Number(row.period_index),
      starts_at: time(row.period_starts_at),
      ends_at: time(row.period_ends_at),
    },
    trial_ends_at: time(row.trial_ends_at),
    cancel_at_period_end: row.cancel_at_period_end === 1n,
    pending_change: pending,
    paused_at: time(row.paused_at),
    ended_at: time(row.ended_at),
    next_due_at: time(row.next_due_at),
    metadata: row.metadata === null ? null : (JSON.parse(row.metadata) as Record<string, string>),
    created_at: time(row.created_at),
    periods: periods
      .slice(-periodsShownMax)
      .reverse()
      .map((period) => ({
        index: Number(period.period_index),
        starts_at: time(period.starts_at),
        ends_at: time(period.ends_at),
        plan: period.plan_id,
        version: Number(period.plan_version),
      })),
  };
}

// ----- operations ------------------------------------------------------------------------------

function originOf(caller: Caller, operation: string, input: unknown): DecisionOrigin {
  return {
    environmentId: caller.environmentId,
    requestId: caller.requestId,
    idempotency: idempotencyOf(caller, operation, input),
    caller,
  };
}

export async function planOrReply(service: LedgerService, caller: Caller, planId: string, version: number | null) {
  const stored = await loadPlanVersion(service, service.database.reader, caller.environmentId, planId, version);
  if (stored !== null) return stored;
  const which = version === null ? `"${planId}"` : `"${planId}" version ${version}`;
  return problemReply(caller, 'plan_not_found', `No plan ${which} in this environment.`);
}

export function isStored(value: StoredPlanVersion | Reply): value is StoredPlanVersion {
  return 'plan' in value;
}

export async function createSubscription(
  service: LedgerService,
  caller: Caller,
  input: CreateSubscriptionBody,
): Promise<Reply> {
  const timeZone = input.time_zone ?? 'UTC';
  if (!isTimeZone(timeZone))
    return fieldReply(caller, [{ field: 'time_zone', message: 'must be an IANA time zone such as "Europe/Paris"' }]);
  if (!(await service.customerExists(caller.environmentId, input.customer)))
    return problemReply(caller, 'customer_not_found', `No customer "${input.customer}" in this environment.`);
  const stored = await planOrReply(service, caller, input.plan, input.version ?? null);
  if (!isStored(stored)) return stored;
  const id = newId('sub', service.clock.now());
  return commitSubscriptionDecision(service, originOf(caller, 'createSubscription', input), {
    subscriptionId: id,
    customer: input.customer,
    plans: [stored],
    metadata: input.metadata === undefined ? null : JSON.stringify(input.metadata),
    auditAction: 'subscription.created',
    status: 201,
    decide: (_current, _lookup, now) => ({
      kind: 'accepted',
      decision: decideSubscriptionStart(
        stored.plan,
        { id, customer: input.customer, timeZone, trial: input.trial ?? stored.plan.trial !== null },
        now,
      ),
    }),
  });
}

/** The subscription's row and every plan version a decision on it may need (current and pending). */
export async function loadSubscriptionContext(
  service: LedgerService,
  environmentId: string,
  subscriptionId: string,
): Promise<{ row: SubscriptionRow; plans: StoredPlanVersion[] } | null> {
  const reader = service.database.reader;
  const row = await subscriptionOf(reader, environmentId, subscriptionId);
  if (row === undefined) return null;
  const subscription = subscriptionFromRow(row);
  const refs = [subscription.plan, ...(subscription.pendingPlan === null ? [] : [subscription.pendingPlan])];
  const plans: StoredPlanVersion[] = [];
  for (const ref of refs) {
    const stored = await loadPlanVersion(service, reader, environmentId, ref.planId, ref.version);
    if (stored === null) throw new Error(`assertion failed: plan ${planRefText(ref)} exists`);
    plans.push(stored);
  }
  return { row, plans };
}

export async function changeSubscription(
  service: LedgerService,
  caller: Caller,
  subscriptionId: string,
  input: ChangeSubscriptionBody,
): Promise<Reply> {
  const context = await loadSubscriptionContext(service, caller.environmentId, subscriptionId);
  if (context === null) return notFound(caller, subscriptionId);
  const plans = [...context.plans];
  let decide: SubscriptionCommand['decide'];
  if (input.action === 'change_plan') {
    const next = await planOrReply(service, caller, input.plan, input.version ?? null);
    if (!isStored(next)) return next;
    plans.push(next);
    const timing = input.timing ?? 'immediate';
    const token = input.preview_token;
    if (token === undefined && input.require_preview === true)
      return problemReply(
        caller,
        'subscription_preview_required',
        'This change requires a preview_token: call previewSubscriptionChange with the same plan and timing first.',
      );
    const nextRef = { planId: next.plan.planId, version: next.plan.version };
    decide = (current, lookup, now, wallet) => {
      const subscription = existing(current);
      const planOf = (ref: PlanRef) => lookup(ref).plan;
      if (token !== undefined) {
        const wallets = walletsOfPlans(plans, caller.environmentId, subscription.customer, wallet);
        const state = { environmentId: caller.environmentId, subscription, plans: planOf, next: nextRef, timing, now };
        if (previewToken({ ...state, wallets }) !== token)
          return refuse(
            'subscription_preview_stale',
            `The preview_token does not match subscription "${subscriptionId}" and its wallets as they are now (or this plan and timing); nothing was changed. Preview the change again.`,
          );
      }
      return wrap(decidePlanChange(subscription, planOf, nextRef, timing, now));
    };
  } else if (input.action === 'pause') {
    decide = (current, lookup, now) => wrap(decidePause(existing(current), (ref) => lookup(ref).plan, now));
  } else {
    decide = (current, lookup, now) => wrap(decideResume(existing(current), (ref) => lookup(ref).plan, now));
  }
  return commitSubscriptionDecision(service, originOf(caller, 'changeSubscription', { subscriptionId, input }), {
    subscriptionId,
    customer: context.row.customer_id,
    plans,
    auditAction: `subscription.${input.action === 'change_plan' ? 'changed' : input.action === 'pause' ? 'paused' : 'resumed'}`,
    reason: input.reason,
    status: 200,
    decide,
  });
}

export async function cancelSubscription(
  service: LedgerService,
  caller: Caller,
  subscriptionId: string,
  input: CancelSubscriptionBody,
): Promise<Reply> {
  const context = await loadSubscriptionContext(service, caller.environmentId, subscriptionId);
  if (context === null) return notFound(caller, subscriptionId);
  const timing = input.timing ?? 'period_end';
  return commitSubscriptionDecision(service, originOf(caller, 'cancelSubscription', { subscriptionId, input }), {
    subscriptionId,
    customer: context.row.customer_id,
    plans: context.plans,
    auditAction: 'subscription.canceled',
    reason: input.reason,
    status: 200,
    decide: (current, lookup, now) => wrap(decideCancel(existing(current), (ref) => lookup(ref).plan, timing, now)),
  });
}

export async function getSubscription(service: LedgerService, caller: Caller, subscriptionId: string): Promise<Reply> {
  const reader = service.database.reader;
  const row = await subscriptionOf(reader, caller.environmentId, subscriptionId);
  if (row === undefined) return notFound(caller, subscriptionId);
  return okReply(
    200,
    toWireSubscription(row, await periodsOf(reader, caller.environmentId, row.customer_id, subscriptionId)),
  );
}

const subscriptionKeys = keyset('subscriptions', 'asc', textColumn('id'));

/** Subscriptions in the order they were created (ids are time-ordered), each with its periods. */
export async function listSubscriptions(
  service: LedgerService,
  caller: Caller,
  query: ListSubscriptionsQuery,
): Promise<Reply> {
  const reader = service.database.reader;
  const filters = {
    'environment_id = ?': caller.environmentId,
    'customer_id = ?': query.customer,
    'status = ?': query.status,
  };
  const found = await readPage(reader, 'subscriptions', subscriptionKeys, filters, query);
  if (isFieldError(found)) return fieldReply(caller, [found]);
  const periods = await childRowsOf(
    reader,
    'subscription_periods',
    'subscription_id',
    caller.environmentId,
    found.rows.map((row) => ({ customer: row.customer_id, id: row.id })),
    'position',
  );
  const data = found.rows.map((row) => toWireSubscription(row, periods.get(row.id) ?? []));
  return okReply(200, { data, next_cursor: found.nextCursor });
}

/** A subscription by its id alone: the id directory names its customer. */
async function subscriptionOf(
  reader: SqlReader,
  environmentId: string,
  subscriptionId: string,
): Promise<SubscriptionRow | undefined> {
  const customer = await customerOfId(reader, environmentId, subscriptionId);
  if (customer === undefined) return undefined;
  return queryBuilder(reader)
    .selectFrom('subscriptions')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .where('customer_id', '=', customer)
    .where('id', '=', subscriptionId)
    .executeTakeFirst();
}

/** Every period of a subscription, in order. */
function periodsOf(
  reader: SqlReader,
  environmentId: string,
  customer: string,
  subscriptionId: string,
): Promise<PeriodRow[]> {
  return queryBuilder(reader)
    .selectFrom('subscription_periods')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .where('customer_id', '=', customer)
    .where('subscription_id', '=', subscriptionId)
    .orderBy('position')
    .execute();
}

export function notFound(caller: Caller, subscriptionId: string): Reply {
  return problemReply(caller, 'subscription_not_found', `No subscription "${subscriptionId}" in this environment.`);
}

function existing(current: Subscription | null): Subscription {
  if (current === null) throw new Error('assertion failed: subscriptions are never deleted');
  return current;
}

function wrap(result: SubscriptionDecision | Refusal): Decided {
  return 'kind' in result ? result : { kind: 'accepted', decision: result };
}

/** A subscription as the customer portal shows it: the plan by name and version and the period running now. */
interface PortalSubscription {
  readonly id: string;
  readonly plan: { readonly id: string; readonly name: string | null; readonly version: number };
  readonly status: 'trialing' | 'active' | 'paused';
  readonly current_period: { readonly start: string; readonly end: string } | null;
}

/**
 * One customer's subscriptions not yet ended (a canceled one has ended too), oldest first. Only this
 * customer's rows are read: the portal calls it with its session's customer.
 */
export async function liveSubscriptionsOf(
  service: LedgerService,
  environmentId: string,
  customer: string,
): Promise<PortalSubscription[]> {
  const reader = service.database.reader;
  const rows = await queryBuilder(reader)
    .selectFrom('subscriptions')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .where('customer_id', '=', customer)
    .where('ended_at', 'is', null)
    .orderBy('id')
    .execute();
  if (rows.length === 0) return [];
  const plans = await queryBuilder(reader)
    .selectFrom('plans')
    .select(['id', 'name'])
    .where('environment_id', '=', environmentId)
    .where('id', 'in', [...new Set(rows.map((row) => row.plan_id))])
    .execute();
  const names = new Map(plans.map((plan) => [plan.id, plan.name]));
  return rows.map((row) => ({
    id: row.id,
    plan: { id: row.plan_id, name: names.get(row.plan_id) ?? null, version: Number(row.plan_version) },
    status: row.status as PortalSubscription['status'],
    current_period:
      row.status === 'paused'
        ? null
        : { start: toTimestamp(toTime(row.period_starts_at)), end: toTimestamp(toTime(row.period_ends_at)) },
  }));
}
