// The scale-out curve (SPEC §6, issue 13): 1, 2 and 4 `bursar serve` processes on one PostgreSQL
// database, the same HTTP debit load spread over them, and after each run the ledger's invariants
// checked on the database itself (balances = grants − debits, no overspend, `bursar verify`).
// Two ways to spread the load: `spread` sends any customer to any process; `by_customer` sends
// each customer to one process, as a router in front of a distributed deployment would
// (docs/distribution.md), so two processes' batches never lock the same wallet.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { CeilingRecord } from './ceilings.ts';
import { measureAutocannon } from './ceilings.ts';

export interface ScaleOutOptions {
  readonly postgresServerUrl: string;
  readonly durationS: number;
  readonly ceilings: ReadonlyMap<string, CeilingRecord>;
  readonly emit: (record: object) => void;
  readonly progress: (message: string) => void;
}

const adminKey = `bk_live_${'S'.repeat(43)}`;
const auditKey = 'bench-scale-out-audit-key-0123456789abcdef';
const customers = 1000;
const grantEach = 1_000_000_000n;
/** The same load in every run: this many keep-alive connections in all, split evenly over the processes. */
const connections = 96;
const processCounts = [1, 2, 4] as const;
type Routing = 'spread' | 'by_customer';

interface RunResult {
  readonly processes: number;
  readonly routing: Routing;
  readonly okPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly acknowledged: number;
  readonly invariants: Invariants;
}

interface Invariants {
  readonly held: boolean;
  readonly granted: string;
  readonly debited: string;
  readonly balances: string;
  readonly debitsStored: number;
  readonly overspentWallets: number;
  readonly verify: 'valid' | 'invalid';
}

const rounded = (value: number) => Math.round(value * 1000) / 1000;

export async function benchScaleOut(options: ScaleOutOptions): Promise<void> {
  const runs: RunResult[] = [];
  for (const processes of processCounts) {
    // With one process both routings send the same requests to the same place: one run serves both.
    const oneProcess = runs[0]?.okPerS ?? null;
    const one = await runWith(processes, 'spread', options, oneProcess);
    runs.push(one);
    runs.push(
      processes === 1
        ? { ...one, routing: 'by_customer' }
        : await runWith(processes, 'by_customer', options, oneProcess),
    );
  }
  const curve = (routing: Routing) => runs.filter((run) => run.routing === routing);
  const ratioOf = (routing: Routing) => {
    const series = curve(routing);
    const [first, last] = [series[0]?.okPerS ?? 0, series.at(-1)?.okPerS ?? 0];
    return first === 0 ? null : rounded(last / first);
  };
  const invariantsHeld = runs.every((run) => run.invariants.held);
  // "Grows until the database is the limit": no step down beyond noise (5%) on the load as asked.
  const spread = curve('spread');
  const grows = spread.every((run, index) => index === 0 || run.okPerS >= (spread[index - 1]?.okPerS ?? 0) * 0.95);
  const ceiling = options.ceilings.get('postgres.raw_debit.one_per_txn');
  const byProcesses = (routing: Routing, value: (run: RunResult) => number) =>
    Object.fromEntries(curve(routing).map((run) => [run.processes, value(run)]));
  options.emit({
    name: 'postgres.scale_out',
    backend: 'postgres',
    ops_per_s_by_processes: byProcesses('spread', (run) => run.okPerS),
    p99_ms_by_processes: byProcesses('spread', (run) => run.p99Ms),
    by_customer_ops_per_s_by_processes: byProcesses('by_customer', (run) => run.okPerS),
    by_customer_p99_ms_by_processes: byProcesses('by_customer', (run) => run.p99Ms),
    connections,
    ratio_to: 'postgres.scale_out processes=1',
    ratio: ratioOf('spread'),
    ratio_by_customer: ratioOf('by_customer'),
    ratio_1_to_raw_one_per_txn:
      ceiling === undefined || ceiling.ops_per_s === 0 ? null : rounded((spread[0]?.okPerS ?? 0) / ceiling.ops_per_s),
    target: 'throughput grows with processes until the database is the limit; invariants hold',
    met: invariantsHeld && grows,
    invariants_held: invariantsHeld,
    shared_machine: 'servers, load generator and PostgreSQL share the same cores',
  });
}

async function runWith(
  processes: number,
  routing: Routing,
  options: ScaleOutOptions,
  oneProcess: number | null,
): Promise<RunResult> {
  const database = await freshPostgresDatabase(options.postgresServerUrl);
  const ports = Array.from({ length: processes }, (_, index) => 22_000 + Math.floor(Math.random() * 1000) * 4 + index);
  const children: ChildProcess[] = [];
  try {
    options.progress(`postgres scale-out: ${processes} process(es), ${routing}`);
    // Started together: migrations and the bootstrap run once, under the start-up lock.
    children.push(...(await Promise.all(ports.map((port) => startServer(database.url, port)))));
    await seed(ports[0] ?? 0);
    let counter = 0;
    const prefix = randomUUID();
    const sampler = sampleWaits(database.url);
    const perProcess = await Promise.all(
      ports.map((port, index) =>
        measureAutocannon(`http://127.0.0.1:${port}/v1/debits`, {
          connections: connections / processes,
          durationS: options.durationS,
          // Long enough for each new process to compile its routes before the measured seconds.
          warmupS: 1,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
          body: '{}',
          setupRequest: (request) => {
            counter += 1;
            request.headers['idempotency-key'] = `${prefix}-${counter}`;
            // by_customer: process `index` sees only the customers c ≡ index (mod processes).
            const customer = routing === 'spread' ? counter % customers : ((counter * processes) % customers) + index;
            request.body = `{"customer":"c${customer}","asset":"credits","amount":"1"}`;
            return request;
          },
          name: `postgres.scale_out.processes${processes}.${routing}.port${port}`,
          backend: 'postgres',
        }),
      ),
    );
    const waits = await sampler.stop();
    await Promise.all(children.map(stop));
    children.length = 0;
    const acknowledged = perProcess.reduce((sum, record) => sum + Number(record.ok_2xx ?? 0), 0);
    const invariants = await checkInvariants(database.url, acknowledged);
    const run: RunResult = {
      processes,
      routing,
      okPerS: rounded(perProcess.reduce((sum, record) => sum + Number(record.ok_per_s ?? 0), 0)),
      // The slowest process's percentiles: a request's latency does not improve by averaging.
      p50Ms: Math.max(...perProcess.map((record) => Number(record.p50_ms ?? 0))),
      p99Ms: Math.max(...perProcess.map((record) => Number(record.p99_ms ?? 0))),
      acknowledged,
      invariants,
    };
    options.emit({
      name: `postgres.scale_out.processes${processes}.${routing}`,
      backend: 'postgres',
      processes,
      routing,
      connections,
      ops_per_s: run.okPerS,
      p50_ms: run.p50Ms,
      p99_ms: run.p99Ms,
      acknowledged,
      non2xx: perProcess.reduce((sum, record) => sum + Number(record.non2xx ?? 0), 0),
      errors: perProcess.reduce((sum, record) => sum + Number(record.errors ?? 0), 0),
      ...invariants,
      ...waits,
      ratio_to: 'postgres.scale_out processes=1',
      ratio: oneProcess === null || oneProcess === 0 ? 1 : rounded(run.okPerS / oneProcess),
      target: 'the invariants hold',
      met: invariants.held,
    });
    return run;
  } finally {
    await Promise.all(children.map(stop));
    await database.drop();
  }
}

/**
 * Why a run is as fast as it is: every 50 ms, the database's backends that are running a statement
 * and, of those, the ones waiting for a row lock (another process's batch holds the wallet) or for
 * the WAL to be flushed (a commit's fsync).
 */
function sampleWaits(databaseUrl: string): {
  stop(): Promise<{ busy_backend_samples: number; lock_wait_share: number | null; wal_wait_share: number | null }>;
} {
  const client = new pg.Client({ connectionString: databaseUrl });
  const totals = { busy: 0, lock: 0, wal: 0 };
  let running = true;
  const loop = (async () => {
    await client.connect();
    while (running) {
      const { rows } = await client.query<{ wait_event_type: string | null; wait_event: string | null }>(
        `SELECT wait_event_type, wait_event FROM pg_stat_activity
         WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()`,
      );
      for (const row of rows) {
        totals.busy += 1;
        if (row.wait_event_type === 'Lock') totals.lock += 1;
        // WALSync: the commit's own fsync; WALWrite: waiting for another backend's WAL flush.
        if (row.wait_event === 'WALSync' || row.wait_event === 'WALWrite') totals.wal += 1;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await client.end();
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const share = (part: number) => (totals.busy === 0 ? null : rounded(part / totals.busy));
      return {
        busy_backend_samples: totals.busy,
        lock_wait_share: share(totals.lock),
        wal_wait_share: share(totals.wal),
      };
    },
  };
}

/**
 * Read after every server stopped: what was granted less what was debited is what the wallets
 * hold; no wallet went below zero (no overdraft was allowed); every acknowledged debit is stored;
 * `bursar verify` finds the audit chains and the ledger's own invariants intact.
 */
async function checkInvariants(databaseUrl: string, acknowledged: number): Promise<Invariants> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{
      granted: string;
      debited: string;
      balances: string;
      debits: string;
      overspent: string;
    }>(
      `SELECT (SELECT coalesce(sum(amount), 0) FROM grants)::text AS granted,
              (SELECT coalesce(sum(amount), 0) FROM transactions WHERE kind = 'debit')::text AS debited,
              (SELECT coalesce(sum(balance), 0) FROM wallets)::text AS balances,
              (SELECT count(*) FROM transactions WHERE kind = 'debit')::text AS debits,
              (SELECT count(*) FROM wallets WHERE balance < 0 OR debt > 0)::text AS overspent`,
    );
    const row = rows[0];
    if (row === undefined) throw new Error('assertion failed: an aggregate returns a row');
    const verify = (await runVerify(databaseUrl)) ? 'valid' : 'invalid';
    const debitsStored = Number(row.debits);
    const held =
      BigInt(row.granted) - BigInt(row.debited) === BigInt(row.balances) &&
      Number(row.overspent) === 0 &&
      debitsStored >= acknowledged &&
      verify === 'valid';
    return {
      held,
      granted: row.granted,
      debited: row.debited,
      balances: row.balances,
      debitsStored,
      overspentWallets: Number(row.overspent),
      verify,
    };
  } finally {
    await client.end();
  }
}

function serverEnvironment(databaseUrl: string, port: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    BURSAR_DATABASE_URL: databaseUrl,
    BURSAR_PORT: String(port),
    BURSAR_BOOTSTRAP_KEY: adminKey,
    BURSAR_AUDIT_KEY: auditKey,
    BURSAR_LOG_LEVEL: 'silent',
    BURSAR_RATE_LIMIT_PER_SECOND: '0',
  };
}

function runVerify(databaseUrl: string): Promise<boolean> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/server/src/cli.ts', 'verify'], {
    env: serverEnvironment(databaseUrl, 0),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code === 0)));
}

async function startServer(databaseUrl: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/server/src/cli.ts', 'serve'], {
    env: serverEnvironment(databaseUrl, port),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let attempt = 0; attempt < 300; attempt += 1) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error('a scale-out server did not start');
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  return exited;
}

async function call(port: number, path: string, body: unknown): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 201) throw new Error(`${path}: ${response.status} ${await response.text()}`);
}

async function seed(port: number): Promise<void> {
  await call(port, '/v1/assets', { code: 'credits', scale: 0 });
  for (let start = 0; start < customers; start += 50) {
    await Promise.all(
      Array.from({ length: 50 }, async (_, offset) => {
        const id = `c${start + offset}`;
        await call(port, '/v1/customers', { id });
        await call(port, '/v1/grants', { customer: id, asset: 'credits', amount: String(grantEach), category: 'paid' });
      }),
    );
  }
}

async function freshPostgresDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `bursar_scale_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}
