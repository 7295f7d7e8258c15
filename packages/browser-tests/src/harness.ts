/**
 * The browser-test harness: a real Bursar server on 127.0.0.1 (the test backend's SQLite file or
 * PostgreSQL database, the real clock), Debian's Chromium driven by playwright-core, axe-core for
 * accessibility, screenshots for the README, and one seeded customer with something on every screen.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bursar } from '@bursar/sdk';
import type { Config, RunningServer } from '@bursar/server';
import { startServer } from '@bursar/server';
import axe from 'axe-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { adminKey, createTestDatabase, testConfig } from '../../server/test/harness.ts';

const chromiumPath = process.env.BURSAR_CHROMIUM ?? '/usr/bin/chromium';
const imagesFolder = fileURLToPath(new URL('../../../docs/images/', import.meta.url));

/**
 * Why the browser tests cannot run here, or false when they can. Without Chromium they are skipped,
 * except where BURSAR_TEST_REQUIRE_BROWSER=1 (CI), where the missing browser fails them.
 */
export function browserUnavailable(): string | false {
  if (existsSync(chromiumPath) || process.env.BURSAR_TEST_REQUIRE_BROWSER === '1') return false;
  return `no Chromium at ${chromiumPath}: apt-get install -y chromium (or set BURSAR_CHROMIUM)`;
}

export interface BrowserHarness {
  /** `http://127.0.0.1:<port>`: the API, the console at /console/ and the portal at /portal/. */
  readonly baseUrl: string;
  /** The admin key of the `live` environment. */
  readonly ownerKey: string;
  /** A client of the server with the owner key. */
  readonly sdk: Bursar;
  readonly server: RunningServer;
  readonly browser: Browser;
  /** A page in a fresh browser context (its own cookies), with page errors collected. */
  newPage(): Promise<Page>;
  /** Errors thrown by the scripts of pages made by newPage, in order, as "<url>: <message>". */
  readonly pageErrors: string[];
  close(): Promise<void>;
}

export async function startBrowserHarness(overrides: Partial<Config> = {}): Promise<BrowserHarness> {
  const database = await createTestDatabase();
  // The real time, except while the catalog is set up: prices cannot be published in the past, so they
  // are published at a time before the usage history seedCustomer ingests, and then the clock catches up.
  let behindMs = catalogLeadMs;
  const clock = { now: () => Date.now() - behindMs };
  const server = await startServer(testConfig(database.url, overrides), { clock });
  const sdk = new Bursar({ baseUrl: server.url, apiKey: adminKey, retry: false });
  await setUpCatalog(sdk);
  behindMs = 0;
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    // Root in a container has no user namespace for Chromium's sandbox.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  return {
    baseUrl: server.url,
    ownerKey: adminKey,
    sdk,
    server,
    browser,
    pageErrors,
    async newPage() {
      const context = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 860 } });
      contexts.push(context);
      const page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
      return page;
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close();
      await server.close();
      await database.drop();
    },
  };
}

interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly { readonly target: readonly unknown[] }[];
}

/** Runs axe-core on the page as it is now and fails on any serious or critical violation. */
export async function expectNoSeriousA11yViolations(page: Page, label: string): Promise<void> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern (a script tag would be refused).
  await page.evaluate(axe.source);
  const violations = await page.evaluate(async () => {
    const result = await (
      globalThis as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }
    ).axe.run();
    return result.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      nodes: violation.nodes.slice(0, 5).map((node) => ({ target: node.target })),
    }));
  });
  const serious = violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
  if (serious.length > 0) {
    const lines = serious.map(
      (violation) =>
        `${violation.impact} ${violation.id}: ${violation.help} at ${violation.nodes.map((node) => JSON.stringify(node.target)).join(', ')}`,
    );
    throw new Error(`${label}: axe found ${serious.length} serious or critical violation(s):\n${lines.join('\n')}`);
  }
}

/** Saves a screenshot of the page as docs/images/<name>.png when BURSAR_SCREENSHOTS=1 (`npm run screenshots`). */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  if (process.env.BURSAR_SCREENSHOTS !== '1') return;
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`screenshot name ${name} must be lowercase words and dashes`);
  mkdirSync(imagesFolder, { recursive: true });
  await page.screenshot({ path: join(imagesFolder, `${name}.png`), fullPage: true });
}

export interface SeededCustomer {
  readonly customer: string;
  readonly asset: 'credits';
  /** Grant ids by what they are: paid (with a cost basis), promotional (expires soon), restricted (to `chat`). */
  readonly grants: { readonly paid: string; readonly promotional: string; readonly restricted: string };
  /** An open hold, pinned to the grants it reserved. */
  readonly hold: string;
  /** A debit of 25 credits for `chat`, and the transaction id of an ingested event's charge. */
  readonly debit: string;
  /** How many usage events were ingested, spread over the last five days. */
  readonly eventsIngested: number;
  readonly webhookEndpoint: string;
}

const day = 86_400_000;
/** How long before now the catalog's prices come into force: before the oldest seeded event. */
const catalogLeadMs = 7 * day;

/** Assets `credits` and `usd`, features `chat` and `search`, and the default price book pricing both. */
async function setUpCatalog(sdk: Bursar): Promise<void> {
  await sdk.createAsset({ code: 'credits', scale: 2 });
  await sdk.createAsset({ code: 'usd', scale: 2 });
  await sdk.createFeature({
    key: 'chat',
    name: 'Chat completions',
    quantities: { input_tokens: { property: 'input_tokens' }, output_tokens: { property: 'output_tokens' } },
  });
  await sdk.createFeature({ key: 'search', name: 'Web search', quantities: { queries: { count: true } } });
  await sdk.createPriceBook({ key: 'standard', default: true });
  await sdk.publishPriceVersion({
    key: 'standard',
    prices: [
      {
        feature: 'chat',
        options: [
          {
            asset: 'credits',
            components: [
              { quantity: 'input_tokens', rates: [{ per_unit: { unit_price: '0.5', per: 1000 } }] },
              { quantity: 'output_tokens', rates: [{ per_unit: { unit_price: '1.5', per: 1000 } }] },
            ],
          },
        ],
      },
      {
        feature: 'search',
        options: [
          { asset: 'credits', components: [{ quantity: 'queries', rates: [{ per_unit: { unit_price: '2' } }] }] },
        ],
      },
    ],
  });
}

/**
 * A customer with something on every screen (priced by the catalog every harness starts with): grants of three kinds, debits, a priced usage history
 * over five days, an open hold and a webhook endpoint (to a closed local port, so nothing leaves).
 */
export async function seedCustomer(
  sdk: Bursar,
  customer: string,
  name = `Customer ${customer}`,
): Promise<SeededCustomer> {
  await sdk.createCustomer({ id: customer, name });
  const now = Date.now();
  const paid = await sdk.createGrant({
    customer,
    asset: 'credits',
    amount: '500',
    category: 'paid',
    expires_at: new Date(now + 60 * day).toISOString(),
    cost_basis: { currency: 'usd', total: '50' },
    reason: 'Starter pack',
  });
  const promotional = await sdk.createGrant({
    customer,
    asset: 'credits',
    amount: '50',
    category: 'promotional',
    expires_at: new Date(now + 5 * day).toISOString(),
    reason: 'Welcome credit',
  });
  const restricted = await sdk.createGrant({
    customer,
    asset: 'credits',
    amount: '30',
    category: 'promotional',
    features: ['chat'],
    reason: 'Chat trial',
  });
  const debit = await sdk.createDebit({ customer, asset: 'credits', amount: '25', feature: 'chat' });
  const events = [];
  for (let daysAgo = 4; daysAgo >= 0; daysAgo--) {
    for (let index = 0; index < 3; index++) {
      events.push({
        id: `${customer}-chat-${daysAgo}-${index}`,
        customer,
        feature: 'chat',
        timestamp: new Date(now - daysAgo * day - index * 60_000).toISOString(),
        properties: { model: 'gpt-x', input_tokens: 1000 * (index + 1), output_tokens: 500 * (daysAgo + 1) },
      });
    }
    events.push({
      id: `${customer}-search-${daysAgo}`,
      customer,
      feature: 'search',
      timestamp: new Date(now - daysAgo * day - 30_000).toISOString(),
      properties: {},
    });
  }
  const ingested = await sdk.ingestEvents({ events });
  const refused = ingested.results.filter((result) => result.status !== 'accepted');
  if (refused.length > 0) throw new Error(`seedCustomer: events refused: ${JSON.stringify(refused.slice(0, 3))}`);
  const hold = await sdk.createHold({ customer, asset: 'credits', amount: '40', ttl_seconds: 3600 });
  const endpoint = await sdk.createWebhookEndpoint({ url: 'http://127.0.0.1:9/hooks', event_types: ['grant.created'] });
  return {
    customer,
    asset: 'credits',
    grants: { paid: paid.id, promotional: promotional.id, restricted: restricted.id },
    hold: hold.hold.id,
    debit: debit.transaction.id,
    eventsIngested: events.length,
    webhookEndpoint: endpoint.id,
  };
}
