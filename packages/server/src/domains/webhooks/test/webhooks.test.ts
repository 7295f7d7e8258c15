/**
 * Webhooks end to end: lifecycle events fan out to matching endpoints, signed per Standard
 * Webhooks (verified here with the reference `standardwebhooks` library), retried with the same
 * webhook-id until the receiver accepts, logged per attempt, redeliverable, with secret rotation.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import type { ApiResponse, TestServer } from '../../../../test/harness.ts';
import { seedCustomer, startTestServer } from '../../../../test/harness.ts';

interface Received {
  headers: Record<string, string>;
  body: string;
  /** The server's clock when the message arrived: the receiver's clock in these tests. */
  at: number;
}

let server: TestServer;
let receiverUrl = '';
const received: Received[] = [];
let failuresLeft = 0;
const receiver = createServer((request: IncomingMessage, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    received.push({
      headers: request.headers as Record<string, string>,
      body: Buffer.concat(chunks).toString('utf8'),
      at: server.clock.now(),
    });
    if (failuresLeft > 0) {
      failuresLeft -= 1;
      response.writeHead(500).end();
      return;
    }
    response.writeHead(204).end();
  });
});

/**
 * Verifies with the reference library as a receiver whose clock read the server's manual clock when
 * the message arrived (retries move that clock ahead of the real time the library checks against).
 */
function verifyOnArrival(secret: string, message: Received): unknown {
  const realNow = Date.now;
  Date.now = () => message.at;
  try {
    return new Webhook(secret).verify(message.body, message.headers);
  } finally {
    Date.now = realNow;
  }
}

async function ok(reply: Promise<ApiResponse>, status = 201): Promise<ApiResponse> {
  const response = await reply;
  assert.equal(response.status, status, response.text);
  return response;
}

before(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  server = await startTestServer();
  // Receivers check webhook-timestamp against their own clock: run this server's clock at the real time.
  server.clock.set(Date.now());
  await seedCustomer(server, 'acme');
});

after(async () => {
  await server.close();
  await new Promise((resolve) => receiver.close(resolve));
});

describe('webhooks', () => {
  let endpoint: { id: string; secret: string };

  it('delivers a lifecycle event once, signed so the reference library verifies it', async () => {
    endpoint = (
      await ok(
        server.call('POST', '/v1/webhook-endpoints', {
          url: receiverUrl,
          event_types: ['grant.created', 'grant.expired'],
        }),
      )
    ).body;
    assert.match(endpoint.secret, /^whsec_/);
    await ok(server.call('POST', '/v1/grants', { customer: 'acme', asset: 'credits', amount: '10', category: 'paid' }));
    await ok(server.call('POST', '/v1/debits', { customer: 'acme', asset: 'credits', amount: '10' }));
    await server.server.dispatchWebhooks();
    assert.equal(received.length, 1, 'grant.depleted is not in the filter');
    const [message] = received;
    assert.ok(message !== undefined);
    const payload = new Webhook(endpoint.secret).verify(message.body, message.headers) as {
      type: string;
      data: { customer: string };
    };
    assert.equal(payload.type, 'grant.created');
    assert.equal(payload.data.customer, 'acme');
    assert.throws(() => new Webhook(endpoint.secret).verify(message.body.replace('acme', 'evil'), message.headers));
    await server.server.dispatchWebhooks();
    assert.equal(received.length, 1, 'a delivered event is not sent again');
    const feed = await ok(server.call('GET', '/v1/notifications?customer=acme'), 200);
    assert.deepEqual(feed.body.data.map((event: { type: string }) => event.type).sort(), [
      'balance.depleted',
      'grant.created',
      'grant.depleted',
    ]);
  });

  it('a receiver that fails 3 times gets the event on attempt 4, with the same webhook-id and a valid signature', async () => {
    received.length = 0;
    failuresLeft = 3;
    await ok(server.call('POST', '/v1/grants', { customer: 'acme', asset: 'credits', amount: '5', category: 'paid' }));
    await server.server.dispatchWebhooks();
    assert.equal(received.length, 1);
    await server.server.dispatchWebhooks();
    assert.equal(received.length, 1, 'no retry before its delay');
    // The backoff: 30 s, 2 min, 10 min; a step short of each delay sends nothing.
    for (const [step, delayMs] of [30_000, 120_000, 600_000].entries()) {
      server.clock.advance(delayMs - 1000);
      await server.server.dispatchWebhooks();
      assert.equal(received.length, step + 1, `attempt ${step + 2} waits for its delay`);
      server.clock.advance(1000);
      await server.server.dispatchWebhooks();
      assert.equal(received.length, step + 2);
    }
    assert.equal(new Set(received.map((message) => message.headers['webhook-id'])).size, 1);
    // Each attempt is signed afresh (its own webhook-timestamp); the reference library accepts all four.
    for (const message of received) verifyOnArrival(endpoint.secret, message);
    const log = await ok(server.call('GET', `/v1/webhook-endpoints/${endpoint.id}/deliveries`), 200);
    const [latest] = log.body.data;
    assert.equal(latest.status, 'succeeded');
    assert.deepEqual(
      latest.attempts.map((attempt: { attempt: number; status_code: number }) => [
        attempt.attempt,
        attempt.status_code,
      ]),
      [
        [1, 500],
        [2, 500],
        [3, 500],
        [4, 204],
      ],
    );
    const again = await ok(server.call('POST', `/v1/webhook-deliveries/${latest.id}/redeliver`, {}), 202);
    assert.equal(again.body.status, 'pending');
    await server.server.dispatchWebhooks();
    assert.equal(received.length, 5);
    assert.equal(received[4]?.headers['webhook-id'], received[0]?.headers['webhook-id']);
  });

  it('signs with the old and the new secret during a rotation', async () => {
    received.length = 0;
    const rotated = (await ok(server.call('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, {}), 200)).body;
    assert.notEqual(rotated.secret, endpoint.secret);
    await ok(server.call('POST', '/v1/grants', { customer: 'acme', asset: 'credits', amount: '1', category: 'paid' }));
    await server.server.dispatchWebhooks();
    const [message] = received;
    assert.ok(message !== undefined);
    assert.equal(message.headers['webhook-signature']?.split(' ').length, 2);
    verifyOnArrival(rotated.secret, message);
    verifyOnArrival(endpoint.secret, message);
  });

  it('a deleted endpoint receives nothing more', async () => {
    received.length = 0;
    await ok(server.call('POST', `/v1/webhook-endpoints/${endpoint.id}/delete`, {}), 200);
    await ok(server.call('POST', '/v1/grants', { customer: 'acme', asset: 'credits', amount: '1', category: 'paid' }));
    await server.server.dispatchWebhooks();
    assert.equal(received.length, 0);
    assert.deepEqual((await ok(server.call('GET', '/v1/webhook-endpoints'), 200)).body.data, []);
  });
});

describe('balance thresholds', () => {
  it('balance.low fires once when available credit crosses below the threshold, balance.recovered when it climbs back', async () => {
    await seedCustomer(server, 'thrifty');
    await ok(
      server.call('POST', '/v1/grants', { customer: 'thrifty', asset: 'credits', amount: '100', category: 'paid' }),
    );
    const policy = await ok(
      server.call('POST', '/v1/customers/thrifty/wallets/credits/policy', { low_balance_threshold: '50' }),
      200,
    );
    assert.equal(policy.body.low_balance_threshold, '50');
    const debit = (amount: string) =>
      ok(server.call('POST', '/v1/debits', { customer: 'thrifty', asset: 'credits', amount }));
    await debit('40');
    await debit('20');
    await debit('5');
    await ok(
      server.call('POST', '/v1/grants', { customer: 'thrifty', asset: 'credits', amount: '10', category: 'paid' }),
    );
    await ok(
      server.call('POST', '/v1/grants', { customer: 'thrifty', asset: 'credits', amount: '100', category: 'paid' }),
    );
    await debit('100');
    const feed = await ok(server.call('GET', '/v1/notifications?customer=thrifty'), 200);
    const crossings = feed.body.data
      .filter((event: { type: string }) => event.type.startsWith('balance.'))
      .map((event: { type: string; data: { available: string } }) => [event.type, event.data.available])
      .reverse();
    assert.deepEqual(crossings, [
      ['balance.low', '40'],
      ['balance.recovered', '145'],
      ['balance.low', '45'],
    ]);
  });
});

describe('webhook targets', () => {
  it('refuses loopback and private addresses unless allowed', async () => {
    const strict = await startTestServer({ webhooksAllowPrivate: false });
    try {
      for (const url of [
        'http://127.0.0.1/x',
        'http://localhost:8080/x',
        'http://10.0.0.5/x',
        'http://[::1]/x',
        'http://169.254.169.254/latest',
        'ftp://example.com/x',
      ]) {
        const reply = await strict.call('POST', '/v1/webhook-endpoints', { url });
        assert.equal(reply.status, 400, url);
        assert.equal(reply.body.errors[0].field, 'url');
      }
      await ok(strict.call('POST', '/v1/webhook-endpoints', { url: 'https://hooks.example.com/bursar' }));
    } finally {
      await strict.close();
    }
  });

  it('refuses every IPv6 spelling of a private IPv4 address and the other special ranges, naming the setting', async () => {
    const strict = await startTestServer({ webhooksAllowPrivate: false });
    const port = (receiver.address() as AddressInfo).port;
    try {
      for (const host of [
        '[::ffff:127.0.0.1]',
        '[::ffff:7f00:1]',
        '[0:0:0:0:0:ffff:127.0.0.1]',
        '[::ffff:169.254.169.254]',
        '[::ffff:10.0.0.1]',
        '198.18.0.1',
        '198.19.0.1',
        '224.0.0.1',
        '255.255.255.255',
        '[fec0::1]',
        '[fe90::1]',
        '[64:ff9b::7f00:1]',
        '[::127.0.0.1]',
        '[2002:7f00:1::1]',
        'localhost.',
        'hooks.localhost.',
      ]) {
        const url = `http://${host}:${port}/x`;
        const reply = await strict.call('POST', '/v1/webhook-endpoints', { url });
        assert.equal(reply.status, 400, `${url}: ${reply.text}`);
        assert.match(reply.headers.get('content-type') ?? '', /application\/problem\+json/);
        assert.equal(reply.body.errors[0].field, 'url');
        assert.match(reply.body.errors[0].message, /BURSAR_WEBHOOKS_ALLOW_PRIVATE/, url);
      }
      const listed = await ok(strict.call('GET', '/v1/webhook-endpoints'), 200);
      assert.deepEqual(listed.body.data, [], 'a refused endpoint is not stored');
    } finally {
      await strict.close();
    }
  });
});
