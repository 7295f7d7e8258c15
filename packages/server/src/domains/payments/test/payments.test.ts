/**
 * Stripe payments end to end through the official SDK, pointed at a local stand-in for Stripe: a
 * Checkout top-up grants once Stripe confirms it, whatever the order or number of deliveries; a bad
 * signature changes nothing; a refund voids the unspent credit and reports what was consumed; the
 * off-session auto-recharge charges with the top-up id as idempotency key and turns a decline or a
 * required action into topup.failed. Runs on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiResponse, TestServer } from '../../../../test/harness.ts';
import { seedCustomer, startTestServer } from '../../../../test/harness.ts';
import { FakeStripe, paymentMethods } from './fake-stripe.ts';

let stripe: FakeStripe;
let server: TestServer;

async function ok(reply: Promise<ApiResponse>, status = 200): Promise<ApiResponse> {
  const answer = await reply;
  assert.equal(answer.status, status, answer.text);
  return answer;
}

before(async () => {
  stripe = await new FakeStripe().start();
  server = await startTestServer(stripe.config());
  await ok(server.call('POST', '/v1/assets', { code: 'usd', scale: 2 }), 201);
});

after(async () => {
  await server.close();
  await stripe.close();
});

/** Delivers a signed event to the webhook as Stripe does: no API key, the Stripe-Signature header. */
async function deliver(event: { body: string; signature: string }): Promise<ApiResponse> {
  const response = await fetch(`${server.url}/v1/integrations/stripe/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': event.signature },
    body: event.body,
  });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text), text, headers: response.headers };
}

async function available(customer: string): Promise<string> {
  const balances = await ok(server.call('GET', `/v1/customers/${customer}/balances`));
  return balances.body.balances[0]?.available ?? '0';
}

async function grantsOf(customer: string): Promise<{ id: string; reason: string; cost_basis: unknown }[]> {
  return (await ok(server.call('GET', `/v1/grants?customer=${customer}`))).body.data;
}

/** A customer and a Checkout top-up of 1000 credits for $10, not paid yet. */
async function startCheckout(customer: string): Promise<{ id: string; url: string }> {
  await seedCustomer(server, customer);
  const session = await ok(
    server.call('POST', '/v1/checkout-sessions', {
      customer,
      asset: 'credits',
      amount: '1000',
      price: { currency: 'usd', total: '10.00' },
      success_url: 'https://app.example/paid',
      cancel_url: 'https://app.example/cancelled',
    }),
    201,
  );
  return session.body;
}

describe('Checkout top-ups', () => {
  it('grants exactly once when Stripe confirms the payment, with what was paid as cost basis', async () => {
    const session = await startCheckout('checkout-paid');
    assert.match(session.url, /^https:\/\/checkout\.stripe\.com\//);
    const created = stripe.requests.find((request) => request.path === '/v1/checkout/sessions');
    assert.ok(created !== undefined);
    assert.equal(created.form['line_items[0][price_data][unit_amount]'], '1000');
    assert.equal(created.form['line_items[0][price_data][currency]'], 'usd');
    assert.equal(created.form['payment_intent_data[setup_future_usage]'], 'off_session');
    assert.match(created.form.customer ?? '', /^cus_/, 'a Stripe customer was created and linked');
    // Pending: nothing to spend.
    assert.equal(await available('checkout-paid'), '0');
    const refused = await server.call('POST', '/v1/debits', {
      customer: 'checkout-paid',
      asset: 'credits',
      amount: '1',
    });
    assert.equal(refused.status, 402);
    const paid = stripe.checkoutSession(session.id, {
      payment_status: 'paid',
      amount_total: 1000,
      currency: 'usd',
      payment_intent: 'pi_checkout_paid',
    });
    stripe.checkoutPaymentMethods.set('pi_checkout_paid', paymentMethods.visa);
    const receipt = await ok(deliver(stripe.signedEvent('evt_paid_1', 'checkout.session.completed', paid)));
    assert.deepEqual(receipt.body, { received: true, duplicate: false, outcome: 'granted' });
    assert.equal(await available('checkout-paid'), '1000');
    const [grant, ...others] = await grantsOf('checkout-paid');
    assert.deepEqual(others, []);
    assert.equal(grant?.reason, 'stripe checkout');
    assert.deepEqual(grant?.cost_basis, { currency: 'usd', total: '10', unit_price: '0.01' });
    const stored = await ok(server.call('GET', `/v1/checkout-sessions/${session.id}`));
    assert.equal(stored.body.status, 'paid');
    assert.equal(stored.body.grant, grant?.id);
    assert.deepEqual(stored.body.paid, { currency: 'usd', total: '10' });
    // The card Checkout saved becomes the default, so auto-recharge can charge it off-session.
    assert.equal(
      stripe.stripeCustomerOfCheckout(created.form.customer ?? '')?.default_payment_method,
      paymentMethods.visa,
    );
  });

  it('handles the same webhook three times and events out of order: one grant', async () => {
    const session = await startCheckout('checkout-async');
    const fields = { amount_total: 1000, currency: 'usd', payment_intent: 'pi_checkout_async' };
    const succeeded = stripe.signedEvent(
      'evt_async_ok',
      'checkout.session.async_payment_succeeded',
      stripe.checkoutSession(session.id, { ...fields, payment_status: 'paid' }),
    );
    // The success arrives before the completion that announced the bank debit, three times.
    const first = await ok(deliver(succeeded));
    assert.equal(first.body.outcome, 'granted');
    for (const _ of [1, 2]) {
      const again = await ok(deliver(succeeded));
      assert.deepEqual(again.body, { received: true, duplicate: true, outcome: 'granted' });
    }
    const late = [
      stripe.signedEvent(
        'evt_async_completed',
        'checkout.session.completed',
        stripe.checkoutSession(session.id, { ...fields, payment_status: 'unpaid' }),
      ),
      stripe.signedEvent(
        'evt_async_completed_paid',
        'checkout.session.completed',
        stripe.checkoutSession(session.id, { ...fields, payment_status: 'paid' }),
      ),
      stripe.signedEvent(
        'evt_async_expired',
        'checkout.session.expired',
        stripe.checkoutSession(session.id, { ...fields, payment_status: 'unpaid' }),
      ),
    ];
    const outcomes = [];
    for (const event of late) outcomes.push((await ok(deliver(event))).body.outcome);
    assert.deepEqual(outcomes, ['awaiting_payment', 'already_paid', 'already_paid']);
    assert.equal((await grantsOf('checkout-async')).length, 1);
    assert.equal(await available('checkout-async'), '1000');
  });

  it('waits for an asynchronous payment and never grants a session that expired', async () => {
    const session = await startCheckout('checkout-expired');
    const fields = { amount_total: 1000, currency: 'usd', payment_intent: null };
    const unpaid = stripe.checkoutSession(session.id, { ...fields, payment_status: 'unpaid' });
    assert.equal(
      (await ok(deliver(stripe.signedEvent('evt_exp_1', 'checkout.session.completed', unpaid)))).body.outcome,
      'awaiting_payment',
    );
    assert.equal(
      (await ok(deliver(stripe.signedEvent('evt_exp_2', 'checkout.session.expired', unpaid)))).body.outcome,
      'expired',
    );
    const paid = stripe.checkoutSession(session.id, { ...fields, payment_status: 'paid' });
    const late = await ok(deliver(stripe.signedEvent('evt_exp_3', 'checkout.session.async_payment_succeeded', paid)));
    assert.equal(late.body.outcome, 'already_expired');
    assert.deepEqual(await grantsOf('checkout-expired'), []);
    assert.equal((await ok(server.call('GET', `/v1/checkout-sessions/${session.id}`))).body.url, null);
  });

  it('refuses a bad signature with 400 and changes nothing', async () => {
    const session = await startCheckout('checkout-forged');
    const paid = stripe.checkoutSession(session.id, {
      payment_status: 'paid',
      amount_total: 1000,
      currency: 'usd',
      payment_intent: 'pi_forged',
    });
    const forged = stripe.signedEvent('evt_forged', 'checkout.session.completed', paid, 'whsec_not_the_secret');
    const refused = await deliver(forged);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, 'stripe_signature_invalid');
    const unsigned = await deliver({ body: forged.body, signature: '' });
    assert.equal(unsigned.status, 400);
    // The body altered after signing fails too.
    const genuine = stripe.signedEvent('evt_forged', 'checkout.session.completed', paid);
    const altered = await deliver({ body: genuine.body.replace('1000', '9000'), signature: genuine.signature });
    assert.equal(altered.status, 400);
    assert.deepEqual(await grantsOf('checkout-forged'), []);
    assert.equal((await ok(server.call('GET', `/v1/checkout-sessions/${session.id}`))).body.status, 'pending_payment');
    // The event id was not taken by the refused deliveries: the genuine one is handled as new.
    assert.equal((await ok(deliver(genuine))).body.duplicate, false);
  });

  it('a refund after half the credit is spent voids the rest and reports what was consumed', async () => {
    const session = await startCheckout('checkout-refund');
    const paid = stripe.checkoutSession(session.id, {
      payment_status: 'paid',
      amount_total: 1000,
      currency: 'usd',
      payment_intent: 'pi_checkout_refund',
    });
    await ok(deliver(stripe.signedEvent('evt_refund_paid', 'checkout.session.completed', paid)));
    await ok(server.call('POST', '/v1/debits', { customer: 'checkout-refund', asset: 'credits', amount: '500' }), 201);
    const partial = stripe.charge('pi_checkout_refund', { amount: 1000, amount_refunded: 100 });
    const kept = await ok(deliver(stripe.signedEvent('evt_refund_partial', 'charge.refunded', partial)));
    assert.equal(kept.body.outcome, 'partial_refund');
    assert.equal(await available('checkout-refund'), '500');
    const full = stripe.charge('pi_checkout_refund', { amount: 1000, amount_refunded: 1000 });
    const reversed = await ok(deliver(stripe.signedEvent('evt_refund_full', 'charge.refunded', full)));
    assert.equal(reversed.body.outcome, 'reversed: voided 500, consumed 500');
    assert.equal(await available('checkout-refund'), '0');
    const stored = (await ok(server.call('GET', `/v1/checkout-sessions/${session.id}`))).body;
    assert.equal(stored.status, 'reversed');
    assert.equal(stored.reversal.voided, '500');
    assert.equal(stored.reversal.consumed, '500');
    assert.equal(stored.reversal.reason, 'stripe payment pi_checkout_refund refunded');
    const dispute = { id: 'dp_1', object: 'dispute', payment_intent: 'pi_checkout_refund', charge: full.id };
    const disputed = await ok(deliver(stripe.signedEvent('evt_refund_dispute', 'charge.dispute.created', dispute)));
    assert.equal(disputed.body.outcome, 'already_reversed');
    assert.equal(await available('checkout-refund'), '0');
  });

  it("asks Stripe to send again a refund of Bursar's payment that arrives before its confirmation", async () => {
    const charge = stripe.charge('pi_not_confirmed', {
      amount: 1000,
      amount_refunded: 1000,
      metadata: { bursar_environment: 'env_x' },
    });
    const early = await deliver(stripe.signedEvent('evt_early_refund', 'charge.refunded', charge));
    assert.equal(early.status, 409);
    assert.equal(early.body.code, 'stripe_event_early');
    const foreign = stripe.charge('pi_not_ours', { amount: 1000, amount_refunded: 1000 });
    assert.equal(
      (await ok(deliver(stripe.signedEvent('evt_foreign', 'charge.refunded', foreign)))).body.outcome,
      'unknown_payment',
    );
  });

  it('prices by a unit price and refuses a price that is not whole cents, naming the field', async () => {
    await seedCustomer(server, 'checkout-priced');
    const body = {
      customer: 'checkout-priced',
      asset: 'credits',
      amount: '2500',
      price: { currency: 'usd', unit_price: '0.004' },
      success_url: 'https://app.example/paid',
      cancel_url: 'https://app.example/cancelled',
    };
    const session = await ok(server.call('POST', '/v1/checkout-sessions', body), 201);
    assert.deepEqual(session.body.price, { currency: 'usd', total: '10' });
    const before = stripe.requests.length;
    const refused = await server.call('POST', '/v1/checkout-sessions', { ...body, amount: '2501' });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.errors[0].field, 'price.unit_price');
    const unknown = await server.call('POST', '/v1/checkout-sessions', {
      ...body,
      price: { currency: 'eur', total: '1' },
    });
    assert.equal(unknown.body.errors[0].field, 'price.currency');
    assert.equal(stripe.requests.length, before, 'a refused request never reaches Stripe');
  });
});

describe('Stripe customers', () => {
  it('attaches an existing Stripe customer, or creates one once', async () => {
    await seedCustomer(server, 'linked');
    const existing = stripe.addCustomer();
    const attached = await ok(
      server.call('POST', '/v1/customers/linked/stripe-customer', { stripe_customer: existing }),
    );
    assert.deepEqual(attached.body, { customer: 'linked', stripe_customer: existing, created: false });
    const unknown = await server.call('POST', '/v1/customers/linked/stripe-customer', {
      stripe_customer: 'cus_missing',
    });
    assert.equal(unknown.status, 422);
    assert.equal(unknown.body.code, 'stripe_refused');
    await seedCustomer(server, 'created');
    const made = await ok(server.call('POST', '/v1/customers/created/stripe-customer', {}));
    assert.equal(made.body.created, true);
    const again = await ok(server.call('POST', '/v1/customers/created/stripe-customer', {}));
    assert.deepEqual(again.body, { ...made.body, created: false });
    const creations = stripe.requests.filter(
      (request) => request.path === '/v1/customers' && request.form['metadata[bursar_customer]'] === 'created',
    );
    assert.equal(creations.length, 1);
    assert.match(creations[0]?.idempotencyKey ?? '', /^bursar-customer-.+-created$/);
  });
});

describe('auto-recharge off-session', () => {
  /** A customer with a linked Stripe customer paying with `paymentMethod`, 100 credits and a rule costing $5 per 500. */
  async function armed(customer: string, paymentMethod: string): Promise<void> {
    await seedCustomer(server, customer);
    const stripeCustomer = stripe.addCustomer(paymentMethod);
    await ok(server.call('POST', `/v1/customers/${customer}/stripe-customer`, { stripe_customer: stripeCustomer }));
    await ok(server.call('POST', '/v1/grants', { customer, asset: 'credits', amount: '100', category: 'paid' }), 201);
    const rule = { enabled: true, threshold: '50', amount: '500', cost: { currency: 'usd', total: '5' } };
    await ok(server.call('POST', `/v1/customers/${customer}/wallets/credits/auto-top-up`, rule));
    await ok(server.call('POST', '/v1/debits', { customer, asset: 'credits', amount: '60' }), 201);
    await server.server.runTopUps();
  }

  async function topUpOf(customer: string) {
    const [topUp, ...others] = (await ok(server.call('GET', `/v1/customers/${customer}/wallets/credits/top-ups`))).body
      .data;
    assert.deepEqual(others, []);
    return topUp;
  }

  it('charges the default payment method with the top-up id as idempotency key', async () => {
    await armed('recharge-ok', paymentMethods.visa);
    const topUp = await topUpOf('recharge-ok');
    assert.equal(topUp.status, 'succeeded');
    const charge = stripe.requests.find(
      (request) => request.path === '/v1/payment_intents' && request.idempotencyKey === topUp.id,
    );
    assert.ok(charge !== undefined, 'charged with the top-up id as idempotency key');
    assert.equal(charge.form.off_session, 'true');
    assert.equal(charge.form.confirm, 'true');
    assert.equal(charge.form.amount, '500');
    assert.equal(charge.form.payment_method, paymentMethods.visa);
    assert.match(topUp.provider_reference, /^pi_/);
    assert.deepEqual(topUp.cost, { currency: 'usd', total: '5' });
    assert.equal(await available('recharge-ok'), '540');
  });

  it('turns a declined charge into topup.failed with the reason', async () => {
    await armed('recharge-declined', paymentMethods.declined);
    const topUp = await topUpOf('recharge-declined');
    assert.equal(topUp.status, 'failed');
    assert.equal(topUp.reason, 'card declined (insufficient_funds): Your card has insufficient funds.');
    const failed = await ok(server.call('GET', '/v1/notifications?customer=recharge-declined&type=topup.failed'));
    assert.equal(failed.body.data.length, 1);
    assert.equal(failed.body.data[0].data.reason, topUp.reason);
    assert.equal(await available('recharge-declined'), '40');
  });

  it('turns a charge that needs the customer to authenticate into topup.failed', async () => {
    await armed('recharge-3ds', paymentMethods.authenticationRequired);
    const topUp = await topUpOf('recharge-3ds');
    assert.equal(topUp.status, 'failed');
    assert.match(topUp.reason, /^requires action/);
  });

  it('fails a top-up of a customer with no Stripe customer without calling Stripe', async () => {
    await seedCustomer(server, 'recharge-unlinked');
    await ok(
      server.call('POST', '/v1/grants', {
        customer: 'recharge-unlinked',
        asset: 'credits',
        amount: '100',
        category: 'paid',
      }),
      201,
    );
    const rule = { enabled: true, threshold: '50', amount: '500', cost: { currency: 'usd', total: '5' } };
    await ok(server.call('POST', '/v1/customers/recharge-unlinked/wallets/credits/auto-top-up', rule));
    const before = stripe.requests.length;
    await ok(server.call('POST', '/v1/debits', { customer: 'recharge-unlinked', asset: 'credits', amount: '60' }), 201);
    await server.server.runTopUps();
    const topUp = await topUpOf('recharge-unlinked');
    assert.equal(topUp.status, 'failed');
    assert.match(topUp.reason, /no Stripe customer/);
    assert.equal(stripe.requests.length, before);
  });
});

describe('usage beyond credits', () => {
  it("invoices a wallet's debt at a period's end once, and repays it in Bursar", async () => {
    await seedCustomer(server, 'overage');
    const stripeCustomer = stripe.addCustomer();
    await ok(server.call('POST', '/v1/customers/overage/stripe-customer', { stripe_customer: stripeCustomer }));
    const policy = { overdraft_limit: '1000', reason: 'postpaid' };
    await ok(server.call('POST', '/v1/customers/overage/wallets/credits/policy', policy));
    await ok(
      server.call('POST', '/v1/grants', { customer: 'overage', asset: 'credits', amount: '50', category: 'paid' }),
      201,
    );
    await ok(server.call('POST', '/v1/debits', { customer: 'overage', asset: 'credits', amount: '300' }), 201);
    const path = '/v1/customers/overage/wallets/credits/stripe-overage';
    const body = { period: '2026-01', unit_price: { currency: 'usd', unit_price: '0.012' } };
    const early = await server.call('POST', path, body);
    assert.equal(early.status, 400, 'January has not ended');
    assert.equal(early.body.errors[0].field, 'period');
    server.clock.set(Date.UTC(2026, 1, 1, 0, 0, 1));
    const invoiced = await ok(server.call('POST', path, body));
    assert.equal(invoiced.body.status, 'invoiced');
    assert.equal(invoiced.body.debt, '250');
    assert.deepEqual(invoiced.body.price, { currency: 'usd', total: '3' });
    assert.match(invoiced.body.invoice_item, /^ii_/);
    const items = () => stripe.requests.filter((request) => request.path === '/v1/invoiceitems');
    assert.equal(items().length, 1);
    assert.equal(items()[0]?.form.amount, '300');
    assert.equal(items()[0]?.form.customer, stripeCustomer);
    assert.match(items()[0]?.idempotencyKey ?? '', /^bursar-overage-.+-overage-credits-2026-01$/);
    const balance = (await ok(server.call('GET', '/v1/customers/overage/balances'))).body.balances[0];
    assert.equal(balance.debt, '0', 'the invoiced debt is repaid');
    const again = await ok(server.call('POST', path, { ...body, unit_price: { currency: 'usd', unit_price: '1' } }));
    assert.deepEqual(again.body, invoiced.body, 'a period is invoiced once');
    assert.equal(items().length, 1);
    server.clock.set(Date.UTC(2026, 2, 1, 0, 0, 1));
    const nothing = await ok(server.call('POST', path, { ...body, period: '2026-02' }));
    assert.equal(nothing.body.status, 'nothing_owed');
    assert.equal(items().length, 1);
  });

  it('refuses a customer with no Stripe customer', async () => {
    await seedCustomer(server, 'overage-unlinked');
    const reply = await server.call('POST', '/v1/customers/overage-unlinked/wallets/credits/stripe-overage', {
      period: '2025-12',
      unit_price: { currency: 'usd', unit_price: '0.01' },
    });
    assert.equal(reply.status, 409);
    assert.equal(reply.body.code, 'stripe_customer_not_linked');
  });
});

describe('Stripe switched off', () => {
  it('answers 501 stripe_not_configured on every payment route', async () => {
    const off = await startTestServer();
    try {
      await seedCustomer(off, 'off');
      const link = await off.call('POST', '/v1/customers/off/stripe-customer', {});
      assert.equal(link.status, 501);
      assert.equal(link.body.code, 'stripe_not_configured');
      const webhook = await fetch(`${off.url}/v1/integrations/stripe/webhook`, { method: 'POST', body: '{}' });
      assert.equal(webhook.status, 501);
    } finally {
      await off.close();
    }
  });
});
