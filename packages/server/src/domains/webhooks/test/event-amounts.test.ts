/**
 * Lifecycle events carry amounts as decimal strings in the asset's unit (SPEC §3), like REST:
 * every event type with an amount, in the notification feed and in a webhook delivery.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ApiResponse, TestServer } from '../../../../test/harness.ts';
import { seedCustomer, startTestServer } from '../../../../test/harness.ts';

let server: TestServer;
const deliveries: string[] = [];
const receiver = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    deliveries.push(Buffer.concat(chunks).toString('utf8'));
    response.writeHead(204).end();
  });
});

async function ok(reply: Promise<ApiResponse>, status = 201): Promise<ApiResponse> {
  const response = await reply;
  assert.equal(response.status, status, response.text);
  return response;
}

async function notifications(customer: string, type: string): Promise<Array<Record<string, unknown>>> {
  const feed = await ok(server.call('GET', `/v1/notifications?customer=${customer}&type=${type}`), 200);
  return feed.body.data.map((event: { data: Record<string, unknown> }) => event.data);
}

function grant(customer: string, amount: string, extra: Record<string, unknown> = {}): Promise<ApiResponse> {
  return ok(server.call('POST', '/v1/grants', { customer, asset: 'credits', amount, category: 'paid', ...extra }));
}

before(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  server = await startTestServer();
  await seedCustomer(server, 'walt', { scale: 2 });
});

after(async () => {
  await server.close();
  await new Promise((resolve) => receiver.close(resolve));
});

describe('event amounts are decimal strings in the asset unit (scale 2)', () => {
  it('grant.created, balance.low, balance.recovered, grant.depleted, debt.created', async () => {
    await ok(
      server.call('POST', '/v1/customers/walt/wallets/credits/policy', {
        low_balance_threshold: '20',
        overdraft_limit: '5',
      }),
      200,
    );
    // available = balance + overdraft 5: 0 → 35.5 (recovered) → 15.5 (low) → 25.75 (recovered) → 3.25 (low, debt 1.75).
    await grant('walt', '30.5');
    await ok(server.call('POST', '/v1/debits', { customer: 'walt', asset: 'credits', amount: '20' }));
    await grant('walt', '10.25');
    await ok(server.call('POST', '/v1/debits', { customer: 'walt', asset: 'credits', amount: '22.5' }));
    assert.deepEqual(
      (await notifications('walt', 'grant.created')).map((data) => data.amount),
      ['10.25', '30.5'],
    );
    const crossing = (data: Record<string, unknown>) => [data.available, data.threshold];
    assert.deepEqual((await notifications('walt', 'balance.low')).map(crossing), [
      ['3.25', '20'],
      ['15.5', '20'],
    ]);
    // The first grant lifts the empty wallet over the threshold: a crossing too.
    assert.deepEqual((await notifications('walt', 'balance.recovered')).map(crossing), [
      ['25.75', '20'],
      ['35.5', '20'],
    ]);
    assert.deepEqual(
      (await notifications('walt', 'debt.created')).map((data) => data.debt),
      ['1.75'],
    );
  });

  it('grant.voided, grant.expiring_soon, grant.expired and hold.expired', async () => {
    await seedCustomer(server, 'vera', { scale: 2 });
    const voided = await grant('vera', '7.25');
    await ok(server.call('POST', `/v1/grants/${voided.body.id}/void`, { reason: 'test' }), 200);
    const day = 86_400_000;
    // The notice comes within the 7-day lead time, for a grant that lives longer than the lead.
    const expiresAt = new Date(server.clock.now() + 10 * day).toISOString();
    await grant('vera', '3.75', { expires_at: expiresAt, priority: 9 });
    await grant('vera', '100');
    await ok(server.call('POST', '/v1/holds', { customer: 'vera', asset: 'credits', amount: '1.5', ttl_seconds: 60 }));
    server.clock.advance(4 * day);
    await server.server.runScheduler();
    server.clock.advance(7 * day);
    await server.server.runScheduler();
    await server.server.sweep();
    assert.deepEqual(
      (await notifications('vera', 'grant.voided')).map((data) => data.amount),
      ['7.25'],
    );
    assert.deepEqual(
      (await notifications('vera', 'grant.expiring_soon')).map((data) => data.remaining),
      ['3.75'],
    );
    assert.deepEqual(
      (await notifications('vera', 'grant.expired')).map((data) => data.amount),
      ['3.75'],
    );
    assert.deepEqual(
      (await notifications('vera', 'hold.expired')).map((data) => data.amount),
      ['1.5'],
    );
  });

  it('topup.requested, topup.succeeded and topup.failed', async () => {
    await seedCustomer(server, 'tess', { scale: 2 });
    await grant('tess', '12.5');
    await ok(
      server.call('POST', '/v1/customers/tess/wallets/credits/auto-top-up', {
        enabled: true,
        threshold: '10.5',
        amount: '25.75',
      }),
      200,
    );
    // Each round crosses below the threshold once: 12.5 → 7.5, then (after a grant of 10) 17.5 → 7.5.
    const settle = async (outcome: 'succeeded' | 'failed', debit: string) => {
      await ok(server.call('POST', '/v1/debits', { customer: 'tess', asset: 'credits', amount: debit }));
      const topUps = await ok(server.call('GET', '/v1/customers/tess/wallets/credits/top-ups?status=requested'), 200);
      const [requested] = topUps.body.data;
      assert.ok(requested !== undefined, 'the crossing requested a top-up');
      await ok(server.call('POST', `/v1/top-ups/${requested.id}/settle`, { outcome, reason: 'test' }), 200);
    };
    await settle('failed', '5');
    await grant('tess', '10');
    await settle('succeeded', '10');
    const requested = await notifications('tess', 'topup.requested');
    assert.deepEqual(
      requested.map((data) => [data.amount, data.threshold]),
      [
        ['25.75', '10.5'],
        ['25.75', '10.5'],
      ],
    );
    assert.deepEqual(
      (await notifications('tess', 'topup.failed')).map((data) => data.amount),
      ['25.75'],
    );
    assert.deepEqual(
      (await notifications('tess', 'topup.succeeded')).map((data) => data.amount),
      ['25.75'],
    );
  });

  it('a webhook delivery carries the same decimal strings', async () => {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    await ok(server.call('POST', '/v1/webhook-endpoints', { url, event_types: ['grant.created'] }));
    await seedCustomer(server, 'wendy', { scale: 2 });
    await grant('wendy', '20');
    await grant('wendy', '0.05');
    await server.server.dispatchWebhooks();
    const amounts = deliveries
      .map((body) => JSON.parse(body) as { type: string; data: { customer: string; amount: string } })
      .filter((payload) => payload.data.customer === 'wendy')
      .map((payload) => payload.data.amount)
      .sort();
    assert.deepEqual(amounts, ['0.05', '20']);
  });
});
