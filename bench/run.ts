// The benchmark behind `npm run bench`: prints one JSON line per result, each product figure next
// to the raw ceiling measured in the same run, so results read as ratios (SPEC §6).
//
// Env: BURSAR_BENCH_DURATION_S (seconds per HTTP/storage variant, default 3),
//      BURSAR_BENCH_ONLY (comma-separated record-name prefixes: only those records run, with their ceilings),
//      BURSAR_BENCH_DATABASE_URL (PostgreSQL server, default postgres://postgres@127.0.0.1:5432/test).

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Wallet } from '@bursar/core';
import { decideDebit } from '@bursar/core';
import pg from 'pg';
import { startServer } from '../packages/server/src/app.ts';
import { parseConfig } from '../packages/server/src/config.ts';
import * as catalog from '../packages/server/src/domains/wallets/catalog.ts';
import * as wallets from '../packages/server/src/domains/wallets/operations.ts';
import { benchBigWallet } from './big-wallet.ts';
import type { CeilingRecord } from './ceilings.ts';
import { measureAutocannon, measureHttpCeiling, measurePostgresRawDebits, measureSqliteRawDebits } from './ceilings.ts';
import { benchLedgerGrowth } from './growth.ts';
import { benchReads } from './reads.ts';
import { benchScaleOut } from './scale-out.ts';
import { benchWrappers } from './wrappers.ts';

const durationS = Number(process.env.BURSAR_BENCH_DURATION_S ?? '3');
const postgresServerUrl = process.env.BURSAR_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const adminKey = `bk_live_${'B'.repeat(43)}`;
const customers = 1000;
const only = (process.env.BURSAR_BENCH_ONLY ?? '').split(',').filter((prefix) => prefix !== '');
/** True when BURSAR_BENCH_ONLY is unset or one of its prefixes and one of these record names overlap. */
const wanted = (...names: string[]): boolean =>
  only.length === 0 || names.some((name) => only.some((prefix) => name.startsWith(prefix) || prefix.startsWith(name)));

const emit = (record: object): void => {
  process.stdout.write(`${JSON.stringify(record)}\n`);
};
const progress = (message: string): void => {
  process.stderr.write(`[bench] ${message}\n`);
};
const ratio = (value: number, ceiling: number | undefined): number | null =>
  ceiling === undefined || ceiling === 0 ? null : Math.round((value / ceiling) * 1000) / 1000;

function percentile(sorted: Float64Array, fraction: number): number {
  return sorted.length === 0
    ? 0
    : (sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] as number);
}

/** (b) The pure decision alone: decideDebit on a wallet of 5 grants, timed call by call. */
function benchDecision(): void {
  const wallet: Wallet = {
    customer: 'c',
    asset: 'credits',
    policy: {
      overdraftLimit: 0n,
      consumptionOrder: ['priority', 'expires_at', 'created_at'],
      repayDebtFirst: true,
      lowBalanceThreshold: null,
    },
    debt: 0n,
    debtReserved: 0n,
    grants: Array.from({ length: 5 }, (_, index) => ({
      id: `grt_${index}`,
      amount: 10n ** 12n,
      remaining: 10n ** 12n,
      reserved: 0n,
      category: 'paid' as const,
      priority: index % 2,
      effectiveAt: 0,
      expiresAt: index === 4 ? null : 10 ** 13 + index,
      features: null,
      costBasis: null,
      createdAt: index,
      voidedAt: null,
    })),
    holds: [],
  };
  const context = { now: 1000, nextId: () => 'txn_x' };
  const runs = 200_000;
  const samples = new Float64Array(runs);
  let current = wallet;
  const started = process.hrtime.bigint();
  for (let index = 0; index < runs; index += 1) {
    const before = process.hrtime.bigint();
    const decision = decideDebit(current, { amount: 3n, feature: null }, context);
    if (decision.kind === 'accepted') current = decision.wallet;
    samples[index] = Number(process.hrtime.bigint() - before) / 1000;
  }
  const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
  samples.sort();
  emit({
    name: 'engine.decide_debit',
    backend: 'none',
    ops_per_s: Math.round(runs / elapsedS),
    p50_us: percentile(samples, 0.5),
    p99_us: percentile(samples, 0.99),
    grants: 5,
    target_p99_us: 100,
  });
}

interface Backend {
  readonly name: 'sqlite' | 'postgres';
  readonly databaseUrl: string;
  drop(): Promise<void>;
}

async function freshDatabase(name: 'sqlite' | 'postgres'): Promise<Backend> {
  if (name === 'sqlite') {
    const directory = mkdtempSync(join(tmpdir(), 'bursar-bench-'));
    return {
      name,
      databaseUrl: `sqlite:${join(directory, 'bench.db')}`,
      drop: async () => rmSync(directory, { recursive: true, force: true }),
    };
  }
  const database = `bursar_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgresServerUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const url = new URL(postgresServerUrl);
  url.pathname = `/${database}`;
  return {
    name,
    databaseUrl: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: postgresServerUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** Runs `bursar serve` as a child process so the load generator does not share its event loop. */
async function startChildServer(databaseUrl: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/server/src/cli.ts', 'serve'], {
    env: {
      ...process.env,
      BURSAR_DATABASE_URL: databaseUrl,
      BURSAR_PORT: String(port),
      BURSAR_BOOTSTRAP_KEY: adminKey,
      BURSAR_LOG_LEVEL: 'silent',
      BURSAR_RATE_LIMIT_PER_SECOND: '0',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let attempt = 0; attempt < 200; attempt += 1) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error('the server did not start');
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 500 });

function post(
  port: number,
  path: string,
  body: unknown,
  idempotencyKey?: string,
): Promise<{ status: number; body: unknown }> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${adminKey}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
          ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const answer = Buffer.concat(chunks).toString('utf8');
          resolve({ status: response.statusCode ?? 0, body: answer === '' ? null : JSON.parse(answer) });
        });
      },
    );
    request.on('error', reject);
    request.end(text);
  });
}

async function seed(port: number, grantEach: string): Promise<void> {
  await post(port, '/v1/assets', { code: 'credits', scale: 0 });
  for (let start = 0; start < customers; start += 100) {
    await Promise.all(
      Array.from({ length: 100 }, async (_, offset) => {
        const id = `c${start + offset}`;
        await post(port, '/v1/customers', { id });
        await post(port, '/v1/grants', { customer: id, asset: 'credits', amount: grantEach, category: 'paid' });
      }),
    );
  }
  await post(port, '/v1/customers', { id: 'hot' });
}

/** (d) 10,000 concurrent requests: on one hot wallet, then spread over all wallets; exact success counts. */
async function burst(
  port: number,
  label: string,
  pick: (index: number) => string,
  expectedSuccesses: number | null,
  backend: string,
): Promise<number> {
  const requests = 10_000;
  const started = performance.now();
  const statuses = await Promise.all(
    Array.from(
      { length: requests },
      async (_, index) =>
        (await post(port, '/v1/debits', { customer: pick(index), asset: 'credits', amount: '1' }, randomUUID())).status,
    ),
  );
  const elapsedS = (performance.now() - started) / 1000;
  const successes = statuses.filter((status) => status === 201).length;
  const serverErrors = statuses.filter((status) => status >= 500).length;
  const opsPerS = Math.round(requests / elapsedS);
  emit({
    name: `http.burst_10000.${label}`,
    backend,
    ops_per_s: opsPerS,
    requests,
    successes,
    expected_successes: expectedSuccesses,
    exact: expectedSuccesses === null ? null : successes === expectedSuccesses,
    server_errors: serverErrors,
    elapsed_s: Math.round(elapsedS * 1000) / 1000,
  });
  return opsPerS;
}

/**
 * (b) The engine in-process, without HTTP: debits through the ledger service and the group
 * committer into the real database, with `inFlight` requests outstanding at all times.
 */
async function benchInProcess(name: 'sqlite' | 'postgres', ceilings: Map<string, CeilingRecord>): Promise<void> {
  const backend = await freshDatabase(name);
  const config = parseConfig([], {
    BURSAR_DATABASE_URL: backend.databaseUrl,
    BURSAR_PORT: '0',
    BURSAR_BOOTSTRAP_KEY: adminKey,
    BURSAR_LOG_LEVEL: 'silent',
    BURSAR_RATE_LIMIT_PER_SECOND: '0',
  });
  if (!config.ok) throw new Error(config.problems.join('; '));
  const server = await startServer(config.config);
  try {
    const [environment] = await server.database.reader.all("SELECT id FROM environments WHERE name = 'live'");
    const caller = (requestId: string, idempotencyKey: string | null) => ({
      environmentId: String(environment?.id),
      environmentName: 'live',
      apiKeyId: 'bench',
      scopes: ['admin' as const],
      requestId,
      idempotencyKey,
    });
    await catalog.createAsset(server.service, caller('seed', null), { code: 'credits', scale: 0 });
    for (let index = 0; index < customers; index += 1) {
      await catalog.createCustomer(server.service, caller('seed', null), { id: `c${index}` });
      await wallets.createGrant(server.service, caller('seed', null), {
        customer: `c${index}`,
        asset: 'credits',
        amount: '1000000000',
        category: 'paid',
      });
    }
    for (const inFlight of [1, 100, 1000]) {
      const samples: number[] = [];
      let counter = 0;
      const deadline = performance.now() + durationS * 1000;
      const worker = async () => {
        while (performance.now() < deadline) {
          counter += 1;
          const started = performance.now();
          const reply = await wallets.createDebit(server.service, caller(`r${counter}`, `k-${inFlight}-${counter}`), {
            customer: `c${counter % customers}`,
            asset: 'credits',
            amount: '1',
          });
          if (reply.status !== 201) throw new Error(reply.bodyText);
          samples.push(performance.now() - started);
        }
      };
      const started = performance.now();
      await Promise.all(Array.from({ length: inFlight }, worker));
      const elapsedS = (performance.now() - started) / 1000;
      const sorted = Float64Array.from(samples).sort();
      const ceiling = ceilings.get(`${name}.raw_debit.batch1000`);
      const opsPerS = Math.round(samples.length / elapsedS);
      emit({
        name: `engine.in_process_debit.inflight${inFlight}`,
        backend: name,
        ops_per_s: opsPerS,
        p50_ms: percentile(sorted, 0.5),
        p99_ms: percentile(sorted, 0.99),
        ratio_to: `${name}.raw_debit.batch1000`,
        ratio: ratio(opsPerS, ceiling?.ops_per_s),
      });
    }
  } finally {
    await server.close();
    await backend.drop();
  }
}

async function benchHttpBackend(name: 'sqlite' | 'postgres', ceilings: Map<string, CeilingRecord>): Promise<void> {
  const backend = await freshDatabase(name);
  const port = 18_000 + Math.floor(Math.random() * 2000);
  const child = await startChildServer(backend.databaseUrl, port);
  try {
    progress(`${name}: seeding ${customers} customers`);
    await seed(port, '1000000000');
    for (const connections of [10, 100]) {
      if (!wanted(`http.debit.c${connections}`)) continue;
      progress(`${name}: HTTP debits at ${connections} connections`);
      let counter = 0;
      const prefix = randomUUID();
      const record = await measureAutocannon(`http://127.0.0.1:${port}/v1/debits`, {
        connections,
        durationS,
        warmupS: 0.5,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
        body: '{}',
        setupRequest: (request) => {
          counter += 1;
          request.headers['idempotency-key'] = `${prefix}-${counter}`;
          request.body = `{"customer":"c${counter % customers}","asset":"credits","amount":"1","feature":"chat.completion"}`;
          return request;
        },
        name: `http.debit.c${connections}`,
        backend: name,
      });
      const ceiling = ceilings.get(`http.bare_node_post.c${connections}`);
      emit({
        ...record,
        ratio_to: `http.bare_node_post.c${connections}`,
        ratio: ratio(Number(record.ok_per_s ?? record.ops_per_s), ceiling?.ops_per_s),
        target_ratio: name === 'sqlite' ? 0.75 : 0.5,
      });
    }
    await benchReads({
      port,
      serverPid: child.pid,
      backend: name,
      adminKey,
      customers,
      durationS,
      ceilings,
      wanted,
      emit,
      progress,
      post: (path, body) => post(port, path, body),
    });
    if (!wanted('http.burst_10000', 'http.hot_wallet')) return;
    progress(`${name}: 10,000 concurrent requests, spread and hot`);
    const spread = await burst(port, 'spread', (index) => `c${index % customers}`, 10_000, name);
    await post(port, '/v1/grants', { customer: 'hot', asset: 'credits', amount: '5000', category: 'paid' });
    const hot = await burst(port, 'hot_wallet', () => 'hot', 5000, name);
    const naive = ceilings.get('postgres.naive_hot_row.c16');
    emit({
      name: 'http.hot_wallet.ratios',
      backend: name,
      hot_to_spread: ratio(hot, spread),
      target_hot_to_spread: 0.8,
      hot_to_naive_postgres_hot_row: ratio(hot, naive?.ops_per_s),
      target_to_naive: 10,
    });
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await backend.drop();
  }
}

/**
 * Batch ingestion: requests of 1,000 usage events, each rated, debited, ledgered and deduplicated,
 * two requests in flight, against the real server as a child process.
 */
async function benchIngestion(name: 'sqlite' | 'postgres', ceilings: Map<string, CeilingRecord>): Promise<void> {
  const backend = await freshDatabase(name);
  const port = 20_000 + Math.floor(Math.random() * 2000);
  const child = await startChildServer(backend.databaseUrl, port);
  try {
    progress(`${name}: ingestion, seeding`);
    await seed(port, '1000000000000');
    await post(port, '/v1/features', { key: 'chat', quantities: { tokens: { property: 'tokens' } } });
    await post(port, '/v1/price-books', { key: 'standard', default: true });
    await post(port, '/v1/price-books/standard/versions', {
      prices: [
        {
          feature: 'chat',
          options: [
            {
              asset: 'credits',
              components: [{ quantity: 'tokens', rates: [{ per_unit: { unit_price: '1', per: 1000 } }] }],
            },
          ],
        },
      ],
    });
    const batchSize = 1000;
    let sent = 0;
    let accepted = 0;
    const prefix = randomUUID();
    const deadline = performance.now() + durationS * 1000;
    const started = performance.now();
    const sender = async () => {
      while (performance.now() < deadline) {
        const timestamp = new Date().toISOString();
        const events = Array.from({ length: batchSize }, (_, index) => ({
          id: `${prefix}-${sent + index}`,
          customer: `c${(sent + index) % customers}`,
          feature: 'chat',
          timestamp,
          properties: { tokens: 1500 },
        }));
        sent += batchSize;
        const reply = await post(port, '/v1/events', { events });
        accepted += (reply.body as { accepted: number }).accepted;
      }
    };
    await Promise.all([sender(), sender()]);
    const elapsedS = (performance.now() - started) / 1000;
    const opsPerS = Math.round(accepted / elapsedS);
    const ceiling = ceilings.get(`${name}.raw_debit.batch1000`);
    emit({
      name: 'ingest.events',
      backend: name,
      ops_per_s: opsPerS,
      events_sent: sent,
      events_accepted: accepted,
      batch_size: batchSize,
      ratio_to: `${name}.raw_debit.batch1000`,
      ratio: ratio(opsPerS, ceiling?.ops_per_s),
      target: name === 'sqlite' ? '2 × the raw batch loop' : '100,000 events/s',
    });
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await backend.drop();
  }
}

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: postgresServerUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

const ceilings = new Map<string, CeilingRecord>();
const keep = (records: CeilingRecord[]) => {
  for (const record of records) {
    ceilings.set(record.name, record);
    emit({ ...record, kind: 'ceiling' });
  }
};
const rawNeeded = ['engine.in_process_debit', 'ingest.events'];
if (wanted('sqlite.raw_debit', ...rawNeeded)) {
  progress('raw ceilings: SQLite');
  keep(await measureSqliteRawDebits({ durationS }));
}
const withPostgres = await postgresReachable();
if (!withPostgres) {
  emit({ name: 'postgres', skipped: `PostgreSQL unreachable at ${postgresServerUrl}` });
} else if (wanted('postgres.raw_debit', 'postgres.naive_hot_row', 'http.hot_wallet', ...rawNeeded)) {
  progress('raw ceilings: PostgreSQL');
  keep(await measurePostgresRawDebits({ databaseUrl: postgresServerUrl, durationS }));
}
if (wanted('http.')) {
  progress('raw ceilings: bare node:http POST');
  keep(await measureHttpCeiling({ durationS, connections: [10, 100] }));
}
if (wanted('engine.decide_debit')) {
  progress('pure decision latency');
  benchDecision();
}
if (wanted('engine.in_process_debit')) {
  progress('sqlite: in-process engine');
  await benchInProcess('sqlite', ceilings);
  if (withPostgres) {
    progress('postgres: in-process engine');
    await benchInProcess('postgres', ceilings);
  }
}
const httpRecords = [
  'http.debit',
  'http.burst_10000',
  'http.hot_wallet',
  'http.check',
  'http.entitlement',
  'http.balance',
];
if (wanted(...httpRecords)) {
  await benchHttpBackend('sqlite', ceilings);
  if (withPostgres) await benchHttpBackend('postgres', ceilings);
}
if (wanted('ingest.events')) {
  await benchIngestion('sqlite', ceilings);
  if (withPostgres) await benchIngestion('postgres', ceilings);
}
for (const name of withPostgres ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const)) {
  if (wanted('engine.big_wallet')) await benchBigWallet(name, emit, progress);
  if (wanted('engine.ledger_growth')) await benchLedgerGrowth(name, durationS, emit, progress);
}
if (withPostgres && wanted('postgres.scale_out')) {
  await benchScaleOut({ postgresServerUrl, durationS, ceilings, emit, progress });
}
if (wanted('wrappers.')) {
  progress('model-call wrappers: added latency per call (SQLite)');
  await benchWrappers(emit);
}
agent.destroy();
