/**
 * The `bursar` command and its configuration: an invalid configuration stops start-up listing
 * every problem at once, `migrate` applies migrations once, and `verify` needs the audit key
 * (verify.test.ts checks what it finds).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { openDatabase } from '../src/app.ts';
import { parseConfig } from '../src/config.ts';
import { migrate } from '../src/platform/storage/migrations.ts';
import { createTestDatabase, testConfig } from './harness.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');

function bursar(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'packages/server/src/cli.ts', ...args], {
    cwd: repoRoot,
    env: { ...process.env, BURSAR_AUDIT_KEY: testConfig('sqlite::memory:').auditKey ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

test('every configuration problem is listed at once', () => {
  const parsed = parseConfig(['--port', '99999', '--nonsense', 'x'], {
    BURSAR_DATABASE_URL: 'mysql://nope',
    BURSAR_LOG_LEVEL: 'loud',
    BURSAR_BOOTSTRAP_KEY: 'not-a-key',
  });
  assert.equal(parsed.ok, false);
  const problems = parsed.ok ? [] : parsed.problems.join('\n');
  for (const expected of [
    '--nonsense',
    'BURSAR_PORT',
    'BURSAR_DATABASE_URL',
    'BURSAR_LOG_LEVEL',
    'BURSAR_BOOTSTRAP_KEY',
  ]) {
    assert.match(String(problems), new RegExp(expected), `names ${expected}`);
  }
});

test('CORS origins are read as a list and must be written as browsers send them', () => {
  const parsed = parseConfig([], { BURSAR_CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' });
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.config.corsOrigins, ['https://app.example.com', 'http://localhost:5173']);
  for (const origin of ['https://App.example.com', 'https://app.example.com:443', 'https://app.example.com/path']) {
    const refused = parseConfig([], { BURSAR_CORS_ORIGINS: origin });
    assert.equal(refused.ok, false, origin);
    assert.match(refused.ok ? '' : refused.problems.join('\n'), /BURSAR_CORS_ORIGINS/);
  }
  const none = parseConfig([], {});
  assert.ok(none.ok);
  assert.deepEqual(none.config.corsOrigins, []);
});

test('BURSAR_PUBLIC_URL is an http(s) URL, kept without a trailing slash; empty: null', () => {
  const parsed = parseConfig([], { BURSAR_PUBLIC_URL: 'https://billing.example.com/' });
  assert.ok(parsed.ok);
  assert.equal(parsed.config.publicUrl, 'https://billing.example.com');
  const refused = parseConfig([], { BURSAR_PUBLIC_URL: 'billing.example.com' });
  assert.equal(refused.ok, false);
  assert.match(refused.ok ? '' : refused.problems.join('\n'), /BURSAR_PUBLIC_URL/);
  const none = parseConfig([], {});
  assert.ok(none.ok);
  assert.equal(none.config.publicUrl, null);
});

test('flags win over environment variables, and defaults fill the rest', () => {
  const parsed = parseConfig(['--port=9000'], { BURSAR_PORT: '7000', BURSAR_HOST: '0.0.0.0' });
  assert.ok(parsed.ok);
  assert.equal(parsed.config.port, 9000);
  assert.equal(parsed.config.host, '0.0.0.0');
  assert.equal(parsed.config.databaseUrl, 'sqlite:./data/bursar.db');
  assert.equal(parsed.config.holdTtlDefaultSeconds, 900);
});

test('the settings other parts read: queue and cache bounds, with their defaults', () => {
  const defaults = parseConfig([], {});
  assert.ok(defaults.ok);
  assert.equal(defaults.config.commitQueueMax, 20_000);
  assert.equal(defaults.config.walletCacheMax, 100_000);
  const set = parseConfig(['--wallet-cache-max', '500'], {
    BURSAR_COMMIT_QUEUE_MAX: '64',
  });
  assert.ok(set.ok);
  assert.equal(set.config.commitQueueMax, 64);
  assert.equal(set.config.walletCacheMax, 500);
  const bad = parseConfig([], {
    BURSAR_COMMIT_QUEUE_MAX: '0',
    BURSAR_WALLET_CACHE_MAX: 'lots',
    BURSAR_HOLD_TTL_DEFAULT_SECONDS: '600',
    BURSAR_HOLD_TTL_MAX_SECONDS: '60',
    BURSAR_AUDIT_KEY: 'too-short-to-be-a-key',
  });
  assert.equal(bad.ok, false);
  const problems = bad.ok ? '' : bad.problems.join('\n');
  for (const expected of [
    /BURSAR_COMMIT_QUEUE_MAX \(--commit-queue-max\) must be an integer from 1/,
    /BURSAR_WALLET_CACHE_MAX .*got "lots"/,
    /default hold TTL/,
    /BURSAR_AUDIT_KEY \(--audit-key\) must be at least 32 characters$/m,
  ]) {
    assert.match(problems, expected);
  }
  assert.doesNotMatch(problems, /too-short-to-be-a-key/, 'a secret is never echoed');
});

test('`bursar <command> --help` lists every setting with its environment variable and default', () => {
  const run = bursar(['serve', '--help'], {});
  assert.equal(run.status, 0, run.stderr);
  const help = run.stdout.replace(/\s+/g, ' ');
  for (const expected of ['--port <value>', 'BURSAR_PORT, default 8080', 'BURSAR_WALLET_CACHE_MAX, default 100000']) {
    assert.ok(help.includes(expected), `names ${expected}`);
  }
});

test('`bursar serve` with an invalid configuration exits 2 and lists the problems', () => {
  const run = bursar(['serve'], { BURSAR_PORT: 'eighty', BURSAR_LOG_LEVEL: 'loud' });
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, /BURSAR_PORT/);
  assert.match(run.stderr, /BURSAR_LOG_LEVEL/);
});

test('migrating a database made by an older version adds the columns it lacks', async () => {
  const database = await createTestDatabase();
  const opened = await openDatabase({ databaseUrl: database.url, postgresWritersMax: 1 });
  try {
    // As an older version left it: the features table without its (nullable) name column.
    await opened.writeTransaction(async (session) => {
      await session.run(
        'CREATE TABLE features (environment_id TEXT NOT NULL, key TEXT NOT NULL, meter TEXT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (environment_id, key))',
      );
    });
    await migrate(opened, Date.now());
    await opened.writeTransaction(async (session) => {
      await session.run(
        "INSERT INTO features (environment_id, key, name, meter, created_at) VALUES ('e', 'k', 'named', '{}', 1)",
      );
    });
    const [row] = await opened.reader.all('SELECT name FROM features');
    assert.equal(row?.name, 'named');
  } finally {
    await opened.close();
    await database.drop();
  }
});

test('`bursar migrate` applies the migrations once', async () => {
  const database = await createTestDatabase();
  try {
    const first = bursar(['migrate'], { BURSAR_DATABASE_URL: database.url });
    assert.equal(first.status, 0, first.stderr);
    assert.deepEqual(JSON.parse(first.stdout), { migrated: [1, 2, 3, 4, 5, 6, 7, 8] });
    const second = bursar(['migrate'], { BURSAR_DATABASE_URL: database.url });
    assert.equal(second.status, 0, second.stderr);
    assert.deepEqual(JSON.parse(second.stdout), { migrated: [] });
  } finally {
    await database.drop();
  }
});

test("`bursar jobs` shows the scheduler's work by kind", async () => {
  const database = await createTestDatabase();
  try {
    const result = bursar(['jobs'], { BURSAR_DATABASE_URL: database.url });
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { kind: string; due?: number });
    assert.deepEqual(
      lines.map((line) => line.kind),
      ['subscription', 'expiry', 'webhook_delivery'],
    );
    assert.ok(lines.every((line) => line.due === 0));
  } finally {
    await database.drop();
  }
});

test('`bursar verify` without the audit key exits 2 and names where the key comes from; it never creates one', async () => {
  const database = await createTestDatabase();
  try {
    const keyFile = resolve(tmpdir(), `bursar-missing-${process.pid}`, 'audit.key');
    const run = bursar(['verify'], {
      BURSAR_DATABASE_URL: database.url,
      BURSAR_AUDIT_KEY: '',
      BURSAR_AUDIT_KEY_FILE: keyFile,
    });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /BURSAR_AUDIT_KEY/);
    assert.equal(existsSync(keyFile), false);
    const unknown = bursar(['verify-audit'], { BURSAR_DATABASE_URL: database.url });
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /verify, audit-head/);
  } finally {
    await database.drop();
  }
});
