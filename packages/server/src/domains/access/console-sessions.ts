/**
 * Console sessions: an operator signs in once with an API key and gets an HttpOnly, SameSite=Strict
 * cookie that acts as that key, with its scopes, until it expires, is signed out or the key is
 * revoked. The cookie's token is stored as its SHA-256 (it carries 256 random bits, so a slow hash
 * would only slow every request); lookups are cached like API keys', so a signed-in request waits
 * for nothing once its session was seen.
 */
import { createHash, randomBytes } from 'node:crypto';
import { auditOf } from '../../platform/commit/audit-chain.ts';
import type { Caller, Reply, Scope } from '../../platform/contract.ts';
import type { AuthResult, CookieAuthentication } from '../../platform/http/server.ts';
import { newId } from '../../platform/ids.ts';
import type { LedgerService } from '../../platform/service.ts';
import { okReply, problemReply } from '../../platform/service.ts';
import { toTime } from '../../platform/storage/codecs.ts';
import type { SqlSession } from '../../platform/storage/database.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';
import { toTimestamp } from '../../platform/wire.ts';
import type { ApiKeyAuthenticator } from './api-keys.ts';

/** The cookie's name, which the console and the docs use too. */
export const consoleCookieName = 'bursar_console';

const tokenPattern = /^bcs_[A-Za-z0-9_-]{43}$/;
const cachedSessionsMax = 10_000;

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A session as its cookie finds it: who it acts as, and until when. */
interface FoundSession {
  readonly principal: AuthResult & { readonly session: { readonly id: string; readonly csrfToken: string } };
  readonly expiresAt: number;
}

export interface ConsoleSessionOptions {
  /** How long a lookup is trusted (BURSAR_API_KEY_CACHE_MS); 0 reads the database on every request. */
  readonly cacheMs: number;
  readonly ttlSeconds: number;
  /** The clock sessions expire by (the server's, which tests move). */
  readonly now: () => number;
  /** Every cookie is Secure (BURSAR_PUBLIC_URL is https), not only those set over https. */
  readonly secureCookies: boolean;
}

export class ConsoleSessions {
  readonly #reader: SqlSession;
  readonly #apiKeys: ApiKeyAuthenticator;
  readonly #options: ConsoleSessionOptions;
  readonly #cache = new Map<string, { found: FoundSession | null; until: number }>();

  constructor(reader: SqlSession, apiKeys: ApiKeyAuthenticator, options: ConsoleSessionOptions) {
    this.#reader = reader;
    this.#apiKeys = apiKeys;
    this.#options = options;
  }

  /**
   * Who the request's `bursar_console` cookie acts as: answered at once (no promise) for a missing
   * or malformed cookie and for a session looked up in the last cacheMs.
   */
  authenticate(
    cookies: Readonly<Record<string, string | undefined>>,
  ): CookieAuthentication | Promise<CookieAuthentication> {
    const token = cookies[consoleCookieName];
    if (token === undefined || !tokenPattern.test(token)) return null;
    const hash = hashToken(token);
    const cached = this.#cache.get(hash);
    if (cached !== undefined && cached.until > Date.now()) return this.#judge(cached.found);
    return this.#lookUp(hash).then((found) => this.#judge(found));
  }

  #judge(found: FoundSession | null): CookieAuthentication {
    if (found === null) return null;
    return found.expiresAt <= this.#options.now() ? 'session_expired' : found.principal;
  }

  async #lookUp(hash: string): Promise<FoundSession | null> {
    const row = await queryBuilder(this.#reader)
      .selectFrom('console_sessions as s')
      .innerJoin('api_keys as k', 'k.id', 's.api_key_id')
      .innerJoin('environments as e', 'e.id', 's.environment_id')
      .select(['s.id', 's.environment_id', 's.api_key_id', 's.csrf_token', 's.expires_at', 's.ended_at'])
      .select(['k.scopes', 'k.revoked_at', 'e.name'])
      .where('s.token_hash', '=', hash)
      .executeTakeFirst();
    // Signed out, or its key revoked: the session is over, which is not the same as expired.
    const found: FoundSession | null =
      row === undefined || row.ended_at !== null || row.revoked_at !== null
        ? null
        : {
            principal: {
              apiKeyId: row.api_key_id,
              environmentId: row.environment_id,
              environmentName: row.name,
              scopes: row.scopes.split(',') as Scope[],
              session: { id: row.id, csrfToken: row.csrf_token },
            },
            expiresAt: Number(toTime(row.expires_at)),
          };
    if (this.#options.cacheMs === 0) return found;
    if (this.#cache.size > cachedSessionsMax) this.#cache.clear();
    this.#cache.set(hash, { found, until: Date.now() + this.#options.cacheMs });
    return found;
  }

  /** Drops cached lookups, so a sign-out or a key revoked in this process applies to the next request. */
  forget(): void {
    this.#cache.clear();
  }

  #cookie(value: string, maxAgeSeconds: number, secure: boolean): string {
    // The token is base64url, so it needs no quoting or encoding.
    const attributes = [
      `${consoleCookieName}=${value}`,
      'HttpOnly',
      'SameSite=Strict',
      'Path=/',
      `Max-Age=${maxAgeSeconds}`,
    ];
    if (secure || this.#options.secureCookies) attributes.push('Secure');
    return attributes.join('; ');
  }

  /** Signs in: checks the key, stores a new session and answers with its cookie. The key is not kept. */
  async create(service: LedgerService, requestId: string, secure: boolean, apiKey: string): Promise<Reply> {
    const principal = await this.#apiKeys.authenticate(apiKey);
    if (principal === null) {
      return problemReply(
        { requestId },
        'unauthenticated',
        'The API key is unknown or revoked; nothing was signed in.',
      );
    }
    const caller: Caller = { ...principal, requestId, idempotencyKey: null };
    const token = `bcs_${randomBytes(32).toString('base64url')}`;
    const csrfToken = randomBytes(32).toString('base64url');
    const ttlSeconds = this.#options.ttlSeconds;
    const cookie = this.#cookie(token, ttlSeconds, secure);
    return service.submit(caller, 'createConsoleSession', null, {
      kind: 'task',
      async run(writer) {
        // Under the writer's lock: a key revoked since the cached lookup cannot sign in.
        const key = await queryBuilder(writer.session)
          .selectFrom('api_keys')
          .select(['name', 'scopes', 'revoked_at'])
          .where('id', '=', caller.apiKeyId)
          .executeTakeFirst();
        if (key === undefined || key.revoked_at !== null) {
          return problemReply(caller, 'unauthenticated', 'The API key is unknown or revoked; nothing was signed in.');
        }
        const id = newId('ses', writer.now);
        const expiresAt = writer.now + ttlSeconds * 1000;
        await writer.session.insertMany('console_sessions', [
          {
            id,
            environment_id: caller.environmentId,
            api_key_id: caller.apiKeyId,
            token_hash: hashToken(token),
            csrf_token: csrfToken,
            created_at: BigInt(writer.now),
            expires_at: BigInt(expiresAt),
            ended_at: null,
          },
        ]);
        const body = toWireSession(caller, key, expiresAt, csrfToken);
        writer.audits.push(
          auditOf(caller, 'console_session.created', `console_session:${id}`, null, null, {
            api_key: caller.apiKeyId,
            expires_at: body.expires_at,
          }),
        );
        return { ...okReply(201, body), headers: { 'set-cookie': cookie } };
      },
    });
  }

  /** The caller's session, as sign-in answered it. */
  async current(service: LedgerService, caller: Caller): Promise<Reply> {
    if (caller.sessionId === undefined) return noSession(caller);
    const row = await queryBuilder(service.database.reader)
      .selectFrom('console_sessions as s')
      .innerJoin('api_keys as k', 'k.id', 's.api_key_id')
      .select(['s.expires_at', 's.csrf_token', 'k.name', 'k.scopes'])
      .where('s.id', '=', caller.sessionId)
      .executeTakeFirst();
    if (row === undefined) return noSession(caller);
    return okReply(200, toWireSession(caller, row, Number(toTime(row.expires_at)), row.csrf_token));
  }

  /** Signs out: ends the session server-side and clears its cookie. */
  async end(service: LedgerService, caller: Caller, secure: boolean): Promise<Reply> {
    const sessionId = caller.sessionId;
    if (sessionId === undefined) return noSession(caller);
    const reply = await service.submit(caller, 'deleteConsoleSession', null, {
      kind: 'task',
      async run(writer) {
        await queryBuilder(writer.session)
          .updateTable('console_sessions')
          .set({ ended_at: BigInt(writer.now) })
          .where('id', '=', sessionId)
          .where('ended_at', 'is', null)
          .execute();
        writer.audits.push(auditOf(caller, 'console_session.ended', `console_session:${sessionId}`, null, null, null));
        return { status: 204, bodyText: '', problem: false, replayed: false };
      },
    });
    if (reply.problem) return reply;
    this.forget();
    return { ...reply, headers: { 'set-cookie': this.#cookie('', 0, secure) } };
  }
}

function noSession(caller: Caller): Reply {
  return problemReply(
    caller,
    'unauthenticated',
    'This request carries no console session: sign in with createConsoleSession for the bursar_console cookie.',
  );
}

function toWireSession(caller: Caller, key: { name: string; scopes: string }, expiresAt: number, csrfToken: string) {
  return {
    environment: { id: caller.environmentId, name: caller.environmentName },
    api_key: { id: caller.apiKeyId, name: key.name, scopes: key.scopes.split(',') },
    expires_at: toTimestamp(expiresAt),
    csrf_token: csrfToken,
  };
}
