/**
 * Idempotency keys end to end: an exact retry racing a conflicting reuse of its key, two uses of
 * one key in one batch, replies that carry a secret (never stored, never replayed), and retention
 * (keys older than BURSAR_IDEMPOTENCY_RETENTION_DAYS pruned in small batches; `forever` keeps all).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiResponse, TestServer } from '../../../../test/harness.ts';
import {
  adminKey,
  callApi,
  seedCustomer,
  seededRandom,
  startTestServer,
  testConfig,
  testSeed,
} from '../../../../test/harness.ts';
import { startServer } from '../../../app.ts';
import { createLogger } from '../../http/logger.ts';
import { okReply } from '../../service.ts';
import { tables } from '../../storage/schema.ts';

const dayMs = 86_400_000;

async function debit(server: TestServer, customer: string, amount: string, key: string): Promise<ApiResponse> {
  return server.call('POST', '/v1/debits', { customer, asset: 'credits', amount }, { idempotencyKey: key });
}

async function balanceOf(server: TestServer, customer: string): Promise<string> {
  const reply = await server.call('GET', `/v1/customers/${customer}/balances?asset=credits`);
  assert.equal(reply.status, 200, reply.text);
  return reply.body.balances[0].balance;
}

describe('idempotency: an exact retry racing a reuse of its key', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await seedCustomer(server, 'racer');
    const granted = await server.call('POST', '/v1/grants', {
      customer: 'racer',
      asset: 'credits',
      amount: '100000',
      category: 'paid',
    });
    assert.equal(granted.status, 201, granted.text);
  });
  after(async () => {
    await server.close();
  });

  it('always replays the stored reply to the same request and refuses only the other one', async () => {
    const random = seededRandom(testSeed('idempotency race'));
    const trials = 30;
    for (let trial = 0; trial < trials; trial += 1) {
      const key = `race-${trial}`;
      const first = await debit(server, 'racer', '1', key);
      assert.equal(first.status, 201, first.text);
      // Both orders of arrival, chosen by the seed; they are sent in the same event-loop turn.
      const retryFirst = random() < 0.5;
      const [a, b] = await Promise.all(
        retryFirst
          ? [debit(server, 'racer', '1', key), debit(server, 'racer', '2', key)]
          : [debit(server, 'racer', '2', key), debit(server, 'racer', '1', key)],
      );
      const retry = retryFirst ? a : b;
      const reuse = retryFirst ? b : a;
      assert.equal(retry.status, 201, `trial ${trial}: the exact retry got ${retry.text}`);
      assert.equal(retry.text, first.text, `trial ${trial}: the replay is the stored reply byte for byte`);
      assert.equal(retry.headers.get('idempotent-replayed'), 'true');
      assert.equal(reuse.status, 422, `trial ${trial}: the reuse got ${reuse.text}`);
      assert.equal(reuse.body.code, 'idempotency_key_reused');
    }
    assert.equal(await balanceOf(server, 'racer'), String(100_000 - trials));
  });

  it('answers every command of a batch holding a stored key by its own fingerprint', async () => {
    const committer = server.server.service.committer;
    const environmentId = await liveEnvironmentId(server);
    let decided = 0;
    const command = (fingerprint: string, body: string) => ({
      environmentId,
      requestId: `batch-${fingerprint}`,
      idempotency: { key: 'batch-stored', fingerprint },
      wallets: [],
      decide: () => {
        decided += 1;
        return okReply(201, { body });
      },
    });
    const stored = await committer.submit(command('same', 'first'));
    assert.equal(stored.status, 201);
    // Submitted in one turn, so they share one batch; the different one comes first.
    const [other, same] = await Promise.all([
      committer.submit(command('other', 'second')),
      committer.submit(command('same', 'third')),
    ]);
    assert.equal(decided, 1, 'nothing ran again');
    assert.equal(other?.status, 422);
    assert.match(other?.bodyText ?? '', /idempotency_key_reused/);
    assert.deepEqual(same, { ...stored, replayed: true });
  });

  it('runs exactly one of two requests with one new key in one batch', async () => {
    const committer = server.server.service.committer;
    const environmentId = await liveEnvironmentId(server);
    let decided = 0;
    const command = (key: string, fingerprint: string) => ({
      environmentId,
      requestId: `new-${key}-${fingerprint}`,
      idempotency: { key, fingerprint },
      wallets: [],
      decide: () => {
        decided += 1;
        return okReply(201, { fingerprint });
      },
    });
    const [leader, retry] = await Promise.all([
      committer.submit(command('batch-new-same', 'a')),
      committer.submit(command('batch-new-same', 'a')),
    ]);
    assert.equal(decided, 1);
    assert.equal(leader?.replayed, false);
    assert.deepEqual(retry, { ...leader, replayed: true });
    const [first, reuse] = await Promise.all([
      committer.submit(command('batch-new-other', 'a')),
      committer.submit(command('batch-new-other', 'b')),
    ]);
    assert.equal(decided, 2);
    assert.equal(first?.status, 201);
    assert.equal(reuse?.status, 422);
    assert.match(reuse?.bodyText ?? '', /idempotency_key_reused/);
    const [row] = await server.server.database.reader.all(
      'SELECT fingerprint FROM idempotency_keys WHERE environment_id = ? AND key = ?',
      [environmentId, 'batch-new-other'],
    );
    assert.equal(row?.fingerprint, 'a', 'the request that ran is the one stored');
  });

  it('gives a follower in the batch the stored form of a reply that shows a secret', async () => {
    const committer = server.server.service.committer;
    const environmentId = await liveEnvironmentId(server);
    const command = {
      environmentId,
      requestId: 'secret-in-batch',
      idempotency: { key: 'batch-secret', fingerprint: 'a' },
      wallets: [],
      decide: () => okReply(201, { secret: 'shown-once' }, { secret: null, secret_shown_once: true }),
    };
    const [leader, follower] = await Promise.all([committer.submit(command), committer.submit(command)]);
    assert.equal(leader?.bodyText, '{"secret":"shown-once"}');
    assert.equal(follower?.bodyText, '{"secret":null,"secret_shown_once":true}');
    assert.equal(follower?.replayed, true);
    const later = await committer.submit(command);
    assert.equal(later?.bodyText, follower?.bodyText, 'the follower answered what a later replay answers');
  });
});

async function liveEnvironmentId(server: TestServer): Promise<string> {
  const [row] = await server.server.database.reader.all("SELECT id FROM environments WHERE name = 'live'");
  return String(row?.id);
}

describe('idempotency: secrets are shown once and stored nowhere', () => {
  let server: TestServer;
  before(async () => {
    // No bootstrap key: the first admin key is generated, as on a real first start.
    server = await startTestServer({ bootstrapKey: null });
  });
  after(async () => {
    await server.close();
  });

  it('keeps no plaintext API key or webhook secret in any column of any table', async () => {
    const bootstrapKey = server.server.generatedAdminKey;
    assert.ok(bootstrapKey !== null);
    const call = (method: string, path: string, body?: unknown, idempotencyKey?: string) =>
      server.call(method, path, body, {
        key: bootstrapKey,
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      });
    const secrets: string[] = [bootstrapKey];
    const expectReplayWithoutSecret = (first: ApiResponse, replay: ApiResponse, path: readonly string[]) => {
      assert.equal(replay.status, first.status, replay.text);
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      const secretField = path.at(-1) as string;
      // The object holding the secret, in a copy of the body.
      const holder = (body: unknown) =>
        path
          .slice(0, -1)
          .reduce(
            (value, name) => value[name] as Record<string, unknown>,
            structuredClone(body) as Record<string, unknown>,
          );
      const firstHolder = holder(first.body);
      const replayHolder = holder(replay.body);
      assert.equal(typeof firstHolder[secretField], 'string', 'the first reply shows the secret');
      assert.ok(!replay.text.includes(String(firstHolder[secretField])), 'the secret appears nowhere in the replay');
      assert.equal(firstHolder.secret_shown_once, undefined);
      assert.equal(replayHolder[secretField], null, 'the replay does not');
      assert.equal(replayHolder.secret_shown_once, true);
      delete firstHolder[secretField];
      delete replayHolder[secretField];
      delete replayHolder.secret_shown_once;
      assert.deepEqual(replayHolder, firstHolder, 'the replay is the first reply without its secret');
      if (path.length > 1) {
        const rest = (body: Record<string, unknown>) => ({ ...body, [path[0] as string]: undefined });
        assert.deepEqual(rest(replay.body), rest(first.body));
      }
    };

    const environment = await call('POST', '/v1/environments', { name: 'staging' });
    assert.equal(environment.status, 201, environment.text);
    secrets.push(environment.body.admin_key.key);
    const environmentKeyed = await call('POST', '/v1/environments', { name: 'sandbox' }, 'env-1');
    assert.equal(environmentKeyed.status, 201, environmentKeyed.text);
    secrets.push(environmentKeyed.body.admin_key.key);
    const environmentReplay = await call('POST', '/v1/environments', { name: 'sandbox' }, 'env-1');
    expectReplayWithoutSecret(environmentKeyed, environmentReplay, ['admin_key', 'key']);

    const apiKey = await call('POST', '/v1/api-keys', { name: 'plain', scopes: ['write'] });
    assert.equal(apiKey.status, 201, apiKey.text);
    secrets.push(apiKey.body.key);
    const apiKeyKeyed = await call('POST', '/v1/api-keys', { name: 'keyed', scopes: ['read'] }, 'key-1');
    assert.equal(apiKeyKeyed.status, 201, apiKeyKeyed.text);
    secrets.push(apiKeyKeyed.body.key);
    const apiKeyReplay = await call('POST', '/v1/api-keys', { name: 'keyed', scopes: ['read'] }, 'key-1');
    expectReplayWithoutSecret(apiKeyKeyed, apiKeyReplay, ['key']);
    // The key minted by another environment's admin key, with a key of its own.
    const staging = await server.call(
      'POST',
      '/v1/api-keys',
      { name: 'staging writer', scopes: ['write'] },
      { key: environment.body.admin_key.key, idempotencyKey: 'key-1' },
    );
    assert.equal(staging.status, 201, staging.text);
    secrets.push(staging.body.key);

    const endpointBody = { url: 'http://127.0.0.1:9/hook' };
    const endpoint = await call('POST', '/v1/webhook-endpoints', endpointBody);
    assert.equal(endpoint.status, 201, endpoint.text);
    const endpointKeyed = await call('POST', '/v1/webhook-endpoints', endpointBody, 'hook-1');
    assert.equal(endpointKeyed.status, 201, endpointKeyed.text);
    const endpointReplay = await call('POST', '/v1/webhook-endpoints', endpointBody, 'hook-1');
    expectReplayWithoutSecret(endpointKeyed, endpointReplay, ['secret']);
    const rotatePath = `/v1/webhook-endpoints/${endpointKeyed.body.id}/rotate-secret`;
    const rotated = await call('POST', rotatePath, {}, 'rotate-1');
    assert.equal(rotated.status, 200, rotated.text);
    const rotatedReplay = await call('POST', rotatePath, {}, 'rotate-1');
    expectReplayWithoutSecret(rotated, rotatedReplay, ['secret']);
    const rotatedPlain = await call('POST', `/v1/webhook-endpoints/${endpoint.body.id}/rotate-secret`, {});
    assert.equal(rotatedPlain.status, 200, rotatedPlain.text);
    // The key material without its `whsec_` prefix, so a value stored without the prefix is found too.
    const webhookSecrets = [endpoint, endpointKeyed, rotated, rotatedPlain].map((reply) =>
      String(reply.body.secret).replace(/^whsec_/, ''),
    );

    // Every key still works, so the scan below looked for real secrets.
    for (const secret of secrets) {
      const reply = await server.call('GET', '/v1/api-keys', undefined, { key: secret });
      assert.notEqual(reply.status, 401, `key ${secret.slice(0, 12)}… authenticates`);
    }

    const found: string[] = [];
    for (const table of Object.keys(tables)) {
      const rows = await server.server.database.reader.all(`SELECT * FROM ${table}`);
      for (const row of rows) {
        for (const [column, value] of Object.entries(row)) {
          const text = String(value);
          for (const secret of secrets) if (text.includes(secret)) found.push(`API key in ${table}.${column}`);
          // Signing secrets are read back to sign, so they are stored, but only encrypted (secret-box.ts).
          for (const secret of webhookSecrets)
            if (text.includes(secret)) found.push(`webhook secret in ${table}.${column}`);
        }
      }
    }
    assert.deepEqual(found, []);
  });
});

describe('idempotency: replies stored with a secret by an older version', () => {
  it('lose the secret when the database is upgraded, and replay without it', async () => {
    const server = await startTestServer();
    try {
      const made = await server.call(
        'POST',
        '/v1/api-keys',
        { name: 'ci', scopes: ['read'] },
        { idempotencyKey: 'old-key' },
      );
      assert.equal(made.status, 201, made.text);
      const plaintext = String(made.body.key);
      const database = server.server.database;
      // As a version before this one stored it: the secret inside the reply, and no keyed audit chain yet.
      await database.writeTransaction(async (session) => {
        const [row] = await session.all("SELECT body FROM idempotency_keys WHERE key = 'old-key'");
        const body = { ...JSON.parse(String(row?.body)), key: plaintext };
        delete body.secret_shown_once;
        await session.run("UPDATE idempotency_keys SET body = ? WHERE key = 'old-key'", [JSON.stringify(body)]);
        await session.run('ALTER TABLE audit_events DROP COLUMN hash_kind');
        await session.run('DROP TABLE bursar_migrations'); // nor the migration history
      });
      await server.server.close();
      // Kept forever: this server runs on the real clock, long after the manual clock's stored keys.
      const upgraded = await startServer(testConfig(server.database.url, { idempotencyRetentionDays: null }), {
        logger: createLogger({ level: 'silent' }),
      });
      try {
        const rows = await upgraded.database.reader.all("SELECT body FROM idempotency_keys WHERE key = 'old-key'");
        assert.equal(rows.length, 1, 'the stored reply is kept');
        assert.equal(String(rows[0]?.body).includes(plaintext), false, 'the stored reply no longer holds the key');
        const replay = await callApi(
          upgraded.url,
          'POST',
          '/v1/api-keys',
          { name: 'ci', scopes: ['read'] },
          {
            key: adminKey,
            idempotencyKey: 'old-key',
          },
        );
        const replayed = replay.body;
        assert.equal(replay.headers.get('idempotent-replayed'), 'true', replay.text);
        assert.equal(replayed.key, null);
        assert.equal(replayed.secret_shown_once, true);
        assert.equal(replayed.id, made.body.id);
      } finally {
        await upgraded.close();
      }
    } finally {
      await server.database.drop();
    }
  });
});

describe('idempotency: retention', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ idempotencyRetentionDays: 35 });
    await seedCustomer(server, 'keeper');
    const granted = await server.call('POST', '/v1/grants', {
      customer: 'keeper',
      asset: 'credits',
      amount: '1000',
      category: 'paid',
    });
    assert.equal(granted.status, 201, granted.text);
  });
  after(async () => {
    await server.close();
  });

  it('prunes keys older than the retention, keeps newer ones replaying, and runs a forgotten key again', async () => {
    const old = await debit(server, 'keeper', '5', 'old-key');
    assert.equal(old.status, 201, old.text);
    server.clock.advance(20 * dayMs);
    const recent = await debit(server, 'keeper', '7', 'recent-key');
    assert.equal(recent.status, 201, recent.text);
    server.clock.advance(15 * dayMs - 1);
    assert.equal(await server.server.pruneIdempotencyKeys(), 0, 'a key exactly at the retention is kept');
    assert.equal((await debit(server, 'keeper', '5', 'old-key')).headers.get('idempotent-replayed'), 'true');
    server.clock.advance(1);
    assert.equal(await server.server.pruneIdempotencyKeys(), 1);

    const recentReplay = await debit(server, 'keeper', '7', 'recent-key');
    assert.equal(recentReplay.text, recent.text);
    assert.equal(recentReplay.headers.get('idempotent-replayed'), 'true');
    assert.equal(await balanceOf(server, 'keeper'), '988');
    const again = await debit(server, 'keeper', '5', 'old-key');
    assert.equal(again.status, 201, again.text);
    assert.equal(again.headers.get('idempotent-replayed'), null, 'the forgotten key runs as new');
    assert.notEqual(again.body.transaction.id, old.body.transaction.id);
    assert.equal(await balanceOf(server, 'keeper'), '983');
  });

  it('prunes many expired keys in several small transactions and leaves the rest', async () => {
    const environmentId = await liveEnvironmentId(server);
    const now = server.clock.now();
    const row = (key: string, createdAt: number) => ({
      environment_id: environmentId,
      key,
      fingerprint: 'f',
      status: 201n,
      body: '{}',
      problem: 0n,
      created_at: BigInt(createdAt),
    });
    const expired = Array.from({ length: 1234 }, (_, index) => row(`bulk-old-${index}`, now - 40 * dayMs - index));
    const kept = Array.from({ length: 10 }, (_, index) => row(`bulk-new-${index}`, now - dayMs));
    await server.server.database.writeTransaction((session) =>
      session.insertMany('idempotency_keys', [...expired, ...kept]),
    );
    const transactions: number[] = [];
    assert.equal(await server.server.pruneIdempotencyKeys((rows) => transactions.push(rows)), 1234);
    assert.ok(transactions.length >= 3, `pruned in ${transactions.length} transactions`);
    assert.ok(Math.max(...transactions) <= 500);
    const [left] = await server.server.database.reader.all(
      "SELECT COUNT(*) AS n FROM idempotency_keys WHERE key LIKE 'bulk-%'",
    );
    assert.equal(Number(left?.n), 10);
    const metrics = await fetch(`${server.url}/metrics`).then((reply) => reply.text());
    assert.match(metrics, /bursar_idempotency_keys_pruned_total \d+/);
    assert.ok(Number(/bursar_idempotency_keys_pruned_total (\d+)/.exec(metrics)?.[1]) >= 1235);
  });
});

describe('idempotency: retention forever', () => {
  it('keeps every key', async () => {
    const server = await startTestServer({ idempotencyRetentionDays: null });
    try {
      await seedCustomer(server, 'forever');
      await server.call('POST', '/v1/grants', {
        customer: 'forever',
        asset: 'credits',
        amount: '10',
        category: 'paid',
      });
      const first = await debit(server, 'forever', '1', 'forever-key');
      assert.equal(first.status, 201, first.text);
      server.clock.advance(3650 * dayMs);
      assert.equal(await server.server.pruneIdempotencyKeys(), 0);
      const replay = await debit(server, 'forever', '1', 'forever-key');
      assert.equal(replay.text, first.text);
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    } finally {
      await server.close();
    }
  });
});

describe('idempotency: two processes pruning one database', () => {
  it('delete every expired key between them, each once, without failing', async () => {
    const first = await startTestServer();
    const environmentId = await liveEnvironmentId(first);
    const now = first.clock.now();
    const expired = Array.from({ length: 3000 }, (_, index) => ({
      environment_id: environmentId,
      key: `shared-${index}`,
      fingerprint: 'f',
      status: 201n,
      body: '{}',
      problem: 0n,
      created_at: BigInt(now - 36 * dayMs - (index % 97)),
    }));
    await first.server.database.writeTransaction((session) => session.insertMany('idempotency_keys', expired));
    // A second server on the same database, with its own writers and committer as another process has;
    // its start-up pruning run races the runs below.
    const second = await startServer(testConfig(first.database.url), {
      clock: first.clock,
      logger: createLogger({ level: 'silent' }),
    });
    try {
      await Promise.all([
        first.server.pruneIdempotencyKeys(),
        second.pruneIdempotencyKeys(),
        first.server.pruneIdempotencyKeys(),
      ]);
      // A run ends at a short transaction, which a concurrent pruner can cause: one more finds any rest.
      await first.server.pruneIdempotencyKeys();
      const [left] = await first.server.database.reader.all('SELECT COUNT(*) AS n FROM idempotency_keys');
      assert.equal(Number(left?.n), 0);
      // Each row is counted by the one statement that deleted it: the two processes' counters add up to
      // exactly the rows there were (waiting for the start-up run's last count to be recorded).
      const prunedTotal = async () => {
        let total = 0;
        for (const url of [first.url, second.url]) {
          const text = await fetch(`${url}/metrics`).then((reply) => reply.text());
          total += Number(/bursar_idempotency_keys_pruned_total (\d+)/.exec(text)?.[1]);
        }
        return total;
      };
      let total = await prunedTotal();
      for (let attempt = 0; attempt < 50 && total < 3000; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        total = await prunedTotal();
      }
      assert.equal(total, 3000);
    } finally {
      await second.close();
      await first.close();
    }
  });
});
