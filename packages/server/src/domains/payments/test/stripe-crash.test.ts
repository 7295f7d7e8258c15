/**
 * A server killed (SIGKILL) after Stripe charged an auto top-up and before Bursar granted it: the
 * restarted server charges again with the same idempotency key (the top-up id), Stripe answers with
 * the PaymentIntent it already made, and the top-up is granted once. Runs on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Child, freePort, kill, spawnServer, waitHealthy } from '../../../../test/child-server.ts';
import { type ApiResponse, adminKey, callApi, createTestDatabase } from '../../../../test/harness.ts';
import { FakeStripe, paymentMethods } from './fake-stripe.ts';

const customer = 'crash-recharge';

async function waitFor(what: string, condition: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('a top-up Stripe charged before the server died is charged again with the same key and granted once', {
  timeout: 120_000,
}, async () => {
  const stripe = await new FakeStripe().start();
  const database = await createTestDatabase();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const start = async (): Promise<Child> => {
    const child = spawnServer(database.url, port, {
      script: 'packages/server/src/domains/payments/test/stripe-child.ts',
      env: { ...stripe.env(), BURSAR_TOP_UP_INTERVAL_MS: '50' },
    });
    await waitHealthy(url, child);
    return child;
  };
  const call = async (method: string, path: string, body?: unknown, status = 200): Promise<ApiResponse> => {
    const reply = await callApi(url, method, path, body, { key: adminKey });
    assert.equal(reply.status, status, reply.text);
    return reply;
  };
  const paymentIntentRequests = () => stripe.requests.filter((request) => request.path === '/v1/payment_intents');
  let child: Child | null = null;
  try {
    child = await start();
    await call('POST', '/v1/assets', { code: 'usd', scale: 2 }, 201);
    await call('POST', '/v1/assets', { code: 'credits', scale: 0 }, 201);
    await call('POST', '/v1/customers', { id: customer }, 201);
    const stripeCustomer = stripe.addCustomer(paymentMethods.visa);
    await call('POST', `/v1/customers/${customer}/stripe-customer`, { stripe_customer: stripeCustomer });
    await call('POST', '/v1/grants', { customer, asset: 'credits', amount: '100', category: 'paid' }, 201);
    const rule = { enabled: true, threshold: '50', amount: '500', cost: { currency: 'usd', total: '5' } };
    await call('POST', `/v1/customers/${customer}/wallets/credits/auto-top-up`, rule);
    // Stripe makes the PaymentIntent and the answer never reaches Bursar: the server dies waiting.
    stripe.hangNextPaymentIntent = true;
    await call('POST', '/v1/debits', { customer, asset: 'credits', amount: '60' }, 201);
    await waitFor('the first charge', () => paymentIntentRequests().length === 1);
    assert.equal(stripe.paymentIntentsCreated(), 1, 'Stripe charged');
    await kill(child);
    child = await start();
    const topUps = `/v1/customers/${customer}/wallets/credits/top-ups`;
    await waitFor('the top-up to settle', async () => (await call('GET', topUps)).body.data[0]?.status === 'succeeded');
    const [topUp, ...others] = (await call('GET', topUps)).body.data;
    assert.deepEqual(others, [], 'one top-up');
    const keys = paymentIntentRequests().map((request) => request.idempotencyKey);
    assert.ok(keys.length >= 2, 'charged again after the restart');
    assert.deepEqual(new Set(keys), new Set([topUp.id]), 'every charge carries the top-up id as idempotency key');
    assert.equal(stripe.paymentIntentsCreated(), 1, 'the retry made no second payment');
    const balances = await call('GET', `/v1/customers/${customer}/balances`);
    assert.equal(balances.body.balances[0].available, '540', 'one grant of 500');
    const grants = await call('GET', `/v1/grants?customer=${customer}`);
    assert.equal(grants.body.data.filter((grant: { reason: string }) => grant.reason === 'auto top-up').length, 1);
    const settled = await call('GET', `/v1/notifications?customer=${customer}&type=topup.succeeded`);
    assert.equal(settled.body.data.length, 1);
  } finally {
    await kill(child);
    await stripe.close();
    await database.drop();
  }
});
