/**
 * Several Bursar processes on one database keep every invariant (issue 2, SPEC §6): two servers
 * share a wallet, an idempotency key and a hold. Each server caches wallet state; the version
 * checked under the wallet lock must make each notice the other's writes.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { type Child, freePort, kill, spawnServer, waitHealthy } from './child-server.ts';
import {
  type ApiResponse,
  adminKey,
  backend,
  callApi,
  createTestDatabase,
  type TestDatabase,
  testSeed,
} from './harness.ts';

let database: TestDatabase;
const servers: { child: Child; url: string }[] = [];

function call(
  server: number,
  method: string,
  path: string,
  body?: unknown,
  idempotencyKey?: string,
): Promise<ApiResponse> {
  const target = servers[server % servers.length];
  if (target === undefined) throw new Error('no server');
  return callApi(target.url, method, path, body, {
    key: adminKey,
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
  });
}

before(async () => {
  database = await createTestDatabase();
  for (let index = 0; index < 2; index += 1) {
    const port = await freePort();
    const child = spawnServer(database.url, port);
    const url = `http://127.0.0.1:${port}`;
    await waitHealthy(url, child);
    servers.push({ child, url });
  }
  assert.equal((await call(0, 'POST', '/v1/assets', { code: 'credits', scale: 0 })).status, 201);
});

after(async () => {
  for (const server of servers) await kill(server.child);
  await database.drop();
});

async function balanceSeenBy(server: number, customer: string): Promise<string> {
  const reply = await call(server, 'GET', `/v1/customers/${customer}/balances`);
  assert.equal(reply.status, 200, reply.text);
  return reply.body.balances[0].balance;
}

test('concurrent debits through two processes on one wallet: exactly ⌊B/c⌋ succeed', { timeout: 120_000 }, async () => {
  const seed = testSeed('processes');
  const cost = 1 + (seed % 5);
  const balance = 300 + (seed % 200);
  assert.equal((await call(0, 'POST', '/v1/customers', { id: 'shared' })).status, 201);
  // Warm both caches, so each process holds state the other will change.
  assert.equal(
    (
      await call(1, 'POST', '/v1/grants', {
        customer: 'shared',
        asset: 'credits',
        amount: String(balance),
        category: 'paid',
      })
    ).status,
    201,
  );
  assert.equal(await balanceSeenBy(0, 'shared'), String(balance));
  assert.equal(
    (await call(0, 'POST', '/v1/debits', { customer: 'shared', asset: 'credits', amount: '0.0' })).status,
    400,
  );
  const replies = await Promise.all(
    Array.from({ length: 600 }, (_, index) =>
      call(index, 'POST', '/v1/debits', { customer: 'shared', asset: 'credits', amount: String(cost) }, randomUUID()),
    ),
  );
  const statuses = replies.map((reply) => reply.status);
  assert.equal(
    statuses.filter((status) => status >= 500).length,
    0,
    replies.find((reply) => reply.status >= 500)?.text,
  );
  const expected = Math.min(600, Math.floor(balance / cost));
  assert.equal(statuses.filter((status) => status === 201).length, expected);
  assert.equal(statuses.filter((status) => status === 402).length, 600 - expected);
  const left = String(balance - expected * cost);
  assert.equal(await balanceSeenBy(0, 'shared'), left);
  assert.equal(await balanceSeenBy(1, 'shared'), left);
});

test('one idempotency key sent to both processes at once has one effect', { timeout: 60_000 }, async () => {
  assert.equal((await call(0, 'POST', '/v1/customers', { id: 'keyed' })).status, 201);
  assert.equal(
    (await call(0, 'POST', '/v1/grants', { customer: 'keyed', asset: 'credits', amount: '100', category: 'paid' }))
      .status,
    201,
  );
  const key = randomUUID();
  const replies = await Promise.all(
    Array.from({ length: 40 }, (_, index) =>
      call(index, 'POST', '/v1/debits', { customer: 'keyed', asset: 'credits', amount: '3' }, key),
    ),
  );
  for (const reply of replies) assert.equal(reply.status, 201, reply.text);
  assert.equal(new Set(replies.map((reply) => reply.text)).size, 1, 'every reply is the same bytes');
  assert.equal(replies.filter((reply) => reply.headers.get('idempotent-replayed') === 'true').length, 39);
  const debits = await call(1, 'GET', '/v1/transactions?customer=keyed&kind=debit');
  assert.equal(debits.body.data.length, 1);
  assert.equal(await balanceSeenBy(1, 'keyed'), '97');
});

test('captures of one hold through both processes: exactly one succeeds', { timeout: 60_000 }, async () => {
  assert.equal((await call(0, 'POST', '/v1/customers', { id: 'held' })).status, 201);
  assert.equal(
    (await call(0, 'POST', '/v1/grants', { customer: 'held', asset: 'credits', amount: '100', category: 'paid' }))
      .status,
    201,
  );
  const hold = await call(1, 'POST', '/v1/holds', { customer: 'held', asset: 'credits', amount: '40' });
  assert.equal(hold.status, 201, hold.text);
  const replies = await Promise.all(
    Array.from({ length: 60 }, (_, index) =>
      call(index, 'POST', `/v1/holds/${hold.body.hold.id}/capture`, { amount: '25' }, randomUUID()),
    ),
  );
  assert.equal(replies.filter((reply) => reply.status === 200).length, 1);
  assert.equal(replies.filter((reply) => reply.status === 409 && reply.body.code === 'hold_not_open').length, 59);
  assert.equal(await balanceSeenBy(0, 'held'), '75');
  assert.equal(await balanceSeenBy(1, 'held'), '75');
  const audit = await call(1, 'GET', '/v1/audit-events/verify');
  assert.equal(audit.body.valid, true, audit.text);
});

test('a server keeps serving after PostgreSQL drops its connections', { skip: backend !== 'postgres' }, async () => {
  assert.equal((await call(0, 'POST', '/v1/customers', { id: 'dropped' })).status, 201);
  assert.equal(
    (await call(0, 'POST', '/v1/grants', { customer: 'dropped', asset: 'credits', amount: '10', category: 'paid' }))
      .status,
    201,
  );
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  await admin.query(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
  await admin.end();
  // The batch that meets the dead connection may fail (500, nothing committed); the next one reconnects.
  const statuses: number[] = [];
  for (let attempt = 0; attempt < 3 && statuses.at(-1) !== 201; attempt += 1) {
    statuses.push(
      (await call(0, 'POST', '/v1/debits', { customer: 'dropped', asset: 'credits', amount: '1' }, randomUUID()))
        .status,
    );
  }
  assert.equal(statuses.at(-1), 201, `statuses ${statuses.join(', ')}`);
  assert.ok(
    statuses.every((status) => status === 201 || status === 500),
    `statuses ${statuses.join(', ')}`,
  );
  assert.equal(servers[0]?.child.process.exitCode, null, 'the server process is still running');
  assert.equal(await balanceSeenBy(0, 'dropped'), '9');
});
