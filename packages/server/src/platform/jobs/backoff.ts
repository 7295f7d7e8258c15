/** How long a job, or one target of a job, waits before its next try after failing `attempts` times in a row. */

/** A target's retry delays after 1, 2, 3, … failures: 10 s, 1 min, 5 min, 30 min, then hourly. */
export const targetRetryDelaysMs: readonly number[] = [10_000, 60_000, 300_000, 1_800_000, 3_600_000];

/**
 * A whole run's retry delays (the database or the committer failing, not one target): short,
 * since such failures are usually brief, and never shorter than the job's own interval.
 */
export const runRetryDelaysMs: readonly number[] = [1_000, 5_000, 30_000, 60_000];

/** The delay after the `attempts`-th failure in a row; the schedule's last step repeats. */
export function decideRetryDelayMs(attempts: number, delaysMs: readonly number[]): number {
  if (attempts < 1 || delaysMs.length === 0) throw new Error('assertion failed: a failure and a schedule');
  return delaysMs[Math.min(attempts, delaysMs.length) - 1] as number;
}
