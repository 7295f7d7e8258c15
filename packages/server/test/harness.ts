/**
 * Test harness: starts a real Bursar server (real HTTP on a loopback port) on the backend named
 * by BURSAR_TEST_BACKEND — a fresh SQLite file, or a fresh PostgreSQL database on the server at
 * BURSAR_TEST_DATABASE_URL — with a manual clock, and gives typed helpers to call it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { RunningServer, ServerOptions } from '../src/app.ts';
import { startServer } from '../src/app.ts';
import type { Config } from '../src/config.ts';
import { ManualClock } from '../src/platform/clock.ts';
import { createLogger } from '../src/platform/http/logger.ts';

export const backend: 'sqlite' | 'postgres' = process.env.BURSAR_TEST_BACKEND === 'postgres' ? 'postgres' : 'sqlite';
const postgresUrl = process.env.BURSAR_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fixed, valid bootstrap key so tests know the admin key of the `live` environment. */
export const adminKey = `bk_live_${'T'.repeat(43)}`;

export const clockStart = Date.UTC(2026, 0, 1, 0, 0, 0);

export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database for one test server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (backend === 'sqlite') {
    const directory = mkdtempSync(join(tmpdir(), 'bursar-test-'));
    return {
      url: `sqlite:${join(directory, 'bursar.db')}`,
      drop: async () => rmSync(directory, { recursive: true, force: true }),
    };
  }
  const name = `bursar_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export function testConfig(databaseUrl: string, overrides: Partial<Config> = {}): Config {
  return {
    host: '127.0.0.1',
    port: 0,
    databaseUrl,
    logLevel: 'silent',
    bootstrapKey: adminKey,
    bodyBytesMax: 1024 * 1024,
    batchSizeMax: 1000,
    commitQueueMax: 20_000,
    walletCacheMax: 100_000,
    readStalenessMs: 0,
    postgresWritersMax: 4,
    holdTtlDefaultSeconds: 900,
    holdTtlMaxSeconds: 86400,
    sweepIntervalMs: 3_600_000,
    expiringSoonDays: 7,
    webhookIntervalMs: 3_600_000,
    topUpIntervalMs: 3_600_000,
    webhooksAllowPrivate: true,
    idempotencyRetentionDays: 35,
    rateLimitPerSecond: 0,
    rateLimitBurst: 1,
    corsOrigins: [],
    auditKey: 'test-audit-key-0123456789abcdefghijklmnopqrstuvwxyz',
    auditKeyFile: '/nonexistent/audit.key',
    apiKeyCacheMs: 5000,
    consoleSessionTtlSeconds: 28800,
    publicUrl: null,
    shutdownTimeoutMs: 10_000,
    stripeSecretKey: null,
    stripeWebhookSecret: null,
    stripeApiBase: null,
    ...overrides,
  };
}

export interface TestServer {
  readonly server: RunningServer;
  readonly clock: ManualClock;
  readonly database: TestDatabase;
  readonly url: string;
  /** Calls the API with the admin key (or `key`); returns status, parsed body and headers. */
  call(
    method: string,
    path: string,
    body?: unknown,
    options?: { key?: string; idempotencyKey?: string },
  ): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface ApiResponse {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected field by field
  readonly body: any;
  readonly text: string;
  readonly headers: Headers;
}

export async function startTestServer(
  overrides: Partial<Config> = {},
  options: Omit<ServerOptions, 'clock' | 'logger'> = {},
): Promise<TestServer> {
  const database = await createTestDatabase();
  const clock = new ManualClock(clockStart);
  const server = await startServer(testConfig(database.url, overrides), {
    ...options,
    clock,
    logger: createLogger({ level: 'silent' }),
  });
  const url = server.url;
  return {
    server,
    clock,
    database,
    url,
    // In-process: a socket is not the point of these calls (tests that need one use callApi or fetch).
    call: (method, path, body, options = {}) =>
      injectApi(server, method, path, body, {
        key: options.key ?? adminKey,
        ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
      }),
    async close() {
      await server.close();
      await database.drop();
    },
  };
}

function toRequestHeaders(
  body: unknown,
  options: { key: string; idempotencyKey?: string; headers?: Record<string, string> },
): Record<string, string> {
  const headers: Record<string, string> = { ...options.headers, authorization: `Bearer ${options.key}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  return headers;
}

function toApiResponse(status: number, text: string, headers: Headers): ApiResponse {
  let parsed: unknown = null;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    parsed = null;
  }
  return { status, body: parsed, text, headers };
}

async function injectApi(
  server: RunningServer,
  method: string,
  path: string,
  body: unknown,
  options: { key: string; idempotencyKey?: string },
): Promise<ApiResponse> {
  const response = await server.inject({
    method: method as 'GET',
    url: path,
    headers: toRequestHeaders(body, options),
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, String(item));
  }
  return toApiResponse(response.statusCode, response.body, headers);
}

export async function callApi(
  url: string,
  method: string,
  path: string,
  body: unknown,
  options: { key: string; idempotencyKey?: string; headers?: Record<string, string> },
): Promise<ApiResponse> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: toRequestHeaders(body, options),
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return toApiResponse(response.status, await response.text(), response.headers);
}

/** Creates the `credits` asset (scale 0 unless given) and a customer; returns nothing, asserts success. */
export async function seedCustomer(
  server: TestServer,
  customer: string,
  options: { asset?: string; scale?: number } = {},
): Promise<void> {
  const asset = options.asset ?? 'credits';
  const assetReply = await server.call('POST', '/v1/assets', { code: asset, scale: options.scale ?? 0 });
  if (assetReply.status !== 201 && assetReply.body?.code !== 'asset_exists')
    throw new Error(`seed asset: ${assetReply.text}`);
  const customerReply = await server.call('POST', '/v1/customers', { id: customer });
  if (customerReply.status !== 201 && customerReply.body?.code !== 'customer_exists')
    throw new Error(`seed customer: ${customerReply.text}`);
}

/** A printed, replayable seed for randomized tests: BURSAR_TEST_SEED overrides. */
export function testSeed(name: string): number {
  const seed =
    process.env.BURSAR_TEST_SEED === undefined
      ? Math.floor(Math.random() * 2 ** 31)
      : Number(process.env.BURSAR_TEST_SEED);
  process.stdout.write(`# ${name}: seed ${seed} (replay with BURSAR_TEST_SEED=${seed}) backend ${backend}\n`);
  return seed;
}

/** A small seeded generator (mulberry32): the same seed gives the same sequence in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
