/**
 * What listJobs answers: the background jobs of the process that answers (their last run, next
 * run and recorded failures) and the scheduled work due in the caller's environment (subscription
 * renewals and trial ends by `next_due_at`). Failures of a whole run belong to no environment;
 * a subscription's belong to its environment and are shown only there.
 */
import type { Caller, Reply } from './platform/contract.ts';
import type { JobRunner } from './platform/jobs/runner.ts';
import type { LedgerService } from './platform/service.ts';
import { okReply } from './platform/service.ts';
import { toTime } from './platform/storage/codecs.ts';
import { queryBuilder } from './platform/storage/kysely.ts';
import { toTimestamp } from './platform/wire.ts';

/** The failure kinds a job's runs record per target, beside its own name (for whole runs). */
const targetFailureKinds: Readonly<Record<string, readonly string[]>> = { scheduler: ['subscription'] };

/** The scheduled work shown: the soonest due, at most this many. */
const scheduledShownMax = 100;

export async function listJobs(service: LedgerService, caller: Caller, runner: JobRunner): Promise<Reply> {
  const db = queryBuilder(service.database.reader);
  const failures = await db
    .selectFrom('job_failures')
    .selectAll()
    .where((where) => where.or([where('environment_id', '=', ''), where('environment_id', '=', caller.environmentId)]))
    .orderBy('updated_at', 'desc')
    .limit(500)
    .execute();
  const scheduled = await db
    .selectFrom('subscriptions')
    .select(['id', 'status', 'cancel_at_period_end', 'next_due_at'])
    .where('environment_id', '=', caller.environmentId)
    .where('next_due_at', 'is not', null)
    .orderBy('next_due_at')
    .orderBy('id')
    .limit(scheduledShownMax)
    .execute();
  const time = (value: number | bigint | null) => (value === null ? null : toTimestamp(toTime(value)));
  const data = runner.describe().map((job) => {
    const kinds = [job.name, ...(targetFailureKinds[job.name] ?? [])];
    return {
      name: job.name,
      interval_ms: job.intervalMs,
      last_started_at: time(job.lastStartedAt),
      last_finished_at: time(job.lastFinishedAt),
      last_error: job.lastError,
      next_run_at: time(job.nextRunAt),
      failures: failures
        .filter((row) => kinds.includes(row.kind))
        .map((row) => ({
          target: row.kind === job.name ? row.target : `${row.kind}:${row.target}`,
          attempts: Number(row.attempts),
          at: time(row.updated_at),
          error: row.last_error,
          retry_at: time(row.retry_at),
        })),
    };
  });
  return okReply(200, {
    data,
    scheduled: scheduled.map((row) => ({
      // What falls due: a trial's end, the end of a subscription canceled at period end, or a renewal.
      kind:
        row.status === 'trialing'
          ? 'subscription_trial_end'
          : row.cancel_at_period_end === 1n
            ? 'subscription_end'
            : 'subscription_renewal',
      target: `subscription:${row.id}`,
      due_at: time(row.next_due_at),
    })),
  });
}
