/**
 * The console in Chromium against a real server: sign-in, sign-out and an expired session; every
 * screen shows the figures the API returns for a seeded customer; a key without a scope does not see
 * what it may not do; axe finds no serious violation on any screen; the main screens' screenshots.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { BrowserHarness, SeededCustomer } from '../src/harness.ts';
import {
  browserUnavailable,
  expectNoSeriousA11yViolations,
  saveScreenshot,
  seedCustomer,
  startBrowserHarness,
} from '../src/harness.ts';
import { signIn, textOf } from './console-pages.ts';

const dayMs = 86_400_000;

describe('console', { skip: browserUnavailable() }, () => {
  let harness: BrowserHarness;
  let acme: SeededCustomer;
  before(async () => {
    harness = await startBrowserHarness();
    acme = await seedCustomer(harness.sdk, 'org_acme', 'Acme Corp');
    await seedCustomer(harness.sdk, 'org_globex', 'Globex');
    await harness.sdk.upsertModelPrice({
      model: 'gpt-x',
      provider: 'openai',
      input_per_million: '2.5',
      output_per_million: '10',
    });
    await harness.sdk.createPlan({
      id: 'pro',
      name: 'Pro',
      version: { period: { interval: 'month' }, allowances: [{ asset: 'credits', amount: '1000' }] },
    });
    await harness.sdk.createSubscription({ customer: 'org_acme', plan: 'pro' });
  });
  after(async () => {
    await harness?.close();
  });

  describe('session', () => {
    it('signs in with a key, keeps nothing in storage, holds an HttpOnly SameSite=Strict cookie and signs out', async () => {
      const page = await harness.newPage();
      await page.goto('/console/');
      await expectNoSeriousA11yViolations(page, 'sign-in');
      await signIn(page, harness.ownerKey);
      assert.equal(await textOf(page, '[data-testid=environment]'), 'live');
      // The key is in no script-readable storage: only the HttpOnly cookie remains.
      assert.equal(await page.evaluate('localStorage.length + sessionStorage.length'), 0);
      assert.equal(await page.evaluate('document.cookie'), '');
      const cookies = await page.context().cookies();
      const session = cookies.find((cookie) => cookie.name === 'bursar_console');
      assert.ok(session, JSON.stringify(cookies));
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Strict');
      assert.ok(!session.value.includes(harness.ownerKey));

      // A reload keeps the session (the server knows it), then sign-out ends it server-side.
      await page.reload();
      await page.getByRole('navigation', { name: 'Console' }).waitFor();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByText('You are signed out.').waitFor();
      const status = await page.evaluate(
        "fetch('/v1/customers', { credentials: 'same-origin' }).then((response) => response.status)",
      );
      assert.equal(status, 401);
      await page.reload();
      await page.getByRole('heading', { name: 'Sign in to the Bursar console' }).waitFor();
    });

    it('refuses a wrong key with the server’s problem, on the page', async () => {
      const page = await harness.newPage();
      await page.goto('/console/');
      await page.getByLabel('API key').fill('bk_live_not-a-key');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').waitFor();
      assert.equal(await page.getByRole('navigation', { name: 'Console' }).count(), 0);
    });

    it('goes back to sign-in with a message when the session expires', async () => {
      const page = await harness.newPage();
      // The page's clock is Playwright's, so the session's 8 hours can pass in a moment.
      await page.clock.install();
      await signIn(page, harness.ownerKey);
      await page.clock.fastForward(8 * 60 * 60 * 1000 + 1000);
      await page.getByText('Your session has expired. Sign in again.').waitFor();
      await page.getByLabel('API key').waitFor();
    });

    it('goes back to sign-in when the key is revoked elsewhere, at the next call', async () => {
      const key = await harness.sdk.createApiKey({ name: 'to be revoked', scopes: ['read'] });
      assert.ok(typeof key.key === 'string');
      const page = await harness.newPage();
      await signIn(page, key.key);
      // Every call the first screen makes has answered before the key goes.
      await page.locator('tr[data-customer=org_acme] li[data-asset=credits]').waitFor();
      await harness.sdk.revokeApiKey({ id: key.id });
      await page.getByRole('link', { name: 'Catalog' }).click();
      await page.getByText(/Sign in again/).waitFor();
      await page.getByLabel('API key').waitFor();
    });
  });

  describe('screens', () => {
    let page: Page;
    before(async () => {
      page = await harness.newPage();
      await signIn(page, harness.ownerKey);
    });

    it('customers: each with its balance per asset, and search by name or id', async () => {
      await page.goto('/console/customers');
      for (const customer of ['org_acme', 'org_globex']) {
        const { balances } = await harness.sdk.getBalances({ customer });
        for (const balance of balances) {
          const cell = await textOf(page, `tr[data-customer=${customer}] li[data-asset=${balance.asset}]`);
          assert.equal(cell, `${balance.balance} ${balance.asset}`);
        }
      }
      assert.equal(await page.title(), 'Customers · Bursar console');
      await expectNoSeriousA11yViolations(page, 'customers');
      await saveScreenshot(page, 'console-customers');

      await page.getByLabel('Search by id or name').fill('glob');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForURL(/q=glob/);
      await page.locator('tr[data-customer=org_globex]').waitFor();
      assert.equal(await page.locator('tr[data-customer=org_acme]').count(), 0);
      await page.getByLabel('Search by id or name').fill('org_ac');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForURL(/q=org_ac/);
      await page.locator('tr[data-customer=org_acme]').waitFor();
      assert.equal(await page.locator('tr[data-customer=org_globex]').count(), 0);

      // Past one page (50), the rest comes with "More customers", following next_cursor.
      for (let index = 0; index < 50; index++) await harness.sdk.createCustomer({ id: `org_bulk_${index}` });
      await page.goto('/console/customers');
      await page.locator('tr[data-customer]').nth(49).waitFor();
      assert.equal(await page.locator('tr[data-customer]').count(), 50);
      await page.getByRole('button', { name: 'More customers' }).click();
      await page.locator('tr[data-customer]').nth(51).waitFor();
      assert.equal(await page.locator('tr[data-customer]').count(), 52);
      assert.equal(await page.getByRole('button', { name: 'More customers' }).count(), 0);
    });

    it('one customer: balances, grants, holds with pinned grants, draws per grant and usage, as the API returns them', async () => {
      await page.goto('/console/customers/org_acme');
      const { balances } = await harness.sdk.getBalances({ customer: acme.customer });
      for (const balance of balances) {
        const row = `[data-testid=balances] tr[data-asset=${balance.asset}]`;
        for (const field of ['balance', 'held', 'available', 'debt', 'overdraft_limit'] as const) {
          assert.equal(await textOf(page, `${row} [data-field=${field}]`), balance[field], field);
        }
        if (balance.next_expiry !== null) {
          assert.match(
            await textOf(page, `${row} [data-field=next_expiry]`),
            new RegExp(`^${balance.next_expiry.amount} at`),
          );
        }
      }

      const grants = await harness.sdk.listGrants({ customer: acme.customer, limit: 100 });
      assert.ok(grants.data.length >= 3);
      for (const grant of grants.data) {
        const row = `[data-testid=grants] tr[data-grant=${grant.id}]`;
        assert.equal(await textOf(page, `${row} [data-field=remaining]`), `${grant.remaining} of ${grant.amount}`);
        const text = await textOf(page, row);
        assert.ok(text.includes(grant.category) && text.includes(grant.reason ?? ''), text);
        if (grant.cost_basis !== null)
          assert.ok(text.includes(`${grant.cost_basis.total} ${grant.cost_basis.currency}`));
        if (grant.features !== null) assert.ok(text.includes(grant.features.join(', ')));
      }

      const hold = await harness.sdk.getHold({ id: acme.hold });
      const holdRow = await textOf(page, `[data-testid=holds] tr[data-hold=${acme.hold}]`);
      assert.ok(hold.reservations.length > 0);
      for (const reservation of hold.reservations) {
        assert.ok(holdRow.includes(`${reservation.grant ?? 'overdraft'}: ${reservation.amount}`), holdRow);
      }

      const debit = await harness.sdk.getTransaction({ id: acme.debit });
      const debitRow = await textOf(page, `[data-testid=ledger] tr[data-transaction=${acme.debit}]`);
      assert.ok(debit.draws.length > 0);
      for (const draw of debit.draws) {
        assert.ok(debitRow.includes(`${draw.grant ?? 'overdraft'}: ${draw.amount}`), debitRow);
      }

      // The chart draws the same buckets the figures table lists; both come from getUsage.
      const startOfToday = Math.floor(Date.now() / dayMs) * dayMs;
      const usage = await harness.sdk.getUsage({
        customer: acme.customer,
        from: new Date(startOfToday - 29 * dayMs).toISOString(),
        to: new Date(startOfToday + dayMs).toISOString(),
        granularity: 'day',
      });
      assert.ok(usage.buckets.length >= 5);
      await page.locator('.chart svg .recharts-bar-rectangle').first().waitFor();
      const rows = await page.locator('[data-testid=usage] tbody tr').allTextContents();
      assert.equal(rows.length, usage.buckets.length);
      for (const bucket of usage.buckets) {
        const cost = Object.entries(bucket.cost)
          .map(([asset, amount]) => `${amount} ${asset}`)
          .join(', ');
        const expected = `${bucket.start.slice(0, 10)}${bucket.feature}${bucket.events}${cost}`;
        assert.ok(
          rows.some((row) => row.startsWith(expected)),
          `${expected} in ${rows.join(' | ')}`,
        );
      }
      // The consumption-order inspector answers what checkDebit answers, grant by grant.
      const check = await harness.sdk.checkDebit({
        customer: acme.customer,
        asset: 'credits',
        amount: '1200',
        feature: 'chat',
      });
      await page.getByLabel('Check amount').fill('1200');
      await page.getByLabel('For feature (optional)').fill('chat');
      await page.getByRole('button', { name: 'Check', exact: true }).click();
      await page.locator('[data-testid=debit-check]').waitFor();
      for (const line of check.explanation) {
        const draw = check.draws.find((candidate) => candidate.grant === line.grant);
        assert.equal(
          await textOf(page, `[data-testid=debit-check] tr[data-grant=${line.grant}] [data-field=draw]`),
          draw?.amount ?? '—',
        );
      }
      const [subscription] = (await harness.sdk.listSubscriptions({ customer: acme.customer })).data;
      assert.ok(subscription);
      const shown = await textOf(page, `[data-subscription=${subscription.id}] h3`);
      assert.ok(shown.includes(`${subscription.plan} v${subscription.version} · ${subscription.status}`), shown);
      assert.equal(await page.title(), 'Customer org_acme · Bursar console');
      await expectNoSeriousA11yViolations(page, 'customer');
      await saveScreenshot(page, 'console-customer');
    });

    it('an unknown customer: one message, no empty sections', async () => {
      await page.goto('/console/customers/org_nobody');
      await page.getByRole('alert').filter({ hasText: 'No customer org_nobody in this environment.' }).waitFor();
      assert.equal(await page.getByRole('heading', { name: 'Grants' }).count(), 0);
    });

    it('catalog: features, price books with their versions', async () => {
      await page.goto('/console/catalog');
      const features = await harness.sdk.listFeatures({ limit: 100 });
      await page.locator('[data-testid=features] tbody tr').first().waitFor();
      const featureRows = await page.locator('[data-testid=features] tbody tr').allTextContents();
      assert.equal(featureRows.length, features.data.length);
      const book = await harness.sdk.getPriceBook({ key: 'standard' });
      const history = await textOf(page, '[data-price-book=standard] table');
      for (const version of book.versions) assert.ok(history.includes(`v${version.version}`));
      const [model] = (await harness.sdk.listModelPrices({ limit: 100 })).data;
      assert.ok(model);
      const modelRow = await textOf(page, `[data-testid=model-prices] tr[data-model="${model.model}"]`);
      assert.ok(modelRow.includes(model.input_per_million) && modelRow.includes(model.output_per_million), modelRow);
      const plan = await harness.sdk.getPlan({ plan: 'pro' });
      assert.match(await textOf(page, '[data-plan=pro] h3'), new RegExp(`latest v${plan.latest_version}`));
      await expectNoSeriousA11yViolations(page, 'catalog');
      await saveScreenshot(page, 'console-catalog');
    });

    it('audit log: the events with their verify status, filtered by action and customer', async () => {
      await page.goto('/console/audit');
      const verification = await harness.sdk.verifyAuditLog();
      assert.equal(verification.valid, true);
      assert.match(await textOf(page, '[data-testid=verify]'), /Hash chain verified: \d+ events intact/);
      await page.getByLabel('Action').fill('grant.created');
      await page.getByLabel('Customer').fill('org_globex');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL(/action=grant.created/);
      const expected = await harness.sdk.listAuditEvents({
        action: 'grant.created',
        customer: 'org_globex',
        limit: 100,
      });
      assert.equal(expected.data.length, 3);
      await page.waitForFunction(
        `document.querySelectorAll('[data-testid=audit] tbody tr').length === ${expected.data.length}`,
      );
      const actions = await page
        .locator('[data-testid=audit] tbody tr')
        .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-action')));
      assert.deepEqual(new Set(actions), new Set(['grant.created']));
      const reasons = await page.locator('[data-testid=audit] [data-field=reason]').allTextContents();
      assert.deepEqual(reasons.sort(), expected.data.map((event) => event.reason ?? '—').sort());
      await expectNoSeriousA11yViolations(page, 'audit log');
      await saveScreenshot(page, 'console-audit');
    });

    it('webhooks: the endpoints and an endpoint’s delivery log', async () => {
      await page.goto('/console/webhooks');
      const endpoints = await harness.sdk.listWebhookEndpoints({ limit: 100 });
      await page.locator('[data-testid=endpoints] tbody tr').first().waitFor();
      const rows = await page.locator('[data-testid=endpoints] tbody tr').count();
      assert.equal(rows, endpoints.data.length);
      await page
        .locator(`tr[data-endpoint=${acme.webhookEndpoint}]`)
        .getByRole('button', { name: /^Deliveries/ })
        .click();
      await page.getByRole('heading', { name: 'Delivery log' }).waitFor();
      await expectNoSeriousA11yViolations(page, 'webhooks');
    });

    it('API keys and environments', async () => {
      await page.goto('/console/keys');
      const keys = await harness.sdk.listApiKeys({ limit: 100 });
      await page.locator('[data-testid=api-keys] tbody tr').first().waitFor();
      assert.equal(await page.locator('[data-testid=api-keys] tbody tr').count(), keys.data.length);
      for (const key of keys.data) assert.ok((await textOf(page, `tr[data-key=${key.id}]`)).includes(key.prefix));
      const environments = await harness.sdk.listEnvironments({ limit: 100 });
      await page.locator('[data-testid=environments] tbody tr').first().waitFor();
      assert.equal(await page.locator('[data-testid=environments] tbody tr').count(), environments.data.length);
      await expectNoSeriousA11yViolations(page, 'API keys');
    });

    it('jobs: the runner’s jobs and the scheduled work', async () => {
      await page.goto('/console/jobs');
      const jobs = await harness.sdk.listJobs();
      await page.locator('[data-testid=jobs] tbody tr').first().waitFor();
      const names = await page.locator('[data-testid=jobs] tbody th').allTextContents();
      assert.deepEqual(
        names,
        jobs.data.map((job) => job.name),
      );
      await expectNoSeriousA11yViolations(page, 'jobs');
    });

    it('threw no script error on any screen', () => {
      assert.deepEqual(harness.pageErrors, []);
    });
  });

  describe('scopes', () => {
    it('a read key sees the figures but no action and no admin screen', async () => {
      const reader = await harness.sdk.createApiKey({ name: 'support reader', scopes: ['read'] });
      assert.ok(typeof reader.key === 'string');
      const page = await harness.newPage();
      await signIn(page, reader.key, '/console/customers/org_acme');
      await page.locator('[data-testid=grants] tbody tr').first().waitFor();
      assert.equal(await page.getByRole('toolbar', { name: 'Customer actions' }).count(), 0);
      assert.equal(await page.getByRole('button', { name: /^Void grant/ }).count(), 0);
      assert.equal(await page.getByRole('button', { name: /^Reverse transaction/ }).count(), 0);
      const links = await page.getByRole('navigation', { name: 'Console' }).getByRole('link').allTextContents();
      assert.deepEqual(links, ['Customers', 'Catalog']);
      await page.goto('/console/catalog');
      await page.locator('[data-price-book=standard]').waitFor();
      assert.equal(await page.getByRole('button', { name: /^Draft version/ }).count(), 0);
      // The server refuses what the page hides: a write with the session's own CSRF token is still 403.
      const status = await page.evaluate(`fetch('/v1/console/sessions/current').then((r) => r.json()).then((session) =>
        fetch('/v1/adjustments', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json',
          'x-csrf-token': session.csrf_token }, body: JSON.stringify({ customer: 'org_acme', asset: 'credits', amount: '1', reason: 'x' }) }))
        .then((response) => response.status)`);
      assert.equal(status, 403);
    });
  });
});
