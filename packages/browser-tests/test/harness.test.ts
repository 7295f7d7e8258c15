/**
 * The harness itself: Chromium starts and renders a page of the real server, axe-core runs on it and
 * catches a violation planted in it, and the seeded customer has what every screen shows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserHarness } from '../src/harness.ts';
import {
  browserUnavailable,
  expectNoSeriousA11yViolations,
  seedCustomer,
  startBrowserHarness,
} from '../src/harness.ts';

describe('browser harness', { skip: browserUnavailable() }, () => {
  let harness: BrowserHarness;
  before(async () => {
    harness = await startBrowserHarness();
  });
  after(async () => {
    await harness?.close();
  });

  it('renders the API reference in Chromium with no serious accessibility violation', async () => {
    const page = await harness.newPage();
    await page.goto('/docs');
    assert.match(await page.title(), /Bursar/);
    await expectNoSeriousA11yViolations(page, 'API reference');
    assert.deepEqual(harness.pageErrors, []);
  });

  it('fails the accessibility check on a button without a name', async () => {
    const page = await harness.newPage();
    await page.goto('/docs');
    // A string, evaluated in the page: this program is typed for Node, without the DOM's names.
    await page.evaluate('document.body.append(document.createElement("button"))');
    await assert.rejects(expectNoSeriousA11yViolations(page, 'planted'), /critical button-name|serious button-name/);
  });

  it('seeds a customer with grants, a hold, debits and a priced usage history', async () => {
    const seeded = await seedCustomer(harness.sdk, 'org_seeded', 'Seeded Org');
    const balances = await harness.sdk.getBalances({ customer: seeded.customer, asset: 'credits' });
    const credits = balances.balances[0];
    assert.ok(credits !== undefined);
    assert.equal(credits.held, '40');
    const charged = await harness.sdk.listTransactions({ customer: seeded.customer, kind: 'debit', limit: 100 });
    // The debit of 25 and one charge per priced event.
    assert.ok(charged.data.length > 1, JSON.stringify(charged.data.length));
    assert.equal((await harness.sdk.getHold({ id: seeded.hold })).status, 'open');
    const usage = await harness.sdk.getUsage({
      customer: seeded.customer,
      from: new Date(Date.now() - 6 * 86_400_000).toISOString(),
      to: new Date(Date.now() + 60_000).toISOString(),
      granularity: 'day',
    });
    assert.equal(usage.customer, seeded.customer);
  });
});
