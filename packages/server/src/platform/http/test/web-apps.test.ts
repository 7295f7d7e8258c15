/**
 * Serving the built web apps: files under their prefix, the app's index.html for paths the browser
 * routes, security and cache headers, `/` to the first app, and a clear 503 for an app not built.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../logger.ts';
import { createMetricsRegistry } from '../metrics.ts';
import { buildOpenApiDocument } from '../openapi.ts';
import { createHttpServer } from '../server.ts';

const folder = mkdtempSync(join(tmpdir(), 'bursar-web-apps-'));
const consoleRoot = join(folder, 'console');
mkdirSync(join(consoleRoot, 'assets'), { recursive: true });
writeFileSync(join(consoleRoot, 'index.html'), '<!doctype html><title>console</title><div id="root"></div>');
writeFileSync(join(consoleRoot, 'assets', 'app-1a2b.js'), 'console.log("app")');
writeFileSync(join(folder, 'secret.txt'), 'outside the app');

const logLines: { operation?: string; path?: string | null }[] = [];
const server = createHttpServer({
  routes: [],
  authenticate: () => null,
  logger: createLogger({
    // The apps' files are logged at debug, like the other routes outside /v1.
    level: 'debug',
    stream: {
      write: (text: string) =>
        logLines.push(
          ...text
            .trim()
            .split('\n')
            .map((line) => JSON.parse(line)),
        ),
    },
  }),
  metrics: createMetricsRegistry(),
  isReady: () => true,
  openApiDocument: buildOpenApiDocument([], { version: 'test' }),
  webApps: [
    { prefix: '/console', root: consoleRoot },
    { prefix: '/portal', root: join(folder, 'portal-not-built') },
  ],
});
let base = '';

before(async () => {
  const address = await server.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${address.port}`;
});
after(async () => {
  await server.close(1000);
  rmSync(folder, { recursive: true, force: true });
});

describe('web apps', () => {
  it('sends / to the first app and /console to /console/', async () => {
    const root = await fetch(`${base}/`, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/console/');
    const bare = await fetch(`${base}/console`, { redirect: 'manual' });
    assert.equal(bare.status, 308);
    assert.equal(bare.headers.get('location'), '/console/');
  });

  it("serves the app's index.html with a same-origin CSP and no caching", async () => {
    const answer = await fetch(`${base}/console/`);
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await answer.text(), /<title>console<\/title>/);
    assert.equal(answer.headers.get('cache-control'), 'no-cache');
    assert.match(answer.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.match(answer.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.equal(answer.headers.get('x-content-type-options'), 'nosniff');
  });

  it('serves hashed assets as immutable, and logs them under the app', async () => {
    const answer = await fetch(`${base}/console/assets/app-1a2b.js`);
    assert.equal(answer.status, 200);
    // The request line is written once the response has gone, so it may follow the answer by a moment.
    for (let waited = 0; waited < 50 && logLines.length === 0; waited += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(logLines.at(-1)?.operation, 'web_console', JSON.stringify(logLines.at(-1)));
    assert.match(answer.headers.get('content-type') ?? '', /javascript/);
    assert.equal(answer.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  });

  it('answers a path the browser routes with index.html, and never a file outside the app', async () => {
    const deep = await fetch(`${base}/console/customers/org_42`);
    assert.equal(deep.status, 200);
    assert.match(await deep.text(), /<title>console<\/title>/);
    for (const path of ['/console/../secret.txt', '/console/%2e%2e/secret.txt', '/console/..%2fsecret.txt']) {
      const answer = await fetch(`${base}${path}`);
      assert.doesNotMatch(await answer.text(), /outside the app/, path);
    }
  });

  it('refuses other methods under an app with a problem', async () => {
    const answer = await fetch(`${base}/console/customers`, { method: 'POST', body: '{}' });
    assert.equal(answer.status, 404);
    assert.equal(answer.headers.get('content-type'), 'application/problem+json');
  });

  it('answers 503 naming the build command for an app that was not built', async () => {
    const answer = await fetch(`${base}/portal/`);
    assert.equal(answer.status, 503);
    const body = (await answer.json()) as { code: string; detail: string };
    assert.equal(body.code, 'unavailable');
    assert.match(body.detail, /npm run build:web/);
  });
});
