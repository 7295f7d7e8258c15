// An in-process Bursar on a fresh database for the engine records of bench/big-wallet.ts and
// bench/growth.ts: the ledger service and committer without HTTP, and a caller to act as.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startServer } from '../packages/server/src/app.ts';
import { parseConfig } from '../packages/server/src/config.ts';
import type { Caller } from '../packages/server/src/platform/contract.ts';

const postgresServerUrl = process.env.BURSAR_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

type Server = Awaited<ReturnType<typeof startServer>>;

export interface BenchServer {
  readonly backend: 'sqlite' | 'postgres';
  readonly service: Server['service'];
  readonly database: Server['database'];
  readonly environmentId: string;
  readonly databaseUrl: string;
  caller(requestId: string, idempotencyKey?: string): Caller;
  close(): Promise<void>;
}

export function percentile(sorted: Float64Array, fraction: number): number {
  return sorted.length === 0
    ? 0
    : (sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] as number);
}

export const ratio = (value: number, ceiling: number | undefined): number | null =>
  ceiling === undefined || ceiling === 0 ? null : Math.round((value / ceiling) * 1000) / 1000;

async function freshDatabaseUrl(backend: 'sqlite' | 'postgres'): Promise<{ url: string; drop(): Promise<void> }> {
  if (backend === 'sqlite') {
    const directory = mkdtempSync(join(tmpdir(), 'bursar-bench-'));
    return {
      url: `sqlite:${join(directory, 'bench.db')}`,
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
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: postgresServerUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await client.end();
    },
  };
}

export async function startBenchServer(backend: 'sqlite' | 'postgres'): Promise<BenchServer> {
  const database = await freshDatabaseUrl(backend);
  const config = parseConfig([], {
    BURSAR_DATABASE_URL: database.url,
    BURSAR_PORT: '0',
    BURSAR_BOOTSTRAP_KEY: `bk_live_${'B'.repeat(43)}`,
    BURSAR_LOG_LEVEL: 'silent',
    BURSAR_RATE_LIMIT_PER_SECOND: '0',
  });
  if (!config.ok) throw new Error(config.problems.join('; '));
  const server = await startServer(config.config);
  const [environment] = await server.database.reader.all("SELECT id FROM environments WHERE name = 'live'");
  const environmentId = String(environment?.id);
  return {
    backend,
    service: server.service,
    database: server.database,
    environmentId,
    databaseUrl: database.url,
    caller: (requestId, idempotencyKey) => ({
      environmentId,
      environmentName: 'live',
      apiKeyId: 'bench',
      scopes: ['admin'],
      requestId,
      idempotencyKey: idempotencyKey ?? null,
    }),
    async close() {
      await server.close();
      await database.drop();
    },
  };
}
