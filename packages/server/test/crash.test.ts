/**
 * Crash-restart under load (SPEC §5 invariant 8, §7): the server runs as a child process, is
 * SIGKILLed while 16 clients send debits, restarted on the same database, four times. Then every
 * acknowledged debit exists exactly once, replays return the stored body, each unacknowledged debit
 * exists 0 or 1 times, the balance adds up and the audit chain verifies.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type Child, freePort, kill, listAllDebits, spawnServer, waitHealthy } from './child-server.ts';
import { adminKey, backend, callApi, createTestDatabase, seededRandom, testSeed } from './harness.ts';

const clients = 16;
const killCycles = 4;
const customer = 'crash-customer';
const granted = 1_000_000_000n;

type Outcome = 'ok' | 'fail' | 'unknown';
interface Attempt {
  readonly key: string;
  readonly body: { customer: string; asset: string; amount: string };
  outcome: Outcome;
  status?: number;
  text?: string;
  transactionId?: string;
}

test('acknowledged debits survive SIGKILL exactly once; unacknowledged ones 0 or 1 times', {
  timeout: 120_000,
}, async () => {
  const seed = testSeed('crash');
  const random = seededRandom(seed);
  // fast-check's generator for amounts, seeded too, so a failing run replays.
  const amounts = fc.sample(fc.integer({ min: 1, max: 9 }), { seed, numRuns: 10_000 });
  let amountIndex = 0;
  const database = await createTestDatabase();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: Child | null = null;
  const attempts: Attempt[] = [];
  try {
    child = spawnServer(database.url, port);
    await waitHealthy(url, child);
    const call = (method: string, path: string, body?: unknown, idempotencyKey?: string) =>
      callApi(url, method, path, body, { key: adminKey, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) });
    assert.equal((await call('POST', '/v1/assets', { code: 'credits', scale: 0 })).status, 201);
    assert.equal((await call('POST', '/v1/customers', { id: customer })).status, 201);
    const grant = await call(
      'POST',
      '/v1/grants',
      { customer, asset: 'credits', amount: granted.toString(), category: 'paid' },
      'crash-grant',
    );
    assert.equal(grant.status, 201, grant.text);

    let counter = 0;
    const runLoad = async (stop: { stopped: boolean }) => {
      const loop = async (client: number) => {
        while (!stop.stopped) {
          const key = `crash-${seed}-${client}-${counter++}`;
          const amount = String(amounts[amountIndex++ % amounts.length]);
          const attempt: Attempt = { key, body: { customer, asset: 'credits', amount }, outcome: 'unknown' };
          attempts.push(attempt);
          try {
            const response = await fetch(`${url}/v1/debits`, {
              method: 'POST',
              headers: {
                authorization: `Bearer ${adminKey}`,
                'content-type': 'application/json',
                'idempotency-key': key,
              },
              body: JSON.stringify(attempt.body),
              signal: AbortSignal.timeout(5000),
            });
            const text = await response.text();
            attempt.status = response.status;
            attempt.text = text;
            if (response.status === 201) {
              attempt.outcome = 'ok';
              attempt.transactionId = JSON.parse(text).transaction.id;
            } else if (response.status >= 400 && response.status < 500) {
              attempt.outcome = 'fail';
            } else {
              attempt.outcome = 'unknown';
            }
          } catch {
            attempt.outcome = 'unknown';
            await new Promise((r) => setTimeout(r, 5));
          }
        }
      };
      await Promise.all(Array.from({ length: clients }, (_, client) => loop(client)));
    };

    for (let cycle = 0; cycle < killCycles; cycle += 1) {
      const stop = { stopped: false };
      const load = runLoad(stop);
      await new Promise((r) => setTimeout(r, 200 + Math.floor(random() * 600)));
      await kill(child);
      stop.stopped = true;
      await load;
      child = spawnServer(database.url, port);
      await waitHealthy(url, child);
    }
    // A last stretch of load that ends cleanly, on the restarted server.
    {
      const stop = { stopped: false };
      const load = runLoad(stop);
      await new Promise((r) => setTimeout(r, 300));
      stop.stopped = true;
      await load;
    }

    const acked = attempts.filter((a) => a.outcome === 'ok');
    const unknown = attempts.filter((a) => a.outcome === 'unknown');
    const failed = attempts.filter((a) => a.outcome === 'fail');
    process.stdout.write(
      `# crash: ${attempts.length} attempts, ${acked.length} acked, ${unknown.length} unknown, ${failed.length} failed\n`,
    );
    assert.ok(acked.length > 0, 'some debits were acknowledged');
    assert.deepEqual(
      failed.map((a) => `${a.status} ${a.text}`),
      [],
      'no debit was refused (the grant is large)',
    );

    // Every acknowledged debit exists exactly once.
    const before = await listAllDebits(url, customer);
    const countById = new Map<string, number>();
    for (const t of before) countById.set(t.id, (countById.get(t.id) ?? 0) + 1);
    for (const a of acked)
      assert.equal(
        countById.get(a.transactionId as string),
        1,
        `acked debit ${a.key} (${a.transactionId}) exists exactly once`,
      );
    assert.equal(
      new Set(acked.map((a) => a.transactionId)).size,
      acked.length,
      'acked debits have distinct transaction ids',
    );

    // Replaying an acknowledged request returns the stored body, byte for byte.
    for (const a of acked) {
      const replay = await call('POST', '/v1/debits', a.body, a.key);
      assert.equal(replay.status, 201, `replay of ${a.key}: ${replay.text}`);
      assert.equal(replay.text, a.text, `replay of ${a.key} returns the same body`);
    }

    // Every unknown key: either a stored 201 (committed before the crash) or it executes now.
    let unknownCommitted = 0;
    let unknownExecutedNow = 0;
    const unknownIds = new Set<string>();
    for (const a of unknown) {
      const replay = await call('POST', '/v1/debits', a.body, a.key);
      assert.equal(replay.status, 201, `replay of unknown ${a.key}: ${replay.text}`);
      const id = replay.body.transaction.id as string;
      unknownIds.add(id);
      if (countById.has(id)) {
        assert.equal(countById.get(id), 1, `unknown debit ${a.key} exists at most once`);
        assert.equal(
          replay.headers.get('idempotent-replayed'),
          'true',
          `committed unknown ${a.key} is answered as a replay`,
        );
        unknownCommitted += 1;
      } else {
        unknownExecutedNow += 1;
      }
      // A second replay is stable.
      const again = await call('POST', '/v1/debits', a.body, a.key);
      assert.equal(again.text, replay.text);
    }
    process.stdout.write(
      `# crash: unknown committed before the crash ${unknownCommitted}, executed on replay ${unknownExecutedNow}\n`,
    );
    assert.equal(before.length, acked.length + unknownCommitted, 'debits before replay = acked + committed unknowns');
    const ackedIds = new Set(acked.map((a) => a.transactionId as string));
    for (const t of before)
      assert.ok(ackedIds.has(t.id) || unknownIds.has(t.id), `debit ${t.id} belongs to some attempt`);

    const after = await listAllDebits(url, customer);
    assert.equal(after.length, acked.length + unknownCommitted + unknownExecutedNow);
    const debited = after.reduce((sum, t) => sum + BigInt(t.amount), 0n);
    const balances = await call('GET', `/v1/customers/${customer}/balances`);
    assert.equal(balances.status, 200, balances.text);
    const wallet = balances.body.balances.find((b: { asset: string }) => b.asset === 'credits');
    assert.equal(wallet.balance, (granted - debited).toString(), 'balance = granted − sum(debits)');
    assert.equal(wallet.held, '0');

    const verify = await call('GET', '/v1/audit-events/verify');
    assert.equal(verify.status, 200, verify.text);
    assert.equal(verify.body.valid, true, verify.text);
  } finally {
    await kill(child);
    await database.drop();
  }
  void backend;
});
