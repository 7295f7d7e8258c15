/**
 * The widgets' HTTP client for the `/v1/portal/*` routes: a portal session is either a bearer token (`bps_…`,
 * for widgets on the integrator's own pages, cross-origin through CORS) or the portal's same-origin cookie,
 * which needs the session's CSRF token on every write.
 */
import type {
  AutoRechargeSettings,
  Balances,
  Grant,
  Hold,
  Page,
  PortalAutoRecharge,
  PortalSession,
  TopUpCheckout,
  Transaction,
  Usage,
} from './types.ts';

export interface PortalClientOptions {
  /** The Bursar server's origin; empty (the default) means the page's own origin. */
  readonly baseUrl?: string;
  /** A portal session token (`bps_…`); without one the portal cookie is used, same-origin only. */
  readonly token?: string;
}

/** A problem+json the server answered, or a failure to reach it (`status` 0). */
export class PortalRequestError extends Error {
  readonly status: number;
  readonly code: string | null;
  /** The request field the server named as wrong, if it named one. */
  readonly field: string | null;

  constructor(status: number, code: string | null, message: string, field: string | null) {
    super(message);
    this.name = 'PortalRequestError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

interface ProblemBody {
  code?: string;
  title?: string;
  detail?: string;
  errors?: { field?: string; message?: string }[];
}

/** The error a refused response stands for, from its problem+json when it has one. */
export async function requestErrorOf(response: Response): Promise<PortalRequestError> {
  let body: ProblemBody = {};
  try {
    body = (await response.json()) as ProblemBody;
  } catch {
    // Not JSON (a proxy's page): the status alone has to do.
  }
  const first = body.errors?.[0];
  return new PortalRequestError(
    response.status,
    body.code ?? null,
    first?.message ?? body.detail ?? body.title ?? `HTTP ${response.status}`,
    first?.field ?? null,
  );
}

type Query = Record<string, string | number | undefined>;

export class PortalClient {
  readonly baseUrl: string;
  readonly mode: 'bearer' | 'cookie';
  readonly #token: string | undefined;
  #csrfToken: string | null = null;

  constructor(options: PortalClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
    this.#token = options.token || undefined;
    this.mode = this.#token ? 'bearer' : 'cookie';
  }

  url(path: string, query: Query = {}): string {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (value !== undefined) search.set(name, String(value));
    const text = search.toString();
    return `${this.baseUrl}${path}${text ? `?${text}` : ''}`;
  }

  /** The fetch options every portal request carries: the bearer token, or the cookie (and CSRF on writes). */
  requestInit(method: string, init: RequestInit = {}): RequestInit {
    const headers = new Headers(init.headers);
    if (!headers.has('accept')) headers.set('accept', 'application/json');
    if (this.#token) headers.set('authorization', `Bearer ${this.#token}`);
    else if (method !== 'GET' && this.#csrfToken) headers.set('x-csrf-token', this.#csrfToken);
    // A bearer request sends no cookie, so CORS needs no credentials; the cookie is sent to its own origin only.
    return { ...init, method, headers, credentials: this.#token ? 'omit' : 'same-origin' };
  }

  async #send<T>(method: string, path: string, query: Query = {}, body?: unknown): Promise<T> {
    const init = this.requestInit(method, body === undefined ? {} : { body: JSON.stringify(body) });
    if (body !== undefined) (init.headers as Headers).set('content-type', 'application/json');
    let response: Response;
    try {
      response = await fetch(this.url(path, query), init);
    } catch (error) {
      throw new PortalRequestError(0, null, error instanceof Error ? error.message : String(error), null);
    }
    if (!response.ok) throw await requestErrorOf(response);
    return (await response.json()) as T;
  }

  async getSession(): Promise<PortalSession> {
    const session = await this.#send<PortalSession>('GET', '/v1/portal/session');
    this.#csrfToken = session.csrf_token;
    return session;
  }

  getBalances(): Promise<Balances> {
    return this.#send('GET', '/v1/portal/balances');
  }

  listGrants(query: { asset?: string; status?: string } = {}): Promise<Page<Grant>> {
    return this.#send('GET', '/v1/portal/grants', query);
  }

  listHolds(): Promise<Page<Hold>> {
    return this.#send('GET', '/v1/portal/holds');
  }

  getUsage(query: { from: string; to: string; granularity: 'day' | 'hour'; feature?: string }): Promise<Usage> {
    return this.#send('GET', '/v1/portal/usage', query);
  }

  listTransactions(query: { limit?: number; cursor?: string } = {}): Promise<Page<Transaction>> {
    return this.#send('GET', '/v1/portal/transactions', query);
  }

  getAutoRecharge(asset: string): Promise<PortalAutoRecharge> {
    return this.#send('GET', '/v1/portal/auto_recharge', { asset });
  }

  updateAutoRecharge(settings: AutoRechargeSettings): Promise<PortalAutoRecharge> {
    return this.#send('PUT', '/v1/portal/auto_recharge', {}, settings);
  }

  createTopUp(asset: string, amount: string): Promise<TopUpCheckout> {
    return this.#send('POST', '/v1/portal/top_ups', {}, { asset, amount });
  }
}
