/**
 * The sweeper books expiries for wallets nobody touches: the grant's remainder moves to
 * `expired` and an expired hold ends, each exactly once, while balances already showed both.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { seedCustomer, startTestServer, type TestServer } from '../../../../test/harness.ts';

let server: TestServer;

before(async () => {
  server = await startTestServer();
  await seedCustomer(server, 'idle');
});

after(async () => {
  await server.close();
});

test('due expiries are booked by the sweeper, once', async () => {
  const grant = await server.call('POST', '/v1/grants', {
    customer: 'idle',
    asset: 'credits',
    amount: '100',
    category: 'promotional',
    expires_at: '2026-01-02T00:00:00Z',
  });
  assert.equal(grant.status, 201, grant.text);
  assert.equal(
    (await server.call('POST', '/v1/grants', { customer: 'idle', asset: 'credits', amount: '50', category: 'paid' }))
      .status,
    201,
  );
  const hold = await server.call('POST', '/v1/holds', {
    customer: 'idle',
    asset: 'credits',
    amount: '30',
    ttl_seconds: 600,
  });
  assert.equal(hold.status, 201, hold.text);
  assert.equal(await server.server.sweep(), 0, 'nothing is due yet');

  server.clock.advance(2 * 86_400_000);
  const live = await server.call('GET', '/v1/customers/idle/balances');
  assert.equal(live.body.balances[0].balance, '50', 'the live balance already leaves the expired grant out');
  assert.equal(
    (await server.call('GET', '/v1/transactions?kind=expire')).body.data.length,
    0,
    'nothing booked before the sweep',
  );

  assert.equal(await server.server.sweep(), 1);
  const expired = await server.call('GET', '/v1/transactions?kind=expire');
  assert.equal(expired.body.data.length, 1);
  assert.equal(expired.body.data[0].amount, '100', 'the hold was released first, so the whole remainder expired');
  assert.equal((await server.call('GET', '/v1/transactions?kind=hold_expire')).body.data.length, 1);
  assert.equal((await server.call('GET', `/v1/holds/${hold.body.hold.id}`)).body.status, 'expired');

  assert.equal(await server.server.sweep(), 0, 'a second sweep finds nothing');
  assert.equal((await server.call('GET', '/v1/transactions?kind=expire')).body.data.length, 1);
  assert.equal((await server.call('GET', '/v1/customers/idle/balances')).body.balances[0].balance, '50');
});
