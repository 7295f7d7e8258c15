/**
 * The failure log in `job_failures`: one row per failing job target (a subscription that would not
 * renew, or a whole run of a job), with its attempts, last error and when to retry. Written through
 * the committer like any command; `bursar jobs` lists it.
 */
import type { Writer } from '../commit/command.ts';
import type { Committer } from '../commit/committer.ts';
import { queryBuilder } from '../storage/kysely.ts';
import type { TableRow } from '../storage/schema.ts';
import { decideRetryDelayMs } from './backoff.ts';
import type { RunFailureLog } from './runner.ts';

export interface FailureKey {
  readonly environmentId: string;
  readonly kind: string;
  readonly target: string;
}

export class JobFailures {
  readonly #committer: Committer;

  constructor(committer: Committer) {
    this.#committer = committer;
  }

  /** Counts one more failure of `key` and sets its retry time from `delaysMs`. */
  record(key: FailureKey, error: unknown, delaysMs: readonly number[]): Promise<unknown> {
    const message = error instanceof Error ? error.message : String(error);
    return this.#submit(async (writer) => {
      const keyColumns = ['environment_id', 'kind', 'target'];
      const rowAfter = (attempts: number) => ({
        environment_id: key.environmentId,
        kind: key.kind,
        target: key.target,
        attempts: BigInt(attempts),
        last_error: message.slice(0, 2000),
        retry_at: BigInt(writer.now + decideRetryDelayMs(attempts, delaysMs)),
        updated_at: BigInt(writer.now),
      });
      // Insert first: two processes failing the same target at once meet on the key, not on a
      // duplicate-key error (on PostgreSQL the second waits for the first and then counts on).
      const inserted = await writer.session.insertMany('job_failures', [rowAfter(1)], { onConflictDoNothing: true });
      if (inserted.length > 0) return;
      // A whole row of one table: the drivers type it as the schema does.
      const [previous] = (await writer.session.selectByKeys(
        'job_failures',
        keyColumns,
        [[key.environmentId, key.kind, key.target]],
        { lock: true },
      )) as TableRow<'job_failures'>[];
      const attempts = previous === undefined ? 1 : Number(previous.attempts) + 1;
      await writer.session.updateMany('job_failures', keyColumns, [rowAfter(attempts)]);
    });
  }

  /** Forgets the failures of `key` once it has succeeded. */
  clear(key: FailureKey): Promise<unknown> {
    return this.#submit(async (writer) => {
      await queryBuilder(writer.session)
        .deleteFrom('job_failures')
        .where('environment_id', '=', key.environmentId)
        .where('kind', '=', key.kind)
        .where('target', '=', key.target)
        .execute();
    });
  }

  /** The runner's log of whole runs that failed: kind is the job's name, target `run`, in no environment. */
  runFailureLog(): RunFailureLog {
    const keyOf = (job: string): FailureKey => ({ environmentId: '', kind: job, target: 'run' });
    return {
      record: (job, error, retryDelaysMs) => this.record(keyOf(job), error, retryDelaysMs),
      clear: (job) => this.clear(keyOf(job)),
    };
  }

  /** Bookkeeping in the writer's transaction; throws when the committer refuses it (a full queue, a stop). */
  #submit(work: (writer: Writer) => Promise<void>): Promise<void> {
    return this.#committer.runInWriter('jobs', work);
  }
}
