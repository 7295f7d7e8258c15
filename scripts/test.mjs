#!/usr/bin/env node
// Bursar's test runner (`npm test`).
//
// Runs Node's built-in test runner over every *.test.ts file under packages/*/test and packages/*/src
// (a domain's tests sit beside it, in packages/server/src/domains/<name>/test):
//   1. a SQLite pass over the whole suite (BURSAR_TEST_BACKEND=sqlite);
//   2. a PostgreSQL pass (BURSAR_TEST_BACKEND=postgres, BURSAR_TEST_DATABASE_URL set) over the
//      backend-dependent files, if PostgreSQL is reachable. Files under packages/core/ or named
//      *.core.test.ts are backend-independent and run only in the SQLite pass.
// Before the browser tests (packages/browser-tests) it builds the web apps (scripts/build-web.mjs).
// It ends with one plain line, `N passed, N failed` (summed over the passes), and exits non-zero
// if anything failed.
//
// Usage: npm test -- [--only <substring>]... [<substring>]... [--backend sqlite|postgres]
//                    [--test-concurrency=N] [--test-timeout=MS] [other --test-* flags of node]
// Environment:
//   BURSAR_TEST_DATABASE_URL       PostgreSQL URL (default postgres://postgres@127.0.0.1:5432/test)
//   BURSAR_TEST_REQUIRE_POSTGRES=1 an unreachable PostgreSQL is a failure instead of a skipped pass
//   BURSAR_TEST_PASS_TIMEOUT_S     kill a pass that runs longer than this (default 1200 s)

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
const DEFAULT_CONCURRENCY = '1'; // files share one PostgreSQL database and the machine has 2 cores
const DEFAULT_TIMEOUT_MS = '300000'; // per test: a hung test fails instead of eating CI's time budget
const PROBE_TIMEOUT_MS = 3000;
// A whole pass is killed (and counted as failed) after this long: on Node 24 a test file that leaks a
// handle (an open pool or timer) never exits, and would otherwise hang CI until its own limit.
const PASS_TIMEOUT_S = Number(process.env.BURSAR_TEST_PASS_TIMEOUT_S || 1200);
// node --test flags that take a value, so `--flag value` can be passed as two words.
const VALUE_FLAGS = new Set([
  '--test-concurrency',
  '--test-timeout',
  '--test-name-pattern',
  '--test-skip-pattern',
  '--test-shard',
]);

function usage(message) {
  if (message) process.stderr.write(`test.mjs: ${message}\n`);
  process.stderr.write(
    'usage: node scripts/test.mjs [--only <substring>]... [<substring>]... [--backend sqlite|postgres] [--test-*=...]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { only: [], backends: null, nodeFlags: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) usage(`${name} needs a value`);
      return argv[++i];
    };
    if (name === '--only') opts.only.push(value());
    else if (name === '--backend') {
      const b = value();
      if (b !== 'sqlite' && b !== 'postgres') usage(`unknown backend ${b}`);
      opts.backends = [...(opts.backends ?? []), b];
    } else if (name === '-h' || name === '--help') usage();
    else if (name.startsWith('--test-')) {
      if (name === '--test-reporter' || name === '--test-reporter-destination') {
        usage(`${name} is set by this script`);
      }
      opts.nodeFlags.set(name, VALUE_FLAGS.has(name) ? value() : inline);
    } else if (name.startsWith('-')) usage(`unknown option ${arg}`);
    else opts.only.push(arg);
  }
  if (!opts.nodeFlags.has('--test-concurrency')) opts.nodeFlags.set('--test-concurrency', DEFAULT_CONCURRENCY);
  if (!opts.nodeFlags.has('--test-timeout')) opts.nodeFlags.set('--test-timeout', DEFAULT_TIMEOUT_MS);
  return opts;
}

/** Every *.test.ts file under packages/*\/test and packages/*\/src, as sorted POSIX paths relative to the repo root. */
function findTestFiles() {
  const files = [];
  const walk = (rel) => {
    let entries;
    try {
      entries = readdirSync(path.join(ROOT, rel), { withFileTypes: true });
    } catch (err) {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return;
      throw err;
    }
    for (const e of entries) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && !e.name.startsWith('.')) walk(child);
      } else if (e.isFile() && e.name.endsWith('.test.ts')) files.push(child);
    }
  };
  for (const pkg of readdirSync(path.join(ROOT, 'packages'), { withFileTypes: true })) {
    if (!pkg.isDirectory()) continue;
    walk(`packages/${pkg.name}/test`);
    walk(`packages/${pkg.name}/src`);
  }
  return files.sort();
}

const isBackendIndependent = (file) => file.startsWith('packages/core/') || file.endsWith('.core.test.ts');

function redactUrl(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** Connects once with `pg`; resolves to null when reachable, or to the reason it is not. */
async function probePostgres(url) {
  let pg;
  try {
    // Resolve pg the way the server package does, hoisted or not.
    const require = createRequire(path.join(ROOT, 'packages/server/package.json'));
    pg = require('pg');
  } catch (err) {
    return `the pg package could not be loaded (${err.message})`;
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (err) {
    return err.message || err.code || String(err);
  } finally {
    await client.end().catch(() => {});
  }
}

let current = null; // the running child, so signals can be forwarded
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (current) current.kill(sig);
    process.exitCode = 130;
    setTimeout(() => process.exit(130), 5000).unref();
  });
}

/** The last value of a `# name N` summary line in TAP output. */
function tapCount(tap, name) {
  const matches = [...tap.matchAll(new RegExp(`^# ${name} (\\d+)\\s*$`, 'gm'))];
  return matches.length ? Number(matches[matches.length - 1][1]) : undefined;
}

async function runPass(label, files, env, opts, tmp) {
  const tapFile = path.join(tmp, `${label}.tap`);
  const args = ['--import', 'tsx', '--test'];
  for (const [flag, v] of opts.nodeFlags) args.push(v === undefined ? flag : `${flag}=${v}`);
  args.push(
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files,
  );
  console.log(`\n=== ${label} pass: ${files.length} test file(s), node ${process.version} ===`);
  const started = Date.now();
  let timedOut = false;
  const code = await new Promise((resolve) => {
    current = spawn(process.execPath, args, { cwd: ROOT, env, stdio: 'inherit' });
    const child = current;
    const watchdog = setTimeout(() => {
      timedOut = true;
      console.error(
        `\n${label} pass still running after ${PASS_TIMEOUT_S} s: stopping it (a hung test or a leaked handle?)`,
      );
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    }, PASS_TIMEOUT_S * 1000);
    current.on('exit', () => clearTimeout(watchdog));
    current.on('error', (err) => {
      console.error(`could not start node: ${err.message}`);
      resolve(1);
    });
    current.on('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
  });
  current = null;
  let tap = '';
  try {
    tap = readFileSync(tapFile, 'utf8');
  } catch {}
  const passed = tapCount(tap, 'pass') ?? 0;
  const skipped = (tapCount(tap, 'skipped') ?? 0) + (tapCount(tap, 'todo') ?? 0);
  let failed = (tapCount(tap, 'fail') ?? 0) + (tapCount(tap, 'cancelled') ?? 0);
  let note = '';
  if (timedOut) {
    failed += 1;
    note = ` (stopped after ${PASS_TIMEOUT_S} s: counted as 1 more failure)`;
  } else if (code !== 0 && failed === 0) {
    failed = 1;
    note = ` (node exited with code ${code} and reported no failing test: counted as 1 failure)`;
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`=== ${label} pass done in ${secs} s: passed ${passed}, failed ${failed}, skipped ${skipped}${note} ===`);
  return { passed, failed, skipped };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const all = findTestFiles();
  const files = opts.only.length ? all.filter((f) => opts.only.some((s) => f.includes(s))) : all;
  if (all.length === 0) {
    console.error('No test files found (packages/*/{test,src}/**/*.test.ts).');
    console.log('0 passed, 0 failed');
    return 1;
  }
  if (files.length === 0) {
    console.error(`No test file matches ${opts.only.map((s) => JSON.stringify(s)).join(' or ')}.`);
    console.log('0 passed, 0 failed');
    return 1;
  }
  // The browser tests drive the built apps: build them from the sources as they are now, so a test
  // never passes or fails against an older build.
  if (files.some((f) => f.includes(`packages${path.sep}browser-tests${path.sep}`))) {
    const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-web.mjs')], { stdio: 'inherit' });
    if (built.status !== 0) {
      console.error('The web apps failed to build (scripts/build-web.mjs): the browser tests cannot run.');
      console.log('0 passed, 1 failed');
      return 1;
    }
  }
  const backends = opts.backends ?? ['sqlite', 'postgres'];
  const requirePg = process.env.BURSAR_TEST_REQUIRE_POSTGRES === '1';
  const dbUrl = process.env.BURSAR_TEST_DATABASE_URL || DEFAULT_DATABASE_URL;
  const tmp = mkdtempSync(path.join(tmpdir(), 'bursar-test-'));
  const total = { passed: 0, failed: 0, skipped: 0 };
  const add = (r) => {
    total.passed += r.passed;
    total.failed += r.failed;
    total.skipped += r.skipped;
  };
  const started = Date.now();
  try {
    if (backends.includes('sqlite')) {
      const env = { ...process.env, BURSAR_TEST_BACKEND: 'sqlite' };
      delete env.BURSAR_TEST_DATABASE_URL;
      add(await runPass('sqlite', files, env, opts, tmp));
    }
    if (backends.includes('postgres')) {
      const pgFiles = files.filter((f) => !isBackendIndependent(f));
      if (pgFiles.length === 0) {
        console.log('\n=== postgres pass: no backend-dependent test file selected, nothing to run ===');
      } else {
        const reason = await probePostgres(dbUrl);
        if (reason === null) {
          const env = { ...process.env, BURSAR_TEST_BACKEND: 'postgres', BURSAR_TEST_DATABASE_URL: dbUrl };
          add(await runPass('postgres', pgFiles, env, opts, tmp));
        } else if (requirePg) {
          console.log(`\nPostgreSQL not reachable at ${redactUrl(dbUrl)} (${reason}).`);
          console.log(
            'BURSAR_TEST_REQUIRE_POSTGRES=1, so the missing PostgreSQL pass is a FAILURE (counted as 1 failed).',
          );
          total.failed += 1;
        } else {
          console.log(`\nPostgreSQL not reachable at ${redactUrl(dbUrl)} (${reason}): the PostgreSQL pass was SKIPPED`);
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`\nAll passes done in ${secs} s (${total.skipped} skipped or todo).`);
  console.log(`${total.passed} passed, ${total.failed} failed`);
  return total.failed > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = process.exitCode || code;
  },
  (err) => {
    console.error(err);
    console.log('0 passed, 1 failed');
    process.exitCode = 1;
  },
);
