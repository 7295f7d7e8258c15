/**
 * An expected race is a refusal of that one command, never a failed batch: a customer created
 * twice (twice in one batch, or by two processes at once on PostgreSQL) answers the later create
 * `customer_exists`, while the other commands of its batch commit in the same transaction — one
 * batch, not a failure followed by every command run again alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiResponse, TestServer } from '../../../../test/harness.ts';
import { backend, seedCustomer, startTestServer, testConfig } from '../../../../test/harness.ts';
import type { RunningServer } from '../../../app.ts';
import { startServer } from '../../../app.ts';
import { createLogger } from '../../http/logger.ts';
import { batchTotals, holdWriter, untilWaiting } from './writer-gate.ts';

const payers = ['payer-1', 'payer-2'];

async function seedPayers(server: TestServer): Promise<void> {
  for (const payer of payers) {
    await seedCustomer(server, payer);
    const granted = await server.call('POST', '/v1/grants', {
      customer: payer,
      asset: 'credits',
      amount: '100',
      category: 'paid',
    });
    assert.equal(granted.status, 201, granted.text);
  }
}

function debit(server: TestServer, customer: string): Promise<ApiResponse> {
  return server.call('POST', '/v1/debits', { customer, asset: 'credits', amount: '1' });
}

async function balanceOf(server: TestServer, customer: string): Promise<string> {
  const reply = await server.call('GET', `/v1/customers/${customer}/balances?asset=credits`);
  assert.equal(reply.status, 200, reply.text);
  return reply.body.balances[0].balance;
}

describe('races: one customer created twice in one batch', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ postgresWritersMax: 1 });
    await seedPayers(server);
  });
  after(async () => {
    await server.close();
  });

  it('refuses the second create and commits the rest of the batch', async () => {
    const { committer } = server.server.service;
    const gate = holdWriter(committer);
    await gate.holding;
    const before = await batchTotals(server.url);
    const replies = [
      server.call('POST', '/v1/customers', { id: 'twice' }),
      debit(server, 'payer-1'),
      server.call('POST', '/v1/customers', { id: 'twice' }),
      debit(server, 'payer-2'),
      server.call('POST', '/v1/customers', { id: 'once' }),
    ];
    await untilWaiting(committer, replies.length);
    gate.open();
    await gate.done;
    const [first, debit1, second, debit2, once] = await Promise.all(replies);
    assert.equal(first?.status, 201, first?.text);
    assert.equal(second?.status, 409, second?.text);
    assert.equal(second?.body.code, 'customer_exists');
    for (const reply of [debit1, debit2, once]) assert.equal(reply?.status, 201, reply?.text);
    const totals = await batchTotals(server.url);
    // The gate's batch and one batch of all five: a failed batch would have been run again command by command.
    assert.deepEqual(
      { batches: totals.batches - before.batches, commands: totals.commands - before.commands },
      { batches: 2, commands: 1 + replies.length },
    );
    for (const payer of payers) assert.equal(await balanceOf(server, payer), '99');
  });
});

describe('races: two processes create one customer at once (PostgreSQL, two connections)', {
  skip: backend === 'postgres' ? false : 'SQLite has one writer: two processes never hold write transactions at once',
}, () => {
  let server: TestServer;
  let other: RunningServer;
  before(async () => {
    server = await startTestServer({ postgresWritersMax: 1 });
    await seedPayers(server);
    // A second process on the same database: its own committer, its own writer connection.
    other = await startServer(testConfig(server.database.url, { postgresWritersMax: 1 }), {
      clock: server.clock,
      logger: createLogger({ level: 'silent' }),
    });
  });
  after(async () => {
    await other.close();
    await server.close();
  });

  it('refuses the create that lost the race and commits the rest of its batch', async () => {
    const { committer } = server.server.service;
    // The other process inserts the customer and keeps its transaction open.
    const otherGate = holdWriter(other.service.committer, async ({ session, now }) => {
      await session.insertMany('customers', [
        {
          environment_id: await environmentId(server),
          id: 'raced',
          name: null,
          metadata: null,
          created_at: BigInt(now),
        },
      ]);
      // Held writes are sent with the next statement (PostgreSQL): send this one now, uncommitted.
      await session.all('SELECT 1');
    });
    await otherGate.holding;
    // This process's commands queue behind a held writer, so they form one batch.
    const gate = holdWriter(committer);
    await gate.holding;
    const before = await batchTotals(server.url);
    const replies = [
      debit(server, 'payer-1'),
      server.call('POST', '/v1/customers', { id: 'raced' }),
      debit(server, 'payer-2'),
      server.call('POST', '/v1/customers', { id: 'unraced' }),
    ];
    await untilWaiting(committer, replies.length);
    gate.open();
    await gate.done;
    // The batch's insert of `raced` now waits on the other process's uncommitted row.
    await untilLockWait(server);
    otherGate.open();
    await otherGate.done;
    const [debit1, raced, debit2, unraced] = await Promise.all(replies);
    assert.equal(raced?.status, 409, raced?.text);
    assert.equal(raced?.body.code, 'customer_exists');
    for (const reply of [debit1, debit2, unraced]) assert.equal(reply?.status, 201, reply?.text);
    const totals = await batchTotals(server.url);
    assert.deepEqual(
      { batches: totals.batches - before.batches, commands: totals.commands - before.commands },
      { batches: 2, commands: 1 + replies.length },
    );
    for (const payer of payers) assert.equal(await balanceOf(server, payer), '99');
    assert.equal((await server.call('GET', '/v1/customers/raced')).status, 200);
  });
});

async function environmentId(server: TestServer): Promise<string> {
  const [row] = await server.server.database.reader.all('SELECT id FROM environments WHERE name = ?', ['live']);
  if (row === undefined) throw new Error('no live environment');
  return String(row.id);
}

/** Waits until a connection of the test database waits on a row lock. */
async function untilLockWait(server: TestServer): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [row] = await server.server.database.reader.all(
      "SELECT COUNT(*) AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    );
    if (Number(row?.waiting ?? 0) > 0) return;
    if (Date.now() > deadline) throw new Error('no connection waits on a lock');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
