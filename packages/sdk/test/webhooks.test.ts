/** verifyWebhook against real deliveries from the server: genuine ones pass and come back typed; a tampered body, a wrong secret and a stale timestamp do not. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import type { TestServer } from '../../server/test/harness.ts';
import { adminKey, seedCustomer, startTestServer } from '../../server/test/harness.ts';
import { Bursar, verifyWebhook, WebhookVerificationError } from '../src/index.ts';

interface Delivery {
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** The server's (manual) clock when it arrived: the receiver's clock in this test. */
  readonly atMs: number;
}

let server: TestServer;
let bursar: Bursar;
const deliveries: Delivery[] = [];
const receiver = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    deliveries.push({
      headers: request.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      atMs: server.clock.now(),
    });
    response.writeHead(204).end();
  });
});

before(async () => {
  server = await startTestServer();
  bursar = new Bursar({ baseUrl: server.url, apiKey: adminKey });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  await seedCustomer(server, 'acme');
});
after(async () => {
  receiver.close();
  await server.close();
});

async function rejection(promise: Promise<unknown>): Promise<WebhookVerificationError> {
  const error = await promise.then(
    () => assert.fail('the delivery should be refused'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof WebhookVerificationError, String(error));
  return error;
}

test('a real delivery verifies and is typed; tampering, a wrong secret and a stale timestamp are refused', async () => {
  const { port } = receiver.address() as AddressInfo;
  const endpoint = await bursar.createWebhookEndpoint({
    url: `http://127.0.0.1:${port}/hooks`,
    event_types: ['grant.created'],
  });
  const secret = endpoint.secret;
  assert.ok(secret);
  const grant = await bursar.createGrant({ customer: 'acme', asset: 'credits', amount: '25', category: 'paid' });
  await server.server.dispatchWebhooks();
  const delivery = deliveries.at(-1);
  assert.ok(delivery !== undefined, 'the server delivered the event');

  const event = await verifyWebhook(delivery.body, delivery.headers, secret, { nowMs: delivery.atMs });
  assert.equal(event.type, 'grant.created');
  if (event.type !== 'grant.created') return;
  assert.equal(event.data.grant, grant.id);
  assert.equal(event.data.amount, '25');
  // The reference library agrees on the same message.
  const realNow = Date.now;
  Date.now = () => delivery.atMs;
  try {
    assert.deepEqual(new Webhook(secret).verify(delivery.body, delivery.headers as Record<string, string>), event);
  } finally {
    Date.now = realNow;
  }
  // A Fetch Headers object works as well as Node's header object, and so does the method on the client.
  const headers = new Headers(delivery.headers as Record<string, string>);
  assert.equal((await bursar.verifyWebhook(delivery.body, headers, secret, { nowMs: delivery.atMs })).id, event.id);
  const bytes = new TextEncoder().encode(delivery.body);
  assert.equal((await verifyWebhook(bytes, delivery.headers, [secret], { nowMs: delivery.atMs })).id, event.id);

  const tampered = delivery.body.replace('"25"', '"2500"');
  assert.notEqual(tampered, delivery.body);
  assert.equal(
    (await rejection(verifyWebhook(tampered, delivery.headers, secret, { nowMs: delivery.atMs }))).reason,
    'bad_signature',
  );
  const wrongSecret = `whsec_${Buffer.from('not the endpoint secret, 32 bytes').toString('base64')}`;
  assert.equal(
    (await rejection(verifyWebhook(delivery.body, delivery.headers, wrongSecret, { nowMs: delivery.atMs }))).reason,
    'bad_signature',
  );
  const stale = verifyWebhook(delivery.body, delivery.headers, secret, { nowMs: delivery.atMs + 301_000 });
  assert.equal((await rejection(stale)).reason, 'stale_timestamp');
  const early = verifyWebhook(delivery.body, delivery.headers, secret, { nowMs: delivery.atMs - 301_000 });
  assert.equal((await rejection(early)).reason, 'stale_timestamp');
  // Within the tolerance either way it passes; a wider tolerance is the receiver's choice.
  await verifyWebhook(delivery.body, delivery.headers, secret, { nowMs: delivery.atMs + 299_000 });
  await verifyWebhook(delivery.body, delivery.headers, secret, {
    nowMs: delivery.atMs + 3_600_000,
    toleranceSeconds: 3_601,
  });
  const { 'webhook-signature': _signature, ...unsigned } = delivery.headers;
  assert.equal((await rejection(verifyWebhook(delivery.body, unsigned, secret))).reason, 'missing_headers');

  // During a rotation the server signs with both secrets: the old one and the new one each verify.
  const rotated = await bursar.rotateWebhookSecret({ id: endpoint.id });
  assert.ok(rotated.secret && rotated.secret !== secret);
  await bursar.createGrant({ customer: 'acme', asset: 'credits', amount: '1', category: 'paid' });
  await server.server.dispatchWebhooks();
  const next = deliveries.at(-1);
  assert.ok(next !== undefined && next !== delivery);
  await verifyWebhook(next.body, next.headers, secret, { nowMs: next.atMs });
  await verifyWebhook(next.body, next.headers, rotated.secret, { nowMs: next.atMs });
  await verifyWebhook(next.body, next.headers, [wrongSecret, rotated.secret], { nowMs: next.atMs });
});
