/** Retries, timeouts, aborts and typed errors through a scripted proxy in front of a real server: a retried write keeps its Idempotency-Key and has one effect. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestServer } from '../../server/test/harness.ts';
import { adminKey, seedCustomer, startTestServer } from '../../server/test/harness.ts';
import type { RetryPolicy } from '../src/index.ts';
import { Bursar, BursarAbortError, BursarConnectionError, BursarError, BursarTimeoutError } from '../src/index.ts';
import type { ProxyAction } from './proxy.ts';
import { problemBody, startProxy } from './proxy.ts';

let server: TestServer;
let direct: Bursar;
const fastRetry: Partial<RetryPolicy> = { attemptsMax: 4, baseDelayMs: 5, maxDelayMs: 20 };

before(async () => {
  server = await startTestServer();
  direct = new Bursar({ baseUrl: server.url, apiKey: adminKey });
  await seedCustomer(server, 'acme');
  await direct.createGrant({ customer: 'acme', asset: 'credits', amount: '1000', category: 'paid' });
});
after(() => server.close());

/** A client through a proxy that follows `script` request by request, forwarding once it runs out. */
async function throughProxy(script: ProxyAction[], retry: Partial<RetryPolicy> | false = fastRetry) {
  const proxy = await startProxy(server.url, (index) => script[index] ?? { kind: 'forward' });
  const bursar = new Bursar({ baseUrl: proxy.url, apiKey: adminKey, retry, timeoutMs: 2_000 });
  return { proxy, bursar };
}

async function debitsTagged(tag: string): Promise<number> {
  let count = 0;
  for await (const transaction of direct.listTransactions.all({ customer: 'acme', kind: 'debit' })) {
    if (transaction.metadata?.tag === tag) count++;
  }
  return count;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('the call should have failed'),
    (error: unknown) => error,
  );
}

describe('retries', () => {
  test('two 503s, then the answer: three tries with one key and one debit', async () => {
    const unavailable: ProxyAction = { kind: 'answer', status: 503, body: problemBody('unavailable', 503) };
    const setup = await throughProxy([unavailable, unavailable]);
    const result = await setup.bursar.createDebit({
      customer: 'acme',
      asset: 'credits',
      amount: '3',
      metadata: { tag: 'after-503' },
    });
    assert.equal(result.transaction.amount, '3');
    const keys = setup.proxy.requests.map((request) => request.idempotencyKey);
    assert.equal(keys.length, 3);
    assert.ok(keys[0] !== undefined && keys.every((key) => key === keys[0]), `one key on every try: ${keys}`);
    assert.equal(await debitsTagged('after-503'), 1);
    await setup.proxy.close();
  });

  test('an answer lost on the way back: the retry is replayed, not applied twice', async () => {
    const setup = await throughProxy([{ kind: 'forward-then-drop' }]);
    const result = await setup.bursar.createDebit({
      customer: 'acme',
      asset: 'credits',
      amount: '4',
      metadata: { tag: 'lost' },
    });
    assert.equal(result.transaction.amount, '4');
    assert.equal(setup.proxy.requests.length, 2);
    assert.equal(setup.proxy.requests[0]?.idempotencyKey, setup.proxy.requests[1]?.idempotencyKey);
    assert.equal(await debitsTagged('lost'), 1);
    await setup.proxy.close();
  });

  test('409 idempotency_key_in_use (the first try still running) is retried with the same key', async () => {
    const inUse: ProxyAction = { kind: 'answer', status: 409, body: problemBody('idempotency_key_in_use', 409) };
    const setup = await throughProxy([inUse]);
    await setup.bursar.createDebit({ customer: 'acme', asset: 'credits', amount: '2', metadata: { tag: 'in-use' } });
    const [first, second] = setup.proxy.requests;
    assert.ok(first?.idempotencyKey !== undefined && first.idempotencyKey === second?.idempotencyKey);
    assert.equal(await debitsTagged('in-use'), 1);
    await setup.proxy.close();
  });

  test('a caller-chosen key is the one sent', async () => {
    const setup = await throughProxy([]);
    await setup.bursar.createDebit(
      { customer: 'acme', asset: 'credits', amount: '1', metadata: { tag: 'own-key' } },
      { idempotencyKey: 'order-77' },
    );
    await setup.bursar.createDebit(
      { customer: 'acme', asset: 'credits', amount: '1', metadata: { tag: 'own-key' } },
      { idempotencyKey: 'order-77' },
    );
    assert.deepEqual(
      setup.proxy.requests.map((request) => request.idempotencyKey),
      ['order-77', 'order-77'],
    );
    assert.equal(await debitsTagged('own-key'), 1);
    await setup.proxy.close();
  });

  test('reads carry no key; each write call gets its own', async () => {
    const setup = await throughProxy([]);
    await setup.bursar.getBalances({ customer: 'acme' });
    await setup.bursar.createDebit({ customer: 'acme', asset: 'credits', amount: '1' });
    await setup.bursar.createDebit({ customer: 'acme', asset: 'credits', amount: '1' });
    const [read, first, second] = setup.proxy.requests;
    assert.equal(read?.idempotencyKey, undefined);
    assert.match(first?.idempotencyKey ?? '', /^[0-9a-f-]{36}$/);
    assert.notEqual(first?.idempotencyKey, second?.idempotencyKey);
    await setup.proxy.close();
  });

  test('429 with Retry-After: 1 waits a second before the retry', async () => {
    const limited: ProxyAction = {
      kind: 'answer',
      status: 429,
      headers: { 'retry-after': '1' },
      body: problemBody('rate_limited', 429),
    };
    const setup = await throughProxy([limited]);
    const balances = await setup.bursar.getBalances({ customer: 'acme' });
    assert.equal(balances.customer, 'acme');
    const [first, second] = setup.proxy.requests;
    assert.ok(first !== undefined && second !== undefined);
    // The backoff alone would wait at most 20 ms.
    assert.ok(second.atMs - first.atMs >= 950, `waited ${second.atMs - first.atMs} ms`);
    await setup.proxy.close();
  });

  test('Retry-After as an HTTP date is honoured too', async () => {
    const at = new Date(Date.now() + 2_000).toUTCString();
    const limited: ProxyAction = {
      kind: 'answer',
      status: 429,
      headers: { 'retry-after': at },
      body: problemBody('rate_limited', 429),
    };
    const setup = await throughProxy([limited]);
    await setup.bursar.getBalances({ customer: 'acme' });
    const [first, second] = setup.proxy.requests;
    assert.ok(first !== undefined && second !== undefined);
    // An HTTP date has whole seconds: at least one second of the two is still ahead.
    assert.ok(second.atMs - first.atMs >= 950, `waited ${second.atMs - first.atMs} ms`);
    await setup.proxy.close();
  });

  test('a Retry-After beyond the cap ends the retries with the typed error', async () => {
    const limited: ProxyAction = {
      kind: 'answer',
      status: 429,
      headers: { 'retry-after': '3600' },
      body: problemBody('rate_limited', 429),
    };
    const setup = await throughProxy([limited]);
    const error = await rejection(setup.bursar.getBalances({ customer: 'acme' }));
    assert.ok(error instanceof BursarError);
    assert.equal(error.code, 'rate_limited');
    assert.equal(setup.proxy.requests.length, 1);
    await setup.proxy.close();
  });

  test('retries stop at attemptsMax, and `retry: false` tries once', async () => {
    const failing: ProxyAction = { kind: 'answer', status: 500, body: problemBody('internal_error', 500) };
    const setup = await throughProxy([failing, failing, failing, failing, failing, failing]);
    const error = await rejection(setup.bursar.getBalances({ customer: 'acme' }));
    assert.ok(error instanceof BursarError);
    assert.equal(error.status, 500);
    assert.equal(setup.proxy.requests.length, 4);
    const once = await rejection(setup.bursar.getBalances({ customer: 'acme' }, { retry: false }));
    assert.ok(once instanceof BursarError);
    assert.equal(setup.proxy.requests.length, 5);
    await setup.proxy.close();
  });

  test('a refusal is not retried', async () => {
    const setup = await throughProxy([]);
    const error = await rejection(setup.bursar.createDebit({ customer: 'acme', asset: 'credits', amount: '1000000' }));
    assert.ok(error instanceof BursarError);
    assert.equal(error.code, 'insufficient_balance');
    assert.equal(setup.proxy.requests.length, 1);
    await setup.proxy.close();
  });

  test('an answer that is not a problem document is a connection error with its status', async () => {
    const gateway: ProxyAction = { kind: 'answer', status: 502, headers: { 'content-type': 'text/html' } };
    const setup = await throughProxy([gateway], false);
    const error = await rejection(setup.bursar.getBalances({ customer: 'acme' }));
    assert.ok(error instanceof BursarConnectionError);
    assert.equal(error.status, 502);
    await setup.proxy.close();
  });
});

describe('typed errors', () => {
  test('insufficient_balance carries available and requested; capture_exceeds_hold carries held', async () => {
    const balances = await direct.getBalances({ customer: 'acme', asset: 'credits' });
    const available = balances.balances[0]?.available;
    const refusal = await rejection(direct.createHold({ customer: 'acme', asset: 'credits', amount: '999999' }));
    assert.ok(refusal instanceof BursarError);
    assert.equal(refusal.status, 402);
    if (refusal.code !== 'insufficient_balance') assert.fail(refusal.code);
    assert.equal(refusal.problem.available, available);
    assert.equal(refusal.problem.requested, '999999');
    assert.equal(refusal.retryable, true, 'a top-up may let it through later, with a new key');

    const hold = await direct.createHold({ customer: 'acme', asset: 'credits', amount: '5' });
    const excess = await rejection(direct.captureHold({ id: hold.hold.id, amount: '6', on_excess: 'refuse' }));
    assert.ok(excess instanceof BursarError);
    if (excess.code !== 'capture_exceeds_hold') assert.fail(excess.code);
    assert.equal(excess.problem.held, '5');
    assert.equal(excess.problem.requested, '6');
  });

  test('validation_failed lists the fields; an unknown id is not_found', async () => {
    const invalid = await rejection(direct.createDebit({ customer: 'acme', asset: 'credits', amount: 'ten' }));
    assert.ok(invalid instanceof BursarError);
    assert.equal(invalid.code, 'validation_failed');
    assert.ok(invalid.problem.errors?.some((error) => error.field === 'amount'));
    const missing = await rejection(direct.getHold({ id: 'hold_missing' }));
    assert.ok(missing instanceof BursarError);
    assert.equal(missing.status, 404);
  });
});

describe('timeouts and aborts', () => {
  test('an attempt that never answers times out, after the retries when there are some', async () => {
    const setup = await throughProxy([{ kind: 'hang' }, { kind: 'hang' }], { attemptsMax: 2, baseDelayMs: 1 });
    const started = Date.now();
    const error = await rejection(setup.bursar.getBalances({ customer: 'acme' }, { timeoutMs: 100 }));
    assert.ok(error instanceof BursarTimeoutError, String(error));
    assert.equal(error.timeoutMs, 100);
    assert.equal(setup.proxy.requests.length, 2);
    assert.ok(Date.now() - started < 1_500);
    await setup.proxy.close();
  });

  test("the caller's signal aborts a request in flight: an abort, not a timeout, and no retry", async () => {
    const setup = await throughProxy([{ kind: 'hang' }]);
    const controller = new AbortController();
    const pending = setup.bursar.createDebit(
      { customer: 'acme', asset: 'credits', amount: '1' },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(new Error('user left')), 50);
    const error = await rejection(pending);
    assert.ok(error instanceof BursarAbortError, String(error));
    assert.ok(!(error instanceof BursarTimeoutError));
    assert.equal((error.cause as Error).message, 'user left');
    assert.equal(setup.proxy.requests.length, 1);
    await setup.proxy.close();
  });

  test('an abort during the wait before a retry ends the wait', async () => {
    const limited: ProxyAction = {
      kind: 'answer',
      status: 429,
      headers: { 'retry-after': '30' },
      body: problemBody('rate_limited', 429),
    };
    const setup = await throughProxy([limited]);
    const started = Date.now();
    const error = await rejection(setup.bursar.getBalances({ customer: 'acme' }, { signal: AbortSignal.timeout(100) }));
    assert.ok(error instanceof BursarAbortError, String(error));
    assert.ok(Date.now() - started < 2_000);
    await setup.proxy.close();
  });

  test('an already aborted signal sends nothing', async () => {
    const setup = await throughProxy([]);
    const error = await rejection(setup.bursar.getBalances({ customer: 'acme' }, { signal: AbortSignal.abort() }));
    assert.ok(error instanceof BursarAbortError);
    assert.equal(setup.proxy.requests.length, 0);
    await setup.proxy.close();
  });
});

describe('pagination', () => {
  test('`all` follows the cursor over several pages, each item once, in order', async () => {
    for (let index = 0; index < 7; index++) await direct.createCustomer({ id: `page_${index}` });
    const setup = await throughProxy([]);
    const ids: string[] = [];
    for await (const customer of setup.bursar.listCustomers.all({ limit: 3 })) ids.push(customer.id);
    const pages = await direct.listCustomers({ limit: 200 });
    assert.deepEqual(
      ids,
      pages.data.map((customer) => customer.id),
    );
    assert.equal(ids.length, 8);
    assert.equal(setup.proxy.requests.length, 3);
    assert.ok(setup.proxy.requests[1]?.path.includes('cursor='));

    const grants: string[] = [];
    for await (const grant of setup.bursar.listGrants.all({ customer: 'acme', limit: 1 })) grants.push(grant.remaining);
    assert.equal(grants.length, 1);
    await setup.proxy.close();
  });

  test('breaking out of the loop stops fetching', async () => {
    const setup = await throughProxy([]);
    for await (const customer of setup.bursar.listCustomers.all({ limit: 2 })) {
      assert.ok(customer.id);
      break;
    }
    assert.equal(setup.proxy.requests.length, 1);
    await setup.proxy.close();
  });
});
