/**
 * A renewal is booked whole or not at all (SPEC §5 invariant 8 for the scheduler): subscriptions on
 * a daily plan are created, then the server restarts two months later and is SIGKILLed at a random
 * moment from its start, while it catches up, several times. After every kill, each subscription is
 * consistent with itself (its periods, renewal events and issued grants all match its current
 * period); once it finishes, every subscription has exactly the expected periods, balance and
 * breakage, and the ledger sums to zero.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { type Child, freePort, kill, spawnServer, waitHealthy } from './child-server.ts';
import { adminKey, callApi, createTestDatabase, seededRandom, testSeed } from './harness.ts';

const subscriptions = 100;
const days = 60;
const day = 86_400_000;

test('killed while catching up a month of renewals, the scheduler leaves each renewal whole or absent', {
  timeout: 120_000,
}, async () => {
  const random = seededRandom(testSeed('scheduler crash'));
  const database = await createTestDatabase();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const call = async (method: string, path: string, body?: unknown) => {
    const reply = await callApi(url, method, path, body, { key: adminKey });
    assert.ok(reply.status < 300, `${method} ${path}: ${reply.status} ${reply.text}`);
    return reply.body;
  };
  let child: Child | null = null;
  try {
    child = spawnServer(database.url, port);
    await waitHealthy(url, child);
    await call('POST', '/v1/assets', { code: 'credits', scale: 0 });
    await call('POST', '/v1/plans', {
      id: 'daily',
      version: {
        period: { interval: 'day' },
        allowances: [{ asset: 'credits', amount: '100', rollover: { kind: 'percent', percent: '50' } }],
      },
    });
    for (let index = 0; index < subscriptions; index += 1) {
      await call('POST', '/v1/customers', { id: `c${index}` });
      await call('POST', '/v1/subscriptions', { customer: `c${index}`, plan: 'daily' });
    }
    await kill(child);
    const later = { BURSAR_TEST_CLOCK_OFFSET_MS: String(days * day + 60_000) };
    for (let cycle = 0; cycle < 4; cycle += 1) {
      child = spawnServer(database.url, port, { script: 'packages/server/test/scheduler-child.ts', env: later });
      // Not waiting for health: on SQLite the catch-up starts as soon as the server listens.
      await new Promise((resolve) => setTimeout(resolve, 300 + Math.floor(random() * 2500)));
      await kill(child);
      const caughtUp = await assertEachConsistent(database.url);
      process.stdout.write(`# kill ${cycle + 1}: ${caughtUp} of ${subscriptions} subscriptions caught up\n`);
    }
    child = spawnServer(database.url, port, { script: 'packages/server/test/scheduler-child.ts', env: later });
    await waitHealthy(url, child);
    for (let waited = 0; ; waited += 1) {
      // One page holds them all (limit 200 ≥ 100 subscriptions); a shorter page would stop waiting early.
      const listed = await call('GET', '/v1/subscriptions?limit=200');
      assert.equal(listed.data.length, subscriptions);
      if (listed.data.every((item: { current_period: { index: number } }) => item.current_period.index === days)) break;
      assert.ok(waited < 300, 'the scheduler catches up within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await assertEachConsistent(database.url);
    for (let index = 0; index < subscriptions; index += 1) {
      const balances = await call('GET', `/v1/customers/c${index}/balances?asset=credits`);
      // Each unused day rolls half of its 100 over for good: 60 × 50, plus today's 100.
      assert.equal(balances.balances[0].balance, String(days * 50 + 100), `customer c${index}`);
    }
    const totals = await query(database.url, 'SELECT asset, SUM(amount) AS total FROM entries GROUP BY asset');
    for (const row of totals) assert.equal(String(row.total), '0', 'entries of each asset sum to zero');
    const breakage = await query(database.url, "SELECT SUM(amount) AS total FROM entries WHERE account = 'expired'");
    assert.equal(String(breakage[0]?.total), String(subscriptions * days * 50));
  } finally {
    await kill(child);
    await database.drop();
  }
});

/** Every subscription's periods, renewal events and issued grants agree with its current period; returns how many are done. */
async function assertEachConsistent(databaseUrl: string): Promise<number> {
  const rows = await query(databaseUrl, 'SELECT id, customer_id, period_index FROM subscriptions');
  assert.equal(rows.length, subscriptions);
  for (const row of rows) {
    const current = Number(row.period_index);
    const periods = await query(
      databaseUrl,
      `SELECT COUNT(*) AS n FROM subscription_periods WHERE subscription_id = '${row.id}'`,
    );
    assert.equal(Number(periods[0]?.n), current + 1, `periods of ${row.id}`);
    const renewed = await query(
      databaseUrl,
      `SELECT COUNT(*) AS n FROM outbox WHERE type = 'subscription.renewed' AND customer_id = '${row.customer_id}'`,
    );
    assert.equal(Number(renewed[0]?.n), current, `renewal events of ${row.id}`);
    // The current period's allowance and the next one, issued ahead, and every one before.
    const grants = await query(
      databaseUrl,
      `SELECT COUNT(*) AS n FROM subscription_grants WHERE subscription_id = '${row.id}'`,
    );
    assert.equal(Number(grants[0]?.n), current + 2, `allowance grants of ${row.id}`);
  }
  return rows.filter((row) => Number(row.period_index) === days).length;
}

async function query(databaseUrl: string, sql: string): Promise<Record<string, unknown>[]> {
  if (databaseUrl.startsWith('sqlite:')) {
    const { openSqlite } = await import('../src/platform/storage/sqlite.ts');
    const database = await openSqlite(databaseUrl.slice('sqlite:'.length));
    try {
      return await database.reader.all(sql);
    } finally {
      await database.close();
    }
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}
