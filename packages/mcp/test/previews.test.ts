/**
 * The previews the agent script does not reach, through the MCP SDK's Client on an in-memory
 * transport against a real server: each changes nothing and says what the write would do; then
 * the write does it. Raw timestamps reach the server as written.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Bursar } from '@bursar/sdk';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { TestServer } from '../../server/test/harness.ts';
import { adminKey, startTestServer } from '../../server/test/harness.ts';
import { createBursarMcpServer } from '../src/index.ts';
import { fail, succeed } from './agent-script.ts';

let server: TestServer;
let client: Client;

before(async () => {
  server = await startTestServer();
  const mcp = createBursarMcpServer({ bursar: new Bursar({ baseUrl: server.url, apiKey: adminKey }) });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await mcp.connect(serverSide);
  client = new Client({ name: 'bursar-test-agent', version: '1.0.0' });
  await client.connect(clientSide);
  await server.call('POST', '/v1/assets', { code: 'credits', scale: 2 });
  await server.call('POST', '/v1/customers', { id: 'org_1' });
  await server.call('POST', '/v1/features', { key: 'chat' });
});

after(async () => {
  await client?.close();
  await server?.close();
});

/** The state a write would change, without the request id every reply carries. */
async function state(path: string): Promise<unknown> {
  const { request_id: _requestId, ...body } = (await server.call('GET', path)).body;
  return body;
}

async function previewChangesNothing(name: string, args: Record<string, unknown>, path: string) {
  const before = await state(path);
  const preview = await succeed(client, name, { ...args, preview: true });
  assert.equal(preview.changed, 'nothing');
  assert.deepEqual(await state(path), before, `${name}: the preview changed nothing`);
  return preview;
}

test('price book and version: previewed, then published with a timestamp sent as written', async () => {
  const bookArgs = { key: 'standard', default: true, idempotency_key: 'book-1' };
  const book = await previewChangesNothing('create_price_book', bookArgs, '/v1/price-books/standard');
  assert.equal(book.current.existing, null);
  await succeed(client, 'create_price_book', bookArgs);

  const versionArgs = {
    key: 'standard',
    prices: [
      {
        feature: 'chat',
        options: [
          { asset: 'credits', components: [{ quantity: 'units', rates: [{ per_unit: { unit_price: '2' } }] }] },
        ],
      },
    ],
    idempotency_key: 'book-1-v1',
  };
  const version = await previewChangesNothing('publish_price_version', versionArgs, '/v1/price-books/standard');
  assert.match(version.would_change, /effective now; its 0 existing version/);
  await succeed(client, 'publish_price_version', versionArgs);

  const priceArgs = {
    model: 'claude-test',
    input_per_million: '3',
    output_per_million: '15',
    effective_from: '2026-03-01T00:00:00+01:00',
    idempotency_key: 'model-1',
  };
  const price = await previewChangesNothing('set_model_price', priceArgs, '/v1/model-prices');
  assert.match(price.would_change, /from 2026-03-01T00:00:00\+01:00; the model has no price yet/);
  const written = await succeed(client, 'set_model_price', priceArgs);
  assert.equal(Date.parse(written.effective_from), Date.UTC(2026, 1, 28, 23));
});

test('grant, debit and a refused debit: previews read the balance and the dry run', async () => {
  const balances = '/v1/customers/org_1/balances?asset=credits';
  const grantArgs = { customer: 'org_1', asset: 'credits', amount: '50', category: 'paid', idempotency_key: 'g-1' };
  const grant = await previewChangesNothing('create_grant', grantArgs, balances);
  assert.equal(grant.would_change, 'Grants 50 credits to customer "org_1".');
  // The API's dry run: the grant it would make and the balance after it.
  assert.equal(grant.dry_run.dry_run, true);
  assert.equal(grant.dry_run.result.remaining, '50');
  assert.equal(BigInt(grant.dry_run.balances_after[0].balance) - BigInt(grant.dry_run.balances_before[0].balance), 50n);
  const refusedGrant = await previewChangesNothing(
    'create_grant',
    { customer: 'nobody', asset: 'credits', amount: '5', category: 'paid', idempotency_key: 'g-0' },
    balances,
  );
  assert.match(refusedGrant.would_change, /^Refused: No customer "nobody"/);
  await succeed(client, 'create_grant', grantArgs);

  const refused = await previewChangesNothing(
    'debit',
    { customer: 'org_1', asset: 'credits', amount: '80', idempotency_key: 'd-1' },
    balances,
  );
  assert.equal(refused.dry_run.allowed, false);
  assert.match(refused.would_change, /^Refused: .* 30 short of 80/);

  const allowed = await previewChangesNothing(
    'debit',
    { customer: 'org_1', asset: 'credits', amount: '5', idempotency_key: 'd-2' },
    balances,
  );
  assert.match(allowed.would_change, /^Spends 5 credits of customer "org_1" \(available now 50\)/);
  assert.equal(allowed.dry_run.draws.length, 1);
});

test('a hold priced by its feature: capture with an event previews its quote; release previews the return', async () => {
  const held = await succeed(client, 'hold', {
    customer: 'org_1',
    feature: 'chat',
    quantities: {},
    idempotency_key: 'h-1',
  });
  assert.equal(held.hold.amount, '2');
  const capture = await previewChangesNothing(
    'capture_hold',
    { id: held.hold.id, event: { id: 'evt-1' }, idempotency_key: 'h-1-capture' },
    `/v1/holds/${held.hold.id}`,
  );
  assert.match(capture.would_change, /^Records the event, captures its price, 2 credits, from hold/);
  assert.equal(capture.dry_run.options[0].cost, '2');

  const second = await succeed(client, 'hold', {
    customer: 'org_1',
    asset: 'credits',
    amount: '7',
    idempotency_key: 'h-2',
  });
  const unpriced = await previewChangesNothing(
    'capture_hold',
    { id: second.hold.id, event: { id: 'evt-2' }, idempotency_key: 'h-2-capture' },
    `/v1/holds/${second.hold.id}`,
  );
  assert.match(unpriced.would_change, /^Refused: hold .* names no feature to price the event by/);
  const releaseArgs = { id: second.hold.id, idempotency_key: 'h-2-release' };
  const release = await previewChangesNothing('release_hold', releaseArgs, `/v1/holds/${second.hold.id}`);
  assert.match(release.would_change, /^Releases all 7 credits of hold/);
  const released = await succeed(client, 'release_hold', releaseArgs);
  assert.equal(released.hold.status, 'released');
  const after = await succeed(client, 'release_hold', {
    ...releaseArgs,
    idempotency_key: 'h-2-release-2',
    preview: true,
  });
  assert.match(after.would_change, /^Refused: hold .* is released/);
  const again = await fail(client, 'release_hold', { ...releaseArgs, idempotency_key: 'h-2-release-2' });
  assert.equal(again.status, 409);
});

test('plan version, subscription to a missing plan, webhook endpoint: previews', async () => {
  await server.call('POST', '/v1/plans', { id: 'basic', version: { period: { interval: 'month' } } });
  const version = await previewChangesNothing(
    'publish_plan_version',
    { plan: 'basic', period: { interval: 'year' }, idempotency_key: 'p-2' },
    '/v1/plans/basic',
  );
  assert.match(version.would_change, /^Publishes version 2 of plan "basic"/);

  const missing = await previewChangesNothing(
    'create_subscription',
    { customer: 'org_1', plan: 'nothing', idempotency_key: 's-1' },
    '/v1/subscriptions?customer=org_1',
  );
  assert.match(missing.would_change, /^Refused: there is no plan "nothing"/);

  const endpointArgs = { url: 'http://127.0.0.1:9/hooks', event_types: ['grant.expired'], idempotency_key: 'w-1' };
  const endpoint = await previewChangesNothing('create_webhook_endpoint', endpointArgs, '/v1/webhook-endpoints');
  assert.match(endpoint.would_change, /^Registers http:\/\/127.0.0.1:9\/hooks for grant.expired/);
  assert.deepEqual(endpoint.current.webhook_endpoints, []);
});

test('arguments are checked with the API schemas before anything is sent', async () => {
  const unknown = await fail(client, 'get_balance', { customer: 'org_1', colour: 'blue' });
  assert.deepEqual(unknown.errors, [{ field: 'colour', message: 'is not a field of this tool' }]);
  const crossField = await fail(client, 'hold', { customer: 'org_1', idempotency_key: 'x-1', preview: true });
  assert.equal(crossField.code, 'validation_failed');
  assert.ok(
    crossField.errors.some((error: { field: string }) => error.field === 'amount'),
    JSON.stringify(crossField.errors),
  );
  const badKey = await fail(client, 'debit', {
    customer: 'org_1',
    asset: 'credits',
    amount: '1',
    idempotency_key: 'é',
  });
  assert.deepEqual(badKey.errors, [{ field: 'idempotency_key', message: 'must be 1–255 printable ASCII characters' }]);
});

test('a call that gets no answer is bursar_unreachable, retryable with the same key', async () => {
  // The key's scopes come from the real server; every other request fails on the network.
  const failingFetch: typeof fetch = async (url, init) => {
    if (String(url).endsWith('/v1/api-keys/current')) return fetch(url, init);
    throw new TypeError('connect ECONNREFUSED');
  };
  const mcp = createBursarMcpServer({
    bursar: new Bursar({ baseUrl: server.url, apiKey: adminKey, fetch: failingFetch, retry: false }),
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await mcp.connect(serverSide);
  const offline = new Client({ name: 'bursar-test-agent', version: '1.0.0' });
  await offline.connect(clientSide);
  try {
    const args = { customer: 'org_1', asset: 'credits', amount: '1', idempotency_key: 'offline-1' };
    const error = await fail(offline, 'debit', args);
    assert.equal(error.code, 'bursar_unreachable');
    assert.equal(error.retryable, true);
    assert.match(error.detail, /retry it with the same idempotency_key/);
  } finally {
    await offline.close();
  }
});
