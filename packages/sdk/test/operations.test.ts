/** Every operation of the API called through the SDK against a real server, in an order that sets up what the next one needs, each answer checked on its key fields. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FakeStripe } from '../../server/src/domains/payments/test/fake-stripe.ts';
import type { TestServer } from '../../server/test/harness.ts';
import { adminKey, startTestServer } from '../../server/test/harness.ts';
import type { OperationId } from '../src/index.ts';
import { Bursar, operationTable } from '../src/index.ts';

let server: TestServer;
let stripe: FakeStripe;
const sent = new Set<OperationId>();

/** The operation a request is, from its method and path, as the operation table's templates say. */
function operationOf(method: string, url: string): OperationId | undefined {
  const { pathname } = new URL(url);
  for (const [id, row] of Object.entries(operationTable)) {
    const pattern = new RegExp(`^${row.path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (row.method === method && pattern.test(pathname)) return id as OperationId;
  }
  return undefined;
}

before(async () => {
  stripe = await new FakeStripe().start();
  server = await startTestServer(stripe.config());
});
after(async () => {
  await server.close();
  await stripe.close();
});

test('every operation answers through the SDK', async () => {
  const bursar = new Bursar({
    baseUrl: server.url,
    apiKey: adminKey,
    fetch: async (url, init) => {
      const response = await fetch(url, init);
      const id = operationOf(init?.method ?? 'GET', String(url));
      if (id !== undefined && response.ok) sent.add(id);
      return response;
    },
  });
  const now = () => new Date(server.clock.now()).toISOString();

  // Access: environments and keys.
  assert.equal((await bursar.createEnvironment({ name: 'staging' })).name, 'staging');
  assert.ok((await bursar.listEnvironments()).data.some((environment) => environment.name === 'staging'));
  const key = await bursar.createApiKey({ name: 'reader', scopes: ['read'] });
  assert.deepEqual(key.scopes, ['read']);
  assert.ok((await bursar.listApiKeys()).data.some((each) => each.id === key.id));
  assert.equal((await bursar.revokeApiKey({ id: key.id })).id, key.id);
  const current = await bursar.getCurrentApiKey();
  assert.deepEqual([current.scopes, current.environment.name, 'key' in current], [['owner'], 'live', false]);

  // Assets, customers, grants, balances.
  assert.equal((await bursar.createAsset({ code: 'credits', scale: 0 })).scale, 0);
  await bursar.createAsset({ code: 'usd', scale: 2 });
  assert.equal((await bursar.listAssets()).data.length, 2);
  assert.equal((await bursar.createCustomer({ id: 'acme' })).id, 'acme');
  await bursar.createCustomer({ id: 'globex', name: 'Globex', metadata: { plan: 'pro' } });
  assert.equal((await bursar.getCustomer({ customer: 'globex' })).name, 'Globex');
  assert.equal((await bursar.listCustomers({ limit: 1 })).data.length, 1);
  const grant = await bursar.createGrant({
    customer: 'acme',
    asset: 'credits',
    amount: '100',
    category: 'paid',
    expires_at: '2026-06-01T00:00:00Z',
    cost_basis: { currency: 'usd', total: '12.5' },
  });
  assert.equal(grant.remaining, '100');
  await bursar.createGrant({ customer: 'acme', asset: 'credits', amount: '50', category: 'promotional' });
  assert.equal((await bursar.getGrant({ id: grant.id })).amount, '100');
  assert.equal((await bursar.listGrants({ customer: 'acme', status: 'active' })).data.length, 2);
  const policy = await bursar.updateWalletPolicy({
    customer: 'acme',
    asset: 'credits',
    overdraft_limit: '10',
    reason: 'trusted',
  });
  assert.equal(policy.overdraft_limit, '10');
  const balances = await bursar.getBalances({ customer: 'acme' });
  assert.equal(balances.balances.find((balance) => balance.asset === 'credits')?.available, '160');

  // Debits, holds, the ledger.
  const debit = await bursar.createDebit({ customer: 'acme', asset: 'credits', amount: '7', feature: 'chat' });
  assert.equal(debit.transaction.kind, 'debit');
  assert.equal(debit.balance.available, '153');
  const check = await bursar.checkDebit({ customer: 'acme', asset: 'credits', amount: '5' });
  assert.equal(check.allowed, true);
  const hold = await bursar.createHold({ customer: 'acme', asset: 'credits', amount: '20', ttl_seconds: 60 });
  assert.equal(hold.hold.amount, '20');
  assert.equal((await bursar.getHold({ id: hold.hold.id })).status, 'open');
  assert.equal((await bursar.extendHold({ id: hold.hold.id, amount: '5', ttl_seconds: 120 })).hold.amount, '25');
  const captured = await bursar.captureHold({ id: hold.hold.id, amount: '12' });
  assert.equal(captured.hold.status, 'captured');
  const second = await bursar.createHold({ customer: 'acme', asset: 'credits', amount: '3' });
  assert.equal((await bursar.releaseHold({ id: second.hold.id })).hold.status, 'released');
  const reversal = await bursar.reverseTransaction({ id: debit.transaction.id, amount: '2', reason: 'refund' });
  assert.equal(reversal.transaction.kind, 'reverse');
  const adjustment = await bursar.createAdjustment({
    customer: 'acme',
    asset: 'credits',
    amount: '4',
    reason: 'goodwill',
  });
  assert.ok(adjustment.grant !== null);
  // Previews: each dryRun answers what the call would, and changes nothing.
  const grantPreview = await bursar.createGrant.dryRun({
    customer: 'acme',
    asset: 'credits',
    amount: '5',
    category: 'paid',
  });
  assert.equal(grantPreview.result.remaining, '5');
  assert.equal(
    BigInt(grantPreview.balances_after[0]?.balance ?? '0') - BigInt(grantPreview.balances_before[0]?.balance ?? '0'),
    5n,
  );
  const adjustPreview = await bursar.createAdjustment.dryRun({
    customer: 'acme',
    asset: 'credits',
    amount: '-1',
    reason: 'x',
  });
  assert.equal(adjustPreview.result.grant, null);
  assert.equal((await bursar.voidGrant.dryRun({ id: grant.id, reason: 'chargeback' })).result.status, 'voided');
  const reversePreview = await bursar.reverseTransaction.dryRun({ id: debit.transaction.id, reason: 'refund' });
  assert.equal(reversePreview.result.transaction.kind, 'reverse');
  const policyPreview = await bursar.updateWalletPolicy.dryRun({
    customer: 'acme',
    asset: 'credits',
    overdraft_limit: '20',
  });
  assert.equal(policyPreview.result.overdraft_limit, '20');
  assert.equal((await bursar.getBalances({ customer: 'acme', asset: 'credits' })).balances[0]?.overdraft_limit, '10');
  const voided = await bursar.voidGrant({ id: grant.id, reason: 'chargeback' });
  assert.equal(voided.status, 'voided');
  // Auto top-up: a charge that crosses the threshold requests one.
  const before = await bursar.getBalances({ customer: 'acme', asset: 'credits' });
  const threshold = String(BigInt(before.balances[0]?.available ?? '0') - 1n);
  const rule = await bursar.putAutoTopUpRule({
    customer: 'acme',
    asset: 'credits',
    enabled: true,
    threshold,
    amount: '100',
    cost: { currency: 'usd', total: '9.99' },
  });
  assert.equal(rule.threshold, threshold);
  assert.equal((await bursar.getAutoTopUpRule({ customer: 'acme', asset: 'credits' })).amount, '100');
  await bursar.createAdjustment({ customer: 'acme', asset: 'credits', amount: '-3', reason: 'correction' });
  const topUps = await bursar.listTopUps({ customer: 'acme', asset: 'credits' });
  const topUp = topUps.data[0];
  assert.ok(topUp !== undefined, 'the charge under the threshold requested a top-up');
  assert.equal((await bursar.settleTopUp({ id: topUp.id, outcome: 'succeeded' })).status, 'succeeded');
  const transactions = await bursar.listTransactions({ customer: 'acme', kind: 'debit' });
  assert.deepEqual(
    transactions.data.map((transaction) => transaction.id),
    [debit.transaction.id],
  );
  assert.equal((await bursar.getTransaction({ id: debit.transaction.id })).id, debit.transaction.id);

  // Pricing and usage.
  await bursar.createFeature({
    key: 'chat',
    quantities: { input_tokens: { property: 'input_tokens' }, output_tokens: { property: 'output_tokens' } },
  });
  assert.equal((await bursar.getFeature({ key: 'chat' })).key, 'chat');
  assert.equal((await bursar.listFeatures()).data.length, 1);
  const modelPrice = await bursar.upsertModelPrice({
    model: 'gpt-x',
    input_per_million: '2.5',
    output_per_million: '10',
  });
  assert.equal(modelPrice.model, 'gpt-x');
  assert.equal((await bursar.listModelPrices()).data.length, 1);
  assert.equal((await bursar.createPriceBook({ key: 'standard', default: true })).key, 'standard');
  const version = await bursar.publishPriceVersion({
    key: 'standard',
    prices: [
      {
        feature: 'chat',
        options: [
          {
            asset: 'credits',
            components: [
              { quantity: 'input_tokens', rates: [{ per_unit: { unit_price: '1', per: 1000 } }] },
              { quantity: 'output_tokens', rates: [{ per_unit: { unit_price: '2', per: 1000 } }] },
            ],
          },
        ],
      },
    ],
  });
  assert.equal(version.versions[0]?.version, 1);
  assert.equal((await bursar.getPriceBook({ key: 'standard' })).key, 'standard');
  assert.equal((await bursar.listPriceBooks()).data.length, 1);
  const quote = await bursar.quoteCost({
    feature: 'chat',
    customer: 'acme',
    properties: { input_tokens: 2000, output_tokens: 500 },
  });
  assert.equal(quote.options[0]?.cost, '3');
  const ingested = await bursar.ingestEvents({
    events: [
      {
        id: 'evt-1',
        customer: 'acme',
        feature: 'chat',
        timestamp: now(),
        properties: { model: 'gpt-x', input_tokens: 1000, output_tokens: 1000 },
      },
    ],
  });
  assert.equal(ingested.results[0]?.status, 'accepted');
  assert.equal((await bursar.listEvents({ customer: 'acme' })).data[0]?.id, 'evt-1');
  const usage = await bursar.getUsage({
    customer: 'acme',
    from: '2025-01-01T00:00:00Z',
    to: '2027-01-01T00:00:00Z',
    granularity: 'period',
    group_by: 'model',
  });
  assert.equal(usage.customer, 'acme');
  const simulation = await bursar.simulatePricing({
    from: new Date(server.clock.now() - 86_400_000).toISOString(),
    to: new Date(server.clock.now() + 60_000).toISOString(),
    prices: [
      {
        feature: 'chat',
        options: [
          { asset: 'credits', components: [{ quantity: 'input_tokens', rates: [{ per_unit: { unit_price: '1' } }] }] },
        ],
      },
    ],
  });
  assert.equal(simulation.events, 1);

  // Webhooks and notifications.
  const endpoint = await bursar.createWebhookEndpoint({
    url: 'http://127.0.0.1:9/hooks',
    event_types: ['grant.created'],
  });
  assert.ok(endpoint.secret?.startsWith('whsec_'));
  assert.equal((await bursar.listWebhookEndpoints()).data[0]?.id, endpoint.id);
  assert.ok((await bursar.rotateWebhookSecret({ id: endpoint.id })).secret?.startsWith('whsec_'));
  assert.equal((await bursar.sendTestWebhook({ id: endpoint.id })).event_type, 'webhook.test');
  await server.server.dispatchWebhooks();
  const deliveries = await bursar.listWebhookDeliveries({ id: endpoint.id });
  const delivery = deliveries.data[0];
  assert.ok(delivery !== undefined);
  assert.equal((await bursar.redeliverWebhook({ id: delivery.id })).id, delivery.id);
  assert.ok((await bursar.listNotifications({ customer: 'acme' })).data.length > 0);

  // Plans, subscriptions, entitlements.
  const plan = await bursar.createPlan({
    id: 'pro',
    name: 'Pro',
    version: {
      period: { interval: 'month' },
      allowances: [{ asset: 'credits', amount: '1000' }],
      entitlements: [{ feature: 'sso', kind: 'boolean', enabled: true }],
    },
  });
  assert.equal(plan.id, 'pro');
  const planVersion = await bursar.publishPlanVersion({
    plan: 'pro',
    period: { interval: 'month' },
    allowances: [{ asset: 'credits', amount: '2000' }],
  });
  assert.equal(planVersion.version, 2);
  assert.equal((await bursar.getPlan({ plan: 'pro' })).id, 'pro');
  assert.equal((await bursar.listPlans()).data.length, 1);
  const subscription = await bursar.createSubscription({ customer: 'globex', plan: 'pro', version: 1 });
  assert.equal(subscription.status, 'active');
  assert.equal((await bursar.getSubscription({ id: subscription.id })).customer, 'globex');
  assert.equal((await bursar.listSubscriptions({ customer: 'globex' })).data.length, 1);
  const changePreview = await bursar.changeSubscription.dryRun({
    id: subscription.id,
    action: 'change_plan',
    plan: 'pro',
    version: 2,
    timing: 'period_end',
  });
  assert.equal(changePreview.result.pending_change?.version, 2);
  const cancelPreview = await bursar.cancelSubscription.dryRun({ id: subscription.id, timing: 'immediate' });
  assert.equal(cancelPreview.result.status, 'canceled');
  assert.equal((await bursar.getSubscription({ id: subscription.id })).status, 'active');
  const effect = await bursar.previewSubscriptionChange({
    id: subscription.id,
    action: 'change_plan',
    plan: 'pro',
    version: 2,
    timing: 'period_end',
  });
  assert.equal(effect.to.version, 2);
  const changed = await bursar.changeSubscription({
    id: subscription.id,
    action: 'change_plan',
    plan: 'pro',
    version: 2,
    timing: 'period_end',
    preview_token: effect.preview_token,
  });
  assert.equal(changed.id, subscription.id);
  assert.equal((await bursar.checkEntitlement({ customer: 'globex', feature: 'sso' })).allowed, true);
  assert.equal((await bursar.cancelSubscription({ id: subscription.id, timing: 'immediate' })).status, 'canceled');
  assert.equal((await bursar.deleteWebhookEndpoint({ id: endpoint.id })).id, endpoint.id);

  // Payments through Stripe (the stand-in); Stripe's own webhook is not a client operation.
  const link = await bursar.linkStripeCustomer({ customer: 'acme' });
  assert.match(link.stripe_customer, /^cus_/);
  const checkout = await bursar.createCheckoutSession({
    customer: 'acme',
    asset: 'credits',
    amount: '100',
    price: { currency: 'usd', total: '1.00' },
    success_url: 'https://app.example/paid',
    cancel_url: 'https://app.example/cancelled',
  });
  assert.equal(checkout.status, 'pending_payment');
  assert.equal((await bursar.getCheckoutSession({ id: checkout.id })).id, checkout.id);
  const overage = await bursar.invoiceStripeOverage({
    customer: 'acme',
    asset: 'credits',
    period: '2025-12',
    unit_price: { currency: 'usd', unit_price: '0.01' },
  });
  assert.equal(overage.period, '2025-12');
  // Finance: revenue, the journal, margin, settings, provider costs and reconciliation.
  const period = { from: '2025-12-01', to: '2027-01-01' };
  assert.ok(Array.isArray((await bursar.getRevenueReport({ ...period, granularity: 'day' })).rows));
  assert.ok(Array.isArray((await bursar.exportJournal({ ...period, format: 'json' })).lines));
  assert.equal((await bursar.updateFinanceSettings({ margin_low_threshold: '20' })).margin_low_threshold, '20');
  assert.equal((await bursar.getFinanceSettings()).margin_low_threshold, '20');
  assert.ok(Array.isArray((await bursar.getMarginReport(period)).rows));
  const imported = await bursar.importProviderCosts({
    provider: 'openai',
    format: 'csv',
    content: 'day,model,cost\n2026-01-01,gpt-x,0.25\n',
  });
  assert.ok(imported);
  assert.ok(Array.isArray((await bursar.getReconciliation(period)).rows));

  // The portal: settings, a session, and every portal operation with the session's bearer token.
  const settings = await bursar.updatePortalSettings({
    branding: { name: 'Acme', logo_url: null, accent_color: '#3355ff' },
    auto_recharge: { editable: true, threshold_max: '100', amount_min: '10', amount_max: '500', monthly_cap_max: null },
    top_up: { prices: [{ asset: 'credits', currency: 'usd', unit_price: '0.01' }] },
  });
  assert.equal(settings.branding.name, 'Acme');
  assert.equal((await bursar.getPortalSettings()).top_up.prices.length, 1);
  const portalSession = await bursar.createPortalSession({ customer: 'acme', return_url: 'https://app.example.com' });
  assert.match(portalSession.token, /^bps_/);
  const portal = new Bursar({
    baseUrl: server.url,
    apiKey: portalSession.token,
    fetch: async (url, init) => {
      const response = await fetch(url, init);
      const id = operationOf(init?.method ?? 'GET', String(url));
      if (id !== undefined && response.ok) sent.add(id);
      return response;
    },
  });
  assert.equal((await portal.getPortalSession()).customer.id, 'acme');
  assert.equal((await portal.getPortalBalances()).customer, 'acme');
  assert.ok((await portal.listPortalGrants({ asset: 'credits' })).data.length > 0);
  assert.ok(Array.isArray((await portal.listPortalHolds()).data));
  assert.equal(
    (await portal.getPortalUsage({ from: '2025-12-01T00:00:00Z', to: '2027-01-01T00:00:00Z' })).customer,
    'acme',
  );
  assert.ok((await portal.listPortalTransactions({ limit: 2 })).data.length > 0);
  const recharge = await portal.updatePortalAutoRecharge({
    asset: 'credits',
    enabled: true,
    threshold: '20',
    amount: '100',
    monthly_cap: null,
  });
  assert.equal(recharge.threshold, '20');
  assert.equal((await portal.getPortalAutoRecharge({ asset: 'credits' })).amount, '100');
  assert.match((await portal.createPortalTopUp({ asset: 'credits', amount: '1000' })).checkout_url, /^https?:/);
  // The event stream: the first event is the balance, as getPortalBalances answers it.
  for await (const event of portal.streamPortalEvents()) {
    assert.equal(event.event, 'balance');
    assert.equal(event.data.customer, 'acme');
    break;
  }

  // The audit log saw all of it.
  assert.ok((await bursar.listAuditEvents({ limit: 5 })).data.length > 0);
  assert.equal((await bursar.verifyAuditLog()).valid, true);
  const audited = await bursar.listAuditEvents({
    customer: 'acme',
    action: 'grant.voided',
    actor: `api_key:${current.id}`,
  });
  assert.equal(audited.data[0]?.reason, 'chargeback');
  assert.equal((await bursar.listCustomers({ q: 'GLO' })).data[0]?.id, 'globex');
  assert.ok((await bursar.listHolds({ customer: 'acme' })).data.length > 0);
  const jobs = await bursar.listJobs();
  assert.ok(jobs.data.some((job) => job.name === 'scheduler'));
  assert.ok(Array.isArray(jobs.scheduled));

  // Console sessions: sign in with the key, then the cookie (and its CSRF token) stand in for it.
  const signedIn = await bursar.createConsoleSession({ api_key: adminKey });
  assert.deepEqual(signedIn.api_key.scopes, ['owner']);
  let cookie = '';
  let csrf = '';
  const consoleClient = new Bursar({
    baseUrl: server.url,
    // The client needs a key to be built; the fetch below sends the session instead.
    apiKey: 'unused',
    fetch: async (url, init) => {
      const headers = new Headers(init?.headers);
      headers.delete('authorization');
      headers.set('cookie', cookie);
      headers.set('x-csrf-token', csrf);
      const response = await fetch(url, { ...init, headers });
      const id = operationOf(init?.method ?? 'GET', String(url));
      if (id !== undefined && response.ok) sent.add(id);
      return response;
    },
  });
  const signIn = await fetch(`${server.url}/v1/console/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ api_key: adminKey }),
  });
  // Another session than the SDK's sign-in above, whose cookie the SDK does not hand back.
  cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  csrf = ((await signIn.json()) as { csrf_token: string }).csrf_token;
  const session = await consoleClient.getConsoleSession();
  assert.equal(session.api_key.id, signedIn.api_key.id);
  assert.equal(await consoleClient.deleteConsoleSession(), undefined);
  await assert.rejects(
    consoleClient.getConsoleSession(),
    (error: Error & { code?: string }) => error.code === 'unauthenticated',
  );

  const missing = Object.keys(operationTable).filter((id) => !sent.has(id as OperationId));
  assert.deepEqual(missing, []);
});
