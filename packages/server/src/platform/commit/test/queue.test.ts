/**
 * The bounded commit queue: with BURSAR_COMMIT_QUEUE_MAX commands waiting, the next write is
 * refused at once with 503 `overloaded` and a Retry-After header, and changes nothing; once the
 * queue drains, the same request (same Idempotency-Key) runs as if it had never been sent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../../../test/harness.ts';
import { seedCustomer, startTestServer } from '../../../../test/harness.ts';
import { holdWriter, untilWaiting } from './writer-gate.ts';

const queueMax = 3;

describe('commit queue: full', () => {
  let server: TestServer;
  before(async () => {
    // One writer on PostgreSQL too, so one held task stops every batch.
    server = await startTestServer({ commitQueueMax: queueMax, postgresWritersMax: 1 });
    await seedCustomer(server, 'payer');
    const granted = await server.call('POST', '/v1/grants', {
      customer: 'payer',
      asset: 'credits',
      amount: '100',
      category: 'paid',
    });
    assert.equal(granted.status, 201, granted.text);
  });
  after(async () => {
    await server.close();
  });

  it('refuses a write beyond the bound with 503 overloaded and Retry-After, and writes nothing', async () => {
    const { committer } = server.server.service;
    const gate = holdWriter(committer);
    await gate.holding;
    const queued = Array.from({ length: queueMax }, (_, index) =>
      server.call(
        'POST',
        '/v1/debits',
        { customer: 'payer', asset: 'credits', amount: '1' },
        {
          idempotencyKey: `queued-${index}`,
        },
      ),
    );
    await untilWaiting(committer, queueMax);
    const refusedDebit = await server.call(
      'POST',
      '/v1/debits',
      { customer: 'payer', asset: 'credits', amount: '5' },
      { idempotencyKey: 'refused-debit' },
    );
    const refusedCustomer = await server.call('POST', '/v1/customers', { id: 'refused' });
    for (const refused of [refusedDebit, refusedCustomer]) {
      assert.equal(refused.status, 503, refused.text);
      assert.equal(refused.body.code, 'overloaded');
      assert.match(refused.headers.get('content-type') ?? '', /application\/problem\+json/);
      const retryAfter = Number(refused.headers.get('retry-after'));
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    }
    assert.equal(committer.commandsWaiting, queueMax, 'a refused command does not wait');
    gate.open();
    await gate.done;
    for (const reply of await Promise.all(queued)) assert.equal(reply.status, 201, reply.text);

    // Nothing of the refused commands was written: no customer, no debit, no stored key.
    assert.equal((await server.call('GET', '/v1/customers/refused')).status, 404);
    const balance = await server.call('GET', '/v1/customers/payer/balances?asset=credits');
    assert.equal(balance.body.balances[0].balance, String(100 - queueMax));
    const retried = await server.call(
      'POST',
      '/v1/debits',
      { customer: 'payer', asset: 'credits', amount: '5' },
      { idempotencyKey: 'refused-debit' },
    );
    assert.equal(retried.status, 201, retried.text);
    assert.equal(retried.headers.get('idempotent-replayed'), null, 'the refusal was not stored under its key');
    assert.equal(retried.headers.get('retry-after'), null);
    const after = await server.call('GET', '/v1/customers/payer/balances?asset=credits');
    assert.equal(after.body.balances[0].balance, String(100 - queueMax - 5));
  });
});
