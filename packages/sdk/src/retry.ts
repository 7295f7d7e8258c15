/** When to try a request again and how long to wait first: pure decisions, the random draw passed in. */

export interface RetryPolicy {
  /** Attempts in all, the first included; 1 means no retry. */
  readonly attemptsMax: number;
  /** The backoff's first ceiling; each retry doubles it, up to maxDelayMs. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** A longer Retry-After than this ends the retries: the error is thrown instead of waiting. */
  readonly retryAfterMaxMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  attemptsMax: 3,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  retryAfterMaxMs: 60_000,
};

/** What an attempt ended in, as far as retrying cares. */
export type AttemptOutcome =
  | { readonly kind: 'network' }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'status'; readonly status: number; readonly code?: string; readonly retryAfter?: string | null };

/** Whether an attempt's outcome is worth another try with the same request and Idempotency-Key. */
export function isRetryable(outcome: AttemptOutcome): boolean {
  if (outcome.kind !== 'status') return true;
  // A key still running on the server answers 409; the same key later returns that request's outcome.
  if (outcome.status === 409) return outcome.code === 'idempotency_key_in_use';
  return outcome.status === 429 || outcome.status >= 500;
}

/** Retry-After as milliseconds from `nowMs`: whole seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfterMs(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const dateMs = Date.parse(text);
  if (Number.isNaN(dateMs)) return undefined;
  return Math.max(0, dateMs - nowMs);
}

/**
 * The wait before retry number `retry` (1 for the first), or undefined to stop. Exponential backoff
 * with full jitter (a uniform draw below the ceiling) unless the server named a Retry-After.
 */
export function decideRetryDelayMs(input: {
  readonly policy: RetryPolicy;
  readonly retry: number;
  readonly outcome: AttemptOutcome;
  readonly nowMs: number;
  /** A draw in [0, 1). */
  readonly random: number;
}): number | undefined {
  const { policy, retry, outcome } = input;
  if (retry >= policy.attemptsMax || !isRetryable(outcome)) return undefined;
  const retryAfterMs = outcome.kind === 'status' ? parseRetryAfterMs(outcome.retryAfter, input.nowMs) : undefined;
  if (retryAfterMs !== undefined) return retryAfterMs > policy.retryAfterMaxMs ? undefined : retryAfterMs;
  const ceilingMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(input.random * ceilingMs);
}
