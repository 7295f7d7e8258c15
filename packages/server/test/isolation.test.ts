/**
 * Tenant isolation (SPEC §5 invariant 10, §7): every route of the API, as listed by /openapi.json,
 * is called with the `other` environment's admin key and the `live` environment's ids; each answers
 * 404 (or, for lists, shows none of live's ids) and live's ledger is unchanged. A route added
 * without an entry in the table below fails the coverage test. Also the scope matrix and 401s.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer } from '../src/app.ts';
import { FakeStripe } from '../src/domains/payments/test/fake-stripe.ts';
import { ManualClock } from '../src/platform/clock.ts';
import { createLogger } from '../src/platform/http/logger.ts';
import {
  type ApiResponse,
  adminKey,
  callApi,
  clockStart,
  createTestDatabase,
  startTestServer,
  type TestServer,
  testConfig,
} from './harness.ts';

let server: TestServer;
let stripe: FakeStripe;
let otherKey = '';
let liveEnvironmentId = '';

interface EnvIds {
  asset: string;
  customer: string;
  grant: string;
  debit: string;
  hold: string;
  hold2: string;
  capturedHold: string;
  capture: string;
  apiKeyId: string;
  endpoint: string;
  delivery: string;
  topUp: string;
  plan: string;
  subscription: string;
  checkout: string;
  auditIds: string[];
}

const live = {} as EnvIds;
const other = {} as EnvIds;

function as(key: string) {
  return (method: string, path: string, body?: unknown, idempotencyKey?: string): Promise<ApiResponse> =>
    server.call(method, path, body, { key, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) });
}

async function ok(reply: Promise<ApiResponse>, status = 201): Promise<ApiResponse> {
  const r = await reply;
  assert.equal(r.status, status, r.text);
  return r;
}

/** The hold's id, from a documented HoldResult. */
function holdId(body: { hold?: { id: string } }): string {
  const id = body.hold?.id;
  assert.match(String(id), /^hold_/);
  return id as string;
}

async function seedEnvironment(key: string, ids: EnvIds, asset: string, customer: string): Promise<void> {
  const call = as(key);
  ids.asset = asset;
  ids.customer = customer;
  await ok(call('POST', '/v1/assets', { code: asset, scale: 0 }));
  await ok(call('POST', '/v1/customers', { id: customer }));
  ids.grant = (await ok(call('POST', '/v1/grants', { customer, asset, amount: '1000', category: 'paid' }))).body.id;
  ids.debit = (await ok(call('POST', '/v1/debits', { customer, asset, amount: '10' }))).body.transaction.id;
  ids.hold = holdId((await ok(call('POST', '/v1/holds', { customer, asset, amount: '20' }))).body);
  ids.hold2 = holdId((await ok(call('POST', '/v1/holds', { customer, asset, amount: '30' }))).body);
  const third = holdId((await ok(call('POST', '/v1/holds', { customer, asset, amount: '5' }))).body);
  ids.capturedHold = third;
  ids.capture = (await ok(call('POST', `/v1/holds/${third}/capture`, { amount: '5' }), 200)).body.transaction.id;
  await ok(call('POST', `/v1/holds/${ids.hold2}/release`, {}), 200);
  ids.apiKeyId = (await ok(call('POST', '/v1/api-keys', { name: 'reader', scopes: ['read'] }))).body.id;
  await ok(
    call('POST', '/v1/features', { key: `${customer}-feature`, quantities: { tokens: { property: 'tokens' } } }),
  );
  await ok(call('POST', '/v1/price-books', { key: `${customer}-prices`, default: true }));
  const prices = [
    {
      feature: `${customer}-feature`,
      options: [{ asset, components: [{ quantity: 'tokens', rates: [{ per_unit: { unit_price: '1' } }] }] }],
    },
  ];
  await ok(call('POST', `/v1/price-books/${customer}-prices/versions`, { prices }));
  await ok(
    call('POST', '/v1/model-prices', { model: `${customer}-model`, input_per_million: '1', output_per_million: '2' }),
  );
  const usage = {
    id: `${customer}-event`,
    customer,
    feature: `${customer}-feature`,
    timestamp: new Date(server.clock.now()).toISOString(),
    properties: { tokens: 3 },
  };
  const ingested = await ok(call('POST', '/v1/events', { events: [usage] }), 200);
  assert.equal(ingested.body.accepted, 1, ingested.text);
  ids.endpoint = (await ok(call('POST', '/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/never' }))).body.id;
  // Available is 962 (20 held): a rule at 960 and a debit of 10 cross it, so a top-up is requested.
  const rule = { enabled: true, threshold: '960', amount: '100' };
  await ok(call('POST', `/v1/customers/${customer}/wallets/${asset}/auto-top-up`, rule), 200);
  await ok(call('POST', '/v1/debits', { customer, asset, amount: '10' }));
  ids.topUp = (await ok(call('GET', `/v1/customers/${customer}/wallets/${asset}/top-ups`), 200)).body.data[0].id;
  ids.plan = `${customer}-plan`;
  const planVersion = { period: { interval: 'month' }, allowances: [{ asset, amount: '100' }] };
  await ok(call('POST', '/v1/plans', { id: ids.plan, version: planVersion }));
  ids.subscription = (await ok(call('POST', '/v1/subscriptions', { customer, plan: ids.plan }))).body.id;
  ids.checkout = (await ok(call('POST', '/v1/checkout-sessions', checkoutBody(customer, asset)))).body.id;
  const audit = await ok(call('GET', '/v1/audit-events?limit=100'), 200);
  ids.auditIds = audit.body.data.map((e: { id: string }) => e.id);
}

function checkoutBody(customer: string, asset: string) {
  return {
    customer,
    asset,
    amount: '10',
    price: { currency: asset, total: '1' },
    success_url: 'https://app.example/paid',
    cancel_url: 'https://app.example/cancelled',
  };
}

/** Everything of live's that a foreign call could change. */
async function liveDigest(): Promise<unknown> {
  const call = as(adminKey);
  const balances = (await ok(call('GET', `/v1/customers/${live.customer}/balances`), 200)).body;
  const transactions = (await ok(call('GET', '/v1/transactions?limit=100'), 200)).body.data.map(
    (t: { id: string }) => t.id,
  );
  const audit = (await ok(call('GET', '/v1/audit-events?limit=100'), 200)).body.data.map((e: { id: string }) => e.id);
  const grants = (await ok(call('GET', '/v1/grants?limit=100'), 200)).body.data;
  const holds = [];
  for (const id of [live.hold, live.hold2, live.capturedHold])
    holds.push((await ok(call('GET', `/v1/holds/${id}`), 200)).body);
  const keys = (await ok(call('GET', '/v1/api-keys?limit=100'), 200)).body.data;
  const customers = (await ok(call('GET', '/v1/customers?limit=100'), 200)).body.data;
  const assets = (await ok(call('GET', '/v1/assets'), 200)).body.data;
  const features = (await ok(call('GET', '/v1/features'), 200)).body.data;
  const priceBooks = (await ok(call('GET', '/v1/price-books'), 200)).body.data;
  const modelPrices = (await ok(call('GET', '/v1/model-prices'), 200)).body.data;
  const events = (await ok(call('GET', '/v1/events'), 200)).body.data;
  const wallet = `/v1/customers/${live.customer}/wallets/${live.asset}`;
  const topUps = [
    (await ok(call('GET', `${wallet}/auto-top-up`), 200)).body,
    (await ok(call('GET', `${wallet}/top-ups`), 200)).body,
  ];
  const plans = (await ok(call('GET', '/v1/plans'), 200)).body.data;
  const subscriptions = (await ok(call('GET', '/v1/subscriptions'), 200)).body.data;
  const checkout = (await ok(call('GET', `/v1/checkout-sessions/${live.checkout}`), 200)).body;
  return {
    checkout,
    topUps,
    plans,
    subscriptions,
    balances,
    transactions,
    audit,
    grants,
    holds,
    keys,
    customers,
    assets,
    features,
    priceBooks,
    modelPrices,
    events,
  };
}

/** Every string of live's that must never appear in an answer to `other`. */
function liveIds(): string[] {
  return [
    live.grant,
    live.debit,
    live.hold,
    live.hold2,
    live.capturedHold,
    live.capture,
    live.apiKeyId,
    live.topUp,
    `${live.customer}-feature`,
    `${live.customer}-prices`,
    `${live.customer}-model`,
    `${live.customer}-event`,
    live.endpoint,
    live.delivery,
    live.plan,
    live.subscription,
    live.checkout,
    liveEnvironmentId,
    ...live.auditIds,
  ];
}

/** `echoed`: what the request itself named (a 404's detail may quote it back). */
function assertNoLiveIds(reply: ApiResponse, label: string, echoed: string): void {
  for (const id of liveIds())
    assert.ok(
      echoed.includes(id) || !reply.text.includes(id),
      `${label} leaks live id ${id}: ${reply.text.slice(0, 500)}`,
    );
  if (!echoed.includes(live.customer))
    assert.ok(!reply.text.includes(`"${live.customer}"`), `${label} leaks live customer`);
}

/** `portal_only`: a /v1/portal/ route, which refuses any API key (domains/portal/test covers portal sessions there). */
type Expectation = 'not_found' | 'list' | 'own' | 'forbidden' | 'no_session' | 'portal_only';
interface Probe {
  readonly method: string;
  readonly path: () => string;
  readonly body?: () => unknown;
  readonly expect: Expectation;
  /** For not_found: the code expected. */
  readonly codes?: readonly string[];
}

/**
 * How to call every route with `other`'s key and `live`'s ids. Keyed by "METHOD /path" as in
 * /openapi.json; each key may have several probes.
 */
const table: Record<string, Probe[]> = {
  'POST /v1/environments': [
    { method: 'POST', path: () => '/v1/environments', body: () => ({ name: 'third' }), expect: 'forbidden' },
  ],
  'GET /v1/environments': [{ method: 'GET', path: () => '/v1/environments', expect: 'list' }],
  'POST /v1/api-keys': [
    { method: 'POST', path: () => '/v1/api-keys', body: () => ({ name: 'x', scopes: ['read'] }), expect: 'own' },
  ],
  'GET /v1/api-keys': [{ method: 'GET', path: () => '/v1/api-keys?limit=100', expect: 'list' }],
  'POST /v1/api-keys/{id}/revoke': [
    {
      method: 'POST',
      path: () => `/v1/api-keys/${live.apiKeyId}/revoke`,
      body: () => ({}),
      expect: 'not_found',
      codes: ['api_key_not_found'],
    },
  ],
  'POST /v1/assets': [
    { method: 'POST', path: () => '/v1/assets', body: () => ({ code: live.asset, scale: 2 }), expect: 'own' },
  ],
  'GET /v1/assets': [{ method: 'GET', path: () => '/v1/assets', expect: 'list' }],
  'POST /v1/customers': [
    {
      method: 'POST',
      path: () => '/v1/customers',
      body: () => ({ id: live.customer, name: 'impostor' }),
      expect: 'own',
    },
  ],
  'GET /v1/customers/{customer}': [
    { method: 'GET', path: () => `/v1/customers/${live.customer}`, expect: 'not_found', codes: ['customer_not_found'] },
  ],
  'GET /v1/customers': [
    { method: 'GET', path: () => '/v1/customers?limit=100', expect: 'list' },
    { method: 'GET', path: () => `/v1/customers?q=${live.customer}`, expect: 'list' },
  ],
  'GET /v1/customers/{customer}/balances': [
    {
      method: 'GET',
      path: () => `/v1/customers/${live.customer}/balances`,
      expect: 'not_found',
      codes: ['customer_not_found'],
    },
  ],
  'POST /v1/customers/{customer}/wallets/{asset}/policy': [
    {
      method: 'POST',
      path: () => `/v1/customers/${live.customer}/wallets/${live.asset}/policy`,
      body: () => ({ overdraft_limit: '500' }),
      expect: 'not_found',
      codes: ['customer_not_found', 'asset_not_found'],
    },
  ],
  'POST /v1/customers/{customer}/wallets/{asset}/auto-top-up': [
    {
      method: 'POST',
      path: () => `/v1/customers/${live.customer}/wallets/${live.asset}/auto-top-up`,
      body: () => ({ enabled: false, threshold: '1', amount: '1' }),
      expect: 'not_found',
      codes: ['customer_not_found', 'asset_not_found'],
    },
  ],
  'GET /v1/customers/{customer}/wallets/{asset}/auto-top-up': [
    {
      method: 'GET',
      path: () => `/v1/customers/${live.customer}/wallets/${live.asset}/auto-top-up`,
      expect: 'not_found',
      codes: ['customer_not_found', 'asset_not_found'],
    },
  ],
  'GET /v1/customers/{customer}/wallets/{asset}/top-ups': [
    {
      method: 'GET',
      path: () => `/v1/customers/${live.customer}/wallets/${live.asset}/top-ups`,
      expect: 'not_found',
      codes: ['customer_not_found', 'asset_not_found'],
    },
  ],
  'POST /v1/top-ups/{id}/settle': [
    {
      method: 'POST',
      path: () => `/v1/top-ups/${live.topUp}/settle`,
      body: () => ({ outcome: 'succeeded' }),
      expect: 'not_found',
      codes: ['top_up_not_found'],
    },
  ],
  'POST /v1/grants': [
    {
      method: 'POST',
      path: () => '/v1/grants',
      body: () => ({ customer: live.customer, asset: live.asset, amount: '77', category: 'paid' }),
      expect: 'not_found',
      codes: ['customer_not_found', 'asset_not_found'],
    },
  ],
  'GET /v1/grants/{id}': [
    { method: 'GET', path: () => `/v1/grants/${live.grant}`, expect: 'not_found', codes: ['grant_not_found'] },
  ],
  'GET /v1/grants': [
    { method: 'GET', path: () => '/v1/grants?limit=100', expect: 'list' },
    { method: 'GET', path: () => `/v1/grants?customer=${live.customer}&asset=${live.asset}`, expect: 'list' },
  ],
  'POST /v1/grants/{id}/void': [
    {
      method: 'POST',
      path: () => `/v1/grants/${live.grant}/void`,
      body: () => ({ reason: 'attack' }),
      expect: 'not_found',
      codes: ['grant_not_found'],
    },
  ],
  'POST /v1/debits': [
    {
      method: 'POST',
      path: () => '/v1/debits',
      body: () => ({ customer: live.customer, asset: live.asset, amount: '1' }),
      expect: 'not_found',
      codes: ['customer_not_found', 'asset_not_found'],
    },
  ],
  'POST /v1/debits/check': [
    {
      method: 'POST',
      path: () => '/v1/debits/check',
      body: () => ({ customer: live.customer, asset: live.asset, amount: '1' }),
      expect: 'not_found',
      codes: ['customer_not_found', 'asset_not_found'],
    },
  ],
  'POST /v1/holds': [
    {
      method: 'POST',
      path: () => '/v1/holds',
      body: () => ({ customer: live.customer, asset: live.asset, amount: '1' }),
      expect: 'not_found',
      codes: ['customer_not_found', 'asset_not_found'],
    },
  ],
  'GET /v1/holds': [
    { method: 'GET', path: () => '/v1/holds?limit=100', expect: 'list' },
    { method: 'GET', path: () => `/v1/holds?customer=${live.customer}&status=open`, expect: 'list' },
  ],
  'GET /v1/jobs': [{ method: 'GET', path: () => '/v1/jobs', expect: 'list' }],
  // A sign-in acts in the environment of the key in its body: other's key signs in to other.
  'POST /v1/console/sessions': [
    { method: 'POST', path: () => '/v1/console/sessions', body: () => ({ api_key: otherKey }), expect: 'own' },
  ],
  'GET /v1/console/sessions/current': [
    { method: 'GET', path: () => '/v1/console/sessions/current', expect: 'no_session' },
  ],
  'DELETE /v1/console/sessions/current': [
    { method: 'DELETE', path: () => '/v1/console/sessions/current', expect: 'no_session' },
  ],
  'GET /v1/holds/{id}': [
    { method: 'GET', path: () => `/v1/holds/${live.hold}`, expect: 'not_found', codes: ['hold_not_found'] },
  ],
  'POST /v1/holds/{id}/capture': [
    {
      method: 'POST',
      path: () => `/v1/holds/${live.hold}/capture`,
      body: () => ({ amount: '1' }),
      expect: 'not_found',
      codes: ['hold_not_found'],
    },
  ],
  'POST /v1/holds/{id}/release': [
    {
      method: 'POST',
      path: () => `/v1/holds/${live.hold}/release`,
      body: () => ({}),
      expect: 'not_found',
      codes: ['hold_not_found'],
    },
  ],
  'POST /v1/holds/{id}/extend': [
    {
      method: 'POST',
      path: () => `/v1/holds/${live.hold}/extend`,
      body: () => ({ amount: '1', ttl_seconds: 60 }),
      expect: 'not_found',
      codes: ['hold_not_found'],
    },
  ],
  'GET /v1/transactions': [
    { method: 'GET', path: () => '/v1/transactions?limit=100', expect: 'list' },
    { method: 'GET', path: () => `/v1/transactions?customer=${live.customer}`, expect: 'list' },
    { method: 'GET', path: () => `/v1/transactions?hold=${live.hold}`, expect: 'list' },
    { method: 'GET', path: () => `/v1/transactions?grant=${live.grant}`, expect: 'list' },
    { method: 'GET', path: () => `/v1/transactions?asset=${live.asset}&kind=debit`, expect: 'list' },
  ],
  'GET /v1/transactions/{id}': [
    {
      method: 'GET',
      path: () => `/v1/transactions/${live.debit}`,
      expect: 'not_found',
      codes: ['transaction_not_found'],
    },
    {
      method: 'GET',
      path: () => `/v1/transactions/${live.capture}`,
      expect: 'not_found',
      codes: ['transaction_not_found'],
    },
  ],
  'POST /v1/transactions/{id}/reverse': [
    {
      method: 'POST',
      path: () => `/v1/transactions/${live.debit}/reverse`,
      body: () => ({ reason: 'attack' }),
      expect: 'not_found',
      codes: ['transaction_not_found'],
    },
    {
      method: 'POST',
      path: () => `/v1/transactions/${live.capture}/reverse`,
      body: () => ({ amount: '1', reason: 'attack' }),
      expect: 'not_found',
      codes: ['transaction_not_found'],
    },
  ],
  'POST /v1/features': [
    { method: 'POST', path: () => '/v1/features', body: () => ({ key: 'fresh-feature' }), expect: 'own' },
  ],
  'GET /v1/features': [{ method: 'GET', path: () => '/v1/features', expect: 'list' }],
  'GET /v1/features/{key}': [
    {
      method: 'GET',
      path: () => `/v1/features/${live.customer}-feature`,
      expect: 'not_found',
      codes: ['feature_not_found'],
    },
  ],
  'POST /v1/price-books': [
    { method: 'POST', path: () => '/v1/price-books', body: () => ({ key: 'fresh-prices' }), expect: 'own' },
  ],
  'GET /v1/price-books': [{ method: 'GET', path: () => '/v1/price-books', expect: 'list' }],
  'GET /v1/price-books/{key}': [
    {
      method: 'GET',
      path: () => `/v1/price-books/${live.customer}-prices`,
      expect: 'not_found',
      codes: ['price_book_not_found'],
    },
  ],
  'POST /v1/price-books/{key}/versions': [
    {
      method: 'POST',
      path: () => `/v1/price-books/${live.customer}-prices/versions`,
      body: () => ({
        prices: [
          {
            feature: `${other.customer}-feature`,
            options: [
              { asset: other.asset, components: [{ quantity: 'tokens', rates: [{ per_unit: { unit_price: '9' } }] }] },
            ],
          },
        ],
      }),
      expect: 'not_found',
      codes: ['price_book_not_found'],
    },
  ],
  'POST /v1/model-prices': [
    {
      method: 'POST',
      path: () => '/v1/model-prices',
      body: () => ({ model: `${live.customer}-model`, input_per_million: '9', output_per_million: '9' }),
      expect: 'own',
    },
  ],
  'GET /v1/model-prices': [{ method: 'GET', path: () => '/v1/model-prices', expect: 'list' }],
  'POST /v1/quotes': [
    {
      method: 'POST',
      path: () => '/v1/quotes',
      body: () => ({ feature: `${live.customer}-feature`, properties: { tokens: 5 } }),
      expect: 'not_found',
      codes: ['feature_not_found'],
    },
  ],
  'POST /v1/events': [
    {
      method: 'POST',
      path: () => '/v1/events',
      body: () => ({
        events: [
          {
            id: `${live.customer}-event`,
            customer: live.customer,
            feature: `${live.customer}-feature`,
            timestamp: new Date(server.clock.now()).toISOString(),
          },
        ],
      }),
      expect: 'own',
    },
  ],
  'GET /v1/events': [
    { method: 'GET', path: () => '/v1/events', expect: 'list' },
    { method: 'GET', path: () => `/v1/events?customer=${live.customer}`, expect: 'list' },
  ],
  'POST /v1/simulations': [
    {
      method: 'POST',
      path: () => '/v1/simulations',
      body: () => ({
        from: new Date(server.clock.now() - 86_400_000).toISOString(),
        to: new Date(server.clock.now() + 60_000).toISOString(),
        customer: live.customer,
        prices: [
          {
            feature: `${other.customer}-feature`,
            options: [
              { asset: other.asset, components: [{ quantity: 'tokens', rates: [{ per_unit: { unit_price: '1' } }] }] },
            ],
          },
        ],
      }),
      expect: 'own',
    },
  ],
  'GET /v1/customers/{customer}/usage': [
    {
      method: 'GET',
      path: () => `/v1/customers/${live.customer}/usage?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z`,
      expect: 'not_found',
      codes: ['customer_not_found'],
    },
  ],
  'POST /v1/plans': [
    {
      method: 'POST',
      path: () => '/v1/plans',
      body: () => ({ id: 'other-own-plan', version: { period: { interval: 'month' } } }),
      expect: 'own',
    },
  ],
  'GET /v1/plans': [{ method: 'GET', path: () => '/v1/plans', expect: 'list' }],
  'GET /v1/plans/{plan}': [
    { method: 'GET', path: () => `/v1/plans/${live.plan}`, expect: 'not_found', codes: ['plan_not_found'] },
  ],
  'POST /v1/plans/{plan}/versions': [
    {
      method: 'POST',
      path: () => `/v1/plans/${live.plan}/versions`,
      body: () => ({ period: { interval: 'day' } }),
      expect: 'not_found',
      codes: ['plan_not_found'],
    },
  ],
  'POST /v1/subscriptions': [
    {
      method: 'POST',
      path: () => '/v1/subscriptions',
      body: () => ({ customer: live.customer, plan: live.plan }),
      expect: 'not_found',
      codes: ['customer_not_found', 'plan_not_found'],
    },
  ],
  'GET /v1/subscriptions': [
    { method: 'GET', path: () => '/v1/subscriptions', expect: 'list' },
    { method: 'GET', path: () => `/v1/subscriptions?customer=${live.customer}`, expect: 'list' },
  ],
  'GET /v1/subscriptions/{id}': [
    {
      method: 'GET',
      path: () => `/v1/subscriptions/${live.subscription}`,
      expect: 'not_found',
      codes: ['subscription_not_found'],
    },
  ],
  'POST /v1/subscriptions/{id}/change': [
    {
      method: 'POST',
      path: () => `/v1/subscriptions/${live.subscription}/change`,
      body: () => ({ action: 'pause' }),
      expect: 'not_found',
      codes: ['subscription_not_found'],
    },
  ],
  'POST /v1/subscriptions/{id}/change/preview': [
    {
      method: 'POST',
      path: () => `/v1/subscriptions/${live.subscription}/change/preview`,
      body: () => ({ action: 'change_plan', plan: live.plan }),
      expect: 'not_found',
      codes: ['subscription_not_found', 'plan_not_found'],
    },
  ],
  'POST /v1/subscriptions/{id}/cancel': [
    {
      method: 'POST',
      path: () => `/v1/subscriptions/${live.subscription}/cancel`,
      body: () => ({ timing: 'immediate' }),
      expect: 'not_found',
      codes: ['subscription_not_found'],
    },
  ],
  'POST /v1/customers/{customer}/entitlements/check': [
    {
      method: 'POST',
      path: () => `/v1/customers/${live.customer}/entitlements/check`,
      body: () => ({ feature: `${live.customer}-feature` }),
      expect: 'not_found',
      codes: ['customer_not_found'],
    },
  ],
  'POST /v1/webhook-endpoints': [
    {
      method: 'POST',
      path: () => '/v1/webhook-endpoints',
      body: () => ({ url: 'http://127.0.0.1:9/other' }),
      expect: 'own',
    },
  ],
  'GET /v1/webhook-endpoints': [{ method: 'GET', path: () => '/v1/webhook-endpoints', expect: 'list' }],
  'POST /v1/webhook-endpoints/{id}/delete': [
    {
      method: 'POST',
      path: () => `/v1/webhook-endpoints/${live.endpoint}/delete`,
      body: () => ({}),
      expect: 'not_found',
      codes: ['webhook_endpoint_not_found'],
    },
  ],
  'POST /v1/webhook-endpoints/{id}/rotate-secret': [
    {
      method: 'POST',
      path: () => `/v1/webhook-endpoints/${live.endpoint}/rotate-secret`,
      body: () => ({}),
      expect: 'not_found',
      codes: ['webhook_endpoint_not_found'],
    },
  ],
  'POST /v1/webhook-endpoints/{id}/test': [
    {
      method: 'POST',
      path: () => `/v1/webhook-endpoints/${live.endpoint}/test`,
      body: () => ({}),
      expect: 'not_found',
      codes: ['webhook_endpoint_not_found'],
    },
  ],
  'GET /v1/webhook-endpoints/{id}/deliveries': [
    {
      method: 'GET',
      path: () => `/v1/webhook-endpoints/${live.endpoint}/deliveries`,
      expect: 'not_found',
      codes: ['webhook_endpoint_not_found'],
    },
  ],
  'POST /v1/webhook-deliveries/{id}/redeliver': [
    {
      method: 'POST',
      path: () => `/v1/webhook-deliveries/${live.delivery}/redeliver`,
      body: () => ({}),
      expect: 'not_found',
      codes: ['webhook_delivery_not_found'],
    },
  ],
  'GET /v1/notifications': [
    { method: 'GET', path: () => '/v1/notifications', expect: 'list' },
    { method: 'GET', path: () => `/v1/notifications?customer=${live.customer}`, expect: 'list' },
  ],
  'POST /v1/adjustments': [
    {
      method: 'POST',
      path: () => '/v1/adjustments',
      body: () => ({ customer: live.customer, asset: live.asset, amount: '-5', reason: 'attack' }),
      expect: 'not_found',
      codes: ['customer_not_found', 'asset_not_found'],
    },
  ],
  'GET /v1/audit-events': [
    { method: 'GET', path: () => '/v1/audit-events?limit=100', expect: 'list' },
    {
      method: 'GET',
      path: () => `/v1/audit-events?target=${encodeURIComponent(`grant:${live.grant}`)}`,
      expect: 'list',
    },
    { method: 'GET', path: () => `/v1/audit-events?customer=${live.customer}`, expect: 'list' },
    { method: 'GET', path: () => `/v1/audit-events?actor=api_key:${live.apiKeyId}`, expect: 'list' },
  ],
  'GET /v1/audit-events/verify': [{ method: 'GET', path: () => '/v1/audit-events/verify', expect: 'list' }],
  'GET /v1/api-keys/current': [{ method: 'GET', path: () => '/v1/api-keys/current', expect: 'list' }],
  'GET /v1/finance/revenue': [
    { method: 'GET', path: () => '/v1/finance/revenue?from=2025-12-01&to=2027-01-01', expect: 'list' },
  ],
  'GET /v1/finance/journal': [
    { method: 'GET', path: () => '/v1/finance/journal?from=2025-12-01&to=2027-01-01&format=json', expect: 'list' },
  ],
  'GET /v1/finance/margin': [
    {
      method: 'GET',
      path: () => `/v1/finance/margin?from=2025-12-01&to=2027-01-01&currency=${other.asset}`,
      expect: 'list',
    },
  ],
  'GET /v1/finance/reconciliation': [
    { method: 'GET', path: () => '/v1/finance/reconciliation?from=2025-12-01&to=2027-01-01', expect: 'list' },
  ],
  'GET /v1/finance/settings': [{ method: 'GET', path: () => '/v1/finance/settings', expect: 'list' }],
  'POST /v1/finance/settings': [
    {
      method: 'POST',
      path: () => '/v1/finance/settings',
      body: () => ({ margin_low_threshold: '20', margin_currency: other.asset }),
      expect: 'own',
    },
  ],
  'POST /v1/finance/provider-costs': [
    {
      method: 'POST',
      path: () => '/v1/finance/provider-costs',
      body: () => ({ provider: 'openai', format: 'csv', content: 'day,model,cost\n2026-01-01,gpt-x,0.25\n' }),
      expect: 'own',
    },
  ],
  'POST /v1/customers/{customer}/stripe-customer': [
    {
      method: 'POST',
      path: () => `/v1/customers/${live.customer}/stripe-customer`,
      body: () => ({}),
      expect: 'not_found',
      codes: ['customer_not_found'],
    },
  ],
  'POST /v1/checkout-sessions': [
    {
      method: 'POST',
      path: () => '/v1/checkout-sessions',
      body: () => checkoutBody(live.customer, live.asset),
      expect: 'not_found',
      codes: ['customer_not_found', 'asset_not_found'],
    },
  ],
  'POST /v1/customers/{customer}/wallets/{asset}/stripe-overage': [
    {
      method: 'POST',
      path: () => `/v1/customers/${live.customer}/wallets/${live.asset}/stripe-overage`,
      body: () => ({ period: '2025-12', unit_price: { currency: live.asset, unit_price: '1' } }),
      expect: 'not_found',
      codes: ['customer_not_found', 'asset_not_found'],
    },
  ],
  'GET /v1/checkout-sessions/{id}': [
    {
      method: 'GET',
      path: () => `/v1/checkout-sessions/${live.checkout}`,
      expect: 'not_found',
      codes: ['checkout_session_not_found'],
    },
  ],
  'POST /v1/portal_sessions': [
    {
      method: 'POST',
      path: () => '/v1/portal_sessions',
      body: () => ({ customer: live.customer, return_url: 'https://app.example.com' }),
      expect: 'not_found',
      codes: ['customer_not_found'],
    },
  ],
  'GET /v1/portal_settings': [{ method: 'GET', path: () => '/v1/portal_settings', expect: 'own' }],
  'PUT /v1/portal_settings': [
    {
      method: 'PUT',
      path: () => '/v1/portal_settings',
      body: () => ({
        branding: { name: 'Other', logo_url: null, accent_color: null },
        auto_recharge: {
          editable: false,
          threshold_max: null,
          amount_min: null,
          amount_max: null,
          monthly_cap_max: null,
        },
        top_up: { prices: [] },
      }),
      expect: 'own',
    },
  ],
  ...Object.fromEntries(
    [
      ['GET', '/v1/portal/session'],
      ['GET', '/v1/portal/balances'],
      ['GET', '/v1/portal/grants'],
      ['GET', '/v1/portal/holds'],
      ['GET', '/v1/portal/usage'],
      ['GET', '/v1/portal/transactions'],
      ['GET', '/v1/portal/auto_recharge'],
      ['PUT', '/v1/portal/auto_recharge'],
      ['POST', '/v1/portal/top_ups'],
      ['GET', '/v1/portal/events'],
    ].map(([method = '', path = '']) => [
      `${method} ${path}`,
      [{ method, path: () => path, body: () => (method === 'GET' ? undefined : {}), expect: 'portal_only' as const }],
    ]),
  ),
};

/**
 * Routes that need no key: those outside /v1, which hold no tenant data, and Stripe's webhook, which
 * its signature authenticates (packages/server/src/domains/payments/test covers it).
 */
const unauthenticatedPaths = new Set([
  'GET /healthz',
  'GET /readyz',
  'GET /openapi.json',
  'GET /docs',
  'GET /metrics',
  'POST /v1/integrations/stripe/webhook',
]);

let operations: Array<{ key: string; scope: string | undefined }> = [];

before(async () => {
  stripe = await new FakeStripe().start();
  server = await startTestServer(stripe.config());
  const created = await ok(server.call('POST', '/v1/environments', { name: 'other' }));
  otherKey = created.body.admin_key.key;
  assert.match(otherKey, /^bk_/);
  const environments = await ok(server.call('GET', '/v1/environments'), 200);
  liveEnvironmentId = environments.body.data.find((e: { name: string }) => e.name === 'live').id;
  const probe = await server.call('GET', '/v1/assets', undefined, { key: otherKey });
  assert.equal(
    probe.status,
    200,
    `the admin key returned by createEnvironment must authenticate (${otherKey}): ${probe.text}`,
  );
  await seedEnvironment(adminKey, live, 'livecoin', 'live-cust');
  await seedEnvironment(otherKey, other, 'othercoin', 'other-cust');
  // Fan the seeded events out to each environment's endpoint, so each has deliveries to probe.
  await server.server.dispatchWebhooks();
  for (const [key, ids] of [
    [adminKey, live],
    [otherKey, other],
  ] as const) {
    const log = await ok(as(key)('GET', `/v1/webhook-endpoints/${ids.endpoint}/deliveries`), 200);
    ids.delivery = log.body.data[0].id;
  }
  const document = await ok(server.call('GET', '/openapi.json'), 200);
  operations = [];
  for (const [path, methods] of Object.entries(
    document.body.paths as Record<string, Record<string, { 'x-bursar-scope'?: string }>>,
  )) {
    for (const [method, operation] of Object.entries(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      operations.push({ key: `${method.toUpperCase()} ${path}`, scope: operation['x-bursar-scope'] });
    }
  }
});
after(async () => {
  await server?.close();
  await stripe?.close();
});

describe('tenant isolation', () => {
  it('the probe table covers every route of /openapi.json', () => {
    const routed = operations
      .filter((o) => !unauthenticatedPaths.has(o.key))
      .map((o) => o.key)
      .sort();
    assert.ok(routed.length >= 25, `found ${routed.length} routes`);
    assert.deepEqual(routed, Object.keys(table).sort(), 'every route (and only routes) of /openapi.json has probes');
  });

  it("every route called with the other environment's key and live's ids finds nothing and changes nothing", async () => {
    const before = await liveDigest();
    const call = as(otherKey);
    // Routes whose probe creates something in `other` named like live's (asset, customer) run last,
    // so they cannot turn later probes' not-found into found.
    const order = Object.entries(table).sort(
      ([, a], [, b]) => Number(a[0]?.expect === 'own') - Number(b[0]?.expect === 'own'),
    );
    let idempotency = 0;
    for (const [routeKey, probes] of order) {
      for (const probe of probes) {
        const label = `${routeKey} (${probe.method} ${probe.path()})`;
        const reply = await call(
          probe.method,
          probe.path(),
          probe.body?.(),
          probe.method === 'POST' ? `iso-${idempotency++}` : undefined,
        );
        assert.ok(reply.status < 500, `${label}: ${reply.status} ${reply.text}`);
        if (probe.expect === 'not_found') {
          assert.equal(reply.status, 404, `${label}: ${reply.text}`);
          assert.ok(probe.codes?.includes(reply.body?.code), `${label}: code ${reply.body?.code}`);
        } else if (probe.expect === 'list') {
          assert.equal(reply.status, 200, `${label}: ${reply.text}`);
        } else if (probe.expect === 'no_session') {
          // A key is no console session: nothing to show or end.
          assert.equal(reply.status, 401, `${label}: ${reply.text}`);
          assert.equal(reply.body.code, 'unauthenticated', label);
        } else if (probe.expect === 'portal_only') {
          assert.equal(reply.status, 403, `${label}: ${reply.text}`);
          assert.equal(reply.body.code, 'portal_session_required', label);
        } else if (probe.expect === 'forbidden') {
          assert.equal(reply.status, 403, `${label}: ${reply.text}`);
          assert.equal(reply.body.code, 'insufficient_scope', label);
        } else {
          assert.ok(
            reply.status === 201 || reply.status === 200,
            `${label}: creating in other's namespace is independent of live: ${reply.text}`,
          );
        }
        assertNoLiveIds(reply, label, `${probe.path()} ${JSON.stringify(probe.body?.() ?? null)}`);
      }
    }
    assert.deepEqual(await liveDigest(), before, "live's ledger, holds, grants, keys, audit unchanged");
    // Live's reader key is still working (it was not revoked from `other`).
    const verify = await ok(server.call('GET', '/v1/audit-events/verify'), 200);
    assert.equal(verify.body.valid, true);
    const otherVerify = await ok(call('GET', '/v1/audit-events/verify'), 200);
    assert.equal(otherVerify.body.valid, true);
    // Each environment's chain covers its own events only.
    const liveEvents = (await ok(server.call('GET', '/v1/audit-events?limit=100'), 200)).body.data.length;
    const otherEvents = (await ok(call('GET', '/v1/audit-events?limit=100'), 200)).body.data.length;
    assert.equal(verify.body.events_checked, liveEvents);
    assert.equal(otherVerify.body.events_checked, otherEvents);
  });

  it("other's customer named like live's is a separate wallet", async () => {
    // `other` makes its own `live-cust` and `livecoin`: a debit there draws nothing of live's.
    const made = await as(otherKey)('POST', '/v1/assets', { code: live.asset, scale: 0 });
    assert.ok(made.status === 201 || made.body?.code === 'asset_exists', made.text);
    const customer = await as(otherKey)('POST', '/v1/customers', { id: live.customer });
    assert.ok(customer.status === 201 || customer.body?.code === 'customer_exists', customer.text);
    const reply = await as(otherKey)(
      'POST',
      '/v1/debits',
      { customer: live.customer, asset: live.asset, amount: '1' },
      'iso-own-debit',
    );
    assert.equal(reply.status, 402, reply.text);
    assert.equal(reply.body.code, 'insufficient_balance');
    const liveBalances = await ok(server.call('GET', `/v1/customers/${live.customer}/balances`), 200);
    assert.equal(
      liveBalances.body.balances[0].balance,
      '1072',
      'the seed: 1,000 granted and 100 by the plan, 10 debited twice, 5 captured, 3 for the usage event',
    );
  });
});

describe('scopes and authentication', () => {
  const keys: Record<string, string> = {};
  let revokedId = '';
  before(async () => {
    for (const scope of ['read', 'ingest', 'write']) {
      keys[scope] = (await ok(server.call('POST', '/v1/api-keys', { name: `${scope}-key`, scopes: [scope] }))).body.key;
    }
    const revocable = await ok(server.call('POST', '/v1/api-keys', { name: 'revocable', scopes: ['admin'] }));
    keys.revoked = revocable.body.key;
    revokedId = revocable.body.id;
  });

  it('a read key is refused on every route that needs more than read (403 insufficient_scope)', async () => {
    const writeRoutes = operations.filter((o) => o.scope !== undefined && o.scope !== 'read');
    assert.ok(writeRoutes.length >= 15);
    const fill = (path: string) =>
      path
        .replace('{customer}', live.customer)
        .replace('{asset}', live.asset)
        .replace(
          '{id}',
          path.includes('holds')
            ? live.hold
            : path.includes('grants')
              ? live.grant
              : path.includes('api-keys')
                ? live.apiKeyId
                : live.debit,
        );
    const before = await liveDigest();
    for (const operation of writeRoutes) {
      const [method, path] = operation.key.split(' ') as [string, string];
      const reply = await server.call(method, fill(path), method === 'POST' ? {} : undefined, {
        key: keys.read as string,
      });
      assert.equal(reply.status, 403, `${operation.key}: ${reply.text}`);
      assert.equal(reply.body.code, 'insufficient_scope', operation.key);
    }
    assert.deepEqual(await liveDigest(), before);
  });

  it('an ingest key can debit and hold but not grant, adjust or create customers', async () => {
    const ingest = as(keys.ingest as string);
    await ok(ingest('POST', '/v1/debits', { customer: live.customer, asset: live.asset, amount: '1' }, 'ingest-debit'));
    const grant = await ingest(
      'POST',
      '/v1/grants',
      { customer: live.customer, asset: live.asset, amount: '1', category: 'paid' },
      'ingest-grant',
    );
    assert.equal(grant.status, 403, grant.text);
    assert.equal(grant.body.code, 'insufficient_scope');
    const adjust = await ingest('POST', '/v1/adjustments', {
      customer: live.customer,
      asset: live.asset,
      amount: '1',
      reason: 'x',
    });
    assert.equal(adjust.status, 403);
    const customer = await ingest('POST', '/v1/customers', { id: 'ingest-made' });
    assert.equal(customer.status, 403);
    const keysList = await ingest('GET', '/v1/api-keys');
    assert.equal(keysList.status, 403);
    // A write key can grant but not manage keys.
    const write = as(keys.write as string);
    await ok(
      write(
        'POST',
        '/v1/grants',
        { customer: live.customer, asset: live.asset, amount: '1', category: 'paid' },
        'write-grant',
      ),
    );
    const key = await write('POST', '/v1/api-keys', { name: 'nope', scopes: ['admin'] });
    assert.equal(key.status, 403);
    assert.equal(key.body.code, 'insufficient_scope');
  });

  it('a missing, malformed, unknown or revoked key gets 401', async () => {
    const base = server.url;
    const noKey = await fetch(`${base}/v1/customers`);
    assert.equal(noKey.status, 401);
    assert.match(noKey.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal(((await noKey.json()) as { code: string }).code, 'unauthenticated');
    for (const authorization of [
      'Bearer',
      'Bearer ',
      `Basic ${adminKey}`,
      adminKey,
      'Bearer not-a-key',
      `Bearer ${adminKey}x`,
      `Bearer bk_live_${'U'.repeat(43)}`,
      `Bearer ${otherKey.slice(0, -1)}`,
    ]) {
      const reply = await fetch(`${base}/v1/customers`, { headers: { authorization } });
      assert.equal(reply.status, 401, `authorization "${authorization}"`);
      assert.equal(((await reply.json()) as { code: string }).code, 'unauthenticated');
    }
    const revoked = keys.revoked as string;
    assert.equal((await server.call('GET', '/v1/customers', undefined, { key: revoked })).status, 200);
    await ok(server.call('POST', `/v1/api-keys/${revokedId}/revoke`, {}), 200);
    const after = await server.call('GET', '/v1/customers', undefined, { key: revoked });
    assert.equal(after.status, 401, after.text);
    assert.equal(after.body.code, 'unauthenticated');
    const write = await server.call('POST', '/v1/customers', { id: 'by-revoked' }, { key: revoked });
    assert.equal(write.status, 401);
  });
});

describe('environments and the owner scope', () => {
  const names = (reply: ApiResponse) => reply.body.data.map((e: { name: string }) => e.name).sort();
  let liveAdmin = '';

  it("an environment's admin key cannot create environments and lists only its own", async () => {
    const create = await as(otherKey)('POST', '/v1/environments', { name: 'by_other' });
    assert.equal(create.status, 403, create.text);
    assert.equal(create.body.code, 'insufficient_scope');
    const listed = await ok(as(otherKey)('GET', '/v1/environments'), 200);
    assert.deepEqual(names(listed), ['other']);
    assert.deepEqual(names(await ok(server.call('GET', '/v1/environments'), 200)), ['live', 'other']);
    // An admin key of the owner's own environment is no owner either.
    liveAdmin = (await ok(server.call('POST', '/v1/api-keys', { name: 'live-admin', scopes: ['admin'] }))).body.key;
    assert.equal((await as(liveAdmin)('POST', '/v1/environments', { name: 'by_live_admin' })).status, 403);
    assert.deepEqual(names(await ok(as(liveAdmin)('GET', '/v1/environments'), 200)), ['live']);
  });

  it('the bootstrap key is the owner: it creates environments and mints owner keys; admins cannot', async () => {
    const keys = (await ok(server.call('GET', '/v1/api-keys?limit=100'), 200)).body.data;
    const bootstrapKey = keys.find((k: { prefix: string }) => adminKey.startsWith(k.prefix.replace('…', '')));
    assert.deepEqual(bootstrapKey?.scopes, ['owner']);
    for (const key of [otherKey, liveAdmin]) {
      const minted = await as(key)('POST', '/v1/api-keys', { name: 'escalate', scopes: ['read', 'owner'] });
      assert.equal(minted.status, 403, minted.text);
      assert.equal(minted.body.code, 'insufficient_scope');
      assert.match(minted.body.detail, /`owner`/);
    }
    const owner = (await ok(server.call('POST', '/v1/api-keys', { name: 'second owner', scopes: ['owner'] }))).body;
    assert.deepEqual(owner.scopes, ['owner']);
    const made = await ok(as(owner.key)('POST', '/v1/environments', { name: 'by_owner' }));
    assert.deepEqual(made.body.admin_key.scopes, ['admin'], "a new environment's first key is its admin, not an owner");
    assert.deepEqual(names(await ok(as(owner.key)('GET', '/v1/environments'), 200)), ['by_owner', 'live', 'other']);
    // The owner is also an admin of its own environment (scopes nest).
    await ok(as(owner.key)('GET', '/v1/api-keys'), 200);
    await ok(as(owner.key)('POST', '/v1/customers', { id: 'made-by-owner' }));
  });

  it('an admin cannot revoke an owner key, so the owner scope cannot be taken away', async () => {
    const keys = (await ok(server.call('GET', '/v1/api-keys?limit=100'), 200)).body.data;
    const bootstrapKey = keys.find((k: { prefix: string }) => adminKey.startsWith(k.prefix.replace('…', '')));
    const revoked = await as(liveAdmin)('POST', `/v1/api-keys/${bootstrapKey.id}/revoke`);
    assert.equal(revoked.status, 403, revoked.text);
    assert.equal(revoked.body.code, 'insufficient_scope');
    assert.match(revoked.body.detail, /`owner`/);
    await ok(server.call('GET', '/v1/environments'), 200);
    // An admin still revokes keys within its scopes.
    const reader = (await ok(server.call('POST', '/v1/api-keys', { name: 'reader', scopes: ['read'] }))).body;
    await ok(as(liveAdmin)('POST', `/v1/api-keys/${reader.id}/revoke`), 200);
    assert.equal((await as(reader.key)('GET', '/v1/assets')).status, 401);
  });
});

describe('a database from before the owner scope', () => {
  it('makes its bootstrap key the owner at the next start, once, and audits it', async () => {
    const database = await createTestDatabase();
    const clock = new ManualClock(clockStart);
    const start = () => startServer(testConfig(database.url), { clock, logger: createLogger({ level: 'silent' }) });
    let running = await start();
    try {
      // What an older version left behind: the bootstrap key holds `admin`, and so does a later key.
      const later = await callApi(
        running.url,
        'POST',
        '/v1/api-keys',
        { name: 'later', scopes: ['admin'] },
        {
          key: adminKey,
        },
      );
      assert.equal(later.status, 201, later.text);
      await running.database.writeTransaction((session) => session.run("UPDATE api_keys SET scopes = 'admin'"));
      await running.close();
      running = await start();
      const call = (key: string, method: string, path: string, body?: unknown) =>
        callApi(running.url, method, path, body, { key });
      const keys = (await call(adminKey, 'GET', '/v1/api-keys')).body.data;
      assert.deepEqual(keys.map((k: { name: string; scopes: string[] }) => `${k.name}: ${k.scopes.join(',')}`).sort(), [
        'bootstrap owner: owner',
        'later: admin',
      ]);
      assert.equal((await call(later.body.key, 'POST', '/v1/environments', { name: 'nope' })).status, 403);
      assert.equal((await call(adminKey, 'POST', '/v1/environments', { name: 'yes' })).status, 201);
      await running.close();
      running = await start();
      const audit = (await call(adminKey, 'GET', '/v1/audit-events?limit=100')).body.data;
      assert.equal(audit.filter((e: { action: string }) => e.action === 'api_key.promoted').length, 1);
      const verify = await call(adminKey, 'GET', '/v1/audit-events/verify');
      assert.equal(verify.body.valid, true, verify.text);
    } finally {
      await running.close();
      await database.drop();
    }
  });
});
