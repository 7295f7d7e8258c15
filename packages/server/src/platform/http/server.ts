/**
 * The HTTP server: matches a route, authenticates the API key, checks its scope, reads and
 * validates the request, calls the handler and writes its reply, then counts and logs the request.
 * Plain node:http, because the request path is short enough to own and its cost is measured.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { bodyBytesDefault, emptyBody } from '@bursar/api';
import type { Caller, FieldError, Reply, Scope } from '../contract.ts';
import { scopeAllows } from '../contract.ts';
import type { Logger } from './logger.ts';
import type { CounterSeries, HistogramSeries, Metric, MetricsRegistry } from './metrics.ts';
import { durationBucketsSeconds } from './metrics.ts';
import type { OpenApiDocument } from './openapi.ts';
import { problemContentType } from './problem.ts';
import type { RateLimiter } from './rate-limit.ts';
import type { BodyRead } from './request-body.ts';
import { hasBody, readBodyText } from './request-body.ts';
import { describeRefusedText, findRefusedJson } from './request-text.ts';
import type { Route, Router } from './router.ts';
import { createRouter } from './router.ts';
import type { SystemEndpoint } from './system-endpoints.ts';
import { toSystemEndpoints } from './system-endpoints.ts';
import type { Parsed } from './validation.ts';
import { parseWith } from './validation.ts';
import { writeFieldErrors, writeProblem, writeReply } from './write-reply.ts';

/** Who an API key belongs to; `authenticate` answers null for a missing, unknown or revoked key. */
export interface AuthResult {
  readonly environmentId: string;
  readonly environmentName: string;
  readonly apiKeyId: string;
  readonly scopes: readonly Scope[];
}

export interface HttpServerOptions {
  readonly routes: readonly Route[];
  readonly authenticate: (token: string) => Promise<AuthResult | null>;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly isReady: () => boolean;
  readonly openApiDocument: OpenApiDocument;
  /** Largest request body accepted; default 1 MiB. */
  readonly bodyBytesMax?: number;
  /** Limits each API key's request rate on every /v1 route; absent: no limit. */
  readonly rateLimit?: { readonly limiter: RateLimiter; readonly now: () => number };
}

const jsonContentType = 'application/json';
const jsonContentTypePattern = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;
const requestIdPattern = /^[A-Za-z0-9._-]{1,64}$/;
const idempotencyKeyPattern = /^[\x20-\x7e]{1,255}$/;
const bearerPattern = /^Bearer +([\x21-\x7e]{1,512})$/i;
const unauthenticatedDetail = 'Send a valid, unrevoked API key as `Authorization: Bearer <key>`.';
const queryNone: Readonly<Record<string, string>> = Object.freeze({});
const queryParsedNone = { ok: true, value: queryNone } as const;
const bodyNone = { value: undefined } as const;
const bodyParsedNone = { ok: true, value: undefined } as const;

/** What the server keeps per endpoint, built once: what answers it, and its metric series. */
interface Endpoint {
  readonly method: string;
  readonly path: string;
  readonly operation: string;
  readonly route: Route | null;
  /** Set for the endpoints outside /v1, which need no key and answer synchronously. */
  readonly system: SystemEndpoint | null;
  /** Request counters by status, filled as statuses occur, so counting costs no lookup by name. */
  readonly requests: Map<number, CounterSeries>;
  readonly duration: HistogramSeries;
}

/** Everything a request needs from its server, fixed at creation. */
interface ServerContext {
  readonly authenticate: HttpServerOptions['authenticate'];
  readonly logger: Logger;
  readonly bodyBytesMax: number;
  readonly rateLimit: NonNullable<HttpServerOptions['rateLimit']> | null;
  readonly router: Router<Endpoint>;
  readonly requestsTotal: Metric<CounterSeries>;
  /** Stands in for the endpoint of a request that matched none. */
  readonly unmatched: Endpoint;
}

interface RequestState {
  readonly startedAt: number;
  readonly requestId: string;
  readonly method: string;
  endpoint: Endpoint | null;
  apiKeyId: string | null;
}

/** The parsed JSON body, or the status already answered (415, 413, 400), or undefined when the client left. */
type BodyOutcome = { readonly value: unknown } | number | undefined;

export function createHttpServer(options: HttpServerOptions): Server {
  const requestsTotal = options.metrics.counter(
    'bursar_http_requests_total',
    'HTTP requests answered, by operation and status.',
    ['operation', 'status'],
  );
  const requestDuration = options.metrics.histogram(
    'bursar_http_request_duration_seconds',
    'Time from request to reply written, by operation, in seconds.',
    ['operation'],
    durationBucketsSeconds,
  );
  const toEndpoint = (
    method: string,
    path: string,
    operation: string,
    route: Route | null,
    system: SystemEndpoint | null,
  ) => ({
    method,
    path,
    operation,
    route,
    system,
    requests: new Map<number, CounterSeries>(),
    duration: requestDuration.labels(operation),
  });
  const endpoints: Endpoint[] = [
    ...toSystemEndpoints(options).flatMap((system) =>
      ['GET', 'HEAD'].map((method) => toEndpoint(method, system.path, system.operation, null, system)),
    ),
    ...options.routes.map((route) => toEndpoint(route.method, route.path, route.operationId, route, null)),
  ];
  const context: ServerContext = {
    authenticate: options.authenticate,
    logger: options.logger,
    bodyBytesMax: options.bodyBytesMax ?? bodyBytesDefault,
    rateLimit: options.rateLimit ?? null,
    router: createRouter(endpoints),
    requestsTotal,
    unmatched: toEndpoint('GET', '', 'unmatched', null, null),
  };
  const server = createServer((request, response) => {
    // Not listening means shutting down: a request that arrives now, on a connection kept alive
    // from before, is turned away, and its connection closed, so the client retries elsewhere.
    if (!server.listening) {
      const detail = 'The server is shutting down; retry the request.';
      writeProblem(response, randomUUID(), 'unavailable', detail, { headers: { connection: 'close' } });
      return;
    }
    onRequest(context, request, response);
  });
  return server;
}

/**
 * Stops accepting connections, lets every request in flight finish and closes each connection as
 * it falls idle; at the deadline the rest are cut. Resolves true when nothing had to be cut.
 */
export async function closeHttpServer(server: Server, timeoutMs: number): Promise<boolean> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Node closes the connections idle at close(); this also closes those whose request ends later.
  const closingIdle = setInterval(() => server.closeIdleConnections(), 20);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<true>((resolve) => {
    timer = setTimeout(() => resolve(true), timeoutMs);
  });
  const cut = await Promise.race([closed.then(() => false), timedOut]);
  clearInterval(closingIdle);
  clearTimeout(timer);
  if (cut) {
    server.closeAllConnections();
    await closed;
  }
  return !cut;
}

function onRequest(context: ServerContext, request: IncomingMessage, response: ServerResponse): void {
  const method = request.method ?? '';
  const header = request.headers['x-request-id'];
  const state: RequestState = {
    startedAt: performance.now(),
    requestId: typeof header === 'string' && requestIdPattern.test(header) ? header : randomUUID(),
    method,
    endpoint: null,
    apiKeyId: null,
  };
  try {
    const url = request.url ?? '/';
    const queryStart = url.indexOf('?');
    const path = queryStart === -1 ? url : url.slice(0, queryStart);
    const match = context.router.match(method, path);
    if (match.kind !== 'found') {
      finish(context, state, writeUnmatched(response, state.requestId, method, path, match));
      return;
    }
    const endpoint = match.entry;
    state.endpoint = endpoint;
    if (endpoint.system !== null) {
      finish(context, state, endpoint.system.respond(response, state.requestId));
      return;
    }
    if (endpoint.route === null)
      throw new Error(`endpoint ${endpoint.path} has neither a route nor a system responder`);
    const search = queryStart === -1 ? '' : url.slice(queryStart + 1);
    void serveApi(context, endpoint.route, request, response, state, match.params, search);
  } catch (error) {
    fail(context, state, response, error);
  }
}

function writeUnmatched(
  response: ServerResponse,
  requestId: string,
  method: string,
  path: string,
  match: Exclude<ReturnType<Router<Endpoint>['match']>, { kind: 'found' }>,
): number {
  if (match.kind === 'method_not_allowed') {
    return writeProblem(response, requestId, 'method_not_allowed', `This route answers ${match.allowed}.`, {
      headers: { allow: match.allowed },
    });
  }
  if (match.kind === 'malformed_parameter') {
    return writeFieldErrors(response, requestId, [{ field: match.name, message: match.message }]);
  }
  return writeProblem(response, requestId, 'route_not_found', `No route matches ${method} ${path.slice(0, 200)}.`);
}

/** Answers a /v1 request, then counts and logs it; never rejects, so no handler needs attaching to its promise. */
async function serveApi(
  context: ServerContext,
  route: Route,
  request: IncomingMessage,
  response: ServerResponse,
  state: RequestState,
  rawParams: Readonly<Record<string, string>>,
  search: string,
): Promise<void> {
  try {
    const status = await answerApi(context, route, request, response, state, rawParams, search);
    // undefined: the client went away mid-body; 499 is the customary status for that in logs.
    finish(context, state, status ?? 499);
  } catch (error) {
    fail(context, state, response, error);
  }
}

async function answerApi(
  context: ServerContext,
  route: Route,
  request: IncomingMessage,
  response: ServerResponse,
  state: RequestState,
  rawParams: Readonly<Record<string, string>>,
  search: string,
): Promise<number | undefined> {
  const { requestId } = state;
  if (route.handleSigned !== undefined) return answerSigned(context, route.handleSigned, request, response, requestId);
  const token = bearerPattern.exec(request.headers.authorization ?? '')?.[1];
  const auth = token === undefined ? null : await context.authenticate(token);
  if (auth === null) {
    return writeProblem(response, requestId, 'unauthenticated', unauthenticatedDetail, {
      headers: { 'www-authenticate': 'Bearer realm="bursar"' },
    });
  }
  state.apiKeyId = auth.apiKeyId;
  const { rateLimit } = context;
  if (rateLimit !== null) {
    const waitSeconds = rateLimit.limiter.take(auth.apiKeyId, rateLimit.now());
    if (waitSeconds > 0) {
      const detail = `This API key sent more requests than its rate limit allows; retry in ${waitSeconds} s.`;
      return writeProblem(response, requestId, 'rate_limited', detail, {
        headers: { 'retry-after': String(waitSeconds) },
      });
    }
  }
  if (!scopeAllows(auth.scopes, route.scope)) {
    const detail = `${route.operationId} needs an API key with the \`${route.scope}\` scope.`;
    return writeProblem(response, requestId, 'insufficient_scope', detail);
  }
  // node joins a repeated header into one string, so only a string arrives here in practice.
  const idempotencyHeader = request.headers['idempotency-key'];
  const idempotencyKey = typeof idempotencyHeader === 'string' ? idempotencyHeader : null;
  if (idempotencyHeader !== undefined && (idempotencyKey === null || !idempotencyKeyPattern.test(idempotencyKey))) {
    const detail = 'The Idempotency-Key header must be 1–255 printable ASCII characters.';
    return writeProblem(response, requestId, 'idempotency_key_invalid', detail);
  }

  let body = toBody(context, route, request, response, requestId);
  if (body instanceof Promise) body = await body;
  if (body === undefined || typeof body === 'number') return body;
  const params =
    route.params === undefined ? { ok: true as const, value: rawParams } : parseWith(route.params, rawParams);
  const queryRead = search === '' ? queryParsedNone : toQueryObject(search);
  const query =
    !queryRead.ok || (route.query === undefined && search === '')
      ? queryRead
      : parseWith(route.query ?? emptyBody, queryRead.value);
  const parsedBody = route.body === undefined ? bodyParsedNone : parseWith(route.body, body.value);
  if (!params.ok || !query.ok || !parsedBody.ok) {
    const errors = [
      ...(params.ok ? [] : params.errors),
      ...(query.ok ? [] : query.errors),
      ...(parsedBody.ok ? [] : parsedBody.errors),
    ];
    return writeFieldErrors(response, requestId, errors);
  }

  const caller: Caller = {
    environmentId: auth.environmentId,
    environmentName: auth.environmentName,
    apiKeyId: auth.apiKeyId,
    scopes: auth.scopes,
    requestId,
    idempotencyKey,
  };
  const reply: Reply = await route.handle({ caller, params: params.value, query: query.value, body: parsedBody.value });
  const headers: Record<string, string> = {
    'content-type': reply.problem ? problemContentType : jsonContentType,
    'x-request-id': requestId,
    'cache-control': 'no-store',
  };
  if (reply.replayed) headers['idempotent-replayed'] = 'true';
  writeReply(response, reply.status, { ...reply.headers, ...headers }, reply.bodyText);
  return reply.status;
}

/**
 * A signed operation (Stripe's webhook): no API key, rate limit or schema; the body, read with the
 * same size bound and UTF-8 check, goes to the handler as text, because its signature covers the bytes.
 */
async function answerSigned(
  context: ServerContext,
  handleSigned: NonNullable<Route['handleSigned']>,
  request: IncomingMessage,
  response: ServerResponse,
  requestId: string,
): Promise<number | undefined> {
  let read = readBodyText(request, context.bodyBytesMax);
  if (read instanceof Promise) read = await read;
  if (read.kind !== 'read') return toBodyValue(context, read, response, requestId) as number | undefined;
  const reply = await handleSigned({ requestId, bodyText: read.text, headers: request.headers });
  const headers = {
    'content-type': reply.problem ? problemContentType : jsonContentType,
    'x-request-id': requestId,
    'cache-control': 'no-store',
  };
  writeReply(response, reply.status, { ...reply.headers, ...headers }, reply.bodyText);
  return reply.status;
}

/**
 * The query string as an object; a repeated name becomes an array, which the schemas refuse by
 * name. Decoded by hand because URLSearchParams turns bytes that are not UTF-8 into U+FFFD without
 * a word; here they, and text the server refuses, are a 400 naming the parameter.
 */
function toQueryObject(search: string): Parsed<Readonly<Record<string, string | string[]>>> {
  // A null prototype, so a parameter named __proto__ is an unknown field rather than a prototype.
  const query: Record<string, string | string[]> = Object.create(null);
  const errors: FieldError[] = [];
  for (const pair of search.split('&')) {
    if (pair === '') continue;
    const separator = pair.indexOf('=');
    const nameEncoded = separator === -1 ? pair : pair.slice(0, separator);
    const name = decodeQueryPart(nameEncoded);
    const value = decodeQueryPart(separator === -1 ? '' : pair.slice(separator + 1));
    if (name === null || value === null) {
      errors.push({ field: name ?? nameEncoded.slice(0, 100), message: 'is not valid percent-encoded UTF-8' });
      continue;
    }
    const refusal = describeRefusedText(name) ?? describeRefusedText(value);
    if (refusal !== null) {
      errors.push({ field: name, message: refusal });
      continue;
    }
    const existing = query[name];
    query[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return errors.length === 0 ? { ok: true, value: query } : { ok: false, errors };
}

/** One name or value of a query string, `+` as a space; null when its percent-encoding is not UTF-8. */
function decodeQueryPart(encoded: string): string | null {
  const spaced = encoded.includes('+') ? encoded.replaceAll('+', ' ') : encoded;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return null;
  }
}

/** Synchronous when the body has already arrived, as it usually has by now. */
function toBody(
  context: ServerContext,
  route: Route,
  request: IncomingMessage,
  response: ServerResponse,
  requestId: string,
): BodyOutcome | Promise<BodyOutcome> {
  if (route.body === undefined) return bodyNone;
  if (hasBody(request) && !jsonContentTypePattern.test(request.headers['content-type'] ?? '')) {
    const detail = 'Send the body as JSON with `Content-Type: application/json`.';
    return writeProblem(response, requestId, 'unsupported_media_type', detail);
  }
  const read = readBodyText(request, context.bodyBytesMax);
  return read instanceof Promise
    ? read.then((arrived) => toBodyValue(context, arrived, response, requestId))
    : toBodyValue(context, read, response, requestId);
}

function toBodyValue(context: ServerContext, read: BodyRead, response: ServerResponse, requestId: string): BodyOutcome {
  if (read.kind === 'aborted') return undefined;
  if (read.kind === 'too_large') {
    // Closing the connection spares reading the rest of a body nobody will use.
    const detail = `The body must be at most ${context.bodyBytesMax} bytes.`;
    return writeProblem(response, requestId, 'payload_too_large', detail, { headers: { connection: 'close' } });
  }
  if (read.kind === 'not_utf8') {
    return writeProblem(response, requestId, 'malformed_json', 'The body is not valid UTF-8.');
  }
  // An empty body stands for {}, so a body-less POST is told which fields it misses.
  if (read.text === '') return { value: {} };
  let value: unknown;
  try {
    value = JSON.parse(read.text);
  } catch (error) {
    const reason = error instanceof SyntaxError ? error.message : 'it could not be parsed';
    return writeProblem(response, requestId, 'malformed_json', `The body is not valid JSON: ${reason}`);
  }
  // Before any schema, so no operation ever sees text or a number the server refuses.
  const refused = findRefusedJson(value, read.mayHoldRefusedText);
  return refused.length === 0 ? { value } : writeFieldErrors(response, requestId, refused);
}

function finish(context: ServerContext, state: RequestState, status: number): void {
  const endpoint = state.endpoint ?? context.unmatched;
  const seconds = (performance.now() - state.startedAt) / 1000;
  let series = endpoint.requests.get(status);
  if (series === undefined) {
    series = context.requestsTotal.labels(endpoint.operation, String(status));
    endpoint.requests.set(status, series);
  }
  series.inc();
  endpoint.duration.observe(seconds);
  // Probes and scrapes arrive every few seconds forever; at info they would drown the requests that matter.
  const level = endpoint.system === null ? 'info' : 'debug';
  if (!context.logger.isEnabled(level)) return;
  context.logger[level]('request', {
    request_id: state.requestId,
    method: state.method,
    path: endpoint === context.unmatched ? null : endpoint.path,
    operation: endpoint.operation,
    status,
    duration_ms: Math.round(seconds * 1e6) / 1e3,
    api_key_id: state.apiKeyId,
  });
}

function fail(context: ServerContext, state: RequestState, response: ServerResponse, error: unknown): void {
  context.logger.error('request failed', {
    request_id: state.requestId,
    operation: state.endpoint?.operation ?? null,
    error: error instanceof Error ? (error.stack ?? error.message) : String(error),
  });
  if (response.headersSent) {
    response.destroy();
    finish(context, state, 500);
    return;
  }
  const detail = `Something failed on the server; quote request id ${state.requestId}.`;
  finish(context, state, writeProblem(response, state.requestId, 'internal_error', detail));
}
