/**
 * Books what time decided for wallets nobody is touching: expired holds and the unreserved
 * remainders of expired grants. Balances never wait for it (reads decide expiry from the clock);
 * it only keeps the booked ledger close to the live one and emits the lifecycle events.
 */

import type { Clock } from '../../platform/clock.ts';
import type { Committer } from '../../platform/commit/committer.ts';
import { okReply } from '../../platform/service.ts';
import { toTime } from '../../platform/storage/codecs.ts';
import type { Database } from '../../platform/storage/database.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';

const rowsPerSweepMax = 200;

/**
 * Each sweep looks only at grants that expired since the last one (a watermark kept in memory),
 * so its cost follows the expiries due, not every grant that ever expired. The first sweep after
 * start reads from the beginning of time, which also catches up after downtime. Voided grants
 * need no sweep: a void books the unreserved remainder at once, and credit a hold later
 * releases onto a voided grant is booked in the same batch.
 */
export class Sweeper {
  readonly #database: Database;
  readonly #committer: Committer;
  readonly #clock: Clock;
  #grantsSweptUntil = -1;

  constructor(database: Database, committer: Committer, clock: Clock) {
    this.#database = database;
    this.#committer = committer;
    this.#clock = clock;
  }

  /** Settles the wallets with something due; returns how many wallets it settled. */
  async sweep(): Promise<number> {
    const now = this.#clock.now();
    const db = queryBuilder(this.#database.reader);
    const holds = await db
      .selectFrom('holds')
      .select(['environment_id', 'customer_id', 'asset'])
      .distinct()
      .where('status', '=', 'open')
      .where('expires_at', '<=', BigInt(now))
      .limit(rowsPerSweepMax)
      .execute();
    const grants = await db
      .selectFrom('grants')
      .select(['environment_id', 'customer_id', 'asset', 'expires_at'])
      .where('expires_at', '>', BigInt(this.#grantsSweptUntil))
      .where('expires_at', '<=', BigInt(now))
      .whereRef('remaining', '>', 'reserved')
      .orderBy('expires_at')
      .limit(rowsPerSweepMax)
      .execute();
    const wallets = new Map(
      [...holds, ...grants].map((row) => {
        const key = { environmentId: row.environment_id, customer: row.customer_id, asset: row.asset };
        return [`${key.environmentId}\u0000${key.customer}\u0000${key.asset}`, key];
      }),
    );
    const replies = await Promise.all([...wallets.values()].map((key) => this.#settle(key)));
    // A refused settle (a full queue, a shutdown) leaves the watermark where it was, so the next run
    // books those wallets again; the job backs off meanwhile.
    const refused = replies.find((reply) => reply.problem);
    if (refused !== undefined) throw new Error(`the sweeper's settle was refused (${refused.status})`);
    // A full page may have left grants with the same or later expiry: resume from the last one seen.
    const last = grants.at(-1);
    this.#grantsSweptUntil =
      grants.length === rowsPerSweepMax && last !== undefined && last.expires_at !== null
        ? toTime(last.expires_at) - 1
        : now;
    return wallets.size;
  }

  #settle(key: { environmentId: string; customer: string; asset: string }) {
    return this.#committer.submit({
      environmentId: key.environmentId,
      requestId: 'sweeper',
      idempotency: null,
      wallets: [key],
      decide(batch) {
        batch.wallet(key); // settling is what reading a wallet inside a batch does first
        return okReply(200, {});
      },
    });
  }
}
