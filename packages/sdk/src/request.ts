/** Sends one operation: builds the HTTP request from the operation table, retries what may be retried, and turns the answer into a value or an error. */
import { BursarAbortError, BursarConnectionError, BursarError, BursarTimeoutError } from './errors.ts';
import type { OperationId, Problem } from './generated/contract.ts';
import { operationTable, problemCatalogue } from './generated/contract.ts';
import type { AttemptOutcome, RetryPolicy } from './retry.ts';
import { decideRetryDelayMs } from './retry.ts';

export interface ClientSettings {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly fetch: typeof globalThis.fetch;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy | false;
}

/** The second argument of every method. */
export interface CallOptions {
  /** The Idempotency-Key of a write; by default a new UUID per call, the same on each of its retries. */
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
  /** Per attempt; overrides the client's. */
  readonly timeoutMs?: number;
  /** `false`: this call is tried once. */
  readonly retry?: false;
}

type Row = (typeof operationTable)[OperationId];

interface HttpRequest {
  readonly url: string;
  readonly init: { method: string; headers: Record<string, string>; body?: string };
}

function toHttpRequest(settings: ClientSettings, row: Row, input: Readonly<Record<string, unknown>>, key?: string) {
  const rest: Record<string, unknown> = { ...input };
  let path: string = row.path;
  for (const name of row.pathParams as readonly string[]) {
    const value = rest[name];
    if (value === undefined || value === null) throw new TypeError(`${name} is required`);
    path = path.replace(`{${name}}`, encodeURIComponent(String(value)));
    delete rest[name];
  }
  const query = new URLSearchParams();
  for (const name of row.queryParams as readonly string[]) {
    const value = rest[name];
    if (value !== undefined && value !== null) query.set(name, String(value));
    delete rest[name];
  }
  const headers: Record<string, string> = { authorization: `Bearer ${settings.apiKey}`, accept: 'application/json' };
  const queryText = query.toString();
  const search = queryText === '' ? '' : `?${queryText}`;
  const request: HttpRequest = {
    url: `${settings.baseUrl.replace(/\/+$/, '')}${path}${search}`,
    init: { method: row.method, headers },
  };
  if (row.body !== 'none') {
    headers['content-type'] = 'application/json';
    request.init.body = JSON.stringify(row.body === 'empty' ? {} : rest);
  }
  if (key !== undefined) headers['idempotency-key'] = key;
  return request;
}

function isProblem(value: unknown): value is Problem {
  if (typeof value !== 'object' || value === null) return false;
  const { code } = value as { code?: unknown };
  return typeof code === 'string' && Object.hasOwn(problemCatalogue, code);
}

/** An attempt's result: the parsed success body, or an error and what retrying needs to know of it. */
type AttemptResult =
  | { readonly ok: true; readonly body: unknown }
  | { readonly ok: false; readonly error: Error; readonly outcome: AttemptOutcome };

async function readAnswer(response: Response): Promise<AttemptResult> {
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch (cause) {
    const error = new BursarConnectionError(`HTTP ${response.status}: the answer is not JSON`, {
      cause,
      status: response.status,
    });
    return response.ok ? { ok: false, error, outcome: { kind: 'network' } } : failed(error, response);
  }
  if (response.ok) return { ok: true, body };
  if (isProblem(body)) return failed(new BursarError(body, response.status), response, body.code);
  return failed(
    new BursarConnectionError(`HTTP ${response.status} without a problem document`, { status: response.status }),
    response,
  );
}

function failed(error: Error, response: Response, code?: string): AttemptResult {
  const outcome: AttemptOutcome = {
    kind: 'status',
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    ...(code === undefined ? {} : { code }),
  };
  return { ok: false, error, outcome };
}

/** One attempt under its own timeout, which the caller's signal can cut short. */
async function attempt(settings: ClientSettings, request: HttpRequest, timeoutMs: number, signal?: AbortSignal) {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const response = await settings.fetch(request.url, { ...request.init, signal: controller.signal });
    return await readAnswer(response);
  } catch (cause) {
    if (signal?.aborted) throw new BursarAbortError(signal.reason);
    if (timedOut) return { ok: false, error: new BursarTimeoutError(timeoutMs), outcome: { kind: 'timeout' } } as const;
    const error = new BursarConnectionError(`The request failed: ${(cause as Error)?.message ?? cause}`, { cause });
    return { ok: false, error, outcome: { kind: 'network' } } as const;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Waits `ms`, or throws BursarAbortError as soon as the signal fires. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new BursarAbortError(signal.reason));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new BursarAbortError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Sends the operation, retrying with the same Idempotency-Key, and returns its success body. */
export async function send(
  settings: ClientSettings,
  operationId: OperationId,
  input: Readonly<Record<string, unknown>>,
  options: CallOptions = {},
): Promise<unknown> {
  const row: Row = operationTable[operationId];
  if (row === undefined) throw new TypeError(`Unknown operation ${operationId}`);
  // PUT replaces, so repeating it is harmless: like GET it carries no key.
  const key = row.method === 'POST' ? (options.idempotencyKey ?? globalThis.crypto.randomUUID()) : undefined;
  const request = toHttpRequest(settings, row, input, key);
  const policy = options.retry === false ? false : settings.retry;
  const timeoutMs = options.timeoutMs ?? settings.timeoutMs;
  for (let retry = 1; ; retry++) {
    if (options.signal?.aborted) throw new BursarAbortError(options.signal.reason);
    const result = await attempt(settings, request, timeoutMs, options.signal);
    if (result.ok) return result.body;
    const delayMs =
      policy === false
        ? undefined
        : decideRetryDelayMs({ policy, retry, outcome: result.outcome, nowMs: Date.now(), random: Math.random() });
    if (delayMs === undefined) throw result.error;
    await sleep(delayMs, options.signal);
  }
}
