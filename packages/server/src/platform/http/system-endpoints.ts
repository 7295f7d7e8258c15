/**
 * The endpoints outside /v1, which need no API key: liveness, readiness, Prometheus metrics, the
 * OpenAPI document and the browsable reference. `/` leads to the first web app (the console) when one
 * is served, else to the reference. Documents are rendered once, at startup. Each answers GET and HEAD (Fastify sends no body to HEAD).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { docsContentSecurityPolicy, renderDocsPage } from './docs-page.ts';
import type { MetricsRegistry } from './metrics.ts';
import type { OpenApiDocument } from './openapi.ts';
import type { WebApp } from './web-apps.ts';
import { sendJsonText, sendProblem, sendShuttingDown } from './write-reply.ts';

const jsonContentType = 'application/json';

function sendJson(reply: FastifyReply, text: string, cache: boolean): FastifyReply {
  reply.header('x-request-id', reply.request.id);
  if (!cache) reply.header('cache-control', 'no-store');
  return sendJsonText(reply, 200, jsonContentType, text);
}

export function routeSystemEndpoints(
  app: FastifyInstance,
  options: {
    readonly metrics: MetricsRegistry;
    readonly isReady: () => boolean;
    readonly openApiDocument: OpenApiDocument;
    /** Where `/` leads: the first app's prefix, else the API reference. */
    readonly webApps?: readonly WebApp[];
  },
  isClosing: () => boolean,
): void {
  const openApiText = JSON.stringify(options.openApiDocument);
  const docsHtml = renderDocsPage(options.openApiDocument);
  // Per route, so no other route pays for the check.
  const onRequest = (_request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    if (isClosing()) sendShuttingDown(reply);
    else done();
  };
  app.get('/healthz', { config: { operation: 'healthz' }, onRequest }, (_request, reply) =>
    sendJson(reply, '{"status":"ok"}', false),
  );
  app.get('/readyz', { config: { operation: 'readyz' }, onRequest }, (_request, reply) =>
    options.isReady()
      ? sendJson(reply, '{"status":"ready"}', false)
      : sendProblem(reply, 'unavailable', 'The server is starting or stopping.'),
  );
  app.get('/metrics', { config: { operation: 'metrics' }, onRequest }, async (request, reply) => {
    const text = await options.metrics.metrics();
    return reply
      .code(200)
      .header('content-type', options.metrics.contentType)
      .header('x-request-id', request.id)
      .header('cache-control', 'no-store')
      .send(text);
  });
  app.get('/openapi.json', { config: { operation: 'openapi' }, onRequest }, (_request, reply) =>
    sendJson(reply, openApiText, true),
  );
  const rootLocation = options.webApps?.[0] === undefined ? '/docs' : `${options.webApps[0].prefix}/`;
  app.get('/', { config: { operation: 'root' }, onRequest }, (request, reply) =>
    reply.code(302).header('location', rootLocation).header('x-request-id', request.id).send(''),
  );
  app.get('/docs', { config: { operation: 'docs' }, onRequest }, (request, reply) =>
    reply
      .code(200)
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', docsContentSecurityPolicy)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-request-id', request.id)
      .send(docsHtml),
  );
}
