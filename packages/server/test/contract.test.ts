/**
 * The contract tells the truth: one scenario calls every operation, and each success response must
 * parse with the schema its operation declares for its status and carry no field the document does
 * not describe; every notification parses with its event's payload schema. The server's routes are
 * the package's operations, one to one, with today's paths; a client generated from the document
 * with openapi-typescript types what the contract promises; a handler is typed by its own operation.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import type { EventType } from '@bursar/api';
import {
  eventPayloads,
  eventTypes,
  operationList,
  operations,
  problemFacts,
  problemSchema,
  toOpenApiDocument,
} from '@bursar/api';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { z } from 'zod';
import { ApiKeyAuthenticator, ConsoleSessions } from '../src/domains/access/index.ts';
import { FakeStripe } from '../src/domains/payments/test/fake-stripe.ts';
import type { Reply } from '../src/platform/contract.ts';
import type { ParsedRequest, Route } from '../src/platform/http/router.ts';
import { route } from '../src/platform/http/router.ts';
import { JobRunner } from '../src/platform/jobs/runner.ts';
import { ledgerRoutes } from '../src/routes.ts';
import type { ApiResponse, TestServer } from './harness.ts';
import { adminKey, callApi, seedCustomer, startTestServer } from './harness.ts';

let server: TestServer;
let stripe: FakeStripe;
const seen = new Map<string, ApiResponse[]>();
const routes: Route[] = [];

async function call(operationId: string, method: string, path: string, body?: unknown): Promise<ApiResponse> {
  const reply = await server.call(method, path, body);
  assert.ok(reply.status < 300, `${operationId}: ${reply.status} ${reply.text}`);
  seen.set(operationId, [...(seen.get(operationId) ?? []), reply]);
  return reply;
}

const dryRuns = new Map<string, ApiResponse[]>();

/** The call with `?dry_run=true`, before the real one: it must answer 200, which the dry-run test checks. */
async function dryRun(operationId: string, path: string, body: unknown): Promise<void> {
  const reply = await server.call('POST', `${path}?dry_run=true`, body);
  assert.equal(reply.status, 200, `${operationId} dry run: ${reply.status} ${reply.text}`);
  dryRuns.set(operationId, [...(dryRuns.get(operationId) ?? []), reply]);
}

/** A call with the console's cookie (and CSRF header), recorded like `call`. */
async function callWithCookie(
  operationId: string,
  method: 'GET' | 'DELETE',
  path: string,
  session: { cookie: string; csrf: string },
): Promise<void> {
  const response = await server.server.inject({
    method,
    url: path,
    headers: { cookie: session.cookie, 'x-csrf-token': session.csrf },
  });
  assert.ok(response.statusCode < 300, `${operationId}: ${response.statusCode} ${response.body}`);
  const body = response.body === '' ? undefined : JSON.parse(response.body);
  const reply: ApiResponse = { status: response.statusCode, body, text: response.body, headers: new Headers() };
  seen.set(operationId, [...(seen.get(operationId) ?? []), reply]);
}

before(async () => {
  stripe = await new FakeStripe().start();
  server = await startTestServer(stripe.config());
  // Only the table is read here; the authenticators it binds are never called.
  const apiKeys = new ApiKeyAuthenticator(server.server.database.reader, 0);
  const consoleOptions = { cacheMs: 0, ttlSeconds: 60, now: () => server.clock.now(), secureCookies: false };
  const consoleSessions = new ConsoleSessions(server.server.database.reader, apiKeys, consoleOptions);
  routes.push(...ledgerRoutes(server.server.service, { apiKeys, consoleSessions }, new JobRunner()));
  await call('createAsset', 'POST', '/v1/assets', { code: 'usd', scale: 2 });
  await seedCustomer(server, 'acme');
  await call('createCustomer', 'POST', '/v1/customers', { id: 'globex', name: 'Globex', metadata: { plan: 'pro' } });
  await call('createEnvironment', 'POST', '/v1/environments', { name: 'staging' });
  await call('listEnvironments', 'GET', '/v1/environments');
  const key = await call('createApiKey', 'POST', '/v1/api-keys', { name: 'reader', scopes: ['read'] });
  await call('listApiKeys', 'GET', '/v1/api-keys');
  await call('getCurrentApiKey', 'GET', '/v1/api-keys/current');
  await call('revokeApiKey', 'POST', `/v1/api-keys/${key.body.id}/revoke`, {});
  await call('listAssets', 'GET', '/v1/assets');
  await call('getCustomer', 'GET', '/v1/customers/globex');
  await call('listCustomers', 'GET', '/v1/customers');
  const grant = await call('createGrant', 'POST', '/v1/grants', {
    customer: 'acme',
    asset: 'credits',
    amount: '100',
    category: 'paid',
    expires_at: '2026-06-01T00:00:00Z',
    cost_basis: { currency: 'usd', total: '12.5' },
    metadata: { invoice: 'in_1' },
  });
  await call('createGrant', 'POST', '/v1/grants', {
    customer: 'acme',
    asset: 'credits',
    amount: '50',
    category: 'promotional',
    features: ['chat'],
  });
  await call('getGrant', 'GET', `/v1/grants/${grant.body.id}`);
  await dryRun('createGrant', '/v1/grants', { customer: 'acme', asset: 'credits', amount: '5', category: 'paid' });
  await dryRun('updateWalletPolicy', '/v1/customers/acme/wallets/credits/policy', { overdraft_limit: '5' });
  await call('listGrants', 'GET', '/v1/grants?customer=acme&status=active');
  await call('updateWalletPolicy', 'POST', '/v1/customers/acme/wallets/credits/policy', {
    overdraft_limit: '10',
    reason: 'trusted',
  });
  await call('getBalances', 'GET', '/v1/customers/acme/balances');
  const autoTopUp = '/v1/customers/acme/wallets/credits/auto-top-up';
  const topUpRule = { enabled: true, threshold: '60', amount: '100', cost: { currency: 'usd', total: '9.99' } };
  await call('putAutoTopUpRule', 'POST', autoTopUp, { ...topUpRule, monthly_cap: '500', failures_max: 2 });
  await call('getAutoTopUpRule', 'GET', autoTopUp);
  const debit = await call('createDebit', 'POST', '/v1/debits', {
    customer: 'acme',
    asset: 'credits',
    amount: '7',
    feature: 'chat',
    metadata: { model: 'm1' },
  });
  await call('checkDebit', 'POST', '/v1/debits/check', {
    customer: 'acme',
    asset: 'credits',
    amount: '5',
    feature: 'chat',
  });
  const hold = await call('createHold', 'POST', '/v1/holds', {
    customer: 'acme',
    asset: 'credits',
    amount: '20',
    ttl_seconds: 60,
  });
  await call('getHold', 'GET', `/v1/holds/${hold.body.hold.id}`);
  await call('listHolds', 'GET', '/v1/holds?customer=acme&status=open');
  await call('extendHold', 'POST', `/v1/holds/${hold.body.hold.id}/extend`, { amount: '5', ttl_seconds: 120 });
  await call('captureHold', 'POST', `/v1/holds/${hold.body.hold.id}/capture`, { amount: '12' });
  const second = await call('createHold', 'POST', '/v1/holds', { customer: 'acme', asset: 'credits', amount: '3' });
  await call('releaseHold', 'POST', `/v1/holds/${second.body.hold.id}/release`, {});
  await dryRun('reverseTransaction', `/v1/transactions/${debit.body.transaction.id}/reverse`, { reason: 'refund' });
  await dryRun('createAdjustment', '/v1/adjustments', {
    customer: 'acme',
    asset: 'credits',
    amount: '-1',
    reason: 'x',
  });
  await dryRun('createAdjustment', '/v1/adjustments', { customer: 'acme', asset: 'credits', amount: '1', reason: 'x' });
  await call('reverseTransaction', 'POST', `/v1/transactions/${debit.body.transaction.id}/reverse`, {
    amount: '2',
    reason: 'refund',
  });
  await call('createAdjustment', 'POST', '/v1/adjustments', {
    customer: 'acme',
    asset: 'credits',
    amount: '4',
    reason: 'goodwill',
  });
  await call('createAdjustment', 'POST', '/v1/adjustments', {
    customer: 'acme',
    asset: 'credits',
    amount: '-3',
    reason: 'correction',
  });
  await dryRun('voidGrant', `/v1/grants/${grant.body.id}/void`, { reason: 'chargeback' });
  await call('voidGrant', 'POST', `/v1/grants/${grant.body.id}/void`, { reason: 'chargeback' });
  const topUps = await call('listTopUps', 'GET', '/v1/customers/acme/wallets/credits/top-ups');
  await call('settleTopUp', 'POST', `/v1/top-ups/${topUps.body.data[0].id}/settle`, { outcome: 'succeeded' });
  await call('listTopUps', 'GET', '/v1/customers/acme/wallets/credits/top-ups?status=succeeded');
  await call('listTransactions', 'GET', '/v1/transactions?customer=acme');
  await call('getTransaction', 'GET', `/v1/transactions/${debit.body.transaction.id}`);
  await call('createFeature', 'POST', '/v1/features', {
    key: 'chat',
    quantities: { input_tokens: { property: 'input_tokens' }, output_tokens: { property: 'output_tokens' } },
  });
  await call('getFeature', 'GET', '/v1/features/chat');
  await call('listFeatures', 'GET', '/v1/features');
  await call('upsertModelPrice', 'POST', '/v1/model-prices', {
    model: 'gpt-x',
    input_per_million: '2.5',
    output_per_million: '10',
  });
  await call('listModelPrices', 'GET', '/v1/model-prices');
  await call('createPriceBook', 'POST', '/v1/price-books', { key: 'standard', default: true });
  const costPlus = { cost_plus: { provider_price: 'input', markup: '1.5', asset_per_usd: '1000' } };
  await call('publishPriceVersion', 'POST', '/v1/price-books/standard/versions', {
    prices: [
      {
        feature: 'chat',
        options: [
          {
            asset: 'credits',
            components: [
              { quantity: 'input_tokens', rates: [costPlus] },
              { quantity: 'output_tokens', rates: [{ per_unit: { unit_price: '2', per: 1000 } }] },
            ],
          },
          {
            asset: 'usd',
            minimum: '0.01',
            components: [
              {
                quantity: 'input_tokens',
                rates: [
                  {
                    graduated: {
                      tiers: [
                        { up_to: '1000', unit_price: '0.001' },
                        { up_to: null, unit_price: '0.0005' },
                      ],
                    },
                  },
                ],
              },
            ],
          },
        ],
      },
    ],
  });
  await call('getPriceBook', 'GET', '/v1/price-books/standard');
  await call('listPriceBooks', 'GET', '/v1/price-books');
  await call('quoteCost', 'POST', '/v1/quotes', {
    feature: 'chat',
    customer: 'acme',
    properties: { model: 'gpt-x', input_tokens: 1200, output_tokens: 300 },
  });
  await call('ingestEvents', 'POST', '/v1/events', {
    events: [
      {
        id: 'evt-1',
        customer: 'acme',
        feature: 'chat',
        timestamp: new Date(server.clock.now()).toISOString(),
        properties: { model: 'gpt-x', input_tokens: 10, output_tokens: 5 },
      },
      { id: 'evt-2', customer: 'nobody', feature: 'chat', timestamp: new Date(server.clock.now()).toISOString() },
    ],
  });
  await call('listEvents', 'GET', '/v1/events?customer=acme');
  await call(
    'getUsage',
    'GET',
    `/v1/customers/acme/usage?from=2025-01-01T00:00:00Z&to=2027-01-01T00:00:00Z&group_by=model`,
  );
  await call('simulatePricing', 'POST', '/v1/simulations', {
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
  const endpoint = await call('createWebhookEndpoint', 'POST', '/v1/webhook-endpoints', {
    url: 'http://127.0.0.1:9/hooks',
    event_types: ['grant.created'],
  });
  await call('listWebhookEndpoints', 'GET', '/v1/webhook-endpoints');
  await call('rotateWebhookSecret', 'POST', `/v1/webhook-endpoints/${endpoint.body.id}/rotate-secret`, {});
  await call('sendTestWebhook', 'POST', `/v1/webhook-endpoints/${endpoint.body.id}/test`, {});
  await call('createGrant', 'POST', '/v1/grants', {
    customer: 'acme',
    asset: 'credits',
    amount: '1',
    category: 'paid',
  });
  await server.server.dispatchWebhooks();
  const deliveries = await call('listWebhookDeliveries', 'GET', `/v1/webhook-endpoints/${endpoint.body.id}/deliveries`);
  await call('redeliverWebhook', 'POST', `/v1/webhook-deliveries/${deliveries.body.data[0].id}/redeliver`, {});
  await call('listNotifications', 'GET', '/v1/notifications');
  await call('createPlan', 'POST', '/v1/plans', {
    id: 'pro',
    name: 'Pro',
    version: {
      period: { interval: 'month' },
      allowances: [
        {
          asset: 'credits',
          amount: '1000',
          rollover: { kind: 'percent', percent: '50', expires_after: { interval: 'month', count: 2 } },
        },
      ],
      one_time_grants: [{ asset: 'credits', amount: '500', category: 'promotional' }],
      trial: { duration: { interval: 'day', count: 7 }, grants: [{ asset: 'credits', amount: '100' }] },
      entitlements: [
        { feature: 'sso', kind: 'boolean', enabled: true },
        { feature: 'chat', kind: 'metered', limit: '100' },
      ],
    },
  });
  await call('publishPlanVersion', 'POST', '/v1/plans/pro/versions', {
    period: { interval: 'month' },
    allowances: [{ asset: 'credits', amount: '2000' }],
  });
  await call('getPlan', 'GET', '/v1/plans/pro');
  await call('listPlans', 'GET', '/v1/plans');
  const subscription = await call('createSubscription', 'POST', '/v1/subscriptions', {
    customer: 'globex',
    plan: 'pro',
    version: 1,
    time_zone: 'Europe/Paris',
    metadata: { crm: 'deal_1' },
  });
  await call('getSubscription', 'GET', `/v1/subscriptions/${subscription.body.id}`);
  await call('listSubscriptions', 'GET', '/v1/subscriptions?customer=globex');
  await dryRun('changeSubscription', `/v1/subscriptions/${subscription.body.id}/change`, {
    action: 'change_plan',
    plan: 'pro',
    version: 2,
    timing: 'immediate',
  });
  const previewed = await call(
    'previewSubscriptionChange',
    'POST',
    `/v1/subscriptions/${subscription.body.id}/change/preview`,
    {
      action: 'change_plan',
      plan: 'pro',
      version: 2,
      timing: 'period_end',
    },
  );
  await call('changeSubscription', 'POST', `/v1/subscriptions/${subscription.body.id}/change`, {
    action: 'change_plan',
    plan: 'pro',
    version: 2,
    timing: 'period_end',
    preview_token: previewed.body.preview_token,
  });
  await call('checkEntitlement', 'POST', '/v1/customers/globex/entitlements/check', {
    feature: 'chat',
    quantity: '2',
    quantities: { model: 'gpt-x', input_tokens: 100, output_tokens: 20 },
  });
  await call('checkEntitlement', 'POST', '/v1/customers/globex/entitlements/check', { feature: 'sso' });
  await dryRun('cancelSubscription', `/v1/subscriptions/${subscription.body.id}/cancel`, { timing: 'immediate' });
  await call('cancelSubscription', 'POST', `/v1/subscriptions/${subscription.body.id}/cancel`, { timing: 'immediate' });
  await call('deleteWebhookEndpoint', 'POST', `/v1/webhook-endpoints/${endpoint.body.id}/delete`, {});
  await call('linkStripeCustomer', 'POST', '/v1/customers/acme/stripe-customer', {});
  const checkout = await call('createCheckoutSession', 'POST', '/v1/checkout-sessions', {
    customer: 'acme',
    asset: 'credits',
    amount: '100',
    price: { currency: 'usd', unit_price: '0.1' },
    success_url: 'https://app.example/paid',
    cancel_url: 'https://app.example/cancelled',
  });
  // Stripe's webhook carries no API key: its signature stands in.
  const paid = stripe.checkoutSession(checkout.body.id, {
    payment_status: 'paid',
    amount_total: 1000,
    currency: 'usd',
    payment_intent: 'pi_contract',
  });
  const event = stripe.signedEvent('evt_contract', 'checkout.session.completed', paid);
  const webhook = await callApi(server.url, 'POST', '/v1/integrations/stripe/webhook', event.body, {
    key: adminKey,
    headers: { 'stripe-signature': event.signature },
  });
  assert.equal(webhook.status, 200, webhook.text);
  seen.set('receiveStripeWebhook', [webhook]);
  await call('getCheckoutSession', 'GET', `/v1/checkout-sessions/${checkout.body.id}`);
  await call('invoiceStripeOverage', 'POST', '/v1/customers/acme/wallets/credits/stripe-overage', {
    period: '2025-12',
    unit_price: { currency: 'usd', unit_price: '0.01' },
  });
  await call('getRevenueReport', 'GET', '/v1/finance/revenue?from=2025-12-01&to=2027-01-01&granularity=day');
  await call('exportJournal', 'GET', '/v1/finance/journal?from=2025-12-01&to=2027-01-01&format=csv');
  await call('updateFinanceSettings', 'POST', '/v1/finance/settings', { margin_low_threshold: '20' });
  await call('getFinanceSettings', 'GET', '/v1/finance/settings');
  await call('getMarginReport', 'GET', '/v1/finance/margin?from=2025-12-01&to=2027-01-01');
  await call('importProviderCosts', 'POST', '/v1/finance/provider-costs', {
    provider: 'openai',
    format: 'csv',
    content: 'day,model,cost\n2026-01-01,gpt-x,0.25\n',
  });
  await call('getReconciliation', 'GET', '/v1/finance/reconciliation?from=2025-12-01&to=2027-01-01');
  await call('updatePortalSettings', 'PUT', '/v1/portal_settings', {
    branding: { name: 'Acme', logo_url: 'https://acme.example/logo.png', accent_color: '#3355ff' },
    auto_recharge: { editable: true, threshold_max: '100', amount_min: '10', amount_max: '500', monthly_cap_max: null },
    top_up: { prices: [{ asset: 'credits', currency: 'usd', unit_price: '0.01' }] },
  });
  await call('getPortalSettings', 'GET', '/v1/portal_settings');
  const portal = await call('createPortalSession', 'POST', '/v1/portal_sessions', {
    customer: 'acme',
    return_url: 'https://app.example.com/billing',
  });
  // The portal's operations take the session's bearer token instead of an API key.
  const portalCall = async (operationId: string, method: string, path: string, body?: unknown) => {
    const reply = await server.call(method, path, body, { key: portal.body.token });
    assert.ok(reply.status < 300, `${operationId}: ${reply.status} ${reply.text}`);
    seen.set(operationId, [...(seen.get(operationId) ?? []), reply]);
  };
  await portalCall('getPortalSession', 'GET', '/v1/portal/session');
  await portalCall('getPortalBalances', 'GET', '/v1/portal/balances');
  await portalCall('listPortalGrants', 'GET', '/v1/portal/grants?asset=credits');
  await portalCall('listPortalHolds', 'GET', '/v1/portal/holds');
  await portalCall('getPortalUsage', 'GET', '/v1/portal/usage?from=2025-12-01T00:00:00Z&to=2027-01-01T00:00:00Z');
  await portalCall('listPortalTransactions', 'GET', '/v1/portal/transactions?limit=5');
  await portalCall('updatePortalAutoRecharge', 'PUT', '/v1/portal/auto_recharge', {
    asset: 'credits',
    enabled: true,
    threshold: '50',
    amount: '100',
    monthly_cap: '400',
  });
  await portalCall('getPortalAutoRecharge', 'GET', '/v1/portal/auto_recharge?asset=credits');
  await portalCall('createPortalTopUp', 'POST', '/v1/portal/top_ups', { asset: 'credits', amount: '1000' });
  // An event stream: its first event's data is what the schema documents.
  const stream = await fetch(`${server.url}/v1/portal/events`, {
    headers: { authorization: `Bearer ${portal.body.token}` },
  });
  const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
  await reader.cancel();
  const data = /^data: (.*)$/m.exec(text)?.[1] ?? '';
  seen.set('streamPortalEvents', [
    { status: stream.status, body: JSON.parse(data), text: data, headers: stream.headers },
  ]);
  await call('listAuditEvents', 'GET', '/v1/audit-events');
  await call('listJobs', 'GET', '/v1/jobs');
  const signIn = await call('createConsoleSession', 'POST', '/v1/console/sessions', { api_key: adminKey });
  const cookie = /^(bursar_console=[^;]+)/.exec(signIn.headers.get('set-cookie') ?? '')?.[1] ?? '';
  const session = { cookie, csrf: String(signIn.body.csrf_token) };
  await callWithCookie('getConsoleSession', 'GET', '/v1/console/sessions/current', session);
  await callWithCookie('deleteConsoleSession', 'DELETE', '/v1/console/sessions/current', session);
  await call('verifyAuditLog', 'GET', '/v1/audit-events/verify');
});

after(async () => {
  await server.close();
  await stripe.close();
});

it('the scenario exercises every operation of the route table', () => {
  const missing = routes.map((route) => route.operationId).filter((operationId) => !seen.has(operationId));
  assert.deepEqual(missing, []);
});

it('every success response matches its documented schema, with no undocumented field', () => {
  for (const route of routes) {
    for (const reply of seen.get(route.operationId) ?? []) {
      const schema = route.responses[reply.status];
      assert.ok(schema !== undefined, `${route.operationId} answered ${reply.status}, which it does not document`);
      const parsed = schema.safeParse(reply.body);
      assert.ok(parsed.success, `${route.operationId}: ${parsed.success ? '' : z.prettifyError(parsed.error)}`);
      assert.deepEqual(undocumentedFields(toInlineJsonSchema(schema), reply.body, ''), [], route.operationId);
    }
  }
});

it('every previewable write answers its dry run with the documented schema, and all of them were tried', () => {
  const previewable = routes.filter((route) => route.dryRun !== undefined).map((route) => route.operationId);
  assert.deepEqual(
    previewable.filter((operationId) => !dryRuns.has(operationId)),
    [],
  );
  for (const route of routes) {
    for (const reply of dryRuns.get(route.operationId) ?? []) {
      const schema = route.dryRun;
      assert.ok(schema !== undefined, `${route.operationId} has no dry run`);
      const parsed = schema.safeParse(reply.body);
      assert.ok(parsed.success, `${route.operationId}: ${parsed.success ? '' : z.prettifyError(parsed.error)}`);
      assert.deepEqual(undocumentedFields(toInlineJsonSchema(schema), reply.body, ''), [], route.operationId);
    }
  }
});

/**
 * The output JSON Schema with every named component written out in place: an empty metadata
 * registry hides the names, so nested fields are checked rather than left behind a `$ref`.
 */
function toInlineJsonSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any', metadata: z.registry() }) as JsonSchema;
}

type JsonSchema = {
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
};

/** Paths of fields present in `value` that the JSON Schema does not name. */
function undocumentedFields(schema: JsonSchema, value: unknown, path: string): string[] {
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches !== undefined) {
    const results = branches.map((branch) => undocumentedFields(branch, value, path));
    return results.find((result) => result.length === 0) ?? results[0] ?? [];
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    const items = schema.items;
    return value.flatMap((item, index) => undocumentedFields(items, item, `${path}[${index}]`));
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && schema.properties !== undefined) {
    const properties = schema.properties;
    return Object.entries(value).flatMap(([key, field]) => {
      const fieldSchema = properties[key];
      return fieldSchema === undefined ? [`${path}.${key}`] : undocumentedFields(fieldSchema, field, `${path}.${key}`);
    });
  }
  return [];
}

it('every list operation documents the same paging: a bounded limit, a cursor and { data, next_cursor }', async () => {
  const document = (await server.call('GET', '/openapi.json')).body;
  // listJobs is no page of a table: it is this process's few jobs, with the scheduled work beside them.
  const lists = routes.filter((route) => route.operationId.startsWith('list') && route.operationId !== 'listJobs');
  assert.ok(lists.length > 0);
  for (const route of lists) {
    const operation = document.paths[route.path][route.method.toLowerCase()];
    const parameters = new Map<string, { in: string; schema: { maximum?: number; default?: number } }>(
      operation.parameters.map((parameter: { name: string }) => [parameter.name, parameter]),
    );
    assert.equal(parameters.get('cursor')?.in, 'query', `${route.operationId} documents no cursor`);
    assert.equal(parameters.get('limit')?.in, 'query', `${route.operationId} documents no limit`);
    const page = toInlineJsonSchema(route.responses[200] ?? z.never());
    assert.deepEqual(Object.keys(page.properties ?? {}).sort(), ['data', 'next_cursor'], route.operationId);
  }
});

/** Calls that must succeed, beside the scenario: they only make lifecycle events. */
async function succeed(method: string, path: string, body?: unknown): Promise<ApiResponse> {
  const reply = await server.call(method, path, body);
  assert.ok(reply.status < 300, `${method} ${path}: ${reply.status} ${reply.text}`);
  return reply;
}

it('every notification parses with the payload schema of its event type', async () => {
  // A wallet that recovers, runs low, runs out and goes into debt; a subscription paused and resumed.
  await seedCustomer(server, 'initech');
  const wallet = '/v1/customers/initech/wallets/credits/policy';
  // Available credit counts the overdraft: 2, then 7 (recovered), 4, 2 (low, the grant depleted), 0 (in debt).
  await succeed('POST', wallet, { overdraft_limit: '2', low_balance_threshold: '3' });
  await succeed('POST', '/v1/grants', { customer: 'initech', asset: 'credits', amount: '5', category: 'paid' });
  for (const amount of ['3', '2', '2'])
    await succeed('POST', '/v1/debits', { customer: 'initech', asset: 'credits', amount });
  const subscription = await succeed('POST', '/v1/subscriptions', { customer: 'initech', plan: 'pro', trial: false });
  await succeed('POST', `/v1/subscriptions/${subscription.body.id}/change`, { action: 'pause' });
  await succeed('POST', `/v1/subscriptions/${subscription.body.id}/change`, { action: 'resume' });

  const listed = (await succeed('GET', '/v1/notifications?limit=200')).body.data as { type: EventType }[];
  const types = new Set(listed.map((notification) => notification.type));
  const expected: EventType[] = [
    'grant.created',
    'grant.voided',
    'grant.depleted',
    'balance.low',
    'balance.recovered',
    'balance.depleted',
    'debt.created',
    'topup.requested',
    'topup.succeeded',
    'subscription.created',
    'subscription.changed',
    'subscription.paused',
    'subscription.resumed',
    'subscription.canceled',
    'subscription.ended',
  ];
  assert.deepEqual(
    expected.filter((type) => !types.has(type)),
    [],
    [...types].join(', '),
  );
  for (const notification of listed) {
    const payload = eventPayloads[notification.type];
    const parsed = payload.safeParse(notification);
    assert.ok(parsed.success, `${notification.type}: ${parsed.success ? '' : z.prettifyError(parsed.error)}`);
    assert.deepEqual(undocumentedFields(toInlineJsonSchema(payload), notification, ''), [], notification.type);
  }
});

it('refusals match the Problem schema of their code, facts included, with no undocumented member', async () => {
  const debit = (await server.call('POST', '/v1/debits', { customer: 'acme', asset: 'credits', amount: '1' })).body;
  const hold = (await server.call('POST', '/v1/holds', { customer: 'acme', asset: 'credits', amount: '1' })).body;
  const refusals = [
    await server.call('POST', '/v1/debits', { customer: 'acme', asset: 'credits', amount: '1000000' }),
    await server.call('POST', '/v1/grants', { customer: 'acme' }),
    await server.call('GET', '/v1/grants/grt_missing'),
    await server.call('POST', `/v1/transactions/${debit.transaction.id}/reverse`, { amount: '5', reason: 'too much' }),
    await server.call('POST', `/v1/holds/${hold.hold.id}/capture`, { amount: '5', on_excess: 'refuse' }),
  ];
  assert.deepEqual(
    refusals.map((reply) => reply.body.code),
    [
      'insufficient_balance',
      'validation_failed',
      'grant_not_found',
      'reversal_exceeds_remaining',
      'capture_exceeds_hold',
    ],
  );
  for (const reply of refusals) {
    const parsed = problemSchema.safeParse(reply.body);
    assert.ok(parsed.success, `${reply.body.code}: ${parsed.success ? '' : z.prettifyError(parsed.error)}`);
    assert.deepEqual(undocumentedFields(toInlineJsonSchema(problemSchema), reply.body, ''), [], reply.body.code);
  }
  assert.equal(typeof refusals[0]?.body.available, 'string');
});

/** Every operation of the API before @bursar/api held them: none may move or disappear. */
const operationsBefore: Readonly<Record<string, string>> = {
  createEnvironment: 'POST /v1/environments',
  listEnvironments: 'GET /v1/environments',
  createApiKey: 'POST /v1/api-keys',
  listApiKeys: 'GET /v1/api-keys',
  getCurrentApiKey: 'GET /v1/api-keys/current',
  revokeApiKey: 'POST /v1/api-keys/{id}/revoke',
  listAuditEvents: 'GET /v1/audit-events',
  verifyAuditLog: 'GET /v1/audit-events/verify',
  createAsset: 'POST /v1/assets',
  listAssets: 'GET /v1/assets',
  createCustomer: 'POST /v1/customers',
  getCustomer: 'GET /v1/customers/{customer}',
  listCustomers: 'GET /v1/customers',
  getBalances: 'GET /v1/customers/{customer}/balances',
  updateWalletPolicy: 'POST /v1/customers/{customer}/wallets/{asset}/policy',
  createGrant: 'POST /v1/grants',
  getGrant: 'GET /v1/grants/{id}',
  listGrants: 'GET /v1/grants',
  voidGrant: 'POST /v1/grants/{id}/void',
  createDebit: 'POST /v1/debits',
  checkDebit: 'POST /v1/debits/check',
  createHold: 'POST /v1/holds',
  getHold: 'GET /v1/holds/{id}',
  captureHold: 'POST /v1/holds/{id}/capture',
  releaseHold: 'POST /v1/holds/{id}/release',
  extendHold: 'POST /v1/holds/{id}/extend',
  listTransactions: 'GET /v1/transactions',
  getTransaction: 'GET /v1/transactions/{id}',
  reverseTransaction: 'POST /v1/transactions/{id}/reverse',
  createAdjustment: 'POST /v1/adjustments',
  putAutoTopUpRule: 'POST /v1/customers/{customer}/wallets/{asset}/auto-top-up',
  getAutoTopUpRule: 'GET /v1/customers/{customer}/wallets/{asset}/auto-top-up',
  listTopUps: 'GET /v1/customers/{customer}/wallets/{asset}/top-ups',
  settleTopUp: 'POST /v1/top-ups/{id}/settle',
  createFeature: 'POST /v1/features',
  listFeatures: 'GET /v1/features',
  getFeature: 'GET /v1/features/{key}',
  createPriceBook: 'POST /v1/price-books',
  listPriceBooks: 'GET /v1/price-books',
  getPriceBook: 'GET /v1/price-books/{key}',
  publishPriceVersion: 'POST /v1/price-books/{key}/versions',
  upsertModelPrice: 'POST /v1/model-prices',
  listModelPrices: 'GET /v1/model-prices',
  quoteCost: 'POST /v1/quotes',
  ingestEvents: 'POST /v1/events',
  listEvents: 'GET /v1/events',
  simulatePricing: 'POST /v1/simulations',
  getUsage: 'GET /v1/customers/{customer}/usage',
  createWebhookEndpoint: 'POST /v1/webhook-endpoints',
  listWebhookEndpoints: 'GET /v1/webhook-endpoints',
  deleteWebhookEndpoint: 'POST /v1/webhook-endpoints/{id}/delete',
  rotateWebhookSecret: 'POST /v1/webhook-endpoints/{id}/rotate-secret',
  sendTestWebhook: 'POST /v1/webhook-endpoints/{id}/test',
  listWebhookDeliveries: 'GET /v1/webhook-endpoints/{id}/deliveries',
  redeliverWebhook: 'POST /v1/webhook-deliveries/{id}/redeliver',
  listNotifications: 'GET /v1/notifications',
  createPlan: 'POST /v1/plans',
  listPlans: 'GET /v1/plans',
  getPlan: 'GET /v1/plans/{plan}',
  publishPlanVersion: 'POST /v1/plans/{plan}/versions',
  createSubscription: 'POST /v1/subscriptions',
  listSubscriptions: 'GET /v1/subscriptions',
  getSubscription: 'GET /v1/subscriptions/{id}',
  changeSubscription: 'POST /v1/subscriptions/{id}/change',
  previewSubscriptionChange: 'POST /v1/subscriptions/{id}/change/preview',
  cancelSubscription: 'POST /v1/subscriptions/{id}/cancel',
  checkEntitlement: 'POST /v1/customers/{customer}/entitlements/check',
  linkStripeCustomer: 'POST /v1/customers/{customer}/stripe-customer',
  createCheckoutSession: 'POST /v1/checkout-sessions',
  getCheckoutSession: 'GET /v1/checkout-sessions/{id}',
  invoiceStripeOverage: 'POST /v1/customers/{customer}/wallets/{asset}/stripe-overage',
  receiveStripeWebhook: 'POST /v1/integrations/stripe/webhook',
  getRevenueReport: 'GET /v1/finance/revenue',
  exportJournal: 'GET /v1/finance/journal',
  getMarginReport: 'GET /v1/finance/margin',
  getFinanceSettings: 'GET /v1/finance/settings',
  updateFinanceSettings: 'POST /v1/finance/settings',
  importProviderCosts: 'POST /v1/finance/provider-costs',
  getReconciliation: 'GET /v1/finance/reconciliation',
  createConsoleSession: 'POST /v1/console/sessions',
  getConsoleSession: 'GET /v1/console/sessions/current',
  deleteConsoleSession: 'DELETE /v1/console/sessions/current',
  listJobs: 'GET /v1/jobs',
  listHolds: 'GET /v1/holds',
  createPortalSession: 'POST /v1/portal_sessions',
  getPortalSettings: 'GET /v1/portal_settings',
  updatePortalSettings: 'PUT /v1/portal_settings',
  getPortalSession: 'GET /v1/portal/session',
  getPortalBalances: 'GET /v1/portal/balances',
  listPortalGrants: 'GET /v1/portal/grants',
  listPortalHolds: 'GET /v1/portal/holds',
  getPortalUsage: 'GET /v1/portal/usage',
  listPortalTransactions: 'GET /v1/portal/transactions',
  getPortalAutoRecharge: 'GET /v1/portal/auto_recharge',
  updatePortalAutoRecharge: 'PUT /v1/portal/auto_recharge',
  createPortalTopUp: 'POST /v1/portal/top_ups',
  streamPortalEvents: 'GET /v1/portal/events',
};

it('every operationId of before is in the contract with the same method and path, and no other', () => {
  const now = Object.fromEntries(
    operationList.map((operation) => [operation.operationId, `${operation.method} ${operation.path}`]),
  );
  assert.deepEqual(now, operationsBefore);
  for (const [key, operation] of Object.entries(operations)) assert.equal(key, operation.operationId);
});

it("the server's routes are the package's operations, one to one", () => {
  const fields = [
    'method',
    'path',
    'operationId',
    'summary',
    'tag',
    'scope',
    'signature',
    'unauthenticated',
    'dryRun',
    'params',
    'query',
    'body',
  ] as const;
  assert.deepEqual(
    routes.map((bound) => bound.operationId),
    operationList.map((operation) => operation.operationId),
  );
  for (const [index, bound] of routes.entries()) {
    const operation = operationList[index];
    assert.ok(operation !== undefined);
    // The same schema objects, not equal copies: the server validates with the contract's own schemas.
    for (const field of fields) assert.equal(bound[field], operation[field], `${bound.operationId}.${field}`);
    assert.deepEqual(Object.keys(bound.responses), Object.keys(operation.responses), bound.operationId);
    for (const [status, schema] of Object.entries(operation.responses))
      assert.equal(bound.responses[Number(status)], schema, `${bound.operationId} ${status}`);
  }
});

it('the document served is the one the package generates, with every event in webhooks', async () => {
  const served = (await server.call('GET', '/openapi.json')).body;
  const generated = JSON.parse(JSON.stringify(toOpenApiDocument({ version: served.info.version })));
  assert.deepEqual(served, generated);
  assert.deepEqual(Object.keys(served.webhooks).sort(), [...eventTypes, 'webhook.test'].sort());
  for (const type of eventTypes) {
    const reference = served.webhooks[type].post.requestBody.content['application/json'].schema.$ref;
    assert.ok(served.components.schemas[String(reference).replace('#/components/schemas/', '')], type);
  }
  for (const name of ['Grant', 'Balance', 'Hold', 'Transaction', 'Problem', 'GrantPage', 'PlanPage'])
    assert.ok(served.components.schemas[name], name);
  const names = Object.keys(served.components.schemas);
  assert.deepEqual(
    names.filter((name) => /\d/.test(name)),
    [],
    'no component is named after an operation and a status',
  );
});

/**
 * A client's view of the contract: types generated by openapi-typescript from the document, and a
 * program that must compile against them. Each `@ts-expect-error` must meet its error, so the
 * program fails both when a promise is broken and when a check stops checking.
 */
const clientProgram = `
import type { components, operations } from './bursar.ts';

type Schemas = components['schemas'];

// priority (default 0) and metadata are optional: a grant needs only what has no server default.
export const grant: Schemas['CreateGrantBody'] = { customer: 'acme', asset: 'credits', amount: '10', category: 'paid' };
export const rule: Schemas['PutAutoTopUpRuleBody'] = { enabled: true, threshold: '5', amount: '50' };
// @ts-expect-error category has no default: it is required
export const grantWithoutCategory: Schemas['CreateGrantBody'] = { customer: 'acme', asset: 'credits', amount: '10' };

type GrantsQuery = NonNullable<operations['listGrants']['parameters']['query']>;
export const limit: NonNullable<GrantsQuery['limit']> = 50;
// @ts-expect-error limit is an integer, not its digits
export const limitText: NonNullable<GrantsQuery['limit']> = '50';
export const noQuery: GrantsQuery = {};

export function shortBy(problem: Schemas['Problem']): string | null {
  if (problem.code === 'insufficient_balance') return \`\${problem.available} of \${problem.requested}\`;
  if (problem.code === 'capture_exceeds_hold') return \`\${problem.held} of \${problem.requested}\`;
  if (problem.code === 'reversal_exceeds_remaining') return \`\${problem.remaining} of \${problem.requested}\`;
  // @ts-expect-error only insufficient_balance and its kin carry available
  return problem.available;
}

export function lowBy(event: Schemas['BalanceLowEvent']): string {
  return \`\${event.data.available} < \${event.data.threshold}\`;
}

export const balance: Schemas['TransactionResult']['balance']['available'] = '12.5';
`;

it('a client generated with openapi-typescript types defaults as optional, limit as a number and problem facts by name', async () => {
  const document = toOpenApiDocument({ version: 'test' });
  for (const [code, facts] of Object.entries(problemFacts)) {
    const name = `${code.replace(/(?:^|_)([a-z])/g, (_match, letter: string) => letter.toUpperCase())}Problem`;
    const properties = (document.components.schemas[name] as { properties?: object } | undefined)?.properties;
    assert.deepEqual(
      Object.keys(facts).filter((fact) => !(fact in (properties ?? {}))),
      [],
      `${name} names every fact of ${code}`,
    );
  }
  const directory = mkdtempSync(path.join(tmpdir(), 'bursar-client-'));
  try {
    writeFileSync(path.join(directory, 'bursar.ts'), astToString(await openapiTS(JSON.stringify(document))));
    writeFileSync(path.join(directory, 'client.ts'), clientProgram);
    const program = ts.createProgram([path.join(directory, 'client.ts')], {
      strict: true,
      noEmit: true,
      exactOptionalPropertyTypes: true,
      allowImportingTsExtensions: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      types: [],
      skipLibCheck: true,
    });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    assert.deepEqual(diagnostics, []);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

it("route() types a handler by its own operation, so another operation's types do not compile", () => {
  const answer = (_text: string | number): Promise<Reply> =>
    Promise.resolve({ status: 200, bodyText: '{}', problem: false, replayed: false });
  type GrantRequest = ParsedRequest<z.output<typeof operations.createGrant.body>>;
  const grantHandler = ({ body }: GrantRequest) => answer(body.category);
  const bound = [
    route(operations.createGrant, grantHandler),
    route(operations.getGrant, ({ params }) => answer(params.id)),
    // @ts-expect-error createDebit's body has no category: a grant's handler does not fit a debit
    route(operations.createDebit, grantHandler),
    // @ts-expect-error getGrant has no body schema, so its handler gets nothing typed to read
    route(operations.getGrant, ({ body }) => answer(body.amount)),
    // @ts-expect-error listGrants has no path parameters
    route(operations.listGrants, ({ params }) => answer(params.id)),
  ];
  assert.deepEqual(
    bound.map((entry) => entry.operationId),
    ['createGrant', 'getGrant', 'createDebit', 'getGrant', 'listGrants'],
  );
});
