/**
 * Graceful shutdown (issue 8, item 9): SIGTERM while many connections send debits. The server
 * stops accepting, answers the requests in flight (one is provably in flight: its body is still
 * arriving when the signal lands), and exits 0. Restarted on the same database, every debit
 * answered 2xx exists exactly once, no request was left without an answer or a reset, the balance
 * adds up and the audit chain verifies.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { test } from 'node:test';
import { type Child, freePort, kill, listAllDebits, spawnServer, waitHealthy } from './child-server.ts';
import { adminKey, callApi, createTestDatabase, seededRandom, testSeed } from './harness.ts';

const clients = 24;
const customer = 'shutdown-customer';
const granted = 1_000_000_000n;

interface Attempt {
  readonly key: string;
  status?: number;
  transactionId?: string;
  /** Set when the client saw no answer: the connection was reset or refused, or nothing came (a hang). */
  failure?: 'reset' | 'hang';
}

/** True once nothing accepts connections on the port: the server has stopped listening. */
async function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** Sends a debit whose body arrives in two parts, the second only when `release` resolves. */
function sendInTwoParts(port: number, key: string, release: Promise<void>): Promise<{ status: number; text: string }> {
  const body = JSON.stringify({ customer, asset: 'credits', amount: '7' });
  const half = Math.floor(body.length / 2);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/debits',
        headers: {
          authorization: `Bearer ${adminKey}`,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'idempotency-key': key,
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.write(body.slice(0, half));
    void release.then(() => outgoing.end(body.slice(half)));
  });
}

test('SIGTERM under load: requests in flight are answered, every 2xx is durable, the server exits 0', {
  timeout: 120_000,
}, async () => {
  const seed = testSeed('shutdown');
  const random = seededRandom(seed);
  const database = await createTestDatabase();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const shutdownTimeoutMs = 10_000;
  const env = { BURSAR_SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs) };
  let child: Child | null = null;
  try {
    child = spawnServer(database.url, port, { env });
    await waitHealthy(url, child);
    const call = (method: string, path: string, body?: unknown, idempotencyKey?: string) =>
      callApi(url, method, path, body, { key: adminKey, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) });
    assert.equal((await call('POST', '/v1/assets', { code: 'credits', scale: 0 })).status, 201);
    assert.equal((await call('POST', '/v1/customers', { id: customer })).status, 201);
    const grant = { customer, asset: 'credits', amount: granted.toString(), category: 'paid' };
    assert.equal((await call('POST', '/v1/grants', grant, 'shutdown-grant')).status, 201);

    const attempts: Attempt[] = [];
    let stopped = false;
    let counter = 0;
    const loop = async (client: number) => {
      while (!stopped) {
        const attempt: Attempt = { key: `shutdown-${seed}-${client}-${counter++}` };
        attempts.push(attempt);
        try {
          const response = await fetch(`${url}/v1/debits`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${adminKey}`,
              'content-type': 'application/json',
              'idempotency-key': attempt.key,
            },
            body: JSON.stringify({ customer, asset: 'credits', amount: String(1 + (counter % 9)) }),
            // Well past the shutdown bound: a reply later than that is a hang.
            signal: AbortSignal.timeout(shutdownTimeoutMs + 5000),
          });
          const text = await response.text();
          attempt.status = response.status;
          if (response.status === 201) attempt.transactionId = JSON.parse(text).transaction.id;
        } catch (error) {
          attempt.failure = (error as Error).name === 'TimeoutError' ? 'hang' : 'reset';
          // Refused: the server is gone; stop this client rather than spin.
          return;
        }
      }
    };
    const load = Promise.all(Array.from({ length: clients }, (_, client) => loop(client)));
    let releaseSecondPart = () => {};
    const secondPart = new Promise<void>((resolve) => {
      releaseSecondPart = resolve;
    });
    const slow = sendInTwoParts(port, `shutdown-${seed}-slow`, secondPart);
    await new Promise((resolve) => setTimeout(resolve, 1000 + Math.floor(random() * 1000)));

    const signalledAt = Date.now();
    const running = child;
    const exitCode = new Promise<number | null>((resolve) => running.process.once('exit', (code) => resolve(code)));
    running.process.kill('SIGTERM');
    // The slow request is in flight (its headers arrived long ago); finish its body only once
    // the server has stopped listening, so it is answered during the shutdown or not at all.
    while (!(await refusesConnections(port))) await new Promise((resolve) => setTimeout(resolve, 10));
    releaseSecondPart();
    const slowReply = await slow;
    assert.equal(slowReply.status, 201, `the request in flight at SIGTERM is answered: ${slowReply.text}`);
    assert.equal(await exitCode, 0, `exit code; output: ${running.output.join('')}`);
    assert.ok(Date.now() - signalledAt < shutdownTimeoutMs, 'the shutdown ended before its timeout');
    stopped = true;
    await load;

    const answered = attempts.filter((a) => a.status !== undefined);
    const acknowledged = attempts.filter((a) => a.status === 201);
    process.stdout.write(
      `# shutdown: ${attempts.length} attempts, ${acknowledged.length} acknowledged, ${attempts.length - answered.length} reset or refused\n`,
    );
    assert.deepEqual(
      attempts.filter((a) => a.failure === 'hang').map((a) => a.key),
      [],
      'no request hangs',
    );
    assert.deepEqual(
      answered.filter((a) => a.status !== 201 && a.status !== 503).map((a) => `${a.key}: ${a.status}`),
      [],
      'every answer is 201, or 503 for a request that came after the shutdown began',
    );
    assert.ok(acknowledged.length > 0, 'some debits were acknowledged before the signal');

    child = spawnServer(database.url, port, { env });
    await waitHealthy(url, child);
    const debits = (await listAllDebits(url, customer)).map((debit) => debit.id);
    const countById = new Map<string, number>();
    for (const id of debits) countById.set(id, (countById.get(id) ?? 0) + 1);
    const slowId = JSON.parse(slowReply.text).transaction.id as string;
    for (const { key, transactionId } of [...acknowledged, { key: 'slow', transactionId: slowId }])
      assert.equal(countById.get(transactionId as string), 1, `acknowledged debit ${key} exists exactly once`);

    const sum = (
      await Promise.all(debits.map(async (id) => (await call('GET', `/v1/transactions/${id}`)).body.amount as string))
    ).reduce((total, amount) => total + BigInt(amount), 0n);
    const balances = await call('GET', `/v1/customers/${customer}/balances`);
    const wallet = balances.body.balances.find((b: { asset: string }) => b.asset === 'credits');
    assert.equal(wallet.balance, (granted - sum).toString(), 'balance = granted − sum(debits)');
    assert.equal(wallet.held, '0');
    const verify = await call('GET', '/v1/audit-events/verify');
    assert.equal(verify.body.valid, true, verify.text);
  } finally {
    await kill(child);
    await database.drop();
  }
});
