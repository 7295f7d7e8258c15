/**
 * `bursar report revenue|margin` as a user runs it: a child process on the test server's database
 * (both backends) prints the seeded month's reports as CSV and JSON, and refuses a bad flag by name.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { TestServer } from '../../../../test/harness.ts';
import { startTestServer } from '../../../../test/harness.ts';
import { seedMonth } from './seeded-month.ts';

const repoRoot = resolve(import.meta.dirname, '../../../../../..');

describe('bursar report', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await seedMonth(server);
  });
  after(() => server.close());

  function report(args: string[]) {
    return spawnSync(
      process.execPath,
      ['--import', 'tsx', 'packages/server/src/cli.ts', 'report', ...args, '--database-url', server.database.url],
      { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 },
    );
  }

  test('revenue as CSV, with a progress bar on stderr', () => {
    const run = report(['revenue', '--from', '2026-01-01', '--to', '2026-02-01', '--format', 'csv', '--progress']);
    assert.equal(run.status, 0, run.stderr);
    const rows = parse(run.stdout, { columns: true }) as Record<string, string>[];
    assert.deepEqual(
      rows.map((row) => [
        row.period,
        row.customer,
        row.currency,
        row.opening,
        row.additions,
        row.recognized,
        row.closing,
      ]),
      [
        ['2026-01', 'alpha', 'usd', '0', '1000', '4.5', '995.5'],
        ['2026-01', 'beta', 'usd', '0', '500', '4.5', '495.5'],
        ['2026-01', 'gamma', 'usd', '0', '100', '1.65', '98.35'],
      ],
    );
    assert.match(run.stderr, /revenue \|.*\| 3\/3 grants/);
  });

  test('margin as JSON', () => {
    const run = report(['margin', '--from', '2026-01-01', '--to', '2026-02-01', '--format', 'json', '--top', '1']);
    assert.equal(run.status, 0, run.stderr);
    const body = JSON.parse(run.stdout);
    assert.deepEqual(
      body.customers.map((row: Record<string, string>) => [
        row.customer,
        row.revenue,
        row.provider_cost,
        row.margin_percent,
      ]),
      [
        ['alpha', '4.5', '1.24', '72.44'],
        ['beta', '4.5', '1.75', '61.11'],
        ['gamma', '1.65', '3.95', '-139.39'],
      ],
    );
    assert.deepEqual(
      body.top_by_cost.map((row: Record<string, string>) => row.customer),
      ['gamma'],
    );
    assert.equal(run.stderr, '', 'no progress bar when stderr is not a terminal');
  });

  test('a bad flag is named and nothing is printed', () => {
    const run = report(['margin', '--from', '2026-02-01', '--to', '2026-01-01']);
    assert.equal(run.status, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /--to: must be a later day than from/);
    const unknown = report(['forecast', '--from', '2026-01-01', '--to', '2026-02-01']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /"revenue" or "margin"/);
  });
});
