/**
 * The HTTP server, on Fastify: each operation becomes a route whose onRequest hook authenticates
 * the API key, applies the rate limit and checks the scope before any body is read; its handler
 * validates the path, query and body with the operation's schemas, calls the domain's handler and
 * sends the reply text it built. Every refusal, the framework's included, leaves as one problem shape.
 */

import { isUtf8 } from 'node:buffer';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bodyBytesDefault, emptyBody } from '@bursar/api';
import type { FastifyCorsOptions } from '@fastify/cors';
import cors from '@fastify/cors';
import { parseCookie } from 'cookie';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import Fastify from 'fastify';
import { Gauge } from 'prom-client';
import type { Caller, FieldError, PortalPrincipal, Reply, Scope } from '../contract.ts';
import { scopeAllows } from '../contract.ts';
import { parseJsonBody, toQueryObject } from './inputs.ts';
import type { Logger } from './logger.ts';
import type { MetricsRegistry } from './metrics.ts';
import { createRequestMetrics } from './metrics.ts';
import type { OpenApiDocument } from './openapi.ts';
import { problemContentType } from './problem.ts';
import type { RateLimiter } from './rate-limit.ts';
import { describeRefusedText } from './request-text.ts';
import type { EventStream, PageRoute, Route } from './router.ts';
import { nameMalformedParameter } from './router.ts';
import { routeSystemEndpoints } from './system-endpoints.ts';
import { parseWith } from './validation.ts';
import type { WebApp } from './web-apps.ts';
import { routeWebApps } from './web-apps.ts';
import { ProblemError, sendFieldErrors, sendJsonText, sendProblem, sendShuttingDown } from './write-reply.ts';

/** Who an API key belongs to; `authenticate` answers null for a missing, unknown or revoked key. */
export interface AuthResult {
  readonly environmentId: string;
  readonly environmentName: string;
  readonly apiKeyId: string;
  readonly scopes: readonly Scope[];
  /** Set for a cookie session: its id, and the token every request other than GET and HEAD must echo in `x-csrf-token`. */
  readonly session?: { readonly id: string; readonly csrfToken: string };
}

/** What a request's cookies authenticate as: a principal, nothing (null), or a session past its expiry. */
export type CookieAuthentication = AuthResult | null | 'session_expired';

/** Who a portal session's token belongs to; null for a missing, unknown or expired session. */
export interface PortalAuthResult {
  readonly environmentId: string;
  readonly environmentName: string;
  readonly customer: string;
  readonly sessionId: string;
  readonly expiresAt: number;
  readonly csrfToken: string;
}

export interface HttpServerOptions {
  readonly routes: readonly Route[];
  /** Answers at once when it can (a cached key): the request then waits for nothing before its body. */
  readonly authenticate: (token: string) => AuthResult | null | Promise<AuthResult | null>;
  /**
   * Authenticates a portal session's token (`bps_…`, from the bearer header or the `bursar_portal`
   * cookie) for the operations whose principal is `portal`; absent: they all answer 401.
   */
  readonly authenticatePortal?: (token: string) => PortalAuthResult | null | Promise<PortalAuthResult | null>;
  /** Browser routes beside the API (the portal's one-time link). */
  readonly pageRoutes?: readonly PageRoute[];
  /** How often an open event stream sends its `: keep-alive` comment; default 15 s. */
  readonly heartbeatMs?: number;
  /**
   * Authenticates a request without an Authorization header by its cookies (the console's
   * session), as cheaply: at once when cached. Absent: cookies are never read.
   */
  readonly authenticateCookies?: (
    cookies: Readonly<Record<string, string | undefined>>,
  ) => CookieAuthentication | Promise<CookieAuthentication>;
  /** The built web apps served beside the API (the console, the portal); absent: none. */
  readonly webApps?: readonly WebApp[];
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly isReady: () => boolean;
  readonly openApiDocument: OpenApiDocument;
  /** Largest request body accepted; default 1 MiB. */
  readonly bodyBytesMax?: number;
  /** Limits each API key's request rate on every /v1 route; absent: no limit. */
  readonly rateLimit?: { readonly limiter: RateLimiter; readonly now: () => number };
  /** Browser origins allowed to call the API (CORS); empty or absent: no CORS headers at all. */
  readonly corsOrigins?: readonly string[];
}

/** The server: Fastify's instance (whose `inject()` tests use), plus listening and a bounded close. */
export interface HttpServer {
  readonly app: FastifyInstance;
  listen(options: { readonly port: number; readonly host: string; readonly backlog?: number }): Promise<AddressInfo>;
  /**
   * Stops accepting connections, lets every request in flight finish and closes each connection as
   * it falls idle; at the deadline the rest are cut. Resolves true when nothing had to be cut.
   */
  close(timeoutMs: number): Promise<boolean>;
}

/** What a request carries from its hook to its handler and to the line that counts it. */
declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthResult | null;
    /** Set instead of a key's scopes when a portal session called a portal route. */
    portal: PortalPrincipal | null;
    idempotencyKey: string | null;
  }
  interface FastifyContextConfig {
    /** The `operation` label of metrics and logs. */
    operation?: string;
    /** The operation a /v1 route answers; absent for the system endpoints. */
    apiRoute?: Route;
  }
}

const jsonContentType = 'application/json';
const requestIdPattern = /^[A-Za-z0-9._-]{1,64}$/;
const idempotencyKeyPattern = /^[\x20-\x7e]{1,255}$/;
const bearerPattern = /^Bearer +([\x21-\x7e]{1,512})$/i;
const unauthenticatedDetail =
  'Send a valid, unrevoked API key as `Authorization: Bearer <key>`, or sign in to the console for a session cookie.';
/** The cookie the portal's one-time URL sets, and the prefix of a portal session's bearer token. */
export const portalCookieName = 'bursar_portal';
const portalTokenPrefix = 'bps_';
const portalOnlyDetail = 'A portal session (bps_… token or the portal cookie) may call only /v1/portal/ routes.';
const heartbeatMsDefault = 15_000;

/** Methods Fastify routes; for a path, the ones no operation answers get 405 (and OPTIONS its Allow list). */
const methodsRouted = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'] as const;
const paramsNone: Readonly<Record<string, string>> = Object.freeze({});

function toRequestId(request: IncomingMessage): string {
  const header = request.headers['x-request-id'];
  return typeof header === 'string' && requestIdPattern.test(header) ? header : randomUUID();
}

export function createHttpServer(options: HttpServerOptions): HttpServer {
  let closing = false;
  const logger = options.logger;
  const app = Fastify({
    // The one request line is ours (onResponse below); Fastify logs nothing of its own.
    logger: false,
    genReqId: toRequestId,
    bodyLimit: options.bodyBytesMax ?? bodyBytesDefault,
    // Ids in paths may be long; the schemas bound them, not the router.
    routerOptions: { maxParamLength: 1000, querystringParser: toQueryObject },
    // Answered below in our own problem shape, with Connection: close.
    return503OnClosing: false,
    // Node's own limits, which Fastify would otherwise lift: a body trickled in forever, or a kept-alive
    // connection held idle for 72 s, must not tie up the server.
    requestTimeout: 300_000,
    keepAliveTimeout: 5_000,
    // Refusals of the URL itself, before any route: onResponse does not see them, so they are logged here.
    frameworkErrors: (error, request, reply) => {
      if (logger.isEnabled('info')) {
        logger.child({ request_id: request.id }).info('request', {
          method: request.method,
          path: null,
          operation: 'unmatched',
          status: 400,
          error: error.code,
        });
      }
      if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
        sendProblem(reply, 'validation_failed', 'A path parameter is longer than 1000 characters.');
        return;
      }
      const name = error.code === 'FST_ERR_BAD_URL' ? nameMalformedParameter(options.routes, request.url) : null;
      if (name !== null) {
        sendFieldErrors(reply, [{ field: name, message: 'is not valid percent-encoded UTF-8' }]);
        return;
      }
      sendProblem(reply, 'validation_failed', 'The request URL is not valid percent-encoded UTF-8.');
    },
  });
  app.decorateRequest('auth', null);
  app.decorateRequest('portal', null);
  app.decorateRequest('idempotencyKey', null);
  app.removeAllContentTypeParsers();
  const parseBody = (
    request: FastifyRequest,
    body: string | Buffer,
    done: (error: Error | null, value?: unknown) => void,
  ) => {
    // A route that reads no body (a 404, a 405, an operation without one) ignores what was sent, as
    // it answers without it.
    if (request.routeOptions.config.apiRoute?.body === undefined) {
      done(null, undefined);
      return;
    }
    const parsed = parseJsonBody(request.headers['content-type'], body as Buffer);
    if (parsed instanceof ProblemError) done(parsed, undefined);
    else done(null, parsed.value);
  };
  // JSON by name, so the usual request finds its parser in one lookup; every other type reaches the
  // same parser through the catch-all, which refuses it (415) unless it is empty.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parseBody);
  app.addContentTypeParser('*', { parseAs: 'buffer' }, parseBody);

  const metrics = createRequestMetrics(options.metrics);
  app.addHook('onResponse', (request, reply, done) => {
    // routeOptions is built anew on each read: read it once.
    const route = request.routeOptions;
    const operation = route.config.operation ?? 'unmatched';
    const status = reply.statusCode;
    const durationMs = reply.elapsedTime;
    metrics.observe(route.config, operation, status, durationMs / 1000);
    // Probes and scrapes arrive every few seconds forever; at info they would drown the requests that matter.
    const level = route.config.apiRoute === undefined && operation !== 'unmatched' ? 'debug' : 'info';
    if (logger.isEnabled(level)) {
      // A child per request id, made only when a line is written (a request that logs nothing pays nothing).
      logger.child({ request_id: request.id })[level]('request', {
        method: request.method,
        path: operation === 'unmatched' ? null : (route.config.apiRoute?.path ?? route.url ?? null),
        operation,
        status,
        duration_ms: Math.round(durationMs * 1e3) / 1e3,
        api_key_id: request.auth?.apiKeyId ?? null,
      });
    }
    done();
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ProblemError) {
      // Fastify closes the connection after any parser error, for a body it may not have read; ours
      // come after the whole body arrived, so the connection stays usable, as it did before Fastify.
      reply.removeHeader('connection');
      error.send(reply);
      return;
    }
    // The client left mid-body: no one to answer, and nothing failed on the server (499 in the count).
    if (request.raw.aborted || error.code === 'ECONNRESET') {
      reply.code(499).send();
      return;
    }
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        // Closing the connection spares reading the rest of a body nobody will use.
        reply.header('connection', 'close');
        sendProblem(reply, 'payload_too_large', `The body must be at most ${app.initialConfig.bodyLimit} bytes.`);
        return;
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        sendProblem(reply, 'unsupported_media_type', 'Send the body as JSON with `Content-Type: application/json`.');
        return;
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        sendProblem(reply, 'malformed_json', 'The body is shorter or longer than its Content-Length.');
        return;
    }
    logger.child({ request_id: request.id }).error('request failed', {
      operation: request.routeOptions.config.operation ?? null,
      error: error.stack ?? error.message,
    });
    sendProblem(reply, 'internal_error', `Something failed on the server; quote request id ${request.id}.`);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0] ?? '';
    sendProblem(reply, 'route_not_found', `No route matches ${request.method} ${path.slice(0, 200)}.`);
  });

  const corsOrigins = options.corsOrigins ?? [];
  if (corsOrigins.length > 0) {
    const portalCors = {
      origin: [...corsOrigins],
      methods: ['GET', 'HEAD', 'POST', 'PUT'],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-request-id'],
      exposedHeaders: ['x-request-id', 'idempotent-replayed', 'retry-after'],
      // Bearer tokens only: a page on another origin never rides on the portal cookie.
      credentials: false,
      // An OPTIONS without the preflight headers is answered by the route (204 and Allow), not refused.
      strictPreflight: false,
      maxAge: 600,
    };
    // Only the portal's routes are called from other origins (widgets, bearer mode); every other
    // route sends no CORS header, so a browser page elsewhere cannot use an API key through them.
    void app.register(
      cors,
      () => (request: FastifyRequest, callback: (error: Error | null, corsOptions?: FastifyCorsOptions) => void) => {
        callback(null, isPortalPath(request.url) ? portalCors : { origin: false });
      },
    );
  }
  const openStreams = new Set<() => void>();
  new Gauge({
    name: 'bursar_event_streams_open',
    help: 'Event streams (the portal balance stream) open now',
    registers: [options.metrics],
    collect() {
      this.set(openStreams.size);
    },
  });

  // Not listening means shutting down: a request that arrives now, on a connection kept alive from
  // before, is turned away and its connection closed, so the client retries elsewhere.
  const isClosing = () => closing;
  routeSystemEndpoints(app, options, isClosing);
  routeWebApps(app, options.webApps ?? [], isClosing);
  for (const route of options.routes) {
    if (route.handleSigned === undefined) app.route(toApiRoute(route, options, isClosing, openStreams));
    else routeSigned(app, route, route.handleSigned, isClosing);
  }
  routeUnansweredMethods(app, options.routes, corsOrigins.length > 0);
  for (const page of options.pageRoutes ?? []) routePage(app, page, isClosing);

  return {
    app,
    async listen(listenOptions) {
      await app.listen({ port: listenOptions.port, host: listenOptions.host, backlog: listenOptions.backlog ?? 511 });
      return app.server.address() as AddressInfo;
    },
    async close(timeoutMs) {
      closing = true;
      // Event streams never end by themselves: end them, or close would wait for them to the deadline.
      for (const stop of [...openStreams]) stop();
      const closed = app.close();
      // Node closes the connections idle at close(); this also closes those whose request ends later.
      const closingIdle = setInterval(() => app.server.closeIdleConnections(), 20);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<true>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      });
      let cut: boolean;
      try {
        cut = await Promise.race([closed.then(() => false), timedOut]);
      } finally {
        clearInterval(closingIdle);
        clearTimeout(timer);
      }
      if (cut) {
        app.server.closeAllConnections();
        await closed;
      }
      return !cut;
    },
  };
}

/** Whether a URL is under /v1/portal/, where only portal sessions call (and CORS applies). */
function isPortalPath(url: string): boolean {
  return url.startsWith('/v1/portal/');
}

function portalCookieOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  return header === undefined ? undefined : parseCookie(header)[portalCookieName];
}

/** The console's session cookie (domain web-server-console): on a portal route it is refused by name. */
function hasConsoleCookie(request: FastifyRequest): boolean {
  const header = request.headers.cookie;
  return header !== undefined && parseCookie(header).bursar_console !== undefined;
}

/** Methods that change nothing, so a cookie session needs no CSRF token for them. */
function isWrite(request: FastifyRequest): boolean {
  return request.method !== 'GET' && request.method !== 'HEAD';
}

/** Whether the echoed token is the session's, in time that does not tell how much of it matched. */
function csrfMatches(sent: string | string[] | undefined, expected: string): boolean {
  if (typeof sent !== 'string' || sent.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(sent), Buffer.from(expected));
}

/**
 * Runs `admit` on an authentication's answer: at once when it is a value, which keeps a cached
 * lookup's whole hook free of promises, or when the promise settles.
 */
function afterLookup<T>(
  found: T | Promise<T>,
  reply: FastifyReply,
  admit: (value: T, next: () => void) => void,
  done: (error?: Error) => void,
): void {
  if (!(found instanceof Promise)) {
    admit(found, done);
    return;
  }
  found.then(
    (value) => {
      // Outside Fastify's hook runner now: a throw here must still end the request (once).
      let admitted = false;
      try {
        admit(value, () => {
          admitted = true;
          done();
        });
      } catch (error) {
        // A refusal already sent its reply: a throw after it is logged by Fastify's error path only once.
        if (!admitted && !reply.sent) done(error instanceof Error ? error : new Error(String(error)));
      }
    },
    (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
  );
}

/** One operation as a Fastify route: the key and scope in onRequest (before the body is read), the rest in the handler. */
function toApiRoute(
  route: Route,
  options: HttpServerOptions,
  isClosing: () => boolean,
  openStreams: Set<() => void>,
): RouteOptions {
  const { authenticate, authenticateCookies, authenticatePortal, rateLimit } = options;
  /** Sends 429 and answers true when `bucket` (a key's or a portal session's id) is over its rate. */
  function isRateLimited(reply: FastifyReply, bucket: string): boolean {
    if (rateLimit === undefined) return false;
    const waitSeconds = rateLimit.limiter.take(bucket, rateLimit.now());
    if (waitSeconds <= 0) return false;
    reply.header('retry-after', String(waitSeconds));
    const detail = `This API key sent more requests than its rate limit allows; retry in ${waitSeconds} s.`;
    sendProblem(reply, 'rate_limited', detail);
    return true;
  }
  /** Reads the Idempotency-Key header, or sends its refusal and answers false. */
  function takeIdempotencyKey(request: FastifyRequest, reply: FastifyReply): boolean {
    // node joins a repeated header into one string, so only a string arrives here in practice.
    const header = request.headers['idempotency-key'];
    if (header === undefined) return true;
    if (typeof header !== 'string' || !idempotencyKeyPattern.test(header)) {
      const detail = 'The Idempotency-Key header must be 1–255 printable ASCII characters.';
      sendProblem(reply, 'idempotency_key_invalid', detail);
      return false;
    }
    request.idempotencyKey = header;
    return true;
  }
  /** Refuses (sending the problem) or lets the request on to its body and handler. */
  function admit(request: FastifyRequest, reply: FastifyReply, auth: CookieAuthentication, next: () => void): void {
    if (auth === 'session_expired') {
      sendProblem(reply, 'session_expired', 'The console session has expired; sign in again.');
      return;
    }
    if (auth === null) {
      // A portal cookie and nothing else: the portal's session came to a route that is not the portal's.
      if (request.headers.authorization === undefined && portalCookieOf(request) !== undefined) {
        sendProblem(reply, 'portal_session_not_allowed', portalOnlyDetail);
        return;
      }
      reply.header('www-authenticate', 'Bearer realm="bursar"');
      sendProblem(reply, 'unauthenticated', unauthenticatedDetail);
      return;
    }
    // A cookie rides along on any request the browser makes, a forged cross-site one too; only a
    // page that read the session's token can echo it.
    if (
      auth.session !== undefined &&
      isWrite(request) &&
      !csrfMatches(request.headers['x-csrf-token'], auth.session.csrfToken)
    ) {
      sendProblem(reply, 'csrf_token_invalid', "Send the session's csrf_token as the `x-csrf-token` header.");
      return;
    }
    request.auth = auth;
    if (isRateLimited(reply, auth.apiKeyId)) return;
    if (!scopeAllows(auth.scopes, route.scope)) {
      const detail = `${route.operationId} needs an API key with the \`${route.scope}\` scope.`;
      sendProblem(reply, 'insufficient_scope', detail);
      return;
    }
    if (takeIdempotencyKey(request, reply)) next();
  }
  /** A portal route's admission: only a live portal session, and with the cookie a write needs its CSRF token. */
  function admitPortal(
    request: FastifyRequest,
    reply: FastifyReply,
    found: PortalAuthResult | null,
    mode: PortalPrincipal['mode'],
    next: () => void,
  ): void {
    if (found === null) {
      reply.header('www-authenticate', 'Bearer realm="bursar-portal"');
      sendProblem(
        reply,
        'unauthenticated',
        'The portal session is missing, unknown or expired; open a new portal link.',
      );
      return;
    }
    if (mode === 'cookie' && isWrite(request) && !csrfMatches(request.headers['x-csrf-token'], found.csrfToken)) {
      sendProblem(reply, 'csrf_token_invalid', "Send the session's csrf_token (getPortalSession) as x-csrf-token.");
      return;
    }
    const { customer, sessionId, expiresAt, csrfToken } = found;
    request.portal = { customer, sessionId, mode, expiresAt, csrfToken };
    request.auth = {
      environmentId: found.environmentId,
      environmentName: found.environmentName,
      apiKeyId: sessionId,
      scopes: [],
    };
    if (isRateLimited(reply, sessionId)) return;
    if (takeIdempotencyKey(request, reply)) next();
  }
  const portalOnly = route.principal === 'portal';
  return {
    method: route.method,
    url: toFastifyPath(route.path),
    config: { operation: route.operationId, apiRoute: route },
    // Callback style, not async: with a cached key the whole hook runs without a promise.
    onRequest(request, reply, done) {
      if (isClosing()) {
        sendShuttingDown(reply);
        return;
      }
      if (route.unauthenticated === true) {
        done();
        return;
      }
      const header = request.headers.authorization;
      const token = bearerPattern.exec(header ?? '')?.[1];
      if (portalOnly) {
        // An Authorization header wins over the cookie, as it does for the console's.
        const portalToken = token ?? portalCookieOf(request);
        if (
          (token !== undefined && !token.startsWith(portalTokenPrefix)) ||
          (portalToken === undefined && hasConsoleCookie(request))
        ) {
          const detail = `${route.operationId} is a portal route: call it with a portal session, not an API key.`;
          sendProblem(reply, 'portal_session_required', detail);
          return;
        }
        const mode = token === undefined ? 'cookie' : 'bearer';
        const found = portalToken === undefined ? null : (authenticatePortal?.(portalToken) ?? null);
        afterLookup(found, reply, (value, next) => admitPortal(request, reply, value, mode, next), done);
        return;
      }
      if (token?.startsWith(portalTokenPrefix)) {
        sendProblem(reply, 'portal_session_not_allowed', portalOnlyDetail);
        return;
      }
      // An Authorization header, when present, wins over a cookie.
      const auth =
        token !== undefined
          ? authenticate(token)
          : header === undefined && authenticateCookies !== undefined && request.headers.cookie !== undefined
            ? authenticateCookies(parseCookie(request.headers.cookie))
            : null;
      afterLookup(auth, reply, (value, next) => admit(request, reply, value, next), done);
    },
    handler: (request, reply) =>
      answerApi(route, request, reply, options.heartbeatMs ?? heartbeatMsDefault, openStreams),
  };
}

/** Who an unauthenticated operation runs as: no environment, key or scope; its handler checks what it was sent. */
const nobody: AuthResult = { environmentId: '', environmentName: '', apiKeyId: '', scopes: [] };

async function answerApi(
  route: Route,
  request: FastifyRequest,
  reply: FastifyReply,
  heartbeatMs: number,
  openStreams: Set<() => void>,
): Promise<FastifyReply> {
  const auth = route.unauthenticated === true ? nobody : request.auth;
  if (auth === null) throw new Error('assertion failed: onRequest authenticated the request');
  const errors: FieldError[] = [];
  const rawParams = (request.params ?? paramsNone) as Record<string, string>;
  for (const [name, value] of Object.entries(rawParams)) {
    const refusal = describeRefusedText(value);
    if (refusal !== null) errors.push({ field: name, message: refusal });
  }
  if (errors.length > 0) return sendFieldErrors(reply, errors);
  const params =
    route.params === undefined ? { ok: true as const, value: rawParams } : parseWith(route.params, rawParams);
  const queryRead = request.query as ReturnType<typeof toQueryObject>;
  const query =
    !queryRead.ok || (route.query === undefined && queryRead.empty)
      ? queryRead
      : parseWith(route.query ?? emptyBody, queryRead.value);
  // An absent body stands for {}, so a body-less POST is told which fields it misses.
  const body =
    route.body === undefined
      ? { ok: true as const, value: undefined }
      : parseWith(route.body, request.body === undefined ? {} : request.body);
  if (!params.ok || !query.ok || !body.ok) {
    return sendFieldErrors(reply, [
      ...(params.ok ? [] : params.errors),
      ...(query.ok ? [] : query.errors),
      ...(body.ok ? [] : body.errors),
    ]);
  }
  const caller: Caller = {
    environmentId: auth.environmentId,
    environmentName: auth.environmentName,
    apiKeyId: auth.apiKeyId,
    scopes: auth.scopes,
    requestId: request.id,
    idempotencyKey: request.idempotencyKey,
    ...(request.portal === null ? {} : { portal: request.portal }),
    ...(auth.session === undefined ? {} : { sessionId: auth.session.id }),
  };
  const parsed = {
    caller,
    origin: originOf(request),
    secure: request.protocol === 'https',
    params: params.value,
    query: query.value,
    body: body.value,
  };
  if (route.handleStream !== undefined) {
    const opened = await route.handleStream(parsed);
    if ('start' in opened) return streamEvents(request, reply, opened, heartbeatMs, openStreams);
    return sendAnswer(request, reply, opened);
  }
  return sendAnswer(request, reply, await route.handle(parsed));
}

function sendAnswer(request: FastifyRequest, reply: FastifyReply, answer: Reply): FastifyReply {
  if (answer.headers !== undefined) reply.headers(answer.headers);
  reply.header('x-request-id', request.id);
  reply.header('cache-control', 'no-store');
  if (answer.replayed) reply.header('idempotent-replayed', 'true');
  return sendJsonText(reply, answer.status, answer.problem ? problemContentType : jsonContentType, answer.bodyText);
}

/**
 * Keeps the response open as text/event-stream: the route's events as they come, a comment every
 * `heartbeatMs` so proxies keep the connection, and one stop when the client leaves or the server closes.
 */
function streamEvents(
  request: FastifyRequest,
  reply: FastifyReply,
  stream: EventStream,
  heartbeatMs: number,
  openStreams: Set<() => void>,
): FastifyReply {
  reply.hijack();
  const response: ServerResponse = reply.raw;
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-request-id': request.id,
    // Proxies (nginx) buffer responses unless told not to; an event must leave at once.
    'x-accel-buffering': 'no',
    ...corsHeadersOf(reply),
  });
  response.flushHeaders();
  let stopStream: (() => void) | null = null;
  const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), heartbeatMs);
  const stop = () => {
    if (!openStreams.delete(stop)) return;
    clearInterval(heartbeat);
    stopStream?.();
    if (!response.writableEnded) response.end();
  };
  openStreams.add(stop);
  // The response closes when the client goes away (or when it ends here): either way the stream stops.
  response.on('close', stop);
  stopStream = stream.start((event, dataText) => {
    if (!response.writableEnded) response.write(`event: ${event}\ndata: ${dataText}\n\n`);
  });
  // A client gone before start returned is stopped here too.
  if (!openStreams.has(stop)) stopStream();
  return reply;
}

/** The CORS headers the plugin set on the reply (a hijacked reply writes its headers itself). */
function corsHeadersOf(reply: FastifyReply): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (name.startsWith('access-control-') || name === 'vary') headers[name] = String(value);
  }
  return headers;
}

/**
 * A signed operation (Stripe's webhook): no API key, rate limit or schema. It sits in its own
 * encapsulated scope whose one body parser keeps the bytes as sent, because its signature covers them.
 */
function routeSigned(
  app: FastifyInstance,
  route: Route,
  handleSigned: NonNullable<Route['handleSigned']>,
  isClosing: () => boolean,
): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    scope.route({
      method: route.method,
      url: toFastifyPath(route.path),
      config: { operation: route.operationId, apiRoute: route },
      onRequest(_request, reply, done) {
        if (isClosing()) {
          sendShuttingDown(reply);
          return;
        }
        done();
      },
      async handler(request, reply) {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        if (!isUtf8(body)) return sendProblem(reply, 'malformed_json', 'The body is not valid UTF-8.');
        const answer = await handleSigned({
          requestId: request.id,
          bodyText: body.toString('utf8'),
          headers: request.headers,
        });
        if (answer.headers !== undefined) reply.headers(answer.headers);
        reply.header('x-request-id', request.id);
        reply.header('cache-control', 'no-store');
        return sendJsonText(
          reply,
          answer.status,
          answer.problem ? problemContentType : jsonContentType,
          answer.bodyText,
        );
      },
    });
  });
}

/** The origin the client addressed: the protocol it came over and its Host header. */
function originOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

function routePage(app: FastifyInstance, page: PageRoute, isClosing: () => boolean): void {
  app.route({
    method: 'GET',
    url: page.path,
    config: { operation: page.name },
    onRequest(_request, reply, done) {
      if (isClosing()) {
        sendShuttingDown(reply);
        return;
      }
      done();
    },
    async handler(request, reply) {
      const answer = await page.handle({
        params: (request.params ?? paramsNone) as Record<string, string>,
        origin: originOf(request),
        requestId: request.id,
      });
      reply.headers(answer.headers);
      reply.header('x-request-id', request.id);
      reply.header('cache-control', 'no-store');
      return reply.code(answer.status).send(answer.body);
    },
  });
}

/** `/v1/holds/{id}/capture` as Fastify writes it, `/v1/holds/:id/capture`. */
function toFastifyPath(path: string): string {
  return path.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, ':$1');
}

/**
 * For each path, the methods no operation answers: 405 with the Allow list, or for OPTIONS (except
 * on the portal's paths when CORS, which answers their preflights itself, is on) a 204 with it.
 */
function routeUnansweredMethods(app: FastifyInstance, routes: readonly Route[], corsEnabled: boolean): void {
  const methodsByPath = new Map<string, Set<string>>();
  for (const route of routes) {
    const methods = methodsByPath.get(route.path) ?? new Set<string>();
    methods.add(route.method);
    // Fastify answers HEAD for every GET route itself.
    if (route.method === 'GET') methods.add('HEAD');
    methodsByPath.set(route.path, methods);
  }
  for (const [path, methods] of methodsByPath) {
    const allowed = [...methods].filter((method) => method !== 'HEAD').join(', ');
    // With CORS on, the plugin answers preflights of the portal's paths (the only ones it serves).
    const corsAnswers = corsEnabled && isPortalPath(path);
    const unanswered = methodsRouted.filter((method) => !methods.has(method) && !(corsAnswers && method === 'OPTIONS'));
    app.route({
      method: unanswered,
      url: toFastifyPath(path),
      config: { operation: 'unmatched' },
      handler(request, reply) {
        reply.header('allow', allowed);
        if (request.method === 'OPTIONS') {
          return reply.code(204).header('x-request-id', request.id).send();
        }
        return sendProblem(reply, 'method_not_allowed', `This route answers ${allowed}.`);
      },
    });
  }
}
