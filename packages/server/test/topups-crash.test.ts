/**
 * A server killed (SIGKILL) while the payment provider is charging a top-up, that is between the
 * charge and the settle commit: the restarted server hands the same top-up id to the provider
 * again once the lease runs out, and the top-up settles once (one paid grant, one event).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { type Child, freePort, kill, spawnServer, waitHealthy } from './child-server.ts';
import { type ApiResponse, adminKey, callApi, createTestDatabase } from './harness.ts';

const customer = 'crash-topup';

test('a top-up charged by a killed server is charged again with the same id and settled once', {
  timeout: 120_000,
}, async () => {
  const charges: string[] = [];
  let firstCharge: () => void = () => {};
  const charged = new Promise<void>((resolve) => {
    firstCharge = resolve;
  });
  // The fake provider never answers its first charge: the test kills the server while it waits.
  const provider = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      charges.push(String(JSON.parse(body).topUpId));
      if (charges.length === 1) {
        firstCharge();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ outcome: 'succeeded', reference: 'pay_once', cost: null }));
    });
  });
  await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
  const providerUrl = `http://127.0.0.1:${(provider.address() as AddressInfo).port}/charge`;
  const database = await createTestDatabase();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const start = async (): Promise<Child> => {
    const child = spawnServer(database.url, port, {
      script: 'packages/server/test/topups-child.ts',
      env: { BURSAR_TEST_PROVIDER_URL: providerUrl, BURSAR_TOP_UP_INTERVAL_MS: '50' },
    });
    await waitHealthy(url, child);
    return child;
  };
  const call = async (method: string, path: string, body?: unknown, status = 200): Promise<ApiResponse> => {
    const reply = await callApi(url, method, path, body, { key: adminKey });
    assert.equal(reply.status, status, reply.text);
    return reply;
  };
  let child: Child | null = null;
  try {
    child = await start();
    await call('POST', '/v1/assets', { code: 'credits', scale: 0 }, 201);
    await call('POST', '/v1/customers', { id: customer }, 201);
    await call('POST', '/v1/grants', { customer, asset: 'credits', amount: '100', category: 'paid' }, 201);
    const rule = { enabled: true, threshold: '50', amount: '100' };
    await call('POST', `/v1/customers/${customer}/wallets/credits/auto-top-up`, rule);
    await call('POST', '/v1/debits', { customer, asset: 'credits', amount: '60' }, 201);
    await charged;
    await kill(child);
    child = await start();
    const topUps = `/v1/customers/${customer}/wallets/credits/top-ups`;
    const deadline = Date.now() + 30_000;
    while ((await call('GET', topUps)).body.data[0]?.status !== 'succeeded') {
      assert.ok(Date.now() < deadline, `not settled after restart: ${JSON.stringify(charges)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const [topUp, ...others] = (await call('GET', topUps)).body.data;
    assert.deepEqual(others, [], 'one top-up');
    assert.ok(charges.length >= 2, 'charged again after the restart');
    assert.deepEqual(new Set(charges), new Set([topUp.id]), 'every charge carries the same idempotency key');
    assert.equal(topUp.provider_reference, 'pay_once');
    const balances = await call('GET', `/v1/customers/${customer}/balances`);
    assert.equal(balances.body.balances[0].available, '140', 'one grant of 100');
    const grants = await call('GET', `/v1/grants?customer=${customer}`);
    assert.equal(grants.body.data.filter((grant: { reason: string }) => grant.reason === 'auto top-up').length, 1);
    const settled = await call('GET', `/v1/notifications?customer=${customer}&type=topup.succeeded`);
    assert.equal(settled.body.data.length, 1);
  } finally {
    await kill(child);
    provider.closeAllConnections();
    await new Promise((resolve) => provider.close(resolve));
    await database.drop();
  }
});
