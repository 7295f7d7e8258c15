/**
 * The customer portal in Chromium against a real server: opened by a portal session's one-time URL, it shows
 * the seeded customer's figures as the API returns them, follows a debit made through the API within a
 * second without reload, keeps auto-recharge within the operator's limits, and passes axe.
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
import { digitsOf } from './displayed-decimal.ts';

const returnUrl = 'https://app.example.test/account';

async function availableShown(page: Page, asset: string): Promise<string> {
  return digitsOf((await page.getByTestId(`available-${asset}`).textContent()) ?? '');
}

describe('customer portal', { skip: browserUnavailable() }, () => {
  let harness: BrowserHarness;
  let seeded: SeededCustomer;
  let page: Page;

  before(async () => {
    harness = await startBrowserHarness();
    seeded = await seedCustomer(harness.sdk, 'org_portal', 'Portal Org');
    await harness.sdk.updatePortalSettings({
      branding: { name: 'Acme AI', logo_url: `${harness.baseUrl}/portal/logo.svg`, accent_color: '#0b6e4f' },
      auto_recharge: {
        editable: true,
        threshold_max: '200',
        amount_min: '10',
        amount_max: '100',
        monthly_cap_max: null,
      },
      top_up: { prices: [] },
    });
    const session = await harness.sdk.createPortalSession({ customer: seeded.customer, return_url: returnUrl });
    page = await harness.newPage();
    await page.goto(session.url);
    await page.locator('[data-portal="ready"]').waitFor();
  });
  after(async () => {
    await harness?.close();
  });

  it('lands on /portal/ with the branding, the customer and the return link', async () => {
    assert.equal(new URL(page.url()).pathname, '/portal/');
    assert.equal((await page.locator('h1').textContent()) ?? '', 'Acme AI');
    assert.equal(await page.title(), 'Acme AI');
    assert.equal(await page.getByTestId('return-link').getAttribute('href'), returnUrl);
    assert.match((await page.locator('.portal-customer').textContent()) ?? '', /Portal Org/);
    // Strings evaluated in the page: this program is typed for Node, without the DOM's names.
    const accent = await page.evaluate(
      'getComputedStyle(document.querySelector(".portal")).getPropertyValue("--bursar-accent").trim()',
    );
    assert.equal(accent, '#0b6e4f');
    await page.waitForFunction('document.querySelector(".portal-logo")?.naturalWidth > 0', undefined, {
      timeout: 5000,
    });
  });

  it('shows the balances, grants, hold, usage and transactions the API returns', async () => {
    const balances = await harness.sdk.getBalances({ customer: seeded.customer });
    const credits = balances.balances.find((balance) => balance.asset === 'credits');
    assert.ok(credits);
    await page.locator('.bursar-credit-balance [data-state="ready"]').waitFor();
    assert.equal(await availableShown(page, 'credits'), digitsOf(credits.available));
    assert.equal(
      digitsOf((await page.locator('.bursar-credit-balance dd').first().textContent()) ?? ''),
      digitsOf(credits.held),
    );

    // Credits by grant lists what can still be spent: active and scheduled grants, not used-up ones.
    const grants = await harness.sdk.listGrants({ customer: seeded.customer, limit: 100 });
    const spendable = grants.data.filter((grant) => grant.status === 'active' || grant.status === 'scheduled');
    assert.ok(spendable.length >= 2, JSON.stringify(grants.data.map((grant) => grant.status)));
    for (const grant of spendable) {
      const row = page.locator(`.bursar-credit-grants [data-grant="${grant.id}"]`);
      await row.waitFor();
      assert.match(
        (await row.textContent()) ?? '',
        new RegExp(`${digitsOf(grant.remaining)} / ${digitsOf(grant.amount)}`),
      );
    }
    assert.equal(
      await page.locator('.bursar-credit-grants tbody tr').count(),
      spendable.length,
      'a used-up grant is not listed',
    );
    const hold = page.locator(`[data-hold="${seeded.hold}"]`);
    await hold.waitFor();
    const apiHold = await harness.sdk.getHold({ id: seeded.hold });
    assert.ok(apiHold.reservations.length > 0);
    for (const reservation of apiHold.reservations) {
      await hold.locator(`[data-pinned-grant="${reservation.grant ?? 'overdraft'}"]`).waitFor();
    }

    await page.locator('.bursar-usage-chart .recharts-bar-rectangle').first().waitFor();
    const features = await page
      .locator('.bursar-usage-totals tbody tr')
      .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-feature')));
    assert.deepEqual(features, ['chat', 'search']);

    // The first page is the API's first page, newest first; "show more" follows the cursor to the seeded debit.
    const firstPage = await harness.sdk.listTransactions({ customer: seeded.customer, limit: 20 });
    const shownIds = await page
      .locator('.bursar-transactions tbody tr')
      .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-transaction')));
    assert.deepEqual(
      shownIds,
      firstPage.data.map((transaction) => transaction.id),
    );
    const debitRow = page.locator(`[data-transaction="${seeded.debit}"]`);
    const rows = page.locator('.bursar-transactions tbody tr');
    for (let pages = 1; (await debitRow.count()) === 0; pages++) {
      assert.ok(pages < 10, 'the seeded debit is not in the first ten pages');
      const shown = await rows.count();
      await page.locator('.bursar-transactions').getByRole('button', { name: 'Show more' }).click();
      await rows.nth(shown).waitFor();
    }
    assert.match((await debitRow.textContent()) ?? '', /−25/);

    await page.locator('.bursar-credit-utilization [data-testid="utilization-credits"]').waitFor();
  });

  it('updates the balance within a second of a debit made through the API, without reload', async (context) => {
    const before = await availableShown(page, 'credits');
    let reloaded = false;
    page.once('load', () => {
      reloaded = true;
    });
    const debit = await harness.sdk.createDebit({
      customer: seeded.customer,
      asset: 'credits',
      amount: '7.25',
      feature: 'search',
    });
    const debitedAt = Date.now();
    const expected = digitsOf(debit.balance.available);
    assert.notEqual(expected, before);
    // Polled from here rather than with waitForFunction, whose in-page polling the portal's CSP (no eval) refuses.
    let shown = await availableShown(page, 'credits');
    while (shown !== expected && Date.now() - debitedAt <= 1000) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      shown = await availableShown(page, 'credits');
    }
    const elapsed = Date.now() - debitedAt;
    assert.equal(shown, expected, `the balance had not changed ${elapsed} ms after the debit`);
    context.diagnostic(`the portal showed the new balance ${elapsed} ms after the debit's reply`);
    assert.equal(reloaded, false);
    // The lists follow the same change: the new debit appears in the transactions.
    await page.locator(`[data-transaction="${debit.transaction.id}"]`).waitFor({ timeout: 5000 });
  });

  it('shows top-up as clearly unavailable without a payment provider', async () => {
    const topUp = page.locator('.bursar-credit-balance [data-top-up="unavailable"]');
    await topUp.waitFor();
    assert.equal(await topUp.getByRole('button', { name: 'Top up' }).isDisabled(), true);
    assert.match((await topUp.textContent()) ?? '', /not available/);
  });

  it("keeps auto-recharge within the operator's limits and saves it", async () => {
    const form = page.locator('.bursar-auto-recharge form');
    await form.waitFor();
    await form.getByLabel('Recharge automatically').check();
    await form.locator('input[name="threshold"]').fill('50');
    await form.locator('input[name="amount"]').fill('500');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByText('At most 100.').first().waitFor();
    assert.equal(await form.locator('input[name="amount"]').getAttribute('aria-invalid'), 'true');

    await form.locator('input[name="amount"]').fill('25');
    await form.locator('input[name="monthly_cap"]').fill('75');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByText('Saved.').waitFor();
    const rule = await harness.sdk.getAutoTopUpRule({ customer: seeded.customer, asset: 'credits' });
    assert.equal(rule.enabled, true);
    assert.equal(digitsOf(rule.threshold), '50');
    assert.equal(digitsOf(rule.amount), '25');
    assert.equal(digitsOf(rule.monthly_cap ?? ''), '75');
  });

  it('has no serious accessibility violation, and is photographed for the README', async () => {
    await expectNoSeriousA11yViolations(page, 'portal');
    await saveScreenshot(page, 'portal');
    assert.deepEqual(harness.pageErrors, []);
  });

  it('says the session ended when opened without one, with no serious accessibility violation', async () => {
    const stranger = await harness.newPage();
    await stranger.goto('/portal/');
    await stranger.locator('[data-portal="ended"]').waitFor();
    assert.equal((await stranger.locator('h1').textContent()) ?? '', 'Session ended');
    await expectNoSeriousA11yViolations(stranger, 'portal without a session');
  });
});
