/** The retry decisions: which outcomes are retried, the full-jitter ceiling, and Retry-After read and capped. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decideRetryDelayMs, defaultRetryPolicy, isRetryable, parseRetryAfterMs } from '../src/retry.ts';

test('network errors, timeouts, 429, 5xx and a key still running are retried; refusals are not', () => {
  assert.ok(isRetryable({ kind: 'network' }));
  assert.ok(isRetryable({ kind: 'timeout' }));
  for (const status of [429, 500, 502, 503, 504]) assert.ok(isRetryable({ kind: 'status', status }), String(status));
  assert.ok(isRetryable({ kind: 'status', status: 409, code: 'idempotency_key_in_use' }));
  for (const status of [400, 401, 402, 403, 404, 409, 422]) assert.ok(!isRetryable({ kind: 'status', status }));
});

test('the backoff draws below a ceiling that doubles up to maxDelayMs, and stops at attemptsMax', () => {
  const seed = Number(process.env.BURSAR_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
  process.stdout.write(`# retry backoff: seed ${seed} (replay with BURSAR_TEST_SEED=${seed})\n`);
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 1, max: 1_000 }),
      fc.integer({ min: 1, max: 60_000 }),
      fc.integer({ min: 1, max: 20 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (attemptsMax, baseDelayMs, maxDelayMs, retry, random) => {
        const policy = { ...defaultRetryPolicy, attemptsMax, baseDelayMs, maxDelayMs };
        const delayMs = decideRetryDelayMs({ policy, retry, outcome: { kind: 'network' }, nowMs: 0, random });
        if (retry >= attemptsMax) return delayMs === undefined;
        const ceilingMs = Math.min(maxDelayMs, baseDelayMs * 2 ** (retry - 1));
        return delayMs !== undefined && delayMs >= 0 && delayMs < Math.max(ceilingMs, 1) && Number.isInteger(delayMs);
      },
    ),
    { seed },
  );
});

test('Retry-After is whole seconds or an HTTP date; beyond retryAfterMaxMs the retries stop', () => {
  const nowMs = Date.UTC(2026, 0, 1, 0, 0, 0);
  assert.equal(parseRetryAfterMs('3', nowMs), 3_000);
  assert.equal(parseRetryAfterMs('Thu, 01 Jan 2026 00:00:10 GMT', nowMs), 10_000);
  assert.equal(parseRetryAfterMs('Wed, 31 Dec 2025 23:00:00 GMT', nowMs), 0);
  assert.equal(parseRetryAfterMs('soon', nowMs), undefined);
  assert.equal(parseRetryAfterMs(null, nowMs), undefined);
  const limited = (retryAfter: string) => ({ kind: 'status', status: 429, retryAfter }) as const;
  const policy = defaultRetryPolicy;
  assert.equal(decideRetryDelayMs({ policy, retry: 1, outcome: limited('2'), nowMs, random: 0.5 }), 2_000);
  assert.equal(decideRetryDelayMs({ policy, retry: 1, outcome: limited('61'), nowMs, random: 0.5 }), undefined);
});
