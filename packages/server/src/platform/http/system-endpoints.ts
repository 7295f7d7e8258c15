/**
 * The endpoints outside /v1, which need no API key: liveness, readiness, Prometheus metrics, the
 * OpenAPI document and the browsable reference (where `/` leads). Documents are rendered once, at startup.
 * Each answers GET and HEAD (node sends no body to HEAD).
 */
import type { ServerResponse } from 'node:http';
import { docsContentSecurityPolicy, renderDocsPage } from './docs-page.ts';
import type { MetricsRegistry } from './metrics.ts';
import { metricsContentType } from './metrics.ts';
import type { OpenApiDocument } from './openapi.ts';
import { writeProblem, writeReply } from './write-reply.ts';

export interface SystemEndpoint {
  readonly path: string;
  /** The `operation` label in metrics and logs. */
  readonly operation: string;
  /** Answers synchronously and returns the status it wrote. */
  respond(response: ServerResponse, requestId: string): number;
}

const jsonContentType = 'application/json';

export function toSystemEndpoints(options: {
  readonly metrics: MetricsRegistry;
  readonly isReady: () => boolean;
  readonly openApiDocument: OpenApiDocument;
}): SystemEndpoint[] {
  const openApiText = JSON.stringify(options.openApiDocument);
  const docsHtml = renderDocsPage(options.openApiDocument);
  return [
    {
      path: '/healthz',
      operation: 'healthz',
      respond(response, requestId) {
        const headers = { 'content-type': jsonContentType, 'x-request-id': requestId, 'cache-control': 'no-store' };
        writeReply(response, 200, headers, '{"status":"ok"}');
        return 200;
      },
    },
    {
      path: '/readyz',
      operation: 'readyz',
      respond(response, requestId) {
        if (!options.isReady()) {
          return writeProblem(response, requestId, 'unavailable', 'The server is starting or stopping.');
        }
        const headers = { 'content-type': jsonContentType, 'x-request-id': requestId, 'cache-control': 'no-store' };
        writeReply(response, 200, headers, '{"status":"ready"}');
        return 200;
      },
    },
    {
      path: '/metrics',
      operation: 'metrics',
      respond(response, requestId) {
        const headers = { 'content-type': metricsContentType, 'x-request-id': requestId, 'cache-control': 'no-store' };
        writeReply(response, 200, headers, options.metrics.render());
        return 200;
      },
    },
    {
      path: '/openapi.json',
      operation: 'openapi',
      respond(response, requestId) {
        writeReply(response, 200, { 'content-type': jsonContentType, 'x-request-id': requestId }, openApiText);
        return 200;
      },
    },
    {
      // 302, not 308: browsers would cache a permanent redirect, and `/` may serve more than the reference one day.
      path: '/',
      operation: 'root',
      respond(response, requestId) {
        writeReply(response, 302, { location: '/docs', 'x-request-id': requestId }, '');
        return 302;
      },
    },
    {
      path: '/docs',
      operation: 'docs',
      respond(response, requestId) {
        const headers = {
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': docsContentSecurityPolicy,
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
          'x-request-id': requestId,
        };
        writeReply(response, 200, headers, docsHtml);
        return 200;
      },
    },
  ];
}
