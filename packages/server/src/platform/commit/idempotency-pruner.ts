/**
 * Forgets idempotency keys older than the retention (SPEC §4), a few hundred rows per
 * transaction through the committer, so pruning a backlog never holds the writer for long.
 */
import type { Clock } from '../clock.ts';
import { queryBuilder } from '../storage/kysely.ts';
import type { Committer } from './committer.ts';

/** Rows deleted per transaction: small enough to add only a few milliseconds to the batch it joins. */
const rowsPerTransactionMax = 500;

export interface IdempotencyPrunerOptions {
  readonly committer: Committer;
  readonly clock: Clock;
  /** Days a key is kept; null keeps every key forever. */
  readonly retentionDays: number | null;
  readonly onPruned?: (rows: number) => void;
}

export class IdempotencyPruner {
  readonly #options: IdempotencyPrunerOptions;

  constructor(options: IdempotencyPrunerOptions) {
    this.#options = options;
  }

  /**
   * Deletes every key stored at or before now − retention, one small transaction after another,
   * and returns how many it deleted; `onTransaction` hears the count of each transaction.
   */
  async prune(onTransaction?: (rowsPruned: number) => void): Promise<number> {
    const { retentionDays } = this.#options;
    if (retentionDays === null) return 0;
    const cutoff = this.#options.clock.now() - retentionDays * 86_400_000;
    let rowsPruned = 0;
    for (;;) {
      const rows = await this.#pruneOnce(cutoff);
      onTransaction?.(rows);
      this.#options.onPruned?.(rows);
      rowsPruned += rows;
      if (rows < rowsPerTransactionMax) return rowsPruned;
    }
  }

  /**
   * One transaction's worth. On PostgreSQL, rows another process is pruning are skipped rather
   * than waited for, so several processes pruning one database neither block nor deadlock.
   */
  async #pruneOnce(cutoff: number): Promise<number> {
    let rows = 0;
    await this.#options.committer.runInWriter('idempotency-pruner', async (writer) => {
      const deleted = await queryBuilder(writer.session)
        .deleteFrom('idempotency_keys')
        .where((where) =>
          where(
            where.refTuple('environment_id', 'key'),
            'in',
            where
              .selectFrom('idempotency_keys')
              .select(['environment_id', 'key'])
              .where('created_at', '<=', BigInt(cutoff))
              .orderBy('created_at')
              .limit(rowsPerTransactionMax)
              // SKIP LOCKED: keys another process is pruning right now are left to it.
              .$if(writer.session.dialect === 'postgres', (query) => query.forUpdate().skipLocked())
              .$asTuple('environment_id', 'key'),
          ),
        )
        .executeTakeFirst();
      rows = Number(deleted.numDeletedRows);
    });
    return rows;
  }
}
