/**
 * The sole writer of a PostgreSQL database: a process that proves, with advisory locks, that no
 * other process can commit, so that its reads may answer from its own wallet cache without a round
 * trip. The proof is renewed every `pingMs`; a read trusts it only while the last renewal was sent
 * less than `boundMs` ago, which bounds how stale such a read can be (docs/performance.md).
 *
 * Two locks, in pg_locks as (classid, objid) = (lockSpace, 1) and (lockSpace, 2):
 * - the gate: the sole writer's own session holds it exclusively; every writer connection of every
 *   other process holds it shared from its connect on, so it cannot commit while a sole writer
 *   exists, and no process becomes the sole writer while another's writers live;
 * - the sole writer's writers: its writer connections hold it shared. A process becomes the sole
 *   writer only if it takes the gate and finds this one free: no writer of an earlier sole writer
 *   (one that lost its gate session and may not know yet) can still commit.
 * A process that asks for the gate shared waits; the sole writer sees the waiter at its next
 * renewal, stops trusting its cache, and ends its gate session, which lets the waiter in. It never
 * becomes the sole writer again. A writer that waited `takeoverMs` ends the gate session itself
 * (a sole writer that stopped answering): the sole writer's next renewal fails, and its reads
 * already stop trusting its cache once the last renewal is `boundMs` old.
 */
import pg from 'pg';

/** Advisory lock space of these locks ('burs'); objid 1 is the gate, 2 the sole writer's writers. */
const lockSpace = 0x62757273;
const gateKey = 1;
const writersKey = 2;

/** The gate's rows in pg_locks (advisory locks belong to one database). */
const gateLocks = `locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND classid = ${lockSpace} AND objid = ${gateKey} AND objsubid = 2`;

/** Requests of the gate that wait: a process that wants to write. */
const gateWaitersSql = `SELECT count(*) AS waiting FROM pg_locks WHERE ${gateLocks} AND NOT granted`;

export interface SoleWriterTiming {
  /** How often the sole writer renews its proof and looks for waiting processes. */
  readonly pingMs: number;
  /** How old the last renewal may be for a read to trust the cache: the staleness bound. */
  readonly boundMs: number;
  /** How long a writer of another process waits for the gate before ending the sole writer's session. */
  readonly takeoverMs: number;
}

export const defaultSoleWriterTiming: SoleWriterTiming = { pingMs: 20, boundMs: 200, takeoverMs: 5_000 };

export class SoleWriter {
  readonly #client: pg.Client;
  readonly #pid: number;
  readonly #timing: SoleWriterTiming;
  /** performance.now() when the last renewal that succeeded was sent. */
  #confirmedAt: number;
  #left = false;
  #timer: NodeJS.Timeout | undefined;

  private constructor(client: pg.Client, pid: number, timing: SoleWriterTiming, confirmedAt: number) {
    this.#client = client;
    this.#pid = pid;
    this.#timing = timing;
    this.#confirmedAt = confirmedAt;
    client.on('error', () => this.leave());
    client.on('end', () => this.leave());
    this.#schedule();
  }

  /** Claims the database for this process, before its writers connect; null when another process writes. */
  static async claim(connectionString: string, timing: SoleWriterTiming): Promise<SoleWriter | null> {
    const client = new pg.Client({ connectionString });
    client.on('error', () => {});
    await client.connect();
    const sentAt = performance.now();
    const gate = await client.query(
      `SELECT pg_try_advisory_lock(${lockSpace}, ${gateKey}) AS taken, pg_backend_pid() AS pid`,
    );
    if (gate.rows[0]?.taken === true) {
      const writers = await client.query(`SELECT pg_try_advisory_lock(${lockSpace}, ${writersKey}) AS taken`);
      if (writers.rows[0]?.taken === true) {
        await client.query(`SELECT pg_advisory_unlock(${lockSpace}, ${writersKey})`);
        return new SoleWriter(client, Number(gate.rows[0]?.pid), timing, sentAt);
      }
    }
    await client.end();
    return null;
  }

  /** True while the last renewal was sent less than `boundMs` ago: no other process has committed before it. */
  get current(): boolean {
    return !this.#left && performance.now() - this.#confirmedAt < this.#timing.boundMs;
  }

  /** Stops trusting the cache, for good, then ends the gate session so that waiting processes may write. */
  leave(): void {
    if (this.#left) return;
    this.#left = true;
    clearTimeout(this.#timer);
    void this.#client.end().catch(() => {});
  }

  /**
   * What a writer connection of this process does once connected: holds the sole writer's writers'
   * lock, then checks the gate is still this process's (else it waits for the gate like any other
   * process's writer, after leaving).
   */
  async enter(client: pg.Client): Promise<void> {
    await client.query(`SELECT pg_advisory_lock_shared(${lockSpace}, ${writersKey})`);
    const held = await client.query(
      `SELECT count(*) AS held FROM pg_locks WHERE ${gateLocks} AND granted AND mode = 'ExclusiveLock' AND pid = $1`,
      [this.#pid],
    );
    if (Number(held.rows[0]?.held) === 1 && !this.#left) return;
    this.leave();
    await enterShared(client, this.#timing);
  }

  #schedule(): void {
    this.#timer = setTimeout(() => void this.#renew(), this.#timing.pingMs);
    this.#timer.unref();
  }

  async #renew(): Promise<void> {
    const sentAt = performance.now();
    try {
      // The session still answers, so it still holds the gate it took (session locks end only with it).
      const result = await this.#client.query(gateWaitersSql);
      if (Number(result.rows[0]?.waiting) > 0) {
        this.leave();
        return;
      }
      this.#confirmedAt = sentAt;
    } catch {
      this.leave();
      return;
    }
    if (!this.#left) this.#schedule();
  }
}

/**
 * What a writer connection of a process that is not the sole writer does once connected: holds the
 * gate shared, waiting while a sole writer exists; after `takeoverMs`, ends the sole writer's gate
 * session and waits again.
 */
export async function enterShared(client: pg.Client, timing: SoleWriterTiming): Promise<void> {
  await client.query(`SET lock_timeout = ${Math.max(1, Math.round(timing.takeoverMs))}`);
  for (;;) {
    try {
      await client.query(`SELECT pg_advisory_lock_shared(${lockSpace}, ${gateKey})`);
      break;
    } catch (error) {
      if ((error as { code?: unknown }).code !== '55P03') throw error;
      await client.query(
        `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE ${gateLocks} AND granted AND mode = 'ExclusiveLock'`,
      );
    }
  }
  await client.query('RESET lock_timeout');
}
