/**
 * The durable scheduler inside `bursar serve`: renews subscriptions (trials, periods, period-end
 * changes), sends `grant.expiring_soon` once per grant, and books expiries through the sweeper.
 * Nothing here is needed for a balance to be right (grants are issued ahead and expiry is decided
 * at read time); jobs book and announce what time has decided. Every job's state lives in the
 * database, so a restart, however late, catches up in order, and several processes may run it:
 * each job decides on locked rows, so a second runner finds nothing left to do.
 */
import { decideSubscriptionDue } from '@bursar/core';
import { commitSubscriptionDecision, loadSubscriptionContext } from './domains/plans/index.ts';
import type { Sweeper } from './domains/wallets/index.ts';
import { targetRetryDelaysMs } from './platform/jobs/backoff.ts';
import type { JobFailures } from './platform/jobs/failures.ts';
import type { LedgerService } from './platform/service.ts';
import { toBigint, toTime } from './platform/storage/codecs.ts';
import type { SqlRow, SqlSession, SqlValue } from './platform/storage/database.ts';

export const jobKinds = ['subscription', 'grant_expiring_soon', 'expiry'] as const;
export type JobKind = (typeof jobKinds)[number];

export interface SchedulerOptions {
  /** `grant.expiring_soon` is sent this long before a grant expires. */
  readonly expiringSoonLeadMs: number;
  readonly onJob?: (kind: JobKind, outcome: 'done' | 'failed') => void;
}

export interface SchedulerRunSummary {
  readonly subscriptions: number;
  readonly notices: number;
  readonly settled: number;
  readonly failed: number;
}

const pageSize = 100;
const noticeScanIntervalMs = 60_000;
const noticesPerScanMax = 500;

export class Scheduler {
  readonly #service: LedgerService;
  readonly #sweeper: Sweeper;
  readonly #failures: JobFailures;
  readonly #options: SchedulerOptions;
  #noticesScannedAt = Number.NEGATIVE_INFINITY;

  constructor(service: LedgerService, sweeper: Sweeper, failures: JobFailures, options: SchedulerOptions) {
    this.#service = service;
    this.#sweeper = sweeper;
    this.#failures = failures;
    this.#options = options;
  }

  /**
   * Runs everything due now, in order: renewals, then notices, then the expiry sweep, which books
   * what the renewals just expired. The job runner keeps two runs from overlapping.
   */
  async run(): Promise<SchedulerRunSummary> {
    let subscriptions = 0;
    let failed = 0;
    for (;;) {
      const due = await this.#dueSubscriptions();
      const outcomes = await Promise.all(due.map((row) => this.#renew(row)));
      subscriptions += outcomes.filter((ok) => ok).length;
      failed += outcomes.filter((ok) => !ok).length;
      if (due.length < pageSize || outcomes.every((ok) => !ok)) break;
    }
    const notices = await this.#sendExpiringSoon();
    const settled = await this.#sweeper.sweep();
    this.#options.onJob?.('expiry', 'done');
    return { subscriptions, notices, settled, failed };
  }

  /** Subscriptions with something due, oldest first, skipping those waiting out a retry backoff. */
  #dueSubscriptions(): Promise<SqlRow[]> {
    const now = BigInt(this.#service.clock.now());
    return this.#service.database.reader.all(
      `SELECT s.environment_id, s.id, f.attempts FROM subscriptions s
       LEFT JOIN job_failures f ON f.environment_id = s.environment_id AND f.kind = 'subscription' AND f.target = s.id
       WHERE s.next_due_at IS NOT NULL AND s.next_due_at <= ? AND (f.retry_at IS NULL OR f.retry_at <= ?)
       ORDER BY s.next_due_at, s.id LIMIT ${pageSize}`,
      [now, now],
    );
  }

  async #renew(due: SqlRow): Promise<boolean> {
    const environmentId = String(due.environment_id);
    const subscriptionId = String(due.id);
    const hadFailed = due.attempts !== null && due.attempts !== undefined;
    try {
      const context = await loadSubscriptionContext(this.#service, environmentId, subscriptionId);
      if (context === null) throw new Error('assertion failed: a due subscription exists');
      const reply = await commitSubscriptionDecision(
        this.#service,
        { environmentId, requestId: 'scheduler', idempotency: null, caller: null },
        {
          subscriptionId,
          customer: String(context.row.customer_id),
          plans: context.plans,
          auditAction: null,
          status: 200,
          decide: (current, lookup, now) => {
            if (current === null) throw new Error('assertion failed: subscriptions are never deleted');
            return { kind: 'accepted', decision: decideSubscriptionDue(current, (ref) => lookup(ref).plan, now) };
          },
        },
      );
      if (reply.problem) throw new Error(reply.bodyText);
      if (hadFailed) await this.#failures.clear({ environmentId, kind: 'subscription', target: subscriptionId });
      this.#options.onJob?.('subscription', 'done');
      return true;
    } catch (error) {
      await this.#failures.record(
        { environmentId, kind: 'subscription', target: subscriptionId },
        error,
        targetRetryDelaysMs,
      );
      this.#options.onJob?.('subscription', 'failed');
      return false;
    }
  }

  /**
   * One `grant.expiring_soon` per grant that is live, has credit left and expires within the lead
   * time. A grant whose whole life is shorter than the lead gets none: all of it would be "soon".
   * The notice row and the event commit together, so no restart or second process sends it twice.
   * The scan reads every grant expiring within the lead time, so it runs at most once a minute (a
   * notice days ahead needs no finer timing) unless the last one filled its page.
   */
  async #sendExpiringSoon(): Promise<number> {
    const now = this.#service.clock.now();
    if (now - this.#noticesScannedAt < noticeScanIntervalMs) return 0;
    this.#noticesScannedAt = now;
    const lead = this.#options.expiringSoonLeadMs;
    const rows = await this.#service.database.reader.all(
      `SELECT g.environment_id, g.customer_id, g.asset, g.id, g.remaining, g.expires_at, g.category FROM grants g
       WHERE g.expires_at > ? AND g.expires_at <= ? AND g.effective_at <= ? AND g.expires_at - g.effective_at > ?
         AND g.remaining > 0 AND g.voided_at IS NULL
         AND NOT EXISTS (SELECT 1 FROM scheduled_notices n
           WHERE n.environment_id = g.environment_id AND n.kind = 'grant.expiring_soon' AND n.target = g.id)
       ORDER BY g.expires_at LIMIT ${noticesPerScanMax}`,
      [BigInt(now), BigInt(now + lead), BigInt(now), BigInt(lead)],
    );
    if (rows.length === noticesPerScanMax) this.#noticesScannedAt = Number.NEGATIVE_INFINITY;
    const sent = await Promise.all(rows.map((row) => this.#notifyExpiringSoon(row)));
    return sent.filter((ok) => ok).length;
  }

  async #notifyExpiringSoon(grant: SqlRow): Promise<boolean> {
    const environmentId = String(grant.environment_id);
    let sent = false;
    await this.#service.committer.runInWriter('scheduler', async (batch) => {
      const inserted = await batch.session.insertMany(
        'scheduled_notices',
        [
          {
            environment_id: environmentId,
            kind: 'grant.expiring_soon',
            target: String(grant.id),
            created_at: BigInt(batch.now),
          },
        ],
        { onConflictDoNothing: true },
      );
      if (inserted.length === 0) return;
      sent = true;
      batch.events.push({
        environmentId,
        event: {
          type: 'grant.expiring_soon',
          customer: String(grant.customer_id),
          asset: String(grant.asset),
          data: {
            grant: String(grant.id),
            category: String(grant.category),
            remaining: toBigint(grant.remaining),
            expires_at: new Date(toTime(grant.expires_at)).toISOString(),
          },
        },
      });
    });
    this.#options.onJob?.('grant_expiring_soon', 'done');
    return sent;
  }
}

/** What `bursar jobs` shows: due and failing work of every kind. */
export async function describeJobs(reader: SqlSession, nowMs: number): Promise<Record<string, unknown>[]> {
  const now = BigInt(nowMs);
  const count = async (sql: string, params: SqlValue[] = []) => Number((await reader.all(sql, params))[0]?.n ?? 0);
  const nextDue = await reader.all('SELECT MIN(next_due_at) AS at FROM subscriptions WHERE next_due_at IS NOT NULL');
  const failures = await reader.all('SELECT * FROM job_failures ORDER BY updated_at DESC LIMIT 20');
  const at = nextDue[0]?.at;
  return [
    {
      kind: 'subscription',
      due: await count('SELECT COUNT(*) AS n FROM subscriptions WHERE next_due_at IS NOT NULL AND next_due_at <= ?', [
        now,
      ]),
      scheduled: await count('SELECT COUNT(*) AS n FROM subscriptions WHERE next_due_at IS NOT NULL'),
      next_due_at: at === null || at === undefined ? null : new Date(toTime(at)).toISOString(),
      failing: await count("SELECT COUNT(*) AS n FROM job_failures WHERE kind = 'subscription'"),
    },
    {
      kind: 'expiry',
      due: await count('SELECT COUNT(*) AS n FROM grants WHERE expires_at <= ? AND remaining > reserved', [now]),
      holds_due: await count("SELECT COUNT(*) AS n FROM holds WHERE status = 'open' AND expires_at <= ?", [now]),
    },
    {
      kind: 'webhook_delivery',
      due: await count(
        "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ?",
        [now],
      ),
      undelivered_events: await count('SELECT COUNT(*) AS n FROM outbox WHERE delivered_at IS NULL'),
    },
    ...failures.map((row) => ({
      kind: String(row.kind),
      failing: String(row.target),
      environment_id: String(row.environment_id),
      attempts: toTime(row.attempts),
      last_error: String(row.last_error),
      retry_at: new Date(toTime(row.retry_at)).toISOString(),
    })),
  ];
}
