/**
 * Concurrency races through real HTTP: a hot wallet under 2,000 concurrent debits, one hold
 * captured 100 times at once, one idempotency key sent 50 times at once, key reuse with another
 * body, 200 concurrent partial reversals, and a refusal replayed after a top-up.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiResponse, TestServer } from '../../../../test/harness.ts';
import { seedCustomer, startTestServer, testSeed } from '../../../../test/harness.ts';

let server: TestServer;
const seed = testSeed('races');
let state = seed >>> 0;
function rand(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

async function grant(customer: string, amount: number): Promise<string> {
  const reply = await server.call('POST', '/v1/grants', {
    customer,
    asset: 'credits',
    amount: String(amount),
    category: 'paid',
  });
  assert.equal(reply.status, 201, reply.text);
  return reply.body.id;
}

async function balanceOf(customer: string) {
  const reply = await server.call('GET', `/v1/customers/${customer}/balances?asset=credits`);
  assert.equal(reply.status, 200, reply.text);
  return reply.body.balances[0];
}

async function listAll(query: string): Promise<{ id: string; kind: string; amount: string }[]> {
  const rows = [];
  let cursor: string | null = null;
  do {
    const page: ApiResponse = await server.call(
      'GET',
      `/v1/transactions?${query}&limit=200${cursor === null ? '' : `&cursor=${cursor}`}`,
    );
    assert.equal(page.status, 200, page.text);
    rows.push(...page.body.data);
    cursor = page.body.next_cursor;
  } while (cursor !== null);
  return rows;
}

function countBy(replies: ApiResponse[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const reply of replies) {
    const label = `${reply.status}${reply.body?.code ? ` ${reply.body.code}` : ''}`;
    counts[label] = (counts[label] ?? 0) + 1;
  }
  return counts;
}

describe('races', () => {
  it('(a) 2,000 concurrent debits spend exactly ⌊B/c⌋ times', async () => {
    const customer = `hot-${seed}`;
    await seedCustomer(server, customer);
    const B = int(1000, 5000);
    const c = int(1, 7);
    await grant(customer, B);
    const replies = await Promise.all(
      Array.from({ length: 2000 }, (_, index) =>
        server.call(
          'POST',
          '/v1/debits',
          { customer, asset: 'credits', amount: String(c) },
          { idempotencyKey: `hot-${seed}-${index}` },
        ),
      ),
    );
    const expectedSuccesses = Math.min(2000, Math.floor(B / c));
    const counts = countBy(replies);
    assert.deepEqual(
      counts,
      {
        '201': expectedSuccesses,
        ...(2000 - expectedSuccesses > 0 ? { '402 insufficient_balance': 2000 - expectedSuccesses } : {}),
      },
      `B=${B} c=${c} seed ${seed}`,
    );
    const balance = await balanceOf(customer);
    assert.equal(balance.balance, String(B - expectedSuccesses * c), `B=${B} c=${c}`);
    assert.equal(balance.debt, '0');
    const debits = await listAll(`customer=${customer}&kind=debit`);
    assert.equal(debits.length, expectedSuccesses);
  });

  it('(b) 100 concurrent captures of one hold: exactly one wins', async () => {
    const customer = `cap-${seed}`;
    await seedCustomer(server, customer);
    await grant(customer, 500);
    const hold = await server.call(
      'POST',
      '/v1/holds',
      { customer, asset: 'credits', amount: '100', ttl_seconds: 600 },
      { idempotencyKey: `cap-hold-${seed}` },
    );
    assert.equal(hold.status, 201, hold.text);
    const holdId = hold.body.hold.id;
    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        server.call(
          'POST',
          `/v1/holds/${holdId}/capture`,
          { amount: String(1 + (index % 100)) },
          { idempotencyKey: `cap-${seed}-${index}` },
        ),
      ),
    );
    assert.deepEqual(countBy(replies), { '200': 1, '409 hold_not_open': 99 });
    const winner = replies.find((reply) => reply.status === 200) as ApiResponse;
    const captured = BigInt((winner.body.transaction ?? winner.body).amount ?? winner.body.captured);
    const balance = await balanceOf(customer);
    assert.equal(balance.held, '0');
    assert.equal(BigInt(balance.balance), 500n - captured);
    assert.equal((await listAll(`customer=${customer}&kind=capture`)).length, 1);
  });

  it('(c) 50 concurrent requests with one idempotency key run once', async () => {
    const customer = `idem-${seed}`;
    await seedCustomer(server, customer);
    await grant(customer, 100);
    const key = `idem-${seed}`;
    const replies = await Promise.all(
      Array.from({ length: 50 }, () =>
        server.call('POST', '/v1/debits', { customer, asset: 'credits', amount: '7' }, { idempotencyKey: key }),
      ),
    );
    assert.deepEqual(countBy(replies), { '201': 50 });
    const texts = new Set(replies.map((reply) => reply.text));
    assert.equal(texts.size, 1, 'all 50 bodies are identical');
    assert.equal(replies.filter((reply) => reply.headers.get('idempotent-replayed') === 'true').length, 49);
    assert.equal((await listAll(`customer=${customer}&kind=debit`)).length, 1);
    assert.equal((await balanceOf(customer)).balance, '93');
  });

  it('(d) the same key with another body is refused and changes nothing', async () => {
    const customer = `reuse-${seed}`;
    await seedCustomer(server, customer);
    await grant(customer, 100);
    const key = `reuse-${seed}`;
    const first = await server.call(
      'POST',
      '/v1/debits',
      { customer, asset: 'credits', amount: '5' },
      { idempotencyKey: key },
    );
    assert.equal(first.status, 201, first.text);
    const before = await balanceOf(customer);
    const second = await server.call(
      'POST',
      '/v1/debits',
      { customer, asset: 'credits', amount: '6' },
      { idempotencyKey: key },
    );
    assert.equal(second.status, 422, second.text);
    assert.equal(second.body.code, 'idempotency_key_reused');
    assert.deepEqual(await balanceOf(customer), before);
    assert.equal((await listAll(`customer=${customer}&kind=debit`)).length, 1);
    const again = await server.call(
      'POST',
      '/v1/debits',
      { customer, asset: 'credits', amount: '5' },
      { idempotencyKey: key },
    );
    assert.equal(again.text, first.text);
  });

  it('(e) 200 concurrent 1-unit reversals of a 100-unit debit: exactly 100 succeed', async () => {
    const customer = `rev-${seed}`;
    await seedCustomer(server, customer);
    await grant(customer, 300);
    const debit = await server.call(
      'POST',
      '/v1/debits',
      { customer, asset: 'credits', amount: '100' },
      { idempotencyKey: `rev-debit-${seed}` },
    );
    assert.equal(debit.status, 201, debit.text);
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, index) =>
        server.call(
          'POST',
          `/v1/transactions/${debit.body.transaction.id}/reverse`,
          { amount: '1', reason: 'race' },
          { idempotencyKey: `rev-${seed}-${index}` },
        ),
      ),
    );
    assert.deepEqual(countBy(replies), { '201': 100, '409 reversal_exceeds_remaining': 100 });
    assert.equal((await balanceOf(customer)).balance, '300');
    assert.equal((await listAll(`customer=${customer}&kind=reverse`)).length, 100);
  });

  it('(f) an insufficient-balance refusal replays unchanged after a top-up', async () => {
    const customer = `refuse-${seed}`;
    await seedCustomer(server, customer);
    await grant(customer, 10);
    const key = `refuse-${seed}`;
    const refused = await server.call(
      'POST',
      '/v1/debits',
      { customer, asset: 'credits', amount: '50' },
      { idempotencyKey: key },
    );
    assert.equal(refused.status, 402, refused.text);
    assert.equal(refused.body.code, 'insufficient_balance');
    await grant(customer, 100);
    const replayed = await server.call(
      'POST',
      '/v1/debits',
      { customer, asset: 'credits', amount: '50' },
      { idempotencyKey: key },
    );
    assert.equal(replayed.status, 402);
    assert.equal(replayed.text, refused.text);
    assert.equal(replayed.headers.get('idempotent-replayed'), 'true');
    assert.equal((await balanceOf(customer)).balance, '110');
    assert.equal((await listAll(`customer=${customer}&kind=debit`)).length, 0);
  });
});
