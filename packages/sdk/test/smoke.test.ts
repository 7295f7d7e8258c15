/** A first round trip through the SDK against a real server: set up a wallet, debit it, and be refused with a typed error. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestServer } from '../../server/test/harness.ts';
import { adminKey, startTestServer } from '../../server/test/harness.ts';
import { Bursar, BursarError } from '../src/index.ts';

let server: TestServer;
let bursar: Bursar;

before(async () => {
  server = await startTestServer();
  bursar = new Bursar({ baseUrl: server.url, apiKey: adminKey });
});
after(() => server.close());

test('a wallet set up, debited and refused through the SDK', async () => {
  const asset = await bursar.createAsset({ code: 'credits', scale: 2 });
  assert.equal(asset.code, 'credits');
  await bursar.createCustomer({ id: 'org_1' });
  const grant = await bursar.createGrant({ customer: 'org_1', asset: 'credits', amount: '10.00', category: 'paid' });
  assert.equal(grant.remaining, '10');
  const debit = await bursar.createDebit({ customer: 'org_1', asset: 'credits', amount: '2.50' });
  assert.equal(debit.balance.available, '7.5');
  const balances = await bursar.getBalances({ customer: 'org_1', asset: 'credits' });
  assert.equal(balances.balances[0]?.available, '7.5');
  // The same call by operationId, for code that picks the operation at run time.
  const byId = await bursar.request('getBalances', { customer: 'org_1', asset: 'credits' });
  assert.deepEqual(byId, balances);

  const refusal = await bursar.createDebit({ customer: 'org_1', asset: 'credits', amount: '100' }).then(
    () => assert.fail('the debit should be refused'),
    (error: unknown) => error,
  );
  assert.ok(refusal instanceof BursarError);
  assert.equal(refusal.status, 402);
  if (refusal.code !== 'insufficient_balance') assert.fail(`unexpected code ${refusal.code}`);
  assert.equal(refusal.problem.available, '7.5');
  assert.equal(refusal.problem.requested, '100');
});
