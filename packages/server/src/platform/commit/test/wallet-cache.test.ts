/**
 * The bounded wallet cache: with more wallets in play than BURSAR_WALLET_CACHE_MAX, the committer
 * never keeps more than the bound, and a seeded run of debits across all of them (each evicted and
 * loaded again many times) leaves every balance exactly where a model of the ledger says.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../../../test/harness.ts';
import { seedCustomer, seededRandom, startTestServer, testSeed } from '../../../../test/harness.ts';

const walletCacheMax = 3;
const customers = Array.from({ length: 8 }, (_, index) => `cached-${index}`);
const granted = 60n;

describe('wallet cache: bounded', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ walletCacheMax });
    for (const customer of customers) {
      await seedCustomer(server, customer);
      const reply = await server.call('POST', '/v1/grants', {
        customer,
        asset: 'credits',
        amount: String(granted),
        category: 'paid',
      });
      assert.equal(reply.status, 201, reply.text);
    }
  });
  after(async () => {
    await server.close();
  });

  it('keeps at most the bound and every balance matches the model', async () => {
    const { committer } = server.server.service;
    const random = seededRandom(testSeed('wallet cache'));
    const model = new Map(customers.map((customer) => [customer, granted]));
    for (let round = 0; round < 40; round += 1) {
      // A burst of debits on a random subset of wallets, at most one per wallet, so order within it does not matter.
      const burst = customers.filter(() => random() < 0.5);
      const amounts = burst.map(() => BigInt(1 + Math.floor(random() * 9)));
      const replies = await Promise.all(
        burst.map((customer, index) =>
          server.call('POST', '/v1/debits', { customer, asset: 'credits', amount: String(amounts[index]) }),
        ),
      );
      replies.forEach((reply, index) => {
        const customer = burst[index] as string;
        const amount = amounts[index] as bigint;
        const balance = model.get(customer) as bigint;
        if (amount <= balance) {
          assert.equal(reply.status, 201, `${customer} debit ${amount} of ${balance}: ${reply.text}`);
          assert.equal(reply.body.balance.balance, String(balance - amount));
          model.set(customer, balance - amount);
        } else {
          assert.equal(reply.status, 402, `${customer} debit ${amount} of ${balance}: ${reply.text}`);
          assert.equal(reply.body.code, 'insufficient_balance');
        }
      });
      assert.ok(committer.walletsCached <= walletCacheMax, `${committer.walletsCached} wallets cached`);
    }
    for (const customer of customers) {
      const reply = await server.call('GET', `/v1/customers/${customer}/balances?asset=credits`);
      assert.equal(reply.body.balances[0].balance, String(model.get(customer)), customer);
    }
    assert.equal(committer.walletsCached, walletCacheMax, 'the cache fills up to its bound');
  });
});
