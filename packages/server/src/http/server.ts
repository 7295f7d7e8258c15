/**
 * The HTTP server: matches a route, authenticates the API key, checks its scope, reads and
 * validates the request, calls the handler and writes its reply, then counts and logs the request.
 * Plain node:http, because the request path is short enough to own and its cost is measured.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { OutcomeCode } from '@bursar/core';
import type { Caller, FieldError, Reply, Scope } from '../ledger/contract.ts';
import { docsContentSecurityPolicy, renderDocsPage } from './docs-page.ts';
import type { Logger } from './logger.ts';
import type { CounterSeries, HistogramSeries, MetricsRegistry } from './metrics.ts';
import { durationBucketsSeconds, metricsContentType } from './metrics.ts';
import type { OpenApiDocument } from './openapi.ts';
import { problemContentType, toProblem } from './problem.ts';
import { hasBody, readBodyText } from './request-body.ts';
import type { HttpMethod, Route } from './router.ts';
import { createRouter, scopeAllows } from './router.ts';
import { emptyBody } from './schemas.ts';
import { parseWith } from './validation.ts';

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
}

export const bodyBytesMaxDefault = 1024 * 1024;

const jsonContentType = 'application/json';
const jsonContentTypePattern = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;
const requestIdPattern = /^[A-Za-z0-9._-]{1,64}$/;
const idempotencyKeyPattern = /^[\x20-\x7e]{1,255}$/;
const bearerPattern = /^Bearer +([\x21-\x7e]{1,512})$/i;
const unauthenticatedDetail = 'Send a valid, unrevoked API key as `Authorization: Bearer <key>`.';
const queryNone: Readonly<Record<string, string>> = Object.freeze({});
const queryParsedNone = { ok: true, value: queryNone } as const;

/** What the server keeps per endpoint, built once: the route, and its metric series so counting costs no lookup by name. */
interface Endpoint {
  readonly method: HttpMethod;
  readonly path: string;
  readonly operation: string;
  readonly route: Route | null;
  /** Set for endpoints outside /v1, which need no key and answer synchronously. */
  readonly serveSystem: ((response: ServerResponse, requestId: string) => number) | null;
  readonly requests: Map<number, CounterSeries>;
  readonly duration: HistogramSeries;
}

interface RequestState {
  readonly startedAt: number;
  readonly requestId: string;
  readonly method: string;
  endpoint: Endpoint | null;
  apiKeyId: string | null;
}

function toRequestId(header: string | string[] | undefined): string {
  return typeof header === 'string' && requestIdPattern.test(header) ? header : randomUUID();
}

/** The query string as an object; a repeated name becomes an array, which the schemas refuse by name. */
function toQueryObject(search: string): Readonly<Record<string, string | string[]>> {
  if (search === '') return queryNone;
  // A null prototype, so a parameter named __proto__ is an unknown field rather than a prototype.
  const query: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of new URLSearchParams(search)) {
    const existing = query[name];
    query[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return query;
}

function writeBody(response: ServerResponse, status: number, headers: Record<string, string>, bodyText: string): void {
  if (response.destroyed) return;
  // node sets Content-Length from the string given to end() when no header was set.
  response.writeHead(status, headers);
  response.end(bodyText);
}

export function createHttpServer(options: HttpServerOptions): Server {
  const { logger, metrics, authenticate } = options;
  const bodyBytesMax = options.bodyBytesMax ?? bodyBytesMaxDefault;
  const requestsTotal = metrics.counter(
    'bursar_http_requests_total',
    'HTTP requests answered, by operation and status.',
    ['operation', 'status'],
  );
  const requestDuration = metrics.histogram(
    'bursar_http_request_duration_seconds',
    'Time from request to reply written, by operation, in seconds.',
    ['operation'],
    durationBucketsSeconds,
  );
  const openApiText = JSON.stringify(options.openApiDocument);
  const docsHtml = renderDocsPage(options.openApiDocument);

  function toEndpoint(
    method: HttpMethod,
    path: string,
    operation: string,
    route: Route | null,
    serveSystem: Endpoint['serveSystem'],
  ): Endpoint {
    return {
      method,
      path,
      operation,
      route,
      serveSystem,
      requests: new Map(),
      duration: requestDuration.labels(operation),
    };
  }
  const unmatched = toEndpoint('GET', '', 'unmatched', null, null);

  function writeProblem(
    response: ServerResponse,
    requestId: string,
    code: OutcomeCode,
    detail: string,
    extra?: { readonly errors?: readonly FieldError[]; readonly headers?: Readonly<Record<string, string>> },
  ): number {
    const problem = toProblem(
      code,
      detail,
      extra?.errors === undefined ? { requestId } : { requestId, errors: extra.errors },
    );
    writeBody(
      response,
      problem.status,
      { 'content-type': problemContentType, 'x-request-id': requestId, ...extra?.headers },
      problem.bodyText,
    );
    return problem.status;
  }

  const systemEndpoints: Endpoint[] = [
    toEndpoint('GET', '/healthz', 'healthz', null, (response, requestId) => {
      writeBody(
        response,
        200,
        { 'content-type': jsonContentType, 'x-request-id': requestId, 'cache-control': 'no-store' },
        '{"status":"ok"}',
      );
      return 200;
    }),
    toEndpoint('GET', '/readyz', 'readyz', null, (response, requestId) => {
      if (!options.isReady())
        return writeProblem(response, requestId, 'unavailable', 'The server is starting or stopping.');
      writeBody(
        response,
        200,
        { 'content-type': jsonContentType, 'x-request-id': requestId, 'cache-control': 'no-store' },
        '{"status":"ready"}',
      );
      return 200;
    }),
    toEndpoint('GET', '/metrics', 'metrics', null, (response, requestId) => {
      writeBody(
        response,
        200,
        { 'content-type': metricsContentType, 'x-request-id': requestId, 'cache-control': 'no-store' },
        metrics.render(),
      );
      return 200;
    }),
    toEndpoint('GET', '/openapi.json', 'openapi', null, (response, requestId) => {
      writeBody(response, 200, { 'content-type': jsonContentType, 'x-request-id': requestId }, openApiText);
      return 200;
    }),
    toEndpoint('GET', '/docs', 'docs', null, (response, requestId) => {
      const headers = {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': docsContentSecurityPolicy,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'x-request-id': requestId,
      };
      writeBody(response, 200, headers, docsHtml);
      return 200;
    }),
  ];
  const apiEndpoints = options.routes.map((route) =>
    toEndpoint(route.method, route.path, route.operationId, route, null),
  );
  const router = createRouter([...systemEndpoints, ...apiEndpoints]);

  function finish(state: RequestState, status: number): void {
    const endpoint = state.endpoint ?? unmatched;
    const seconds = (performance.now() - state.startedAt) / 1000;
    let series = endpoint.requests.get(status);
    if (series === undefined) {
      series = requestsTotal.labels(endpoint.operation, String(status));
      endpoint.requests.set(status, series);
    }
    series.inc();
    endpoint.duration.observe(seconds);
    // Probes and scrapes arrive every few seconds forever; at info they would drown the requests that matter.
    const level = endpoint.serveSystem === null ? 'info' : 'debug';
    if (!logger.isEnabled(level)) return;
    logger[level]('request', {
      request_id: state.requestId,
      method: state.method,
      path: endpoint === unmatched ? null : endpoint.path,
      operation: endpoint.operation,
      status,
      duration_ms: Math.round(seconds * 1e6) / 1e3,
      api_key_id: state.apiKeyId,
    });
  }

  function fail(state: RequestState, response: ServerResponse, error: unknown): void {
    logger.error('request failed', {
      request_id: state.requestId,
      operation: state.endpoint?.operation ?? null,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    if (response.headersSent) {
      response.destroy();
      finish(state, 500);
      return;
    }
    finish(
      state,
      writeProblem(
        response,
        state.requestId,
        'internal_error',
        `Something failed on the server; quote request id ${state.requestId}.`,
      ),
    );
  }

  /** Reads and parses the JSON body: its value, or the status already answered, or undefined when the client left. */
  async function toBody(
    route: Route,
    request: IncomingMessage,
    response: ServerResponse,
    state: RequestState,
  ): Promise<{ value: unknown } | number | undefined> {
    if (route.body === undefined) return { value: undefined };
    if (hasBody(request) && !jsonContentTypePattern.test(request.headers['content-type'] ?? '')) {
      return writeProblem(
        response,
        state.requestId,
        'unsupported_media_type',
        'Send the body as JSON with `Content-Type: application/json`.',
      );
    }
    const read = await readBodyText(request, bodyBytesMax);
    if (read.kind === 'aborted') return undefined;
    if (read.kind === 'too_large') {
      // Closing the connection spares reading the rest of a body nobody will use.
      return writeProblem(
        response,
        state.requestId,
        'payload_too_large',
        `The body must be at most ${bodyBytesMax} bytes.`,
        {
          headers: { connection: 'close' },
        },
      );
    }
    if (read.text === '') return { value: {} };
    try {
      return { value: JSON.parse(read.text) };
    } catch (error) {
      const reason = error instanceof SyntaxError ? error.message : 'it could not be parsed';
      return writeProblem(response, state.requestId, 'malformed_json', `The body is not valid JSON: ${reason}`);
    }
  }

  /** Answers a /v1 request, then counts and logs it; never rejects, so no handler needs attaching to its promise. */
  async function serveApi(
    route: Route,
    request: IncomingMessage,
    response: ServerResponse,
    state: RequestState,
    rawParams: Readonly<Record<string, string>>,
    search: string,
  ): Promise<void> {
    try {
      // undefined: the client went away mid-body; 499 is the customary status for that in logs.
      finish(state, (await answerApi(route, request, response, state, rawParams, search)) ?? 499);
    } catch (error) {
      fail(state, response, error);
    }
  }

  async function answerApi(
    route: Route,
    request: IncomingMessage,
    response: ServerResponse,
    state: RequestState,
    rawParams: Readonly<Record<string, string>>,
    search: string,
  ): Promise<number | undefined> {
    const { requestId } = state;
    const token = bearerPattern.exec(request.headers.authorization ?? '')?.[1];
    const auth = token === undefined ? null : await authenticate(token);
    if (auth === null) {
      return writeProblem(response, requestId, 'unauthenticated', unauthenticatedDetail, {
        headers: { 'www-authenticate': 'Bearer realm="bursar"' },
      });
    }
    state.apiKeyId = auth.apiKeyId;
    if (!scopeAllows(auth.scopes, route.scope)) {
      return writeProblem(
        response,
        requestId,
        'insufficient_scope',
        `${route.operationId} needs an API key with the \`${route.scope}\` scope.`,
      );
    }
    // node joins a repeated header into one string, so only a string arrives here in practice.
    const idempotencyHeader = request.headers['idempotency-key'];
    const idempotencyKey = typeof idempotencyHeader === 'string' ? idempotencyHeader : null;
    if (idempotencyHeader !== undefined && (idempotencyKey === null || !idempotencyKeyPattern.test(idempotencyKey))) {
      return writeProblem(
        response,
        requestId,
        'idempotency_key_invalid',
        'The Idempotency-Key header must be 1–255 printable ASCII characters.',
      );
    }

    const body = await toBody(route, request, response, state);
    if (body === undefined || typeof body === 'number') return body;
    const params =
      route.params === undefined ? { ok: true as const, value: rawParams } : parseWith(route.params, rawParams);
    const query =
      route.query === undefined && search === ''
        ? queryParsedNone
        : parseWith(route.query ?? emptyBody, toQueryObject(search));
    const parsedBody =
      route.body === undefined ? { ok: true as const, value: undefined } : parseWith(route.body, body.value);
    if (!params.ok || !query.ok || !parsedBody.ok) {
      const errors = [
        ...(params.ok ? [] : params.errors),
        ...(query.ok ? [] : query.errors),
        ...(parsedBody.ok ? [] : parsedBody.errors),
      ];
      return writeProblem(response, requestId, 'validation_failed', 'Some fields are not valid; see `errors`.', {
        errors,
      });
    }

    const caller: Caller = {
      environmentId: auth.environmentId,
      environmentName: auth.environmentName,
      apiKeyId: auth.apiKeyId,
      scopes: auth.scopes,
      requestId,
      idempotencyKey,
    };
    const reply: Reply = await route.handle({
      caller,
      params: params.value,
      query: query.value,
      body: parsedBody.value,
    });
    const headers: Record<string, string> = {
      'content-type': reply.problem ? problemContentType : jsonContentType,
      'x-request-id': requestId,
      'cache-control': 'no-store',
    };
    if (reply.replayed) headers['idempotent-replayed'] = 'true';
    writeBody(response, reply.status, headers, reply.bodyText);
    return reply.status;
  }

  function onRequest(request: IncomingMessage, response: ServerResponse): void {
    const method = request.method ?? '';
    const state: RequestState = {
      startedAt: performance.now(),
      requestId: toRequestId(request.headers['x-request-id']),
      method,
      endpoint: null,
      apiKeyId: null,
    };
    try {
      const url = request.url ?? '/';
      const queryStart = url.indexOf('?');
      const match = router.match(method, queryStart === -1 ? url : url.slice(0, queryStart));
      if (match.kind === 'route_not_found') {
        finish(
          state,
          writeProblem(
            response,
            state.requestId,
            'route_not_found',
            `No route matches ${method} ${url.slice(0, queryStart === -1 ? 200 : Math.min(queryStart, 200))}.`,
          ),
        );
        return;
      }
      if (match.kind === 'method_not_allowed') {
        finish(
          state,
          writeProblem(response, state.requestId, 'method_not_allowed', `This route answers ${match.allowed}.`, {
            headers: { allow: match.allowed },
          }),
        );
        return;
      }
      if (match.kind === 'malformed_parameter') {
        const errors = [{ field: match.name, message: 'is not valid percent-encoding' }];
        finish(
          state,
          writeProblem(response, state.requestId, 'validation_failed', 'A path parameter is not valid.', { errors }),
        );
        return;
      }
      const endpoint = match.entry;
      state.endpoint = endpoint;
      if (endpoint.serveSystem !== null) {
        finish(state, endpoint.serveSystem(response, state.requestId));
        return;
      }
      const route = endpoint.route;
      if (route === null) throw new Error(`endpoint ${endpoint.path} has neither a route nor a system responder`);
      void serveApi(route, request, response, state, match.params, queryStart === -1 ? '' : url.slice(queryStart + 1));
    } catch (error) {
      fail(state, response, error);
    }
  }

  return createServer(onRequest);
}
