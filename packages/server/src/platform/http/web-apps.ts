/**
 * The built web apps (the console, the portal), each served from its folder under its own prefix by
 * @fastify/static: files as they are, and any other path under the prefix answered with the app's
 * index.html, since the apps route in the browser. An app that was not built answers 503 naming the
 * command that builds it, so the API never depends on the web build.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem, sendShuttingDown } from './write-reply.ts';

export interface WebApp {
  /** The path the app is served under, without its trailing slash: `/console`. */
  readonly prefix: string;
  /** The folder of the app's build (Vite's dist), holding index.html. */
  readonly root: string;
}

// Scripts and styles come from the app's own origin only; a logo may be any https image (branding).
const contentSecurityPolicy = [
  "default-src 'self'",
  "img-src 'self' https: data:",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

function setSecurityHeaders(reply: FastifyReply): void {
  reply
    .header('content-security-policy', contentSecurityPolicy)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-request-id', reply.request.id);
}

export function routeWebApps(app: FastifyInstance, webApps: readonly WebApp[], isClosing: () => boolean): void {
  const onRequest = (_request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    if (isClosing()) sendShuttingDown(reply);
    else done();
  };
  for (const webApp of webApps) {
    const operation = `web${webApp.prefix.replaceAll('/', '_')}`;
    // `/console` itself leads to `/console/`, so the app's relative asset paths resolve under the prefix.
    app.get(webApp.prefix, { config: { operation }, onRequest }, (request, reply) =>
      reply.code(308).header('location', `${webApp.prefix}/`).header('x-request-id', request.id).send(''),
    );
    if (!existsSync(join(webApp.root, 'index.html'))) {
      app.get(`${webApp.prefix}/*`, { config: { operation }, onRequest }, (_request, reply) =>
        sendProblem(
          reply,
          'unavailable',
          `This app is not built; run \`npm run build:web\` (looked in ${webApp.root}).`,
        ),
      );
      continue;
    }
    void app.register(
      async (scope) => {
        scope.addHook('onRequest', onRequest);
        // The plugin's own routes are counted and logged under the app's name, like every route.
        scope.addHook('onRoute', (routeOptions) => {
          routeOptions.config = { ...routeOptions.config, operation };
        });
        await scope.register(fastifyStatic, {
          root: webApp.root,
          prefix: '/',
          // A build's hashed assets never change under their name; index.html must be asked for anew.
          setHeaders(response, filePath) {
            response.header(
              'cache-control',
              filePath.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
            );
          },
          serveDotFiles: false,
          index: 'index.html',
        });
        scope.addHook('onSend', async (_request, reply, payload) => {
          setSecurityHeaders(reply);
          return payload;
        });
        // Routes that exist only in the browser (`/console/customers/c1`) get the app, which routes them.
        scope.setNotFoundHandler((request, reply) => {
          if (request.method !== 'GET' && request.method !== 'HEAD') {
            sendProblem(reply, 'route_not_found', `No route matches ${request.method} ${request.url.slice(0, 200)}.`);
            return;
          }
          reply.header('cache-control', 'no-cache');
          void reply.sendFile('index.html');
        });
      },
      { prefix: webApp.prefix },
    );
  }
}
