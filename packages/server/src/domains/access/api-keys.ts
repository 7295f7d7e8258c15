/**
 * API keys: `bk_<environment>_<secret>`, shown once, stored as a SHA-256 hash (the secret has 256
 * bits of entropy, so a slow hash would only slow every request). Lookups are cached for
 * BURSAR_API_KEY_CACHE_MS; a revocation takes effect at once in the process that made it, and in
 * other processes on the same database within that bound.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Scope } from '../../platform/contract.ts';
import type { SqlSession } from '../../platform/storage/database.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';

const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function generateApiKey(environmentName: string): { key: string; hash: string; prefix: string } {
  const bytes = randomBytes(32);
  let secret = '';
  for (const byte of bytes) secret += alphabet[byte % 62];
  return describeApiKey(`bk_${environmentName}_${secret}`);
}

/** The stored form of a key: its hash, and a prefix that identifies it in lists without revealing it. */
export function describeApiKey(key: string): { key: string; hash: string; prefix: string } {
  return { key, hash: hashApiKey(key), prefix: `${key.slice(0, key.lastIndexOf('_') + 7)}…` };
}

function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export interface Principal {
  readonly apiKeyId: string;
  readonly environmentId: string;
  readonly environmentName: string;
  readonly scopes: readonly Scope[];
}

export class ApiKeyAuthenticator {
  readonly #reader: SqlSession;
  /** How long a lookup is trusted; 0 reads the database on every request. */
  readonly #cacheMs: number;
  readonly #cache = new Map<string, { principal: Principal | null; until: number }>();

  constructor(reader: SqlSession, cacheMs: number) {
    this.#reader = reader;
    this.#cacheMs = cacheMs;
  }

  /**
   * Who `token` belongs to: answered at once (no promise) for a malformed key or one looked up in
   * the last cacheMs, which is nearly every request, so such a request waits for nothing.
   */
  authenticate(token: string): Principal | null | Promise<Principal | null> {
    if (!/^bk_[a-z][a-z0-9_]{0,31}_[0-9A-Za-z]{32,64}$/.test(token)) return null;
    const hash = hashApiKey(token);
    const now = Date.now();
    const cached = this.#cache.get(hash);
    if (cached !== undefined && cached.until > now) return cached.principal;
    return this.#lookUp(hash, now);
  }

  async #lookUp(hash: string, now: number): Promise<Principal | null> {
    const row = await queryBuilder(this.#reader)
      .selectFrom('api_keys as k')
      .innerJoin('environments as e', 'e.id', 'k.environment_id')
      .select(['k.id', 'k.environment_id', 'k.scopes', 'k.revoked_at', 'e.name'])
      .where('k.secret_hash', '=', hash)
      .executeTakeFirst();
    const principal: Principal | null =
      row === undefined || row.revoked_at !== null
        ? null
        : {
            apiKeyId: row.id,
            environmentId: row.environment_id,
            environmentName: row.name,
            scopes: row.scopes.split(',') as Scope[],
          };
    if (this.#cacheMs === 0) return principal;
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(hash, { principal, until: now + this.#cacheMs });
    return principal;
  }

  /** Drops cached lookups so a revocation in this process applies to the next request. */
  forget(): void {
    this.#cache.clear();
  }
}
