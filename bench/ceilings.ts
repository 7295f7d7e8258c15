// Measures, in the same run as Bursar's own benchmark, the raw ceilings its numbers are reported against (SPEC §6).
//
// Every function returns plain records and prints nothing, so the caller decides how to report them.
// Every loop is bounded by time and by count; network traffic goes to the given PostgreSQL URL and to a
// child HTTP server on 127.0.0.1 only. Methods follow /work/shared/research/perf-anchors.md §2.
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Result as AutocannonResult, RequestData, RequestSpec, SetupRequest } from 'autocannon';
import autocannon from 'autocannon';
import type { ClientConfig, CustomTypesConfig } from 'pg';
import pg from 'pg';
import { openConnection, sqliteDriverName } from '../packages/server/src/platform/storage/sqlite-driver.ts';

// ---------------------------------------------------------------------------------------------------------
// Records and statistics
// ---------------------------------------------------------------------------------------------------------

/** One measured ceiling. Flat on purpose: one JSON line per record, parameters next to the metrics. */
export interface CeilingRecord {
  name: string;
  /** `sqlite`, `postgres`, `http`, or whatever the caller of measureAutocannon names. */
  backend: string;
  /** Throughput in the unit the record is about: debits/s for storage loops, requests/s for HTTP. */
  ops_per_s: number;
  /** Latency of one unit of `latency_of` (a transaction for storage loops, a request for HTTP). */
  p50_ms: number;
  p99_ms: number;
  [param: string]: string | number | boolean | null;
}

type Params = Record<string, string | number | boolean | null>;

/**
 * Append-only latency sample buffer. It grows by doubling up to a hard cap, so a long or fast run can
 * neither grow memory without bound nor pre-allocate the worst case; samples past the cap are counted.
 */
class Samples {
  private values = new Float64Array(1 << 16);
  private n = 0;
  private readonly cap: number;
  dropped = 0;

  constructor(cap: number) {
    this.cap = Math.max(1, Math.floor(cap));
  }

  add(ms: number): void {
    if (this.n === this.values.length) {
      if (this.n >= this.cap) {
        this.dropped += 1;
        return;
      }
      const grown = new Float64Array(Math.min(this.cap, this.values.length * 2));
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.n++] = ms;
  }

  summary(): { p50_ms: number; p99_ms: number; max_ms: number; mean_ms: number } {
    if (this.n === 0) return { p50_ms: Number.NaN, p99_ms: Number.NaN, max_ms: Number.NaN, mean_ms: Number.NaN };
    const sorted = this.values.slice(0, this.n).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      p50_ms: roundMs(percentile(sorted, 0.5)),
      p99_ms: roundMs(percentile(sorted, 0.99)),
      max_ms: roundMs(sorted[sorted.length - 1] ?? Number.NaN),
      mean_ms: roundMs(sum / sorted.length),
    };
  }
}

/** The fields every raw-debit ceiling reports: rate, transaction latency, counts and duration. */
function rawDebitMeasures(measured: { debits: number; elapsedS: number }, txns: number, samples: Samples) {
  return {
    ops_per_s: roundRate(measured.elapsedS > 0 ? measured.debits / measured.elapsedS : 0),
    ...samples.summary(),
    latency_of: 'transaction',
    debits: measured.debits,
    txns,
    duration_s: roundMs(measured.elapsedS),
  };
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: Float64Array, p: number): number {
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

const roundMs = (ms: number): number => Math.round(ms * 1000) / 1000;
const roundRate = (perS: number): number => Math.round(perS * 10) / 10;

function positive(value: number | undefined, fallback: number, label: string): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${label} must be a positive finite number, got ${v}`);
  return v;
}

function nonNegative(value: number | undefined, fallback: number, label: string): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${label} must be a non-negative finite number, got ${v}`);
  return v;
}

// tmpfs would make fsync free and the "durable" numbers meaningless; flag it in the record instead of guessing.
const TMPFS_MAGIC = 0x01021994;
function isTmpfs(dir: string): boolean {
  try {
    return statfsSync(dir).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
}

// Large enough that no debit in a bounded run is refused for lack of funds, small enough for int64 and for
// exact arithmetic in JS numbers when summed with at most a few million unit debits.
const INITIAL_BALANCE = 1_000_000_000_000n;
const DEBIT_AMOUNT = 1n;

// ---------------------------------------------------------------------------------------------------------
// 1. SQLite raw debit loop
// ---------------------------------------------------------------------------------------------------------

export interface SqliteRawDebitOptions {
  /** Measured seconds per variant (default 3). */
  durationS?: number;
  /** Unmeasured seconds per variant before measuring, for JIT and page cache (default 0.5). */
  warmupS?: number;
  /** Hard cap on debits per variant, warm-up included (default 2,000,000). */
  maxDebits?: number;
  /** Debits per transaction, one variant each (default [1, 1000]). */
  batchSizes?: readonly number[];
  /** Wallets debited at random; 1 is the hot-wallet case of perf-anchors §2.4 (default 1). */
  wallets?: number;
  /** `FULL` is the product's durability; `NORMAL` only for comparison (default FULL). */
  synchronous?: 'FULL' | 'NORMAL';
  /** Parent directory of the temporary database directory (default os.tmpdir()). */
  dir?: string;
}

export async function measureSqliteRawDebits(options: SqliteRawDebitOptions = {}): Promise<CeilingRecord[]> {
  const durationS = positive(options.durationS, 3, 'durationS');
  const warmupS = nonNegative(options.warmupS, 0.5, 'warmupS');
  const maxDebits = positive(options.maxDebits, 2_000_000, 'maxDebits');
  const batchSizes = options.batchSizes ?? [1, 1000];
  const wallets = Math.floor(positive(options.wallets, 1, 'wallets'));
  const synchronous = options.synchronous ?? 'FULL';
  const parent = options.dir ?? tmpdir();

  const records: CeilingRecord[] = [];
  for (const batch of batchSizes) {
    const batchSize = Math.floor(positive(batch, 1, 'batch size'));
    // A fresh database per variant, so one variant's WAL and table growth never slows the next.
    const dir = mkdtempSync(join(parent, 'bursar-ceiling-sqlite-'));
    try {
      records.push(
        sqliteVariant({
          file: join(dir, 'ceiling.db'),
          batchSize,
          durationS,
          warmupS,
          maxDebits,
          wallets,
          synchronous,
        }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Let timers and I/O callbacks of the caller run between the synchronous variants.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return records;
}

function sqliteVariant(p: {
  file: string;
  batchSize: number;
  durationS: number;
  warmupS: number;
  maxDebits: number;
  wallets: number;
  synchronous: 'FULL' | 'NORMAL';
}): CeilingRecord {
  // The product's own driver, so ceiling and product differ only in what they do, not in the binding.
  const db = openConnection(p.file);
  try {
    db.exec('PRAGMA journal_mode = WAL');
    const journalMode = String(db.prepare('PRAGMA journal_mode').all([])[0]?.journal_mode);
    db.exec(`PRAGMA synchronous = ${p.synchronous}`);
    db.exec(`
      CREATE TABLE wallets (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
      CREATE TABLE idempotency (key TEXT PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE ledger (
        id INTEGER PRIMARY KEY,
        wallet_id INTEGER NOT NULL,
        amount INTEGER NOT NULL,
        idem_key TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
    `);
    const seed = db.prepare('INSERT INTO wallets (id, balance) VALUES (?, ?)');
    db.exec('BEGIN');
    for (let id = 1; id <= p.wallets; id++) seed.run([BigInt(id), INITIAL_BALANCE]);
    db.exec('COMMIT');

    // Prepared once and reused: perf-anchors §2.4 measured 1.9x against re-preparing per call.
    const insertIdem = db.prepare('INSERT OR IGNORE INTO idempotency (key, created_at) VALUES (?, ?)');
    const debit = db.prepare('UPDATE wallets SET balance = balance - ? WHERE id = ? AND balance >= ?');
    const insertLedger = db.prepare('INSERT INTO ledger (wallet_id, amount, idem_key, created_at) VALUES (?, ?, ?, ?)');
    let accepted = 0;
    const runBatch = (n: number) => {
      db.exec('BEGIN');
      const now = BigInt(Date.now());
      for (let i = 0; i < n; i++) {
        const key = randomUUID();
        const wallet = p.wallets === 1 ? 1n : BigInt(1 + Math.floor(Math.random() * p.wallets));
        if (insertIdem.run([key, now]) === 0) continue; // replay: same outcome, no second debit
        if (debit.run([DEBIT_AMOUNT, wallet, DEBIT_AMOUNT]) === 0) continue; // insufficient funds
        insertLedger.run([wallet, DEBIT_AMOUNT, key, now]);
        accepted += 1;
      }
      db.exec('COMMIT');
    };

    let attempted = 0;
    const phase = (seconds: number, samples: Samples | null): { debits: number; txns: number; elapsedS: number } => {
      const start = performance.now();
      const deadline = start + seconds * 1000;
      let debits = 0;
      let txns = 0;
      let now = start;
      while (now < deadline && attempted + p.batchSize <= p.maxDebits) {
        runBatch(p.batchSize);
        const after = performance.now();
        samples?.add(after - now); // commit (and its fsync) included
        now = after;
        attempted += p.batchSize;
        debits += p.batchSize;
        txns += 1;
      }
      return { debits, txns, elapsedS: (now - start) / 1000 };
    };

    if (p.warmupS > 0) phase(p.warmupS, null);
    const samples = new Samples(p.maxDebits / p.batchSize + 1);
    const measured = phase(p.durationS, samples);

    // Invariant check: every accepted debit has exactly one ledger row and left the balance exactly once.
    const total = db.prepare('SELECT sum(balance) AS b FROM wallets').all([])[0] as { b: bigint };
    const ledger = db.prepare('SELECT count(*) AS n, coalesce(sum(amount), 0) AS s FROM ledger').all([])[0] as {
      n: bigint;
      s: bigint;
    };
    const consistent = total.b + ledger.s === INITIAL_BALANCE * BigInt(p.wallets) && ledger.n === BigInt(accepted);

    return {
      name: `sqlite.raw_debit.batch${p.batchSize}`,
      backend: 'sqlite',
      ...rawDebitMeasures(measured, measured.txns, samples),
      batch_size: p.batchSize,
      wallets: p.wallets,
      synchronous: p.synchronous,
      journal_mode: journalMode,
      statements_per_debit: 3,
      warmup_s: p.warmupS,
      consistent,
      tmpfs: isTmpfs(dirname(p.file)),
      sqlite_version: String(db.prepare('SELECT sqlite_version() AS v').all([])[0]?.v),
      driver: sqliteDriverName,
    };
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// 2. PostgreSQL raw debit loops
// ---------------------------------------------------------------------------------------------------------

export interface PostgresRawDebitOptions {
  databaseUrl: string;
  /** Measured seconds per variant (default 3). */
  durationS?: number;
  /** Unmeasured seconds per variant before measuring (default 0.5). */
  warmupS?: number;
  /** Hard cap on debits per variant, warm-up included (default 2,000,000). */
  maxDebits?: number;
  /** Concurrent clients in the naive hot-row variant (default 16). */
  hotClients?: number;
  /** Debits per transaction in the batched variant (default 1000). */
  batchSize?: number;
  /**
   * Which variants to run (default all four). `batch` is (c): one set-based statement per batch, the
   * balance written once per wallet per batch. `batch_row_by_row` is the same batch with per-debit
   * conditional UPDATEs in a server-side loop (one round trip), the "per-debit loop" of perf-anchors §2.2.
   */
  variants?: readonly PgVariant[];
  connectTimeoutMs?: number;
}

type PgVariant = 'one_per_txn' | 'naive_hot_row' | 'batch' | 'batch_row_by_row';

// int8 as BigInt for this module's clients only; the global pg parsers stay untouched.
const int8AsBigInt: CustomTypesConfig = {
  getTypeParser: (id, format) =>
    id === pg.types.builtins.INT8 ? (value: string) => BigInt(value) : pg.types.getTypeParser(id, format),
};

type PgClient = InstanceType<typeof pg.Client>;

const APPLICATION_NAME = 'bursar-bench-ceiling';

export async function measurePostgresRawDebits(options: PostgresRawDebitOptions): Promise<CeilingRecord[]> {
  const durationS = positive(options.durationS, 3, 'durationS');
  const warmupS = nonNegative(options.warmupS, 0.5, 'warmupS');
  const maxDebits = positive(options.maxDebits, 2_000_000, 'maxDebits');
  const hotClients = Math.floor(positive(options.hotClients, 16, 'hotClients'));
  const batchSize = Math.floor(positive(options.batchSize, 1000, 'batchSize'));
  const variants = options.variants ?? ['one_per_txn', 'naive_hot_row', 'batch', 'batch_row_by_row'];
  const connectTimeoutMs = positive(options.connectTimeoutMs, 5000, 'connectTimeoutMs');

  // A schema of our own, unique per run, dropped at the end: nothing of the project's is touched.
  const schema = `ceiling_${process.pid}_${randomUUID().slice(0, 8)}`;
  const config: ClientConfig = {
    connectionString: options.databaseUrl,
    connectionTimeoutMillis: connectTimeoutMs,
    application_name: APPLICATION_NAME,
    // Bounds any single statement, including a hot-row lock wait, so no loop can hang.
    statement_timeout: 30_000,
    types: int8AsBigInt,
  };
  const connect = async (): Promise<PgClient> => {
    const client = new pg.Client(config);
    try {
      await client.connect();
      // The product's durability; set explicitly so a server default of `off` cannot flatter the ceiling.
      await client.query(`SET synchronous_commit = on; SET search_path = ${schema}`);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    return client;
  };

  const admin = new pg.Client(config);
  try {
    await admin.connect();
  } catch (error) {
    await admin.end().catch(() => {});
    throw error;
  }
  const records: CeilingRecord[] = [];
  let created = false;
  try {
    await dropStaleSchemas(admin);
    const settings = await pgSettings(admin);
    await admin.query(`CREATE SCHEMA ${schema}`);
    created = true;
    await admin.query(`
      CREATE TABLE ${schema}.wallets (id bigint PRIMARY KEY, balance bigint NOT NULL);
      CREATE TABLE ${schema}.idempotency (key text PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now());
      CREATE TABLE ${schema}.ledger (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        wallet_id bigint NOT NULL,
        amount bigint NOT NULL,
        idem_key text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      -- The row-by-row batch: exactly the per-debit statements of (a), looped inside the server.
      CREATE FUNCTION ${schema}.debit_many(keys text[], wallet_ids int8[], amounts int8[]) RETURNS int
      LANGUAGE plpgsql AS $fn$
      DECLARE
        accepted int := 0;
      BEGIN
        FOR i IN 1 .. coalesce(array_length(keys, 1), 0) LOOP
          INSERT INTO ${schema}.idempotency (key) VALUES (keys[i]) ON CONFLICT (key) DO NOTHING;
          CONTINUE WHEN NOT FOUND;
          UPDATE ${schema}.wallets SET balance = balance - amounts[i]
           WHERE id = wallet_ids[i] AND balance >= amounts[i];
          CONTINUE WHEN NOT FOUND;
          INSERT INTO ${schema}.ledger (wallet_id, amount, idem_key) VALUES (wallet_ids[i], amounts[i], keys[i]);
          accepted := accepted + 1;
        END LOOP;
        RETURN accepted;
      END
      $fn$;
    `);
    const common = { durationS, warmupS, maxDebits, schema, connect, admin, settings };
    for (const variant of variants) {
      // Same starting state for every variant, as perf-anchors §2.1 did (ledger truncated, wallets vacuumed).
      await resetPgTables(admin, schema);
      if (variant === 'one_per_txn') records.push(await pgPerDebitVariant({ ...common, clients: 1 }));
      else if (variant === 'naive_hot_row') records.push(await pgPerDebitVariant({ ...common, clients: hotClients }));
      else if (variant === 'batch') records.push(await pgBatchVariant({ ...common, batchSize, method: 'set' }));
      else records.push(await pgBatchVariant({ ...common, batchSize, method: 'row_by_row' }));
    }
  } finally {
    try {
      if (created) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await admin.end().catch(() => {});
    }
  }
  return records;
}

/**
 * A run killed by a signal cannot drop its schema. Every live run keeps its admin session (named by
 * application_name) open from CREATE to DROP, so when no other such session exists, any schema with our
 * exact naming pattern is a leftover and is dropped.
 */
async function dropStaleSchemas(admin: PgClient): Promise<void> {
  const others = await admin.query(
    `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid() LIMIT 1`,
    [APPLICATION_NAME],
  );
  if ((others.rowCount ?? 0) > 0) return;
  const stale = await admin.query<{ nspname: string }>(
    `SELECT nspname FROM pg_namespace WHERE nspname ~ '^ceiling_[0-9]+_[0-9a-f]{8}$'`,
  );
  for (const { nspname } of stale.rows) await admin.query(`DROP SCHEMA IF EXISTS ${nspname} CASCADE`);
}

interface PgSettings {
  server_version: string;
  fsync: string;
  wal_sync_method: string;
  shared_buffers: string;
}

async function pgSettings(client: PgClient): Promise<PgSettings> {
  const { rows } = await client.query<{ name: string; setting: string }>(
    `SELECT name, current_setting(name) AS setting FROM unnest($1::text[]) AS name`,
    [['server_version', 'fsync', 'wal_sync_method', 'shared_buffers']],
  );
  const get = (name: string): string => rows.find((r) => r.name === name)?.setting ?? 'unknown';
  return {
    server_version: get('server_version'),
    fsync: get('fsync'),
    wal_sync_method: get('wal_sync_method'),
    shared_buffers: get('shared_buffers'),
  };
}

async function resetPgTables(admin: PgClient, schema: string): Promise<void> {
  await admin.query(`TRUNCATE ${schema}.ledger, ${schema}.idempotency, ${schema}.wallets`);
  await admin.query(`INSERT INTO ${schema}.wallets (id, balance) VALUES (1, $1)`, [INITIAL_BALANCE.toString()]);
  // VACUUM cannot run inside a transaction block; a bare simple query is its own statement.
  await admin.query(`VACUUM (ANALYZE) ${schema}.wallets, ${schema}.ledger, ${schema}.idempotency`);
}

/** balance + ledger must equal the initial balance, and the ledger must hold exactly the accepted debits. */
async function pgConsistent(admin: PgClient, schema: string, accepted: number): Promise<boolean> {
  const { rows } = await admin.query<{ b: bigint; n: bigint; s: bigint }>(
    `SELECT (SELECT balance FROM ${schema}.wallets WHERE id = 1) AS b,
            count(*)::int8 AS n, coalesce(sum(amount), 0)::int8 AS s
       FROM ${schema}.ledger`,
  );
  const row = rows[0];
  return row !== undefined && row.b + row.s === INITIAL_BALANCE && row.n === BigInt(accepted);
}

interface PgCommon {
  durationS: number;
  warmupS: number;
  maxDebits: number;
  schema: string;
  connect: () => Promise<PgClient>;
  admin: PgClient;
  settings: PgSettings;
}

/**
 * (a) with clients = 1 and (b) with clients = N: one debit per transaction on ONE wallet, the loop a team
 * would write by hand. Statements are named, so each connection parses and plans them once.
 */
async function pgPerDebitVariant(p: PgCommon & { clients: number }): Promise<CeilingRecord> {
  const clients: PgClient[] = [];
  try {
    for (let i = 0; i < p.clients; i++) clients.push(await p.connect());

    let attempted = 0;
    let accepted = 0;
    const debitOnce = async (client: PgClient): Promise<void> => {
      const key = randomUUID();
      await client.query('BEGIN');
      try {
        // Deduplicate before touching the balance, like the SQLite loop and a real service.
        const idem = await client.query({
          name: 'ceiling_idem',
          text: 'INSERT INTO idempotency (key) VALUES ($1) ON CONFLICT (key) DO NOTHING',
          values: [key],
        });
        if (idem.rowCount === 1) {
          const debit = await client.query({
            name: 'ceiling_debit',
            text: 'UPDATE wallets SET balance = balance - $2 WHERE id = $1 AND balance >= $2',
            values: [1, DEBIT_AMOUNT],
          });
          if (debit.rowCount === 1) {
            await client.query({
              name: 'ceiling_ledger',
              text: 'INSERT INTO ledger (wallet_id, amount, idem_key) VALUES ($1, $2, $3)',
              values: [1, DEBIT_AMOUNT, key],
            });
            accepted += 1;
          }
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    };

    const phase = async (seconds: number, samples: Samples | null) => {
      const start = performance.now();
      const deadline = start + seconds * 1000;
      let debits = 0;
      let end = start;
      await Promise.all(
        clients.map(async (client) => {
          let now = performance.now();
          while (now < deadline && attempted < p.maxDebits) {
            attempted += 1; // reserved before awaiting, so N clients together respect the cap
            await debitOnce(client);
            const after = performance.now();
            samples?.add(after - now);
            now = after;
            debits += 1;
          }
          end = Math.max(end, now);
        }),
      );
      return { debits, elapsedS: (end - start) / 1000 };
    };

    if (p.warmupS > 0) await phase(p.warmupS, null);
    const samples = new Samples(p.maxDebits + 1);
    const measured = await phase(p.durationS, samples);
    const consistent = await pgConsistent(p.admin, p.schema, accepted);

    return {
      name: p.clients === 1 ? 'postgres.raw_debit.one_per_txn' : `postgres.naive_hot_row.c${p.clients}`,
      backend: 'postgres',
      ...rawDebitMeasures(measured, measured.debits, samples),
      batch_size: 1,
      clients: p.clients,
      wallets: 1,
      // BEGIN, INSERT idempotency, UPDATE, INSERT ledger, COMMIT.
      round_trips_per_debit: 5,
      prepared: true,
      synchronous_commit: 'on',
      warmup_s: p.warmupS,
      consistent,
      ...p.settings,
    };
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
}

/**
 * (c) one writer, `batchSize` debits per transaction, one round trip per batch (a single statement is its
 * own transaction, so no BEGIN/COMMIT round trips either).
 *
 * `set`: arrays in, one data-modifying CTE deduplicates, checks each debit's running total per wallet
 * against the balance, applies ONE UPDATE per wallet and inserts the per-debit ledger rows. Debits of a
 * batch are accepted in order while they fit (a prefix per wallet); with the huge test balance every fresh
 * debit is accepted, so this equals per-debit semantics here. This is the "batch totalled per wallet"
 * regime of perf-anchors §2.2 (120k–190k/s there).
 *
 * `row_by_row`: the same arrays to a PL/pgSQL loop running (a)'s three statements per debit, so every
 * debit updates the hot row itself; the "50k/s batched by one writer" regime of perf-anchors §2.2.
 */
async function pgBatchVariant(
  p: PgCommon & { batchSize: number; method: 'set' | 'row_by_row' },
): Promise<CeilingRecord> {
  const client = await p.connect();
  try {
    const setText = `
      WITH input AS (
        SELECT t.key, t.wallet_id, t.amount, t.ord
          FROM unnest($1::text[], $2::int8[], $3::int8[]) WITH ORDINALITY AS t(key, wallet_id, amount, ord)
      ), fresh AS (
        INSERT INTO idempotency (key) SELECT key FROM input
        ON CONFLICT (key) DO NOTHING
        RETURNING key
      ), ranked AS (
        SELECT i.key, i.wallet_id, i.amount, i.ord,
               w.balance - sum(i.amount) OVER (PARTITION BY i.wallet_id ORDER BY i.ord) AS left_after
          FROM input i
          JOIN fresh f ON f.key = i.key
          JOIN wallets w ON w.id = i.wallet_id
      ), accepted AS (
        SELECT key, wallet_id, amount, ord FROM ranked WHERE left_after >= 0
      ), totals AS (
        SELECT wallet_id, sum(amount) AS total FROM accepted GROUP BY wallet_id
      ), debited AS (
        UPDATE wallets w SET balance = w.balance - t.total
          FROM totals t
         WHERE w.id = t.wallet_id AND w.balance >= t.total
        RETURNING w.id
      )
      INSERT INTO ledger (wallet_id, amount, idem_key)
      SELECT a.wallet_id, a.amount, a.key
        FROM accepted a JOIN debited d ON d.id = a.wallet_id
       ORDER BY a.ord`;
    const rowByRowText = 'SELECT debit_many($1::text[], $2::int8[], $3::int8[]) AS accepted';
    const walletIds = new Array<string>(p.batchSize).fill('1');
    const amounts = new Array<string>(p.batchSize).fill(DEBIT_AMOUNT.toString());

    let attempted = 0;
    let accepted = 0;
    const phase = async (seconds: number, samples: Samples | null) => {
      const start = performance.now();
      const deadline = start + seconds * 1000;
      let debits = 0;
      let txns = 0;
      let now = start;
      while (now < deadline && attempted + p.batchSize <= p.maxDebits) {
        // Keys are generated inside the timed region on purpose: a real writer pays for them too.
        const keys = Array.from({ length: p.batchSize }, () => randomUUID());
        const values = [keys, walletIds, amounts];
        if (p.method === 'set') {
          const result = await client.query({ name: 'ceiling_batch_set', text: setText, values });
          accepted += result.rowCount ?? 0;
        } else {
          const result = await client.query<{ accepted: number }>({
            name: 'ceiling_batch_rows',
            text: rowByRowText,
            values,
          });
          accepted += result.rows[0]?.accepted ?? 0;
        }
        const after = performance.now();
        samples?.add(after - now);
        now = after;
        attempted += p.batchSize;
        debits += p.batchSize;
        txns += 1;
      }
      return { debits, txns, elapsedS: (now - start) / 1000 };
    };

    if (p.warmupS > 0) await phase(p.warmupS, null);
    const samples = new Samples(p.maxDebits / p.batchSize + 1);
    const measured = await phase(p.durationS, samples);
    const consistent = (await pgConsistent(p.admin, p.schema, accepted)) && accepted === attempted;

    return {
      name: `postgres.raw_debit.batch${p.batchSize}${p.method === 'set' ? '' : '_row_by_row'}`,
      backend: 'postgres',
      ...rawDebitMeasures(measured, measured.txns, samples),
      batch_size: p.batchSize,
      clients: 1,
      wallets: 1,
      round_trips_per_txn: 1,
      batch_method: p.method === 'set' ? 'one set-based statement (unnest)' : 'plpgsql loop, per-debit statements',
      wallet_updates_per_txn: p.method === 'set' ? 'one per wallet' : 'one per debit',
      prepared: true,
      synchronous_commit: 'on',
      warmup_s: p.warmupS,
      consistent,
      ...p.settings,
    };
  } finally {
    await client.end().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------------------
// 3 + 4. HTTP: autocannon helper and the bare node:http ceiling
// ---------------------------------------------------------------------------------------------------------

/**
 * A ~300-byte debit request body; pass the same string to the product's benchmark so both sides parse the
 * same bytes.
 */
export const DEBIT_REQUEST_BODY = JSON.stringify({
  wallet_id: 'wal_01J9Z7X4K2M8Q6R3T5V7W9Y1B3',
  amount: '125',
  asset: 'credits',
  metadata: {
    model: 'gpt-4o-mini',
    feature: 'chat.completion',
    request_id: 'req_7f3c2a9e4b1d4c8f9a6e5d3c2b1a0f9e',
    tokens_in: 1843,
    tokens_out: 512,
    region: 'eu-west-1',
  },
  description: 'LLM completion, workspace ws_42',
});

export const JSON_HEADERS: Readonly<Record<string, string>> = { 'content-type': 'application/json' };

/**
 * A `setupRequest` that gives every request its own `Idempotency-Key` header (prefix + counter: unique,
 * and cheap enough not to become the load generator's bottleneck).
 */
export function uniqueIdempotencyKey(header = 'idempotency-key'): SetupRequest {
  const prefix = randomUUID();
  let seq = 0;
  return (request: RequestData) => {
    seq += 1;
    request.headers[header] = `${prefix}-${seq}`;
    return request;
  };
}

export interface AutocannonMeasureOptions {
  connections: number;
  /** Measured seconds. */
  durationS: number;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Default: POST when a body is given, else GET. */
  method?: string;
  /** Raw autocannon request sequence, for full control; mutually exclusive with `setupRequest`. */
  requests?: RequestSpec[];
  /** Mutates each request before it is sent, e.g. `uniqueIdempotencyKey()`; must return the request. */
  setupRequest?: SetupRequest;
  /** Unmeasured seconds with the same settings first (default 0). */
  warmupS?: number;
  /** Hard cap on requests in the measured run (default 1,000,000 per second of duration). */
  maxRequests?: number;
  /** Per-request timeout in seconds (default 10, autocannon's). */
  timeoutS?: number;
  /** Record name (default `http.autocannon.c<connections>`). */
  name?: string;
  /** Record backend (default `http`). */
  backend?: string;
  /** Extra parameters copied into the record. */
  params?: Params;
}

/**
 * Drives `url` with autocannon from this process and returns one record. Latency percentiles are computed
 * from every response's own timing (sub-millisecond), because autocannon's histogram is in whole
 * milliseconds; autocannon's own p50/p99 are kept as `ac_p50_ms`/`ac_p99_ms` for comparison with
 * perf-anchors §2.5. The ceiling and the product are measured through this same function.
 */
export async function measureAutocannon(url: string, options: AutocannonMeasureOptions): Promise<CeilingRecord> {
  const connections = Math.floor(positive(options.connections, 1, 'connections'));
  const durationS = positive(options.durationS, 3, 'durationS');
  const warmupS = nonNegative(options.warmupS, 0, 'warmupS');
  const timeoutS = positive(options.timeoutS, 10, 'timeoutS');
  const maxRequests = Math.max(
    connections,
    Math.floor(positive(options.maxRequests, Math.ceil(durationS * 1_000_000), 'maxRequests')),
  );
  if (options.requests !== undefined && options.setupRequest !== undefined) {
    throw new TypeError('measureAutocannon: give either `requests` or `setupRequest`, not both');
  }
  const requests =
    options.requests ?? (options.setupRequest !== undefined ? [{ setupRequest: options.setupRequest }] : undefined);

  const base = {
    url,
    connections,
    method: options.method ?? (options.body !== undefined ? 'POST' : 'GET'),
    headers: { ...options.headers },
    timeout: timeoutS,
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(requests !== undefined ? { requests } : {}),
  };

  if (warmupS > 0) await runAutocannon({ ...base, duration: warmupS, maxOverallRequests: maxRequests }, null);
  const samples = new Samples(maxRequests + connections);
  const result = await runAutocannon({ ...base, duration: durationS, maxOverallRequests: maxRequests }, samples);
  const bodyBytes =
    options.body === undefined
      ? 0
      : typeof options.body === 'string'
        ? Buffer.byteLength(options.body)
        : options.body.length;

  return {
    name: options.name ?? `http.autocannon.c${connections}`,
    backend: options.backend ?? 'http',
    // autocannon's mean of its 1-second samples, the number its CLI reports as Req/Sec Avg.
    ops_per_s: roundRate(result.requests.average),
    ...samples.summary(),
    latency_of: 'request',
    ac_p50_ms: result.latency.p50,
    ac_p99_ms: result.latency.p99,
    completed: result.requests.total,
    ok_2xx: result['2xx'],
    ok_per_s: roundRate(result.duration > 0 ? result['2xx'] / result.duration : 0),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latency_samples_dropped: samples.dropped,
    duration_s: result.duration,
    connections,
    warmup_s: warmupS,
    body_bytes: bodyBytes,
    load_generator: 'autocannon in-process',
    ...options.params,
  };
}

type RunOptions = Parameters<typeof autocannon>[0] & { duration: number };

function runAutocannon(opts: RunOptions, samples: Samples | null): Promise<AutocannonResult> {
  return new Promise<AutocannonResult>((resolve, reject) => {
    let watchdog: NodeJS.Timeout | undefined;
    const instance = autocannon(opts, (error, result) => {
      if (watchdog !== undefined) clearTimeout(watchdog);
      if (error) reject(error);
      else resolve(result);
    });
    if (samples !== null) {
      instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTimeMs: number) => {
        samples.add(responseTimeMs);
      });
    }
    // autocannon stops on its own after `duration`; this only guards against a run that never ends.
    watchdog = setTimeout(() => instance.stop(), (opts.duration + (opts.timeout ?? 10) + 10) * 1000);
    watchdog.unref();
  });
}

export interface HttpCeilingOptions {
  /** One autocannon run per entry (default [1, 10, 100]). */
  connections?: readonly number[];
  /** Measured seconds per run (default 3). */
  durationS?: number;
  /** Warm-up seconds before each run (default 0.5). */
  warmupS?: number;
  /** Request body (default DEBIT_REQUEST_BODY). */
  body?: string;
  /** Send a unique Idempotency-Key per request, as the product benchmark must (default true). */
  uniqueKeys?: boolean;
  /** Seconds to wait for the child server to report its port (default 10). */
  startTimeoutS?: number;
}

const SERVER_SCRIPT = fileURLToPath(new URL('./ceiling-http-server.mjs', import.meta.url));

export async function measureHttpCeiling(options: HttpCeilingOptions = {}): Promise<CeilingRecord[]> {
  const connectionCounts = options.connections ?? [1, 10, 100];
  const durationS = positive(options.durationS, 3, 'durationS');
  const warmupS = nonNegative(options.warmupS, 0.5, 'warmupS');
  const body = options.body ?? DEBIT_REQUEST_BODY;
  const uniqueKeys = options.uniqueKeys ?? true;
  const startTimeoutS = positive(options.startTimeoutS, 10, 'startTimeoutS');
  // The child's own exit deadline: every planned run, plus generous slack for timeouts and teardown.
  const lifetimeS = Math.ceil(connectionCounts.length * (durationS + warmupS + 25) + startTimeoutS + 30);

  const server = await startChildServer(SERVER_SCRIPT, [String(lifetimeS)], startTimeoutS);
  try {
    const records: CeilingRecord[] = [];
    for (const connections of connectionCounts) {
      records.push(
        await measureAutocannon(`http://127.0.0.1:${server.port}/debit`, {
          connections,
          durationS,
          warmupS,
          body,
          headers: { ...JSON_HEADERS },
          ...(uniqueKeys ? { setupRequest: uniqueIdempotencyKey() } : {}),
          name: `http.bare_node_post.c${connections}`,
          backend: 'http',
          params: { server: 'node:http child process', unique_idempotency_keys: uniqueKeys },
        }),
      );
    }
    return records;
  } finally {
    await server.stop();
  }
}

interface ChildServer {
  port: number;
  stop: () => Promise<void>;
}

/**
 * Forks a server script with an IPC channel and waits for its `{ port }` message. The returned `stop` (and,
 * as a last resort, this process's `exit` hook) kills it; the IPC channel also makes the child exit when
 * this process dies.
 */
async function startChildServer(script: string, args: string[], startTimeoutS: number): Promise<ChildServer> {
  // execArgv: [] so the child runs plain node, without this process's tsx loader.
  const child: ChildProcess = fork(script, args, { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const killNow = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killNow);

  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const stop = async (): Promise<void> => {
    process.removeListener('exit', killNow);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(killNow, 3000);
      await exited;
      clearTimeout(timer);
    }
  };

  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`child server did not report a port within ${startTimeoutS} s`)),
        startTimeoutS * 1000,
      );
      child.once('message', (message: unknown) => {
        clearTimeout(timer);
        const port = (message as { port?: unknown } | null)?.port;
        if (typeof port === 'number' && port > 0) resolve(port);
        else reject(new Error(`child server sent an unexpected first message: ${JSON.stringify(message)}`));
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`child server exited before listening (code ${code}, signal ${signal})`));
      });
    });
    return { port, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
