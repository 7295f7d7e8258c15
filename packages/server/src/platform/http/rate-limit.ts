/**
 * The per-API-key request rate limit: one token bucket per key, in this process's memory,
 * refilled from the clock when the key is next seen, so an idle key costs no timer and no work.
 */

export interface RateLimitOptions {
  /** Tokens added per second: the average rate a key may keep up (must be > 0). */
  readonly perSecond: number;
  /** Tokens a bucket holds at most: how many requests a rested key may make at once. */
  readonly burst: number;
  /** Keys tracked at most; beyond it, rested buckets (which a fresh one equals) are dropped first. */
  readonly bucketsMax?: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

const bucketsMaxDefault = 10_000;

export class RateLimiter {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #bucketsMax: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: RateLimitOptions) {
    if (!(options.perSecond > 0) || !(options.burst >= 1))
      throw new Error('a rate limit needs perSecond > 0 and burst ≥ 1');
    this.#perMs = options.perSecond / 1000;
    this.#burst = options.burst;
    this.#bucketsMax = options.bucketsMax ?? bucketsMaxDefault;
  }

  /** Takes one request's token for `key` at `now` (ms); returns 0 when allowed, else the whole seconds to wait (≥ 1). */
  take(key: string, now: number): number {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#bucketsMax) this.#evict(now);
      bucket = { tokens: this.#burst, updatedAt: now };
      this.#buckets.set(key, bucket);
    } else {
      // A clock that went back adds nothing; it never takes tokens away either.
      bucket.tokens = Math.min(this.#burst, bucket.tokens + Math.max(0, now - bucket.updatedAt) * this.#perMs);
      bucket.updatedAt = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.#perMs / 1000));
  }

  /** Keys tracked now (for tests of the bound). */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Makes room: drops every bucket that has refilled to the burst (forgetting it changes nothing),
   * and if none has, the longest-tracked one, so the map never grows past its bound.
   */
  #evict(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + (now - bucket.updatedAt) * this.#perMs >= this.#burst) this.#buckets.delete(key);
    }
    if (this.#buckets.size < this.#bucketsMax) return;
    const oldest = this.#buckets.keys().next();
    if (oldest.done !== true) this.#buckets.delete(oldest.value);
  }
}
