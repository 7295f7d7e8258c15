/**
 * The contract between the HTTP layer and the ledger service: who is calling, what each scope
 * allows, and the reply every operation produces. Replies are rendered once, inside the
 * transaction that commits them, so an idempotent replay returns the same bytes.
 */
import type { Scope } from '@bursar/api';

export type { Scope };

/** What each scope includes. Written out rather than ranked, so a scope outside the chain can be added later. */
const scopesIncluded: Readonly<Record<Scope, readonly Scope[]>> = {
  owner: ['owner', 'admin', 'write', 'ingest', 'read'],
  admin: ['admin', 'write', 'ingest', 'read'],
  write: ['write', 'ingest', 'read'],
  ingest: ['ingest', 'read'],
  read: ['read'],
};

export function scopeAllows(granted: readonly Scope[], needed: Scope): boolean {
  for (const scope of granted) {
    if (scopesIncluded[scope].includes(needed)) return true;
  }
  return false;
}

export interface Caller {
  readonly environmentId: string;
  readonly environmentName: string;
  /** The API key's id; for a portal session, the session's id (its rate-limit bucket). */
  readonly apiKeyId: string;
  readonly scopes: readonly Scope[];
  readonly requestId: string;
  /** The Idempotency-Key header, already checked for length and characters. */
  readonly idempotencyKey: string | null;
  /** Set when a customer's portal session calls (a /v1/portal/ route), never with an API key. */
  readonly portal?: PortalPrincipal;
}

/** A customer's portal session as a caller: the one customer it may see, and how it came. */
export interface PortalPrincipal {
  readonly customer: string;
  readonly sessionId: string;
  /** `cookie`: the browser's HttpOnly cookie (writes need the CSRF token); `bearer`: a widget's token. */
  readonly mode: 'cookie' | 'bearer';
  readonly expiresAt: number;
  readonly csrfToken: string;
}

/** Who the audit log names for a caller's change. */
export function actorOf(caller: Pick<Caller, 'apiKeyId' | 'portal'>): string {
  return caller.portal === undefined ? `api_key:${caller.apiKeyId}` : `portal_session:${caller.portal.sessionId}`;
}

export interface Reply {
  readonly status: number;
  /** JSON text: a resource, a page, or an application/problem+json document. */
  readonly bodyText: string;
  readonly problem: boolean;
  /**
   * What a replay of this reply answers when it must differ from the first one: the same body
   * with its secret left out (a secret is shown once and never stored). Absent: `bodyText`.
   */
  readonly storedBodyText?: string;
  /** True when this is a stored response returned again for a repeated Idempotency-Key. */
  readonly replayed: boolean;
  /** Headers the reply carries to HTTP (e.g. `retry-after`); never stored with an idempotency key. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** One field problem in a 400 response: `field` is a JSON path such as `amount` or `cost_basis.total`. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}
