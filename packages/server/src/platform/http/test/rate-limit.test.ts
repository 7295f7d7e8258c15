/**
 * The per-API-key rate limit: a token bucket per key (BURSAR_RATE_LIMIT_PER_SECOND average,
 * BURSAR_RATE_LIMIT_BURST at once), answered with 429 rate_limited and Retry-After, on every
 * authenticated route and on no system endpoint; and the bucket map's bound.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../../../test/harness.ts';
import { seedCustomer, startTestServer } from '../../../../test/harness.ts';
import { RateLimiter } from '../rate-limit.ts';

describe('rate limit: through HTTP', () => {
  let server: TestServer;
  let otherKey: string;
  before(async () => {
    // The rate limit reads the server's manual clock: each seeding step waits a minute, refilling the bucket.
    server = await startTestServer({ rateLimitPerSecond: 2, rateLimitBurst: 3 });
    server.clock.advance(60_000);
    await seedCustomer(server, 'limited');
    server.clock.advance(60_000);
    const created = await server.call('POST', '/v1/api-keys', { name: 'other', scopes: ['read'] });
    assert.equal(created.status, 201, created.text);
    otherKey = created.body.key;
    server.clock.advance(60_000);
  });
  after(async () => {
    await server.close();
  });

  it('allows the burst, then answers 429 with Retry-After and changes nothing', async () => {
    for (let index = 0; index < 3; index += 1) {
      const reply = await server.call('GET', '/v1/customers/limited/balances');
      assert.equal(reply.status, 200, `request ${index + 1} of the burst: ${reply.text}`);
    }
    const refused = await server.call(
      'POST',
      '/v1/customers',
      { id: 'never-created' },
      { idempotencyKey: 'limited-1' },
    );
    assert.equal(refused.status, 429, refused.text);
    assert.equal(refused.headers.get('content-type'), 'application/problem+json');
    assert.equal(refused.body.code, 'rate_limited');
    assert.equal(refused.headers.get('retry-after'), '1');

    // Another key has its own bucket; system endpoints have none.
    assert.equal(
      (await server.call('GET', '/v1/customers/limited/balances', undefined, { key: otherKey })).status,
      200,
    );
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      assert.equal((await fetch(`${server.url}${path}`)).status, 200, path);
    }
    // An unauthenticated request is refused as such, and takes no token.
    assert.equal(
      (await server.call('GET', '/v1/api-keys', undefined, { key: `bk_live_${'X'.repeat(43)}` })).status,
      401,
    );

    // Two tokens a second: one more request after half a second, then a refusal again.
    server.clock.advance(500);
    assert.equal((await server.call('GET', '/v1/customers/never-created')).status, 404, 'allowed, and not created');
    assert.equal((await server.call('GET', '/v1/customers/limited/balances')).status, 429);
    // A long rest refills to the burst and no further.
    server.clock.advance(3_600_000);
    const statuses = [];
    for (let index = 0; index < 4; index += 1) statuses.push((await server.call('GET', '/v1/api-keys')).status);
    assert.deepEqual(statuses, [200, 200, 200, 429]);
  });
});

describe('rate limit: turned off', () => {
  it('never answers 429 when BURSAR_RATE_LIMIT_PER_SECOND is 0', async () => {
    const server = await startTestServer({ rateLimitPerSecond: 0, rateLimitBurst: 1 });
    try {
      const statuses = new Set<number>();
      for (let index = 0; index < 20; index += 1) statuses.add((await server.call('GET', '/v1/api-keys')).status);
      assert.deepEqual([...statuses], [200]);
    } finally {
      await server.close();
    }
  });
});

describe('rate limit: the bucket', () => {
  it('says how many whole seconds to wait, at least 1', () => {
    const slow = new RateLimiter({ perSecond: 1, burst: 1 });
    assert.equal(slow.take('k', 0), 0);
    assert.equal(slow.take('k', 0), 1);
    assert.equal(slow.take('k', 999), 1);
    assert.equal(slow.take('k', 1000), 0);
    const fast = new RateLimiter({ perSecond: 1000, burst: 2 });
    assert.deepEqual([fast.take('k', 0), fast.take('k', 0), fast.take('k', 0)], [0, 0, 1]);
  });

  it('does not refill when the clock goes back', () => {
    const limiter = new RateLimiter({ perSecond: 1, burst: 1 });
    assert.equal(limiter.take('k', 10_000), 0);
    assert.equal(limiter.take('k', 5_000), 1);
    assert.equal(limiter.take('k', 5_500), 1);
  });

  it('tracks at most bucketsMax keys, dropping rested buckets first and the oldest only when none rested', () => {
    const limiter = new RateLimiter({ perSecond: 1, burst: 2, bucketsMax: 3 });
    const drain = (key: string, now: number) => [
      limiter.take(key, now),
      limiter.take(key, now),
      limiter.take(key, now),
    ];
    for (const key of ['a', 'b', 'c']) assert.deepEqual(drain(key, 0), [0, 0, 1]);
    // Full, and nobody rested: the oldest goes; the drained others stay drained.
    assert.equal(limiter.take('d', 0), 0);
    assert.equal(limiter.size, 3);
    assert.equal(limiter.take('b', 0), 1);
    assert.equal(limiter.take('a', 0), 0, 'a was forgotten, so it starts with a full bucket');
    // Later every bucket has rested: forgetting them all changes nothing.
    assert.equal(limiter.take('e', 5_000), 0);
    assert.equal(limiter.size, 1);
    for (let index = 0; index < 1000; index += 1) limiter.take(`key-${index}`, 5_000 + index);
    assert.ok(limiter.size <= 3, `${limiter.size} buckets`);
  });
});
