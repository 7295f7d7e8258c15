/**
 * Authenticates a portal session's token (the bearer `bps_…` or the cookie's): the token names its
 * environment and customer, so the lookup is one keyed read, cached like an API key's lookup so
 * nearly every request answers synchronously; expiry is checked on each request with the clock.
 */
import type { Clock } from '../../platform/clock.ts';
import type { PortalAuthResult } from '../../platform/http/server.ts';
import type { LedgerService } from '../../platform/service.ts';
import { toTime } from '../../platform/storage/codecs.ts';
import { sessionByTokenHash } from './store.ts';
import { csrfTokenOf, hashSecret, portalTokenOwner } from './tokens.ts';

/** Lookups kept at most; past it the cache starts again (sessions are short-lived). */
const cacheEntriesMax = 10_000;

export class PortalAuthenticator {
  readonly #service: LedgerService;
  readonly #clock: Clock;
  /** How long a lookup is trusted; 0 reads the database on every request. */
  readonly #cacheMs: number;
  readonly #cache = new Map<string, { found: PortalAuthResult | null; until: number }>();

  constructor(service: LedgerService, cacheMs: number) {
    this.#service = service;
    this.#clock = service.clock;
    this.#cacheMs = cacheMs;
  }

  /** Who `token` is: at once (no promise) for a malformed token or one looked up in the last cacheMs. */
  authenticate(token: string): PortalAuthResult | null | Promise<PortalAuthResult | null> {
    const owner = portalTokenOwner(token);
    if (owner === null) return null;
    const hash = hashSecret(token);
    const cached = this.#cache.get(hash);
    if (cached !== undefined && cached.until > Date.now()) return this.#live(cached.found);
    return this.#lookUp(token, hash);
  }

  #live(found: PortalAuthResult | null): PortalAuthResult | null {
    return found !== null && found.expiresAt > this.#clock.now() ? found : null;
  }

  async #lookUp(token: string, hash: string): Promise<PortalAuthResult | null> {
    const owner = portalTokenOwner(token);
    const row = owner === null ? undefined : await sessionByTokenHash(this.#service, owner, hash);
    const found: PortalAuthResult | null =
      row === undefined
        ? null
        : {
            environmentId: row.environment_id,
            environmentName: row.environment_name,
            customer: row.customer_id,
            sessionId: row.id,
            expiresAt: toTime(row.expires_at),
            csrfToken: csrfTokenOf(token),
          };
    if (this.#cacheMs > 0) {
      if (this.#cache.size >= cacheEntriesMax) this.#cache.clear();
      this.#cache.set(hash, { found, until: Date.now() + this.#cacheMs });
    }
    return this.#live(found);
  }
}
