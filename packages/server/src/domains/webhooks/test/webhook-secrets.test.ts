/**
 * Webhook signing secrets at rest: stored only encrypted under a key derived from the audit key,
 * still signing so the reference `standardwebhooks` library verifies; plaintext from an older
 * version is encrypted at start; a value moved to another row, or a server with another audit key,
 * cannot sign, and says so in the attempt and the log instead of signing wrongly or crashing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import type { ApiResponse, TestDatabase } from '../../../../test/harness.ts';
import { adminKey, callApi, createTestDatabase, testConfig } from '../../../../test/harness.ts';
import type { RunningServer } from '../../../app.ts';
import { openDatabase, startServer } from '../../../app.ts';
import type { Config } from '../../../config.ts';
import { ManualClock } from '../../../platform/clock.ts';
import { createLogger } from '../../../platform/http/logger.ts';
import type { SqlValue } from '../../../platform/storage/database.ts';

interface Received {
  headers: Record<string, string>;
  body: string;
}

const received: Received[] = [];
const receiver = createServer((request: IncomingMessage, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    received.push({ headers: request.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') });
    response.writeHead(204).end();
  });
});
let receiverUrl = '';

/** A server on `database` whose log lines are kept, restartable on the same database. */
interface Running {
  readonly server: RunningServer;
  readonly logLines: Record<string, unknown>[];
  call(method: string, path: string, body?: unknown): Promise<ApiResponse>;
}

async function start(database: TestDatabase, overrides: Partial<Config> = {}): Promise<Running> {
  const logLines: Record<string, unknown>[] = [];
  const stream = {
    write: (text: string) => {
      for (const line of text.split('\n')) if (line !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
  // The receiver checks webhook-timestamp against the real clock.
  const clock = new ManualClock(Date.now());
  const server = await startServer(testConfig(database.url, overrides), {
    clock,
    logger: createLogger({ level: 'warn', stream }),
  });
  return {
    server,
    logLines,
    call: (method, path, body) => callApi(server.url, method, path, body, { key: adminKey }),
  };
}

async function ok(reply: Promise<ApiResponse>, status = 201): Promise<ApiResponse> {
  const response = await reply;
  assert.equal(response.status, status, response.text);
  return response;
}

async function storedSecrets(running: Running, endpointId: string): Promise<{ secret: string; previous: unknown }> {
  const [row] = await running.server.database.reader.all(
    'SELECT secret, previous_secret FROM webhook_endpoints WHERE id = ?',
    [endpointId],
  );
  assert.ok(row !== undefined, `endpoint ${endpointId} is stored`);
  return { secret: String(row.secret), previous: row.previous_secret };
}

/** Test-sends to the endpoint, dispatches, and returns the delivery's attempts as logged. */
async function testSend(running: Running, endpointId: string): Promise<{ status: string; error: string | null }[]> {
  await ok(running.call('POST', `/v1/webhook-endpoints/${endpointId}/test`, {}));
  await running.server.dispatchWebhooks();
  const log = await ok(running.call('GET', `/v1/webhook-endpoints/${endpointId}/deliveries`), 200);
  const [latest] = log.body.data;
  return latest.attempts.map((attempt: { status_code: number | null; error: string | null }) => ({
    status: attempt.status_code === null ? 'failed' : String(attempt.status_code),
    error: attempt.error,
  }));
}

/** Runs SQL on the database while no server has it open. */
async function editDatabase(database: TestDatabase, sql: string, parameters: SqlValue[]): Promise<void> {
  const opened = await openDatabase({ databaseUrl: database.url, postgresWritersMax: 1 });
  try {
    await opened.writeTransaction((session) => session.run(sql, parameters));
  } finally {
    await opened.close();
  }
}

before(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
});

after(async () => {
  await new Promise((resolve) => receiver.close(resolve));
});

describe('webhook secrets at rest', () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase();
  });
  after(async () => {
    await database.drop();
  });

  it('stores the secret and the previous one encrypted, and deliveries verify after create and after rotation', async () => {
    const running = await start(database);
    try {
      const endpoint = (await ok(running.call('POST', '/v1/webhook-endpoints', { url: receiverUrl }))).body;
      const created = await storedSecrets(running, endpoint.id);
      assert.match(created.secret, /^v1\.[\w-]+\.[\w-]+\.[\w-]+$/, 'the sealed form');
      assert.ok(!created.secret.includes(endpoint.secret.replace(/^whsec_/, '')));
      received.length = 0;
      assert.deepEqual(await testSend(running, endpoint.id), [{ status: '204', error: null }]);
      assert.equal(received.length, 1);
      new Webhook(endpoint.secret).verify(received[0]?.body ?? '', received[0]?.headers ?? {});

      const rotated = (await ok(running.call('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, {}), 200))
        .body;
      const afterRotation = await storedSecrets(running, endpoint.id);
      assert.match(afterRotation.secret, /^v1\./);
      assert.equal(afterRotation.previous, created.secret, 'the previous secret stays sealed as it was');
      received.length = 0;
      await testSend(running, endpoint.id);
      assert.equal(received.length, 1);
      const [message] = received;
      assert.ok(message !== undefined);
      assert.equal(message.headers['webhook-signature']?.split(' ').length, 2);
      new Webhook(rotated.secret).verify(message.body, message.headers);
      new Webhook(endpoint.secret).verify(message.body, message.headers);
    } finally {
      await running.server.close();
    }
  });

  it('encrypts plaintext secrets of an older version at start, once, and they still sign', async () => {
    let running = await start(database);
    const endpoint = (await ok(running.call('POST', '/v1/webhook-endpoints', { url: receiverUrl }))).body;
    await running.server.close();
    // As an older version stored them: the current and the previous secret in plaintext.
    const current = `whsec_${randomBytes(32).toString('base64')}`;
    const previous = `whsec_${randomBytes(32).toString('base64')}`;
    await editDatabase(
      database,
      'UPDATE webhook_endpoints SET secret = ?, previous_secret = ?, previous_secret_until = ? WHERE id = ?',
      [current, previous, BigInt(Date.now() + 3_600_000), endpoint.id],
    );
    running = await start(database);
    let upgraded: { secret: string; previous: unknown };
    try {
      upgraded = await storedSecrets(running, endpoint.id);
      assert.match(upgraded.secret, /^v1\./, 'the current secret is encrypted');
      assert.match(String(upgraded.previous), /^v1\./, 'the previous secret is encrypted');
      assert.ok(!upgraded.secret.includes(current.slice(6)) && !String(upgraded.previous).includes(previous.slice(6)));
      received.length = 0;
      assert.deepEqual(await testSend(running, endpoint.id), [{ status: '204', error: null }]);
      const [message] = received;
      assert.ok(message !== undefined);
      new Webhook(current).verify(message.body, message.headers);
      new Webhook(previous).verify(message.body, message.headers);
    } finally {
      await running.server.close();
    }
    // Another start leaves sealed values as they are.
    running = await start(database);
    try {
      assert.deepEqual(await storedSecrets(running, endpoint.id), upgraded);
    } finally {
      await running.server.close();
    }
  });

  it('refuses to sign with a value moved from another endpoint, or written in plaintext after start', async () => {
    const running = await start(database);
    try {
      const first = (await ok(running.call('POST', '/v1/webhook-endpoints', { url: receiverUrl }))).body;
      const second = (await ok(running.call('POST', '/v1/webhook-endpoints', { url: receiverUrl }))).body;
      const moved = (await storedSecrets(running, first.id)).secret;
      await running.server.database.writeTransaction((session) =>
        session.run('UPDATE webhook_endpoints SET secret = ? WHERE id = ?', [moved, second.id]),
      );
      received.length = 0;
      const [movedAttempt] = await testSend(running, second.id);
      assert.equal(movedAttempt?.status, 'failed');
      assert.match(String(movedAttempt?.error), /does not decrypt.*another endpoint/);
      assert.equal(received.length, 0, 'nothing is sent unsigned or signed with the other endpoint’s secret');

      const plaintext = `whsec_${randomBytes(32).toString('base64')}`;
      await running.server.database.writeTransaction((session) =>
        session.run('UPDATE webhook_endpoints SET secret = ? WHERE id = ?', [plaintext, second.id]),
      );
      const [plaintextAttempt] = await testSend(running, second.id);
      assert.equal(plaintextAttempt?.status, 'failed');
      assert.match(String(plaintextAttempt?.error), /not encrypted/);
      assert.equal(received.length, 0);
      const logged = running.logLines.filter((line) => line.msg === 'webhook secret cannot sign');
      assert.equal(logged.length, 2, JSON.stringify(running.logLines));
      assert.equal(logged[0]?.level, 'error');
      assert.equal(logged[0]?.endpoint, second.id);

      // The endpoint whose own value it is still signs.
      assert.deepEqual(await testSend(running, first.id), [{ status: '204', error: null }]);
      new Webhook(first.secret).verify(received[0]?.body ?? '', received[0]?.headers ?? {});
    } finally {
      await running.server.close();
    }
  });

  it('a server started with another audit key cannot sign: the attempt fails naming the key, the dispatcher goes on', async () => {
    // A database of its own, so the endpoints of the tests above are not in it.
    const keyedDatabase = await createTestDatabase();
    let running = await start(keyedDatabase);
    const endpoint = (await ok(running.call('POST', '/v1/webhook-endpoints', { url: receiverUrl }))).body;
    await running.server.close();
    running = await start(keyedDatabase, { auditKey: `another-audit-key-${'x'.repeat(32)}` });
    try {
      received.length = 0;
      const attempts = await testSend(running, endpoint.id);
      assert.equal(attempts.length, 1);
      assert.equal(attempts[0]?.status, 'failed');
      assert.match(String(attempts[0]?.error), /does not decrypt.*BURSAR_AUDIT_KEY/);
      assert.equal(received.length, 0);
      const atStart = running.logLines.find(
        (line) => line.msg === 'webhook secrets do not decrypt with this audit key',
      );
      assert.deepEqual(atStart?.endpoints, [endpoint.id], JSON.stringify(running.logLines));
      const logged = running.logLines.find((line) => line.msg === 'webhook secret cannot sign');
      assert.ok(logged !== undefined, JSON.stringify(running.logLines));
      assert.equal(logged.level, 'error');
      assert.equal(logged.endpoint, endpoint.id);
      assert.match(String(logged.reason), /audit key/);
      // Rotating replaces the lost secret at once: the old one, which cannot sign, gets no grace period.
      const rotated = (await ok(running.call('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, {}), 200))
        .body;
      assert.equal(rotated.previous_secret_valid_until, null);
      received.length = 0;
      assert.deepEqual(await testSend(running, endpoint.id), [{ status: '204', error: null }]);
      assert.equal(received[0]?.headers['webhook-signature']?.split(' ').length, 1);
      new Webhook(rotated.secret).verify(received[0]?.body ?? '', received[0]?.headers ?? {});
      received.length = 0;
      // The dispatcher is alive: a new endpoint, sealed under this server's key, is delivered to.
      const fresh = (await ok(running.call('POST', '/v1/webhook-endpoints', { url: receiverUrl }))).body;
      assert.deepEqual(await testSend(running, fresh.id), [{ status: '204', error: null }]);
      new Webhook(fresh.secret).verify(received[0]?.body ?? '', received[0]?.headers ?? {});
    } finally {
      await running.server.close();
      await keyedDatabase.drop();
    }
  });
});
