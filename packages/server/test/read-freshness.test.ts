/**
 * Reads answered from memory see another process's writes within the stated bound
 * (docs/performance.md, "Reads"): within 1 ms on SQLite, and on PostgreSQL at once by default or within
 * BURSAR_READ_STALENESS_MS when set. Three servers share one database; each keeps wallet state the
 * others change.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { type Child, freePort, kill, spawnServer, waitHealthy } from './child-server.ts';
import { type ApiResponse, adminKey, backend, callApi, createTestDatabase, type TestDatabase } from './harness.ts';

const stalenessMs = 250;
let database: TestDatabase;
/** 0 and 1 check every read (the default); 2 may answer from a wallet checked up to `stalenessMs` ago. */
const servers: { child: Child; url: string }[] = [];

function call(server: number, method: string, path: string, body?: unknown): Promise<ApiResponse> {
  const target = servers[server];
  if (target === undefined) throw new Error('no server');
  return callApi(target.url, method, path, body, {
    key: adminKey,
    ...(method === 'POST' ? { idempotencyKey: randomUUID() } : {}),
  });
}

/** SQLite reads may miss another process's commit for 1 ms (one reading of its data_version serves that long). */
function pastSqliteBound(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5));
}

async function balanceSeenBy(server: number, customer: string): Promise<string> {
  const reply = await call(server, 'GET', `/v1/customers/${customer}/balances?asset=credits`);
  assert.equal(reply.status, 200, reply.text);
  return reply.body.balances[0].available;
}

before(async () => {
  database = await createTestDatabase();
  for (const env of [{}, {}, { BURSAR_READ_STALENESS_MS: String(stalenessMs) }]) {
    const port = await freePort();
    const child = spawnServer(database.url, port, { env });
    const url = `http://127.0.0.1:${port}`;
    await waitHealthy(url, child);
    servers.push({ child, url });
  }
  assert.equal((await call(0, 'POST', '/v1/assets', { code: 'credits', scale: 0 })).status, 201);
  assert.equal((await call(0, 'POST', '/v1/customers', { id: 'shared' })).status, 201);
  const grant = await call(0, 'POST', '/v1/grants', {
    customer: 'shared',
    asset: 'credits',
    amount: '1000',
    category: 'paid',
  });
  assert.equal(grant.status, 201, grant.text);
});

after(async () => {
  for (const server of servers) await kill(server.child);
  await database.drop();
});

test('a read checked against the database sees the other process’s write at once', { timeout: 60_000 }, async () => {
  let expected = 1000;
  for (let round = 0; round < 15; round += 1) {
    // Warm the reader's cache, then change the wallet through the other process.
    assert.equal(await balanceSeenBy(1, 'shared'), String(expected));
    const writer = round % 2;
    const debit = await call(writer, 'POST', '/v1/debits', { customer: 'shared', asset: 'credits', amount: '3' });
    assert.equal(debit.status, 201, debit.text);
    expected -= 3;
    await pastSqliteBound();
    const reader = 1 - writer;
    assert.equal(await balanceSeenBy(reader, 'shared'), String(expected), `round ${round}`);
    const check = await call(reader, 'POST', '/v1/debits/check', { customer: 'shared', asset: 'credits', amount: '1' });
    assert.equal(check.body.available, String(expected), `round ${round}`);
  }
});

test(`with BURSAR_READ_STALENESS_MS=${stalenessMs}, a write is seen within that bound`, {
  timeout: 60_000,
}, async () => {
  for (let round = 0; round < 5; round += 1) {
    const before = Number(await balanceSeenBy(2, 'shared'));
    const debit = await call(0, 'POST', '/v1/debits', { customer: 'shared', asset: 'credits', amount: '2' });
    assert.equal(debit.status, 201, debit.text);
    const written = performance.now();
    await pastSqliteBound();
    let seen = Number(await balanceSeenBy(2, 'shared'));
    // SQLite's bound (1 ms) has passed; only PostgreSQL may lag, by up to the configured staleness.
    if (backend === 'sqlite') assert.equal(seen, before - 2, `round ${round}`);
    while (seen !== before - 2) {
      assert.ok(performance.now() - written <= stalenessMs + 200, `round ${round}: still ${seen} after the bound`);
      await new Promise((resolve) => setTimeout(resolve, 10));
      seen = Number(await balanceSeenBy(2, 'shared'));
    }
  }
});
