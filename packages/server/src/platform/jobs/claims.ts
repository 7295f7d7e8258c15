/**
 * Leases, the way several processes on one database share a job: a job claims the rows it will
 * work on by pushing their lease column (`topups.lease_until`, `webhook_deliveries.next_attempt_at`)
 * past now in one transaction, and its claim query locks them with `FOR UPDATE SKIP LOCKED` on
 * PostgreSQL (Kysely's `forUpdate().skipLocked()`), so rows another process is claiming right now
 * are skipped rather than waited for. SQLite needs none: its one writer already runs claims one
 * after another.
 */

/** What a claiming run hands back: how many rows it claimed, and the work on them, which runs under their lease. */
export interface ClaimedWork {
  readonly claimed: number;
  /** Settles when the work on every claimed row is done (it may outlive the run that claimed). */
  readonly done: Promise<void>;
}

/**
 * The work on claimed rows as one promise that settles only when every piece has: a stop must not
 * close the committer under a send still running because another one failed. Rejects, after all
 * have settled, with the first failure.
 */
export async function settleAll(work: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(work);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
