/**
 * The console's one way to call Bursar: same-origin fetch that carries the `bursar_console` session
 * cookie and, on writes, its CSRF token; a problem document becomes an `ApiError`. The API key never
 * reaches this code after sign-in: the cookie (HttpOnly) is all the browser holds.
 */
import type { components } from '@bursar/sdk';

/** The wire shapes, generated from @bursar/api into the SDK. */
export type Schemas = components['schemas'];

export interface Page<T> {
  readonly data: T[];
  readonly next_cursor: string | null;
}

/** A refusal from the server, read from its problem+json body (RFC 9457). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string | null;
  readonly fields: readonly { path: string; message: string }[];

  constructor(status: number, problem: Record<string, unknown>) {
    const title = typeof problem.title === 'string' ? problem.title : `HTTP ${status}`;
    super(typeof problem.detail === 'string' ? `${title}: ${problem.detail}` : title);
    this.status = status;
    this.code = typeof problem.code === 'string' ? problem.code : 'http_error';
    this.detail = typeof problem.detail === 'string' ? problem.detail : null;
    this.fields = readFieldErrors(problem);
  }
}

function readFieldErrors(problem: Record<string, unknown>): { path: string; message: string }[] {
  const errors = problem.errors;
  if (!Array.isArray(errors)) return [];
  return errors.flatMap((error: unknown) => {
    if (typeof error !== 'object' || error === null) return [];
    const { path, field, message } = error as { path?: unknown; field?: unknown; message?: unknown };
    const name = typeof field === 'string' ? field : Array.isArray(path) ? path.join('.') : String(path ?? '');
    return [{ path: name, message: String(message ?? '') }];
  });
}

// The session's CSRF token, held in memory only (never in storage): a reload asks getConsoleSession again.
let csrfToken: string | null = null;
let onSessionLost: (code: string) => void = () => {};

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when the server answers 401 to a signed-in call: the session expired or was ended elsewhere. */
export function whenSessionLost(handler: (code: string) => void): void {
  onSessionLost = handler;
}

type QueryValue = string | number | boolean | null | undefined;
export type Query = Readonly<Record<string, QueryValue>>;

/** A path with each interpolated value encoded as one segment: path`/v1/grants/${id}/void`. */
export function path(parts: TemplateStringsArray, ...values: readonly string[]): string {
  return parts.reduce(
    (text, part, index) => text + part + (index < values.length ? encodeURIComponent(values[index] ?? '') : ''),
    '',
  );
}

function withQuery(target: string, query?: Query): string {
  if (query === undefined) return target;
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text === '' ? target : `${target}?${text}`;
}

interface RequestOptions {
  readonly query?: Query;
  readonly body?: unknown;
  /** Sent on writes so a repeated click or a retried request has one effect. */
  readonly idempotencyKey?: string;
  /** Sign-in and the session probe answer 401 as a normal outcome, not a lost session. */
  readonly sessionProbe?: boolean;
}

export async function request<T>(method: 'GET' | 'POST' | 'DELETE', target: string, options: RequestOptions = {}) {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') {
    if (csrfToken !== null) headers['x-csrf-token'] = csrfToken;
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  }
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const response = await fetch(withQuery(target, options.query), {
    method,
    headers,
    credentials: 'same-origin',
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new ApiError(response.status, { title: `HTTP ${response.status}`, detail: 'the answer is not JSON' });
  }
  if (response.ok) return parsed as T;
  const problem = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const error = new ApiError(response.status, problem);
  if (response.status === 401 && options.sessionProbe !== true) onSessionLost(error.code);
  throw error;
}

export const api = {
  get: <T>(target: string, query?: Query) => request<T>('GET', target, query === undefined ? {} : { query }),
  post: <T>(target: string, body: unknown, options: { query?: Query; idempotencyKey?: string } = {}) =>
    request<T>('POST', target, { body, ...options }),
};

/** What a `?dry_run=true` write answers: the wallets before and after, and the body the real call would return. */
export interface DryRun<T = unknown> {
  readonly dry_run: true;
  readonly balances_before: Schemas['Balance'][];
  readonly balances_after: Schemas['Balance'][];
  readonly result: T;
}
