/**
 * Paging of every list operation: walking `next_cursor` with a small `limit` returns every row
 * exactly once, in the documented order, even while rows are added between pages; `limit` above
 * the maximum and cursors that no list handed out are refused by name; a cursor of one
 * environment shows another nothing of the first's. Every `list*` operation of /openapi.json
 * must have a case here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ApiResponse, startTestServer, type TestServer } from './harness.ts';

let server: TestServer;
let otherKey = '';
let serial = 0;

// biome-ignore lint/suspicious/noExplicitAny: list items are inspected field by field
type Item = any;

interface ListCase {
  /** The list's path, with any filters that keep its rows to this case's own. */
  readonly path: () => string;
  /** Adds one row the list shows. */
  readonly add: () => Promise<void>;
  /** The item's unique key, as the list documents its order. */
  readonly key: (item: Item) => string;
  /** The documented order: each item's sort key, compared element by element. */
  readonly sortKey: (item: Item) => readonly (string | number)[];
  readonly direction: 'asc' | 'desc';
  /** Nested under a resource of the caller's own environment: another environment gets 404, not a page. */
  readonly nested?: boolean;
  /** The bearer the list is called with (a portal session's token); absent: the admin key. */
  readonly bearer?: () => string;
  /** The same for the other environment; absent: its admin key. */
  readonly otherBearer?: () => string;
}

async function ok(reply: Promise<ApiResponse>, status = 201): Promise<ApiResponse> {
  const r = await reply;
  assert.equal(r.status, status, r.text);
  return r;
}

function next(): number {
  serial += 1;
  return serial;
}

const call = (method: string, path: string, body?: unknown) => server.call(method, path, body);

const asset = 'credits';
const plan = 'paging-plan';
const feature = 'paging.feature';
let endpoint = '';
const topUpCustomer = 'paging-top-ups';
const portalCustomer = 'paging-portal';
let portalToken = '';
let otherPortalToken = '';

async function withNewCustomer(prefix: string): Promise<string> {
  const id = `${prefix}-${String(next()).padStart(4, '0')}`;
  await ok(call('POST', '/v1/customers', { id }));
  return id;
}

function bytewise(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const [x, y] = [Buffer.from(String(a)), Buffer.from(String(b))];
  return Buffer.compare(x, y);
}

function compareSortKeys(a: readonly (string | number)[], b: readonly (string | number)[]): number {
  for (let index = 0; index < Math.max(a.length, b.length); index += 1) {
    const order = bytewise(a[index] ?? '', b[index] ?? '');
    if (order !== 0) return order;
  }
  return 0;
}

const cases: Record<string, ListCase> = {
  listPortalGrants: {
    path: () => '/v1/portal/grants',
    add: async () => {
      await ok(call('POST', '/v1/grants', { customer: portalCustomer, asset, amount: '5', category: 'paid' }));
    },
    key: (item) => item.id,
    sortKey: (item) => [item.id],
    direction: 'desc',
    bearer: () => portalToken,
    otherBearer: () => otherPortalToken,
  },
  listPortalTransactions: {
    path: () => '/v1/portal/transactions',
    add: async () => {
      await ok(call('POST', '/v1/debits', { customer: portalCustomer, asset, amount: '1' }));
    },
    key: (item) => item.id,
    sortKey: (item) => [item.id],
    direction: 'desc',
    bearer: () => portalToken,
    otherBearer: () => otherPortalToken,
  },
  listPortalHolds: {
    path: () => '/v1/portal/holds',
    add: async () => {
      await ok(call('POST', '/v1/holds', { customer: portalCustomer, asset, amount: '1', ttl_seconds: 3600 }));
    },
    key: (item) => item.id,
    sortKey: (item) => [item.id],
    direction: 'asc',
    bearer: () => portalToken,
    otherBearer: () => otherPortalToken,
  },
  listEnvironments: {
    path: () => '/v1/environments',
    add: async () => {
      await ok(call('POST', '/v1/environments', { name: `paging_${next()}` }));
    },
    key: (item) => item.id,
    sortKey: (item) => [item.id],
    direction: 'asc',
  },
  listApiKeys: {
    path: () => '/v1/api-keys',
    add: async () => {
      await ok(call('POST', '/v1/api-keys', { name: `paging ${next()}`, scopes: ['read'] }));
    },
    key: (item) => item.id,
    sortKey: (item) => [item.id],
    direction: 'desc',
  },
  listAssets: {
    path: () => '/v1/assets',
    add: async () => {
      await ok(call('POST', '/v1/assets', { code: `paging_${String(next()).padStart(4, '0')}`, scale: 2 }));
    },
    key: (item) => item.code,
    sortKey: (item) => [item.code],
    direction: 'asc',
  },
  listCustomers: {
    path: () => '/v1/customers',
    add: async () => {
      await withNewCustomer('paging-customer');
    },
    key: (item) => item.id,
    sortKey: (item) => [item.id],
    direction: 'desc',
  },
  listGrants: {
    path: () => '/v1/grants?customer=paging-grants',
    add: async () => {
      await ok(call('POST', '/v1/grants', { customer: 'paging-grants', asset, amount: '5', category: 'paid' }));
    },
    key: (item) => item.id,
    sortKey: (item) => [item.id],
    direction: 'desc',
  },
  listTransactions: {
    path: () => '/v1/transactions?customer=paging-transactions',
    add: async () => {
      await ok(call('POST', '/v1/debits', { customer: 'paging-transactions', asset, amount: '1' }));
    },
    key: (item) => item.id,
    sortKey: (item) => [item.id],
    direction: 'desc',
  },
  listAuditEvents: {
    path: () => '/v1/audit-events?action=asset.created',
    add: async () => {
      await ok(call('POST', '/v1/assets', { code: `audited_${String(next()).padStart(4, '0')}`, scale: 0 }));
    },
    key: (item) => item.id,
    sortKey: (item) => [item.seq],
    direction: 'desc',
  },
  listFeatures: {
    path: () => '/v1/features',
    add: async () => {
      await ok(call('POST', '/v1/features', { key: `paging.f${String(next()).padStart(4, '0')}` }));
    },
    key: (item) => item.key,
    sortKey: (item) => [item.key],
    direction: 'asc',
  },
  listPriceBooks: {
    path: () => '/v1/price-books',
    add: async () => {
      await ok(call('POST', '/v1/price-books', { key: `paging-book-${String(next()).padStart(4, '0')}` }));
    },
    key: (item) => item.key,
    sortKey: (item) => [item.key],
    direction: 'asc',
  },
  listModelPrices: {
    path: () => '/v1/model-prices',
    add: async () => {
      // Two models and several dates each, so the order's second column (effective_from) counts.
      const n = next();
      await ok(
        call('POST', '/v1/model-prices', {
          model: `paging-model-${n % 2}`,
          effective_from: new Date(server.clock.now() + n * 60_000).toISOString(),
          input_per_million: '1',
          output_per_million: '2',
        }),
      );
    },
    key: (item) => `${item.model}@${item.effective_from}`,
    sortKey: (item) => [item.model, Date.parse(item.effective_from)],
    direction: 'asc',
  },
  listEvents: {
    path: () => '/v1/events?customer=paging-events',
    add: async () => {
      // Timestamps out of arrival order: a backfilled event sorts among the older ones.
      const n = next();
      const event = {
        // Near the 200-character bound and escaped in JSON, so the cursor after it is at its longest.
        id: `paging-event-${n}-${'\\'.repeat(180)}`,
        customer: 'paging-events',
        feature,
        timestamp: new Date(server.clock.now() - ((n * 7919) % 50) * 1000).toISOString(),
        properties: { tokens: 1 },
      };
      const reply = await ok(call('POST', '/v1/events', { events: [event] }), 200);
      assert.equal(reply.body.accepted, 1, reply.text);
    },
    key: (item) => item.id,
    sortKey: (item) => [Date.parse(item.timestamp), item.id],
    direction: 'desc',
  },
  listWebhookEndpoints: {
    path: () => '/v1/webhook-endpoints',
    add: async () => {
      await ok(call('POST', '/v1/webhook-endpoints', { url: `http://127.0.0.1:9/paging/${next()}` }));
    },
    key: (item) => item.id,
    sortKey: (item) => [item.id],
    direction: 'asc',
  },
  listWebhookDeliveries: {
    path: () => `/v1/webhook-endpoints/${endpoint}/deliveries`,
    add: async () => {
      await ok(call('POST', `/v1/webhook-endpoints/${endpoint}/test`, {}));
    },
    key: (item) => item.id,
    sortKey: (item) => [item.id],
    direction: 'desc',
    nested: true,
  },
  listNotifications: {
    path: () => '/v1/notifications?customer=paging-grants&type=grant.created',
    add: async () => {
      await ok(call('POST', '/v1/grants', { customer: 'paging-grants', asset, amount: '1', category: 'paid' }));
    },
    key: (item) => item.id,
    sortKey: (item) => [item.id],
    direction: 'desc',
  },
  listTopUps: {
    path: () => `/v1/customers/${topUpCustomer}/wallets/${asset}/top-ups`,
    add: async () => {
      // Debiting below the rule's threshold requests a top-up; settling it lifts the balance again.
      await ok(call('POST', '/v1/debits', { customer: topUpCustomer, asset, amount: '150' }));
      const wallet = `/v1/customers/${topUpCustomer}/wallets/${asset}`;
      const pending = (await ok(call('GET', `${wallet}/top-ups?status=requested`), 200)).body.data;
      assert.equal(pending.length, 1, JSON.stringify(pending));
      await ok(call('POST', `/v1/top-ups/${pending[0].id}/settle`, { outcome: 'succeeded' }), 200);
    },
    key: (item) => item.id,
    sortKey: (item) => [item.id],
    direction: 'desc',
    nested: true,
  },
  listPlans: {
    path: () => '/v1/plans',
    add: async () => {
      const version = { period: { interval: 'month' }, allowances: [{ asset, amount: '1' }] };
      await ok(call('POST', '/v1/plans', { id: `paging-plan-${String(next()).padStart(4, '0')}`, version }));
    },
    key: (item) => item.id,
    sortKey: (item) => [item.id],
    direction: 'asc',
  },
  listSubscriptions: {
    path: () => '/v1/subscriptions',
    add: async () => {
      const customer = await withNewCustomer('paging-subscriber');
      await ok(call('POST', '/v1/subscriptions', { customer, plan }));
    },
    key: (item) => item.id,
    sortKey: (item) => [item.id],
    direction: 'asc',
  },
};

async function page(path: string, query: string, key?: string): Promise<ApiResponse> {
  const separator = path.includes('?') ? '&' : '?';
  return server.call('GET', `${path}${separator}${query}`, undefined, key === undefined ? {} : { key });
}

/** Follows `next_cursor` from the first page; `between` runs after each page is read. */
async function walk(
  path: string,
  limit: number,
  between: () => Promise<void> = async () => {},
  key?: string,
): Promise<Item[]> {
  const items: Item[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 1000; pages += 1) {
    const reply = await page(
      path,
      `limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
      key,
    );
    assert.equal(reply.status, 200, reply.text);
    assert.ok(reply.body.data.length <= limit, `a page of ${limit} had ${reply.body.data.length}`);
    items.push(...reply.body.data);
    cursor = reply.body.next_cursor;
    if (cursor === null) return items;
    assert.ok(reply.body.data.length > 0, 'a page with a next_cursor is not empty');
    await between();
  }
  throw new Error(`${path}: no last page after 1000 pages`);
}

function assertInOrder(list: ListCase, items: readonly Item[], label: string): void {
  for (let index = 1; index < items.length; index += 1) {
    const order = compareSortKeys(list.sortKey(items[index - 1]), list.sortKey(items[index]));
    assert.ok(
      list.direction === 'asc' ? order < 0 : order > 0,
      `${label}: ${list.key(items[index - 1])} then ${list.key(items[index])} is not ${list.direction}ending`,
    );
  }
}

function assertOnce(list: ListCase, items: readonly Item[], label: string): void {
  const keys = items.map(list.key);
  assert.equal(new Set(keys).size, keys.length, `${label}: a row came back twice: ${keys.join(', ')}`);
}

describe('lists', () => {
  before(async () => {
    server = await startTestServer();
    await ok(call('POST', '/v1/assets', { code: asset, scale: 0 }));
    for (const customer of ['paging-grants', 'paging-transactions', 'paging-events', topUpCustomer])
      await ok(call('POST', '/v1/customers', { id: customer }));
    await ok(call('POST', '/v1/grants', { customer: 'paging-transactions', asset, amount: '1000', category: 'paid' }));
    await ok(call('POST', '/v1/grants', { customer: 'paging-events', asset, amount: '1000', category: 'paid' }));
    await ok(call('POST', '/v1/grants', { customer: topUpCustomer, asset, amount: '1000', category: 'paid' }));
    const rule = { enabled: true, threshold: '900', amount: '150' };
    await ok(call('POST', `/v1/customers/${topUpCustomer}/wallets/${asset}/auto-top-up`, rule), 200);
    await ok(call('POST', '/v1/features', { key: feature, quantities: { tokens: { property: 'tokens' } } }));
    await ok(call('POST', '/v1/price-books', { key: 'paging-prices', default: true }));
    const prices = [
      {
        feature,
        options: [{ asset, components: [{ quantity: 'tokens', rates: [{ per_unit: { unit_price: '1' } }] }] }],
      },
    ];
    await ok(call('POST', '/v1/price-books/paging-prices/versions', { prices }));
    server.clock.advance(3_600_000); // events up to a minute old are then priced by the version above
    endpoint = (await ok(call('POST', '/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/paging' }))).body.id;
    const version = { period: { interval: 'month' }, allowances: [{ asset, amount: '1' }] };
    await ok(call('POST', '/v1/plans', { id: plan, version }));
    otherKey = (await ok(call('POST', '/v1/environments', { name: 'paging_other' }))).body.admin_key.key;
    await ok(call('POST', '/v1/customers', { id: portalCustomer }));
    await ok(call('POST', '/v1/grants', { customer: portalCustomer, asset, amount: '100000', category: 'paid' }));
    const portalSession = { customer: portalCustomer, return_url: 'https://app.example.com', ttl_seconds: 3600 };
    portalToken = (await ok(call('POST', '/v1/portal_sessions', portalSession))).body.token;
    // Another id in the other environment, so listCustomers' own case finds no id of this one there.
    const otherSession = { ...portalSession, customer: 'other-portal' };
    await ok(server.call('POST', '/v1/customers', { id: otherSession.customer }, { key: otherKey }));
    otherPortalToken = (await ok(server.call('POST', '/v1/portal_sessions', otherSession, { key: otherKey }))).body
      .token;
  });
  after(() => server?.close());

  it('has a case for every list operation of the API', async () => {
    const document = (await ok(call('GET', '/openapi.json'), 200)).body;
    const listed: string[] = [];
    for (const operations of Object.values(document.paths) as Record<string, { operationId?: string }>[])
      for (const operation of Object.values(operations))
        if (operation.operationId?.startsWith('list') === true) listed.push(operation.operationId);
    assert.deepEqual(listed.sort(), Object.keys(cases).sort());
  });

  for (const [operationId, list] of Object.entries(cases)) {
    describe(operationId, () => {
      it('walks every row exactly once in the documented order, also while rows are added', async () => {
        for (let index = 0; index < 5; index += 1) await list.add();
        const whole = await walk(list.path(), 200, undefined, list.bearer?.());
        assert.ok(whole.length >= 5, `${operationId}: ${whole.length} rows`);
        assertOnce(list, whole, `${operationId} limit=200`);
        assertInOrder(list, whole, `${operationId} limit=200`);

        const small = await walk(list.path(), 2, undefined, list.bearer?.());
        assert.deepEqual(
          small.map(list.key),
          whole.map(list.key),
          `${operationId}: pages of 2 differ from pages of 200`,
        );

        // Rows added between page reads may or may not show, but no row already there is skipped or repeated.
        const concurrent = await walk(list.path(), 3, () => list.add(), list.bearer?.());
        assertOnce(list, concurrent, `${operationId} while adding`);
        assertInOrder(list, concurrent, `${operationId} while adding`);
        const seen = new Set(concurrent.map(list.key));
        for (const item of whole) assert.ok(seen.has(list.key(item)), `${operationId}: ${list.key(item)} was skipped`);
      });

      it('refuses a limit above the maximum, naming limit', async () => {
        for (const limit of ['201', '0', '-1', '2.5', 'ten']) {
          const reply = await page(list.path(), `limit=${limit}`, list.bearer?.());
          assert.equal(reply.status, 400, `${operationId} limit=${limit}: ${reply.text}`);
          assert.match(String(reply.headers.get('content-type')), /application\/problem\+json/);
          assert.deepEqual(
            reply.body.errors.map((error: { field: string }) => error.field),
            ['limit'],
            reply.text,
          );
        }
        assert.equal((await page(list.path(), 'limit=200', list.bearer?.())).status, 200);
      });

      it('refuses a cursor it did not hand out, naming cursor', async () => {
        const foreign = (await page('/v1/customers', 'limit=1')).body.next_cursor;
        assert.equal(typeof foreign, 'string');
        const bad = [
          'not-a-cursor!',
          'AAAA',
          Buffer.from('["x"]').toString('base64url'),
          Buffer.from('{"a":1}').toString('base64url'),
          Buffer.from('\u0000').toString('base64url'),
          ...(operationId === 'listCustomers' ? [] : [foreign]),
        ];
        for (const cursor of bad) {
          const reply = await page(list.path(), `limit=2&cursor=${encodeURIComponent(cursor)}`, list.bearer?.());
          assert.equal(reply.status, 400, `${operationId} cursor=${cursor}: ${reply.text}`);
          assert.deepEqual(
            reply.body.errors.map((error: { field: string }) => error.field),
            ['cursor'],
            reply.text,
          );
        }
      });

      if (list.nested !== true && operationId !== 'listEnvironments') {
        it("gives another environment none of this one's rows for its cursor", async () => {
          const first = await page(list.path(), 'limit=1', list.bearer?.());
          assert.equal(first.status, 200, first.text);
          const cursor = first.body.next_cursor;
          assert.equal(typeof cursor, 'string', first.text);
          const own = new Set((await walk(list.path(), 200, undefined, list.bearer?.())).map(list.key));
          const reply = await page(
            list.path(),
            `limit=200&cursor=${encodeURIComponent(cursor)}`,
            list.otherBearer?.() ?? otherKey,
          );
          assert.equal(reply.status, 200, reply.text);
          for (const item of reply.body.data)
            assert.ok(!own.has(list.key(item)), `${operationId}: another environment sees ${list.key(item)}`);
        });
      }
    });
  }
});
