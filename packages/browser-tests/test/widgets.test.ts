/**
 * The widgets as an integrator embeds them: packages/react/demo/ (the custom-elements build) served by a small
 * static server on another 127.0.0.1 port, so every call to Bursar is cross-origin with a bearer portal token
 * and goes through CORS (`BURSAR_CORS_ORIGINS` names the demo's origin). Each widget shows real data, an empty
 * customer's empty states, and an error state for a token the server refuses; axe passes on each.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import type { BrowserHarness, SeededCustomer } from '../src/harness.ts';
import {
  browserUnavailable,
  expectNoSeriousA11yViolations,
  saveScreenshot,
  seedCustomer,
  startBrowserHarness,
} from '../src/harness.ts';
import { digitsOf } from './displayed-decimal.ts';

const reactPackage = fileURLToPath(new URL('../../react/', import.meta.url));
const elementsBundle = join(reactPackage, 'dist', 'bursar-elements.js');
const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** Serves packages/react (the demo page and the built bundle) on 127.0.0.1, nothing outside it. */
async function startDemoServer(): Promise<{ origin: string; server: Server }> {
  const server = createServer((request, response) => {
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    const relative = normalize(pathname.endsWith('/') ? `${pathname}index.html` : pathname).replace(/^([/\\])+/, '');
    const file = join(reactPackage, relative);
    if (
      !file.startsWith(reactPackage) ||
      !(relative.startsWith('demo') || relative.startsWith('dist')) ||
      !existsSync(file)
    ) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': contentTypes[extname(file)] ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const widgetTags = [
  'bursar-credit-balance',
  'bursar-credit-utilization',
  'bursar-credit-grants',
  'bursar-holds',
  'bursar-usage-chart',
  'bursar-transactions',
  'bursar-auto-recharge',
] as const;

/** Waits until every widget left its loading state and answers each one's state (ready, empty or error). */
async function widgetStates(page: Page): Promise<Record<string, string>> {
  const states: Record<string, string> = {};
  for (const tag of widgetTags) {
    // Playwright's CSS locators pierce open shadow roots.
    const state = page.locator(`${tag} .bursar-widget [data-state]:not([data-state="loading"])`).first();
    await state.waitFor({ timeout: 15_000 });
    states[tag] = (await state.getAttribute('data-state')) ?? '';
  }
  return states;
}

describe('widgets demo page (custom elements, cross-origin)', { skip: browserUnavailable() }, () => {
  let harness: BrowserHarness;
  let demo: { origin: string; server: Server };
  let seeded: SeededCustomer;

  const demoUrl = (token: string) =>
    `${demo.origin}/demo/?base_url=${encodeURIComponent(harness.baseUrl)}&token=${encodeURIComponent(token)}`;
  const tokenFor = async (customer: string) =>
    (await harness.sdk.createPortalSession({ customer, return_url: 'https://app.example.test/' })).token;

  before(async () => {
    if (!existsSync(elementsBundle)) {
      // `npm install` builds it (postinstall); a fresh checkout that skipped the scripts builds it here.
      const built = spawnSync('npm', ['run', 'build', '-w', '@bursar/react'], { stdio: 'inherit' });
      assert.equal(built.status, 0, 'the custom-elements build failed');
    }
    demo = await startDemoServer();
    harness = await startBrowserHarness({ corsOrigins: [demo.origin] });
    seeded = await seedCustomer(harness.sdk, 'org_widgets', 'Widgets Org');
  });
  after(async () => {
    await harness?.close();
    await new Promise((resolve) => demo?.server.close(resolve));
  });

  it('renders every widget with the real data of a seeded customer', async () => {
    const page = await harness.newPage();
    await page.goto(demoUrl(await tokenFor(seeded.customer)));
    const states = await widgetStates(page);
    assert.deepEqual(states, Object.fromEntries(widgetTags.map((tag) => [tag, 'ready'])), JSON.stringify(states));

    const balances = await harness.sdk.getBalances({ customer: seeded.customer });
    const credits = balances.balances.find((balance) => balance.asset === 'credits');
    assert.ok(credits);
    const shown = (await page.locator('bursar-credit-balance [data-testid="available-credits"]').textContent()) ?? '';
    assert.equal(digitsOf(shown), digitsOf(credits.available));

    const grants = await harness.sdk.listGrants({ customer: seeded.customer, status: 'active', limit: 100 });
    for (const grant of grants.data) await page.locator(`bursar-credit-grants [data-grant="${grant.id}"]`).waitFor();
    await page.locator(`bursar-holds [data-hold="${seeded.hold}"]`).waitFor();
    await page.locator('bursar-usage-chart .recharts-bar-rectangle').first().waitFor();
    const newest = await harness.sdk.listTransactions({ customer: seeded.customer, limit: 10 });
    for (const transaction of newest.data) {
      await page.locator(`bursar-transactions [data-transaction="${transaction.id}"]`).waitFor();
    }
    await page.locator('bursar-credit-utilization [role="progressbar"]').first().waitFor();
    await page.locator('bursar-auto-recharge form[data-asset="credits"]').waitFor();

    await expectNoSeriousA11yViolations(page, 'widgets demo');
    await saveScreenshot(page, 'widgets-demo');

    // The hourly chart is a second query: the toggle switches it.
    await page.locator('bursar-usage-chart').getByRole('button', { name: 'By hour' }).click();
    await page.locator('bursar-usage-chart figure[data-granularity="hour"]').waitFor();

    await expectNoSeriousA11yViolations(page, 'widgets demo, by hour');
    assert.deepEqual(harness.pageErrors, []);
  });

  it('formats numbers in the locale it is given and takes replacement strings', async () => {
    const page = await harness.newPage();
    await page.goto(`${demoUrl(await tokenFor(seeded.customer))}&locale=de-DE`);
    const available = page.locator('bursar-credit-balance [data-testid="available-credits"]');
    await available.waitFor();
    const credits = (await harness.sdk.getBalances({ customer: seeded.customer })).balances.find(
      (balance) => balance.asset === 'credits',
    );
    assert.ok(credits);
    // The string itself is formatted (Intl formats a numeric string exactly): German groups with "." and uses ",".
    const german = new Intl.NumberFormat('de-DE', { maximumFractionDigits: 20 }).format(
      credits.available as Intl.StringNumericLiteral,
    );
    assert.match(german, /,/);
    assert.equal(((await available.textContent()) ?? '').replace('Available ', ''), german);

    // A page changes any string through the messages attribute; the element renders again.
    await page
      .locator('bursar-credit-balance')
      .evaluate((element) => element.setAttribute('messages', JSON.stringify({ balanceTitle: 'Guthaben' })));
    await page.locator('bursar-credit-balance h2', { hasText: 'Guthaben' }).waitFor();
  });

  it("names the customer's plan and its period in CreditUtilization, counting the plan's grants of the period", async () => {
    await harness.sdk.createCustomer({ id: 'org_plan', name: 'Plan Org' });
    await harness.sdk.createPlan({
      id: 'growth',
      name: 'Growth',
      version: { period: { interval: 'month' }, allowances: [{ asset: 'credits', amount: '1000' }] },
    });
    const subscription = await harness.sdk.createSubscription({ customer: 'org_plan', plan: 'growth' });
    await harness.sdk.createDebit({ customer: 'org_plan', asset: 'credits', amount: '12.5' });
    const page = await harness.newPage();
    await page.goto(`${demoUrl(await tokenFor('org_plan'))}&locale=en-US`);
    const line = page.locator(`bursar-credit-utilization [data-testid="utilization-plan-credits-${subscription.id}"]`);
    await line.waitFor({ timeout: 15_000 });
    const text = (await line.textContent()) ?? '';
    const { starts_at: start, ends_at: end } = subscription.current_period;
    assert.ok(start && end);
    const date = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium' });
    assert.ok(text.includes('Growth (version 1)'), text);
    assert.ok(text.includes(`${date.format(new Date(start))} – ${date.format(new Date(end))}`), text);
    // Used vs granted of the plan's grant for this period (the debit could draw on nothing else); a grant
    // already issued for a later period is not counted.
    const inPeriod = (await harness.sdk.listGrants({ customer: 'org_plan' })).data.filter(
      (grant) =>
        Date.parse(grant.effective_at) >= Date.parse(start) && Date.parse(grant.effective_at) < Date.parse(end),
    );
    assert.deepEqual(
      inPeriod.map((grant) => [grant.category, grant.amount, grant.remaining]),
      [['plan', '1000', '987.5']],
    );
    assert.ok(text.includes('12.5 used of 1,000'), text);
    assert.equal(await page.locator('bursar-credit-utilization [data-testid="utilization-plan-credits"]').count(), 0);
    await expectNoSeriousA11yViolations(page, 'widgets demo with a plan');
    assert.deepEqual(harness.pageErrors, []);
  });

  it('shows the empty state of each list for a customer with nothing yet', async () => {
    await harness.sdk.createCustomer({ id: 'org_empty', name: 'Empty Org' });
    const page = await harness.newPage();
    await page.goto(demoUrl(await tokenFor('org_empty')));
    const states = await widgetStates(page);
    for (const tag of [
      'bursar-credit-utilization',
      'bursar-credit-grants',
      'bursar-holds',
      'bursar-usage-chart',
      'bursar-transactions',
    ]) {
      assert.equal(states[tag], 'empty', `${tag}: ${JSON.stringify(states)}`);
    }
    assert.notEqual(states['bursar-credit-balance'], 'error');
    await expectNoSeriousA11yViolations(page, 'widgets demo, empty');
  });

  it('shows an error state in every widget when the server refuses the token', async () => {
    const page = await harness.newPage();
    await page.goto(demoUrl('bps_not_a_session'));
    const states = await widgetStates(page);
    assert.deepEqual(states, Object.fromEntries(widgetTags.map((tag) => [tag, 'error'])), JSON.stringify(states));
    assert.match((await page.locator('bursar-credit-grants [role="alert"]').textContent()) ?? '', /session has ended/);
    await expectNoSeriousA11yViolations(page, 'widgets demo, refused token');
  });

  it('is refused by the browser from an origin the operator did not allow', async () => {
    // The same page and token from a second static server: its origin is not in BURSAR_CORS_ORIGINS.
    const other = await startDemoServer();
    try {
      const token = await tokenFor(seeded.customer);
      const page = await harness.newPage();
      await page.goto(`${other.origin}/demo/?base_url=${encodeURIComponent(harness.baseUrl)}&token=${token}`);
      const states = await widgetStates(page);
      assert.equal(states['bursar-credit-grants'], 'error');
    } finally {
      await new Promise((resolve) => other.server.close(resolve));
    }
  });
});
