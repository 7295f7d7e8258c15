/**
 * Webhook delivery across crashes: the server runs as a child process with the dispatcher's
 * schedule shrunk to fractions of a second (serve-fast-webhooks.ts), lifecycle events are created,
 * and the server is SIGKILLed while deliveries are pending or in flight (the receiver fails some
 * attempts and answers others slowly), then restarted on the same database, four times. In the end
 * every event in the outbox reached every matching endpoint at least once, always under its one
 * webhook-id, with a body that verifies; none was lost and none invented.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { type Child, freePort, kill, spawnServer, waitHealthy } from './child-server.ts';
import { type ApiResponse, adminKey, callApi, createTestDatabase, testSeed } from './harness.ts';

const killCycles = 4;
const grantsPerCycle = 6;

interface Received {
  readonly path: string;
  readonly id: string;
  readonly body: string;
  readonly headers: Record<string, string>;
  /** The receiver's answer; 0 when the sender went away before it. */
  answered: number;
}

test('every event reaches every matching endpoint at least once, under one webhook-id, across SIGKILLs', {
  timeout: 60_000,
}, async () => {
  const seed = testSeed('webhook-crash');
  // Per request, in arrival order: 0 fail with 500, 1 answer 204 after a pause, 2–3 answer 204 at once.
  const behaviours = fc.sample(fc.integer({ min: 0, max: 3 }), { seed, numRuns: 10_000 });
  const pauses = fc.sample(fc.integer({ min: 50, max: 400 }), { seed: seed + 1, numRuns: 10_000 });
  const received: Received[] = [];
  const open = new Set<ServerResponse>();
  const receiver = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const index = received.length;
      const message: Received = {
        path: request.url ?? '',
        id: String(request.headers['webhook-id']),
        body: Buffer.concat(chunks).toString('utf8'),
        headers: request.headers as Record<string, string>,
        answered: 0,
      };
      received.push(message);
      const behaviour = behaviours[index % behaviours.length];
      const answer = (status: number) => {
        open.delete(response);
        if (response.destroyed) return;
        message.answered = status;
        response.writeHead(status).end();
      };
      if (behaviour === 0) answer(500);
      else if (behaviour === 1) {
        open.add(response);
        setTimeout(() => answer(204), pauses[index % pauses.length]);
      } else answer(204);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const receiverBase = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  const database = await createTestDatabase();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const start = () =>
    spawnServer(database.url, port, {
      script: 'packages/server/test/serve-fast-webhooks.ts',
      env: { BURSAR_WEBHOOK_INTERVAL_MS: '50', BURSAR_WEBHOOKS_ALLOW_PRIVATE: 'true' },
    });
  const call = async (method: string, path: string, body?: unknown, status = 201): Promise<ApiResponse> => {
    const response = await callApi(url, method, path, body, { key: adminKey });
    assert.equal(response.status, status, `${method} ${path}: ${response.text}`);
    return response;
  };
  let child: Child | null = null;
  try {
    child = start();
    await waitHealthy(url, child);
    await call('POST', '/v1/assets', { code: 'credits', scale: 0 });
    await call('POST', '/v1/customers', { id: 'crash-hooks' });
    const endpoints = [
      { path: '/every', types: null as string[] | null },
      { path: '/grants', types: ['grant.created'] },
    ];
    const secrets = new Map<string, string>();
    const endpointIds = new Map<string, string>();
    for (const endpoint of endpoints) {
      const created = await call('POST', '/v1/webhook-endpoints', {
        url: `${receiverBase}${endpoint.path}`,
        ...(endpoint.types === null ? {} : { event_types: endpoint.types }),
      });
      secrets.set(endpoint.path, created.body.secret);
      endpointIds.set(endpoint.path, created.body.id);
    }

    for (let cycle = 0; cycle < killCycles; cycle += 1) {
      for (let grant = 0; grant < grantsPerCycle; grant += 1) {
        await call('POST', '/v1/grants', { customer: 'crash-hooks', asset: 'credits', amount: '1', category: 'paid' });
      }
      // Spend it all, for grant.depleted and balance.depleted events too.
      await call('POST', '/v1/debits', { customer: 'crash-hooks', asset: 'credits', amount: String(grantsPerCycle) });
      await new Promise((resolve) => setTimeout(resolve, 100 + (pauses[cycle] ?? 0)));
      await kill(child);
      child = start();
      await waitHealthy(url, child);
    }

    // Every event of the outbox, and the endpoints it must reach.
    const events: Array<{ id: string; type: string }> = [];
    for (let cursor: string | null = null; ; ) {
      const page: ApiResponse = await call(
        'GET',
        `/v1/notifications?limit=200${cursor === null ? '' : `&cursor=${cursor}`}`,
        undefined,
        200,
      );
      events.push(...page.body.data);
      cursor = page.body.next_cursor;
      if (cursor === null) break;
    }
    const expected = new Set(
      events.flatMap((event) =>
        endpoints
          .filter((endpoint) => endpoint.types === null || endpoint.types.includes(event.type))
          .map((endpoint) => `${endpoint.path} ${event.id}`),
      ),
    );
    assert.ok(events.length >= killCycles * (grantsPerCycle + 2), `events: ${events.length}`);
    const accepted = () => new Set(received.filter((m) => m.answered === 204).map((m) => `${m.path} ${m.id}`));
    // The server's side: each endpoint's log has one delivery per matching event, all succeeded.
    const logs = async () => {
      const log = [];
      for (const [path, endpointId] of endpointIds) {
        const page = await call('GET', `/v1/webhook-endpoints/${endpointId}/deliveries?limit=200`, undefined, 200);
        log.push(...page.body.data.map((d: { event: string; status: string }) => `${path} ${d.event} ${d.status}`));
      }
      return log.sort();
    };
    const settled = [...expected].map((key) => `${key} succeeded`).sort();
    const deadline = Date.now() + 30_000;
    while ((accepted().size < expected.size || (await logs()).join() !== settled.join()) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual(await logs(), settled, 'one delivery per matching event, each succeeded');
    const retried = received.length - new Set(received.map((m) => `${m.path} ${m.id}`)).size;
    process.stdout.write(
      `# webhook-crash: ${events.length} events, ${expected.size} deliveries, ${received.length} requests (${retried} repeats)\n`,
    );
    assert.deepEqual([...accepted()].sort(), [...expected].sort(), 'each matching event accepted, none invented');
    const bodies = new Map<string, string>();
    for (const message of received) {
      const key = `${message.path} ${message.id}`;
      assert.ok(expected.has(key), `${key} is an outbox event for a matching endpoint`);
      const payload = new Webhook(secrets.get(message.path) as string).verify(message.body, message.headers) as {
        id: string;
      };
      assert.equal(payload.id, message.id, 'the body carries its webhook-id');
      assert.equal(bodies.get(key) ?? message.body, message.body, 'every attempt carries the same body');
      bodies.set(key, message.body);
    }
  } finally {
    await kill(child);
    for (const response of open) response.destroy();
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
    await database.drop();
  }
});
