/**
 * Several processes on one database (issue 8, item 9): fresh processes racing on bootstrap create
 * `live` and its key once, and a key revoked through one process stops working on another within
 * BURSAR_API_KEY_CACHE_MS.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDatabase } from '../src/app.ts';
import { loadAuditKey } from '../src/domains/access/audit-key.ts';
import { bootstrap } from '../src/domains/access/bootstrap.ts';
import { migrate } from '../src/platform/storage/migrations.ts';
import { type Child, freePort, kill, spawnServer, waitHealthy } from './child-server.ts';
import { adminKey, backend, callApi, clockStart, createTestDatabase, testConfig } from './harness.ts';

const startupChild = 'packages/server/test/startup-child.ts';

async function spawnHealthy(
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  const child = spawnServer(databaseUrl, port, { env });
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(url, child);
  return { child, url };
}

test('fresh processes starting at once on one database bootstrap `live` and its key once', {
  timeout: 240_000,
}, async () => {
  const rounds = 2;
  const processes = 4;
  for (let round = 0; round < rounds; round += 1) {
    const database = await createTestDatabase();
    const started: { child: Child; url: string }[] = [];
    try {
      const ports = await Promise.all(Array.from({ length: processes }, () => freePort()));
      // Loading takes each child a different time; a common start moment makes them bootstrap together.
      const env = { BURSAR_TEST_START_AT: String(Date.now() + 4000) };
      const children = ports.map((port) => spawnServer(database.url, port, { script: startupChild, env }));
      await Promise.all(
        children.map(async (child, index) => {
          const url = `http://127.0.0.1:${ports[index]}`;
          started.push({ child, url });
          // Four processes loading at once on two cores, under CI's load, start slowly.
          await waitHealthy(url, child, 90_000);
        }),
      );
      for (const { url } of started) {
        const environments = await callApi(url, 'GET', '/v1/environments', undefined, { key: adminKey });
        assert.equal(environments.status, 200, environments.text);
        assert.deepEqual(
          environments.body.data.map((e: { name: string }) => e.name),
          ['live'],
          `round ${round}`,
        );
        const keys = await callApi(url, 'GET', '/v1/api-keys', undefined, { key: adminKey });
        assert.equal(keys.body.data.length, 1, `round ${round}: one bootstrap key: ${keys.text}`);
      }
      const audit = await callApi(started[0]?.url ?? '', 'GET', '/v1/audit-events', undefined, { key: adminKey });
      assert.equal(audit.body.data.length, 1, `round ${round}: one environment.created event: ${audit.text}`);
    } finally {
      for (const { child } of started) await kill(child);
      await database.drop();
    }
  }
});

test('bootstraps racing on one migrated database create `live` and its key once', {
  // SQLite's driver waits for the file lock synchronously, which would stall this one process;
  // the test above covers SQLite with real processes.
  skip: backend === 'sqlite' ? 'needs connections that wait for locks asynchronously' : false,
}, async () => {
  // Process start-up is too uneven to meet inside the few milliseconds of a bootstrap reliably,
  // so connections of one process stand in for processes here and start the bootstrap together.
  const testAuditKey = loadAuditKey(testConfig(''), { create: false });
  for (let round = 0; round < 5; round += 1) {
    const database = await createTestDatabase();
    const config = { databaseUrl: database.url, postgresWritersMax: 1 };
    const handles = await Promise.all(Array.from({ length: 4 }, () => openDatabase(config)));
    try {
      const [first] = handles;
      if (first === undefined) throw new Error('no database');
      await migrate(first, clockStart);
      const results = await Promise.allSettled(
        handles.map((handle) => bootstrap(handle, clockStart, null, testAuditKey)),
      );
      const failures = results.flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : []));
      assert.deepEqual(failures, [], `${backend} round ${round}`);
      const keysPrinted = results.filter((result) => result.status === 'fulfilled' && result.value !== null);
      assert.equal(keysPrinted.length, 1, 'one process generated the key and prints it');
      const environments = await first.reader.all('SELECT name FROM environments');
      assert.deepEqual(
        environments.map((row) => row.name),
        ['live'],
      );
      const keys = await first.reader.all('SELECT scopes FROM api_keys');
      assert.deepEqual(
        keys.map((row) => row.scopes),
        ['owner'],
      );
    } finally {
      for (const handle of handles) await handle.close();
      await database.drop();
    }
  }
});

test('a key revoked on one process is refused by another within BURSAR_API_KEY_CACHE_MS', {
  timeout: 120_000,
}, async () => {
  const cacheMs = 400;
  const database = await createTestDatabase();
  const servers: { child: Child; url: string }[] = [];
  try {
    const revoking = await spawnHealthy(database.url, { BURSAR_API_KEY_CACHE_MS: String(cacheMs) });
    servers.push(revoking);
    const cached = await spawnHealthy(database.url, { BURSAR_API_KEY_CACHE_MS: String(cacheMs) });
    servers.push(cached);
    const uncached = await spawnHealthy(database.url, { BURSAR_API_KEY_CACHE_MS: '0' });
    servers.push(uncached);
    const created = await callApi(
      revoking.url,
      'POST',
      '/v1/api-keys',
      { name: 'short-lived', scopes: ['read'] },
      {
        key: adminKey,
      },
    );
    assert.equal(created.status, 201, created.text);
    const key = created.body.key as string;
    const statusOn = async (url: string) => (await callApi(url, 'GET', '/v1/customers', undefined, { key })).status;
    // Every process has now looked the key up (and the caching ones remember it).
    for (const { url } of servers) assert.equal(await statusOn(url), 200);
    const revoked = await callApi(
      revoking.url,
      'POST',
      `/v1/api-keys/${created.body.id}/revoke`,
      {},
      { key: adminKey },
    );
    assert.equal(revoked.status, 200, revoked.text);
    const revokedAt = Date.now();
    assert.equal(await statusOn(revoking.url), 401, 'the revoking process forgets the key at once');
    assert.equal(await statusOn(uncached.url), 401, 'a process without a cache reads the revocation at once');
    // Past the bound (with a margin for the request itself), the caching process has read it too.
    await new Promise((resolve) => setTimeout(resolve, cacheMs + 100 - (Date.now() - revokedAt)));
    assert.equal(await statusOn(cached.url), 401, `refused ${cacheMs} ms after the revocation`);
  } finally {
    for (const { child } of servers) await kill(child);
    await database.drop();
  }
});
