// Ledger growth (SPEC §6): in-process debit and balance-read throughput with 10k ledger
// transactions, then again each time the ledger has grown tenfold, up to what the seeding can write
// in its time budget (the target is 10M). The rows grown are what debits leave behind (a
// transaction, its two entries and an idempotency key with a random key), spread over the same
// 1,000 customers the debits go to, written with set-based statements rather than one by one.

import pg from 'pg';
import * as catalog from '../packages/server/src/domains/wallets/catalog.ts';
import * as wallets from '../packages/server/src/domains/wallets/operations.ts';
import * as queries from '../packages/server/src/domains/wallets/queries.ts';
import type { BenchServer } from './bench-server.ts';
import { ratio, startBenchServer } from './bench-server.ts';

const customers = 1000;
const inFlight = 100;
const sizes = (process.env.BURSAR_BENCH_GROWTH_SIZES ?? '10000,100000,1000000,10000000').split(',').map(Number);
const seedBudgetS = Number(process.env.BURSAR_BENCH_GROWTH_SEED_S ?? '300');
const seedChunk = 100_000;

/**
 * Grows the ledger by up to `count` debit-shaped transactions numbered from `first`, a chunk per
 * database transaction, until `deadline`; returns how many it wrote.
 */
async function growLedger(server: BenchServer, first: number, count: number, deadline: number): Promise<number> {
  const sqlite = server.backend === 'sqlite';
  // A numbered series of `from`..`to` as rows `i` (SQLite has no generate_series built in).
  const series = sqlite
    ? 'WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?) SELECT i FROM n'
    : 'SELECT i FROM generate_series(?::bigint, ?::bigint) AS n(i)';
  const padded = sqlite ? "printf('%012d', i)" : "lpad(i::text, 12, '0')";
  const customer = sqlite ? "'c' || (i % 1000)" : "'c' || (i % 1000)::text";
  const randomKey = sqlite ? 'lower(hex(randomblob(16)))' : 'md5(random()::text || i::text)';
  let start = first;
  for (; start < first + count && performance.now() < deadline; start += seedChunk) {
    const end = Math.min(first + count, start + seedChunk) - 1;
    await server.database.writeTransaction(async (session) => {
      const params = [server.environmentId, start, end];
      // Seeded ids sort before the engine's own (time-ordered) ones, as older rows would.
      await session.run(
        `INSERT INTO transactions (environment_id, customer_id, asset, id, kind, amount, feature, hold_id, grant_id,
           reverses_id, reason, metadata, request_id, created_at)
         SELECT ?, ${customer}, 'credits', 'txn_0seed' || ${padded}, 'debit', 1, NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, 1000 + i FROM (${series}) AS s`,
        params,
      );
      for (const [position, account, amount] of [
        [0, 'grant', -1],
        [1, 'consumption', 1],
      ] as const) {
        await session.run(
          `INSERT INTO entries (environment_id, transaction_id, position, customer_id, asset, account, grant_id, amount)
           SELECT ?, 'txn_0seed' || ${padded}, ${position}, ${customer}, 'credits', '${account}',
             ${position === 0 ? "'grt_0seed'" : 'NULL'}, ${amount} FROM (${series}) AS s`,
          params,
        );
      }
      await session.run(
        `INSERT INTO idempotency_keys (environment_id, key, fingerprint, status, body, problem, created_at)
         SELECT ?, ${randomKey}, 'seed', 201, '{}', 0, 1000 + i FROM (${series}) AS s`,
        params,
      );
    });
  }
  return Math.min(start, first + count) - first;
}

/**
 * Lets the database finish what a bulk load leaves it (a WAL of gigabytes on SQLite, vacuum and
 * statistics of the grown tables on PostgreSQL) before measuring, so the measurement is of a ledger
 * of this size, not of the background work of having just loaded it in one go.
 */
async function settleAfterSeeding(server: BenchServer): Promise<void> {
  if (server.backend === 'sqlite') {
    await server.database.reader.all('PRAGMA wal_checkpoint(TRUNCATE)');
    return;
  }
  const client = new pg.Client({ connectionString: server.databaseUrl });
  await client.connect();
  try {
    await client.query('VACUUM (ANALYZE) transactions, entries, idempotency_keys');
  } finally {
    await client.end();
  }
}

/** Operations per second with `inFlight` outstanding for `durationS`. */
async function throughput(durationS: number, operation: (counter: number) => Promise<void>): Promise<number> {
  let counter = 0;
  let done = 0;
  const deadline = performance.now() + durationS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline) {
        counter += 1;
        await operation(counter);
        done += 1;
      }
    }),
  );
  return Math.round(done / ((performance.now() - started) / 1000));
}

export async function benchLedgerGrowth(
  backend: 'sqlite' | 'postgres',
  durationS: number,
  emit: (record: object) => void,
  progress: (message: string) => void,
): Promise<void> {
  const server = await startBenchServer(backend);
  const { service, caller } = server;
  try {
    await catalog.createAsset(service, caller('seed'), { code: 'credits', scale: 0 });
    for (let index = 0; index < customers; index += 1) {
      await catalog.createCustomer(service, caller('seed'), { id: `c${index}` });
      await wallets.createGrant(service, caller('seed'), {
        customer: `c${index}`,
        asset: 'credits',
        amount: '1000000000000',
        category: 'paid',
      });
    }
    // Warm the JIT and the wallet cache first, so the first size is not measured cold.
    const debit = async (label: string, counter: number) => {
      const reply = await wallets.createDebit(service, caller(`d${counter}`, `growth-${label}-${counter}`), {
        customer: `c${counter % customers}`,
        asset: 'credits',
        amount: '1',
      });
      if (reply.status !== 201) throw new Error(reply.bodyText);
    };
    const read = async (counter: number) => {
      const reply = await queries.getBalances(service, caller(`b${counter}`), `c${counter % customers}`, {});
      if (reply.status !== 200) throw new Error(reply.bodyText);
    };
    await throughput(1, (counter) => debit('warm', counter));
    await throughput(1, read);
    const points: { transactions: number; ledger_rows: number; debits_per_s: number; reads_per_s: number }[] = [];
    let seeded = 0;
    let round = 0;
    const seedingStarted = performance.now();
    const seedingDeadline = seedingStarted + seedBudgetS * 1000;
    let measuringMs = 0;
    for (const size of sizes) {
      if (size > seeded) {
        // The budget counts seeding only: time spent measuring moves the deadline on.
        if (performance.now() >= seedingDeadline + measuringMs) break;
        progress(`${backend}: ledger growth, seeding to ${size} transactions`);
        seeded += await growLedger(server, seeded, size - seeded, seedingDeadline + measuringMs);
        await settleAfterSeeding(server);
      }
      const measuringStarted = performance.now();
      round += 1;
      const debitsPerS = await throughput(durationS, (counter) => debit(String(round), counter));
      const readsPerS = await throughput(durationS, read);
      const [counted] = await service.database.reader.all(
        'SELECT (SELECT count(*) FROM transactions) AS transactions, (SELECT count(*) FROM entries) AS entries',
      );
      const transactions = Number(counted?.transactions);
      const ledgerRows = transactions + Number(counted?.entries);
      points.push({ transactions, ledger_rows: ledgerRows, debits_per_s: debitsPerS, reads_per_s: readsPerS });
      progress(`${backend}: ${transactions} transactions: ${debitsPerS} debits/s, ${readsPerS} reads/s`);
      measuringMs += performance.now() - measuringStarted;
    }
    const seedingS = (performance.now() - seedingStarted - measuringMs) / 1000;
    const first = points[0];
    const last = points[points.length - 1];
    const debitRatio = ratio(last?.debits_per_s ?? 0, first?.debits_per_s);
    const readRatio = ratio(last?.reads_per_s ?? 0, first?.reads_per_s);
    // Flat means the last size keeps at least 80% of the first size's throughput.
    const target = 0.8;
    emit({
      name: 'engine.ledger_growth',
      backend,
      points,
      largest_transactions: last?.transactions ?? 0,
      target_transactions: sizes[sizes.length - 1],
      seeding_s: Math.round(seedingS),
      debit_ratio: debitRatio,
      read_ratio: readRatio,
      ratio: Math.min(debitRatio ?? 0, readRatio ?? 0),
      ratio_to: 'the same run at the first size',
      target,
      met: (debitRatio ?? 0) >= target && (readRatio ?? 0) >= target,
    });
  } finally {
    await server.close();
  }
}
