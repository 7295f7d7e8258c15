/**
 * Webhook delivery edge cases, in process with the manual clock: the test-send, a send that
 * outlives its lease (the delivery is retaken, both attempts logged), deliveries to an endpoint
 * that was deleted while they waited for a retry, and sends pinned to the address that was checked
 * (an injected resolver answers loopback for a public-looking name; nothing leaves 127.0.0.1).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createSecureContext, createServer as createTlsServer } from 'node:tls';
import { Webhook } from 'standardwebhooks';
import type { ApiResponse, TestServer } from '../../../../test/harness.ts';
import {
  adminKey,
  callApi,
  createTestDatabase,
  seedCustomer,
  startTestServer,
  testConfig,
} from '../../../../test/harness.ts';
import { startServer } from '../../../app.ts';
import { ManualClock } from '../../../platform/clock.ts';
import { createLogger } from '../../../platform/http/logger.ts';

interface Received {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** What the receiver does with the next requests, in order; then it answers 204. */
type Answer = 'fail' | 'hang';

let server: TestServer;
let receiverBase = '';
const received: Received[] = [];
const answers: Answer[] = [];
const hanging: ServerResponse[] = [];
const receiver = createServer((request: IncomingMessage, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    received.push({
      path: request.url ?? '',
      headers: request.headers as Record<string, string>,
      body: Buffer.concat(chunks).toString('utf8'),
    });
    const answer = answers.shift();
    if (answer === 'hang') hanging.push(response);
    else response.writeHead(answer === 'fail' ? 500 : 204).end();
  });
});

async function ok(reply: Promise<ApiResponse>, status = 201): Promise<ApiResponse> {
  const response = await reply;
  assert.equal(response.status, status, response.text);
  return response;
}

async function createEndpoint(path: string, eventTypes?: string[]): Promise<{ id: string; secret: string }> {
  const body = { url: `${receiverBase}${path}`, ...(eventTypes === undefined ? {} : { event_types: eventTypes }) };
  return (await ok(server.call('POST', '/v1/webhook-endpoints', body))).body;
}

async function deliveryLog(endpointId: string) {
  return (await ok(server.call('GET', `/v1/webhook-endpoints/${endpointId}/deliveries?limit=200`), 200)).body.data;
}

/** Waits (real time) until the receiver has `count` requests. */
async function receivedCount(count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (received.length < count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} requests, got ${received.length}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

before(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverBase = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  server = await startTestServer();
  // Receivers check webhook-timestamp against their own clock: run this server's clock at the real time.
  server.clock.set(Date.now());
  await seedCustomer(server, 'acme');
});

beforeEach(() => {
  received.length = 0;
  answers.length = 0;
});

after(async () => {
  await server.close();
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
});

describe('test-send', () => {
  it('queues a signed webhook.test event for that endpoint only, whatever its filter, outside the feed', async () => {
    const filtered = await createEndpoint('/filtered', ['grant.expired']);
    const bystander = await createEndpoint('/bystander');
    const queued = (await ok(server.call('POST', `/v1/webhook-endpoints/${filtered.id}/test`, {}))).body;
    assert.equal(queued.event_type, 'webhook.test');
    assert.equal(queued.endpoint, filtered.id);
    assert.equal(queued.status, 'pending');
    assert.deepEqual(queued.attempts, []);
    assert.equal(received.length, 0, 'sent at the next tick, not in the request');
    await server.server.dispatchWebhooks();
    assert.deepEqual(
      received.map((message) => message.path),
      ['/filtered'],
    );
    const [message] = received;
    assert.ok(message !== undefined);
    assert.equal(message.headers['webhook-id'], queued.event);
    const payload = new Webhook(filtered.secret).verify(message.body, message.headers) as {
      id: string;
      type: string;
      data: { endpoint: string };
    };
    assert.deepEqual([payload.id, payload.type, payload.data.endpoint], [queued.event, 'webhook.test', filtered.id]);
    const [logged] = await deliveryLog(filtered.id);
    assert.equal(logged.id, queued.id);
    assert.equal(logged.status, 'succeeded');
    assert.deepEqual(
      logged.attempts.map((attempt: { status_code: number }) => attempt.status_code),
      [204],
    );
    assert.deepEqual(await deliveryLog(bystander.id), []);
    const feed = await ok(server.call('GET', '/v1/notifications?type=webhook.test&limit=200'), 200);
    assert.deepEqual(feed.body.data, [], 'a test event is not a lifecycle event');
    for (const id of [filtered.id, bystander.id])
      await ok(server.call('POST', `/v1/webhook-endpoints/${id}/delete`, {}), 200);
  });

  it('is retried like any delivery, with the same webhook-id', async () => {
    const endpoint = await createEndpoint('/retried');
    answers.push('fail');
    const queued = (await ok(server.call('POST', `/v1/webhook-endpoints/${endpoint.id}/test`, {}))).body;
    await server.server.dispatchWebhooks();
    server.clock.advance(30_000);
    await server.server.dispatchWebhooks();
    assert.deepEqual(
      received.map((message) => message.headers['webhook-id']),
      [queued.event, queued.event],
    );
    for (const message of received) new Webhook(endpoint.secret).verify(message.body, message.headers);
    const [logged] = await deliveryLog(endpoint.id);
    assert.deepEqual(
      logged.attempts.map((attempt: { status_code: number }) => attempt.status_code),
      [500, 204],
    );
    await ok(server.call('POST', `/v1/webhook-endpoints/${endpoint.id}/delete`, {}), 200);
  });

  it('answers 404 for an endpoint that does not exist or was deleted', async () => {
    const endpoint = await createEndpoint('/gone');
    await ok(server.call('POST', `/v1/webhook-endpoints/${endpoint.id}/delete`, {}), 200);
    for (const id of [endpoint.id, 'whe_nope']) {
      const reply = await ok(server.call('POST', `/v1/webhook-endpoints/${id}/test`, {}), 404);
      assert.equal(reply.body.code, 'webhook_endpoint_not_found');
    }
  });
});

describe('leases', () => {
  it('a send that outlives its lease is retaken; both attempts are logged with one webhook-id', async () => {
    const endpoint = await createEndpoint('/slow');
    answers.push('hang');
    const queued = (await ok(server.call('POST', `/v1/webhook-endpoints/${endpoint.id}/test`, {}))).body;
    const first = server.server.dispatchWebhooks();
    await receivedCount(1);
    server.clock.advance(59_000);
    assert.equal(await server.server.dispatchWebhooks(), 0, 'leased: not sent again yet');
    server.clock.advance(2_000);
    assert.equal(await server.server.dispatchWebhooks(), 1, 'the lease expired: taken again');
    assert.equal(received.length, 2);
    for (const response of hanging.splice(0)) response.writeHead(204).end();
    await first;
    assert.deepEqual(
      received.map((message) => message.headers['webhook-id']),
      [queued.event, queued.event],
    );
    const [logged] = await deliveryLog(endpoint.id);
    assert.equal(logged.status, 'succeeded');
    assert.deepEqual(
      logged.attempts.map((attempt: { attempt: number; status_code: number }) => [
        attempt.attempt,
        attempt.status_code,
      ]),
      [
        [1, 204],
        [2, 204],
      ],
    );
    await ok(server.call('POST', `/v1/webhook-endpoints/${endpoint.id}/delete`, {}), 200);
  });
});

describe('deleted endpoints', () => {
  it('a delivery waiting for its retry is not sent after its endpoint is deleted', async () => {
    const endpoint = await createEndpoint('/deleted', ['grant.created']);
    answers.push('fail');
    await ok(server.call('POST', '/v1/grants', { customer: 'acme', asset: 'credits', amount: '1', category: 'paid' }));
    await server.server.dispatchWebhooks();
    assert.equal(received.length, 1);
    await ok(server.call('POST', `/v1/webhook-endpoints/${endpoint.id}/delete`, {}), 200);
    server.clock.advance(30_000);
    await server.server.dispatchWebhooks();
    assert.equal(received.length, 1, 'no retry to a deleted endpoint');
    const rows = await server.server.database.reader.all(
      'SELECT status, attempts FROM webhook_deliveries WHERE endpoint_id = ?',
      [endpoint.id],
    );
    assert.deepEqual(
      rows.map((row) => [row.status, Number(row.attempts)]),
      [['failed', 1]],
    );
  });
});

describe('pinned addresses', () => {
  /** A resolver that answers loopback for a public-looking name, and records what it was asked. */
  const asked: string[] = [];
  const webhookResolver = async (hostname: string) => {
    asked.push(hostname);
    return ['127.0.0.1'];
  };
  let connections = 0;
  const countConnection = () => {
    connections += 1;
  };

  before(() => receiver.on('connection', countConnection));
  after(() => receiver.off('connection', countConnection));
  beforeEach(() => {
    asked.length = 0;
    connections = 0;
  });

  it('a name that resolves to a private address is refused at the send, and nothing connects', async () => {
    const strict = await startTestServer({ webhooksAllowPrivate: false }, { webhookResolver });
    try {
      const port = new URL(receiverBase).port;
      const endpoint = (
        await ok(strict.call('POST', '/v1/webhook-endpoints', { url: `http://hooks.example.com:${port}/pinned` }))
      ).body;
      await ok(strict.call('POST', `/v1/webhook-endpoints/${endpoint.id}/test`, {}));
      assert.equal(await strict.server.dispatchWebhooks(), 1);
      assert.deepEqual(asked, ['hooks.example.com'], 'resolved once, by the connection itself');
      assert.equal(connections, 0);
      assert.equal(received.length, 0);
      const [logged] = (await ok(strict.call('GET', `/v1/webhook-endpoints/${endpoint.id}/deliveries`), 200)).body.data;
      const [attempt] = logged.attempts;
      assert.equal(attempt.status_code, null);
      assert.match(attempt.error, /hooks\.example\.com resolves to 127\.0\.0\.1/);
      assert.match(attempt.error, /BURSAR_WEBHOOKS_ALLOW_PRIVATE/);
      assert.equal(logged.status, 'pending', 'retried like any failed send');
    } finally {
      await strict.close();
    }
  });

  it('with private targets allowed the connection goes to the address the resolver answered', async () => {
    const open = await startTestServer({ webhooksAllowPrivate: true }, { webhookResolver });
    try {
      const port = new URL(receiverBase).port;
      const endpoint = (
        await ok(open.call('POST', '/v1/webhook-endpoints', { url: `http://hooks.example.com:${port}/pinned` }))
      ).body;
      await ok(open.call('POST', `/v1/webhook-endpoints/${endpoint.id}/test`, {}));
      await open.server.dispatchWebhooks();
      assert.deepEqual(asked, ['hooks.example.com']);
      assert.deepEqual(
        received.map((message) => [message.path, message.headers.host]),
        [['/pinned', `hooks.example.com:${port}`]],
      );
      const [logged] = (await ok(open.call('GET', `/v1/webhook-endpoints/${endpoint.id}/deliveries`), 200)).body.data;
      assert.equal(logged.status, 'succeeded');
    } finally {
      await open.close();
    }
  });

  it('an https name is pinned too, and its certificate is still verified against the name', async () => {
    // A self-signed certificate for hooks.example.com, trusted by nobody: the send must refuse it.
    const fixtures = new URL('../../../../test/fixtures/', import.meta.url);
    const context = createSecureContext({
      key: readFileSync(new URL('untrusted-hooks.key.pem', fixtures)),
      cert: readFileSync(new URL('untrusted-hooks.cert.pem', fixtures)),
    });
    const servernames: string[] = [];
    const tlsReceiver = createTlsServer({
      SNICallback: (servername, answer) => {
        servernames.push(servername);
        answer(null, context);
      },
    });
    tlsReceiver.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => tlsReceiver.listen(0, '127.0.0.1', resolve));
    const open = await startTestServer({ webhooksAllowPrivate: true }, { webhookResolver });
    try {
      const port = (tlsReceiver.address() as AddressInfo).port;
      const endpoint = (
        await ok(open.call('POST', '/v1/webhook-endpoints', { url: `https://hooks.example.com:${port}/tls` }))
      ).body;
      await ok(open.call('POST', `/v1/webhook-endpoints/${endpoint.id}/test`, {}));
      await open.server.dispatchWebhooks();
      assert.deepEqual(asked, ['hooks.example.com']);
      assert.deepEqual(servernames, ['hooks.example.com'], 'the TLS handshake reached the answered address');
      const [logged] = (await ok(open.call('GET', `/v1/webhook-endpoints/${endpoint.id}/deliveries`), 200)).body.data;
      assert.equal(logged.attempts[0].status_code, null);
      assert.match(logged.attempts[0].error, /self[- ]signed certificate/);
    } finally {
      await open.close();
      await new Promise((resolve) => tlsReceiver.close(resolve));
    }
  });

  it('a resolver that does not answer is abandoned at the send deadline, like a receiver that does not', async () => {
    const neverAnswers = (hostname: string) => {
      asked.push(hostname);
      return new Promise<readonly string[]>(() => {});
    };
    const timing = { retryDelaysMs: [30_000], deliveryWindowMs: 86_400_000, sendTimeoutMs: 200, leaseMs: 60_000 };
    const strict = await startTestServer(
      { webhooksAllowPrivate: false },
      { webhookResolver: neverAnswers, webhookTiming: timing },
    );
    try {
      const endpoint = (
        await ok(strict.call('POST', '/v1/webhook-endpoints', { url: 'https://hooks.example.com/slow-dns' }))
      ).body;
      await ok(strict.call('POST', `/v1/webhook-endpoints/${endpoint.id}/test`, {}));
      assert.equal(await strict.server.dispatchWebhooks(), 1);
      assert.deepEqual(asked, ['hooks.example.com']);
      const [logged] = (await ok(strict.call('GET', `/v1/webhook-endpoints/${endpoint.id}/deliveries`), 200)).body.data;
      assert.equal(logged.attempts[0].error, 'no answer within 200 ms');
      assert.equal(logged.status, 'pending');
    } finally {
      await strict.close();
    }
  });

  it('an IP-literal endpoint stored while private targets were allowed is refused at the send once they are not', async () => {
    const database = await createTestDatabase();
    const logger = createLogger({ level: 'silent' });
    const clock = new ManualClock(Date.now());
    const url = `http://[::ffff:127.0.0.1]:${new URL(receiverBase).port}/mapped`;
    try {
      const open = await startServer(testConfig(database.url, { webhooksAllowPrivate: true }), { clock, logger });
      const created = await callApi(open.url, 'POST', '/v1/webhook-endpoints', { url }, { key: adminKey });
      assert.equal(created.status, 201, created.text);
      const queued = await callApi(
        open.url,
        'POST',
        `/v1/webhook-endpoints/${created.body.id}/test`,
        {},
        {
          key: adminKey,
        },
      );
      assert.equal(queued.status, 201, queued.text);
      await open.close();
      const strict = await startServer(testConfig(database.url, { webhooksAllowPrivate: false }), {
        clock,
        logger,
        webhookResolver,
      });
      try {
        assert.equal(await strict.dispatchWebhooks(), 1);
        assert.equal(connections, 0);
        assert.deepEqual(asked, [], 'a literal is not resolved');
        const log = await callApi(strict.url, 'GET', `/v1/webhook-endpoints/${created.body.id}/deliveries`, undefined, {
          key: adminKey,
        });
        const [attempt] = log.body.data[0].attempts;
        assert.match(attempt.error, /127\.0\.0\.1, a loopback address/);
        assert.match(attempt.error, /BURSAR_WEBHOOKS_ALLOW_PRIVATE/);
      } finally {
        await strict.close();
      }
    } finally {
      await database.drop();
    }
  });
});
