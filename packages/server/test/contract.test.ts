/**
 * The OpenAPI document tells the truth: one scenario calls every operation, and each success
 * response must parse with the schema the route table declares for its status and carry no
 * field the document does not describe. An operation the scenario misses fails the test.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { z } from 'zod';
import type { Route } from '../src/platform/http/router.ts';
import { ledgerRoutes } from '../src/routes.ts';
import type { ApiResponse, TestServer } from './harness.ts';
import { seedCustomer, startTestServer } from './harness.ts';

let server: TestServer;
const seen = new Map<string, ApiResponse[]>();
const routes: Route[] = [];

async function call(operationId: string, method: string, path: string, body?: unknown): Promise<ApiResponse> {
  const reply = await server.call(method, path, body);
  assert.ok(reply.status < 300, `${operationId}: ${reply.status} ${reply.text}`);
  seen.set(operationId, [...(seen.get(operationId) ?? []), reply]);
  return reply;
}

before(async () => {
  server = await startTestServer();
  routes.push(...ledgerRoutes(server.server.service, () => {}));
  await call('createAsset', 'POST', '/v1/assets', { code: 'usd', scale: 2 });
  await seedCustomer(server, 'acme');
  await call('createCustomer', 'POST', '/v1/customers', { id: 'globex', name: 'Globex', metadata: { plan: 'pro' } });
  await call('createEnvironment', 'POST', '/v1/environments', { name: 'staging' });
  await call('listEnvironments', 'GET', '/v1/environments');
  const key = await call('createApiKey', 'POST', '/v1/api-keys', { name: 'reader', scopes: ['read'] });
  await call('listApiKeys', 'GET', '/v1/api-keys');
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
  await call('extendHold', 'POST', `/v1/holds/${hold.body.hold.id}/extend`, { amount: '5', ttl_seconds: 120 });
  await call('captureHold', 'POST', `/v1/holds/${hold.body.hold.id}/capture`, { amount: '12' });
  const second = await call('createHold', 'POST', '/v1/holds', { customer: 'acme', asset: 'credits', amount: '3' });
  await call('releaseHold', 'POST', `/v1/holds/${second.body.hold.id}/release`, {});
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
  await call('changeSubscription', 'POST', `/v1/subscriptions/${subscription.body.id}/change`, {
    action: 'change_plan',
    plan: 'pro',
    version: 2,
    timing: 'period_end',
  });
  await call('checkEntitlement', 'POST', '/v1/customers/globex/entitlements/check', {
    feature: 'chat',
    quantity: '2',
    quantities: { model: 'gpt-x', input_tokens: 100, output_tokens: 20 },
  });
  await call('checkEntitlement', 'POST', '/v1/customers/globex/entitlements/check', { feature: 'sso' });
  await call('cancelSubscription', 'POST', `/v1/subscriptions/${subscription.body.id}/cancel`, { timing: 'immediate' });
  await call('deleteWebhookEndpoint', 'POST', `/v1/webhook-endpoints/${endpoint.body.id}/delete`, {});
  await call('listAuditEvents', 'GET', '/v1/audit-events');
  await call('verifyAuditLog', 'GET', '/v1/audit-events/verify');
});

after(async () => {
  await server.close();
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
      assert.deepEqual(
        undocumentedFields(
          z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as JsonSchema,
          reply.body,
          '',
        ),
        [],
        route.operationId,
      );
    }
  }
});

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
  const lists = routes.filter((route) => route.operationId.startsWith('list'));
  assert.ok(lists.length > 0);
  for (const route of lists) {
    const operation = document.paths[route.path][route.method.toLowerCase()];
    const parameters = new Map<string, { in: string; schema: { maximum?: number; default?: number } }>(
      operation.parameters.map((parameter: { name: string }) => [parameter.name, parameter]),
    );
    assert.equal(parameters.get('cursor')?.in, 'query', `${route.operationId} documents no cursor`);
    assert.equal(parameters.get('limit')?.in, 'query', `${route.operationId} documents no limit`);
    const page = z.toJSONSchema(route.responses[200] ?? z.never(), { io: 'output' }) as { properties?: object };
    assert.deepEqual(Object.keys(page.properties ?? {}).sort(), ['data', 'next_cursor'], route.operationId);
  }
});
