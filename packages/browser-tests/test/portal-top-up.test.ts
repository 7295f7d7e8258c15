/**
 * The portal's two-step top-up with a payment provider configured: the server talks to the Stripe stand-in on
 * 127.0.0.1 (the payments domain's FakeStripe), and the browser's trip to the Checkout page is answered by the
 * test itself, so nothing leaves the machine.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeStripe } from '../../server/src/domains/payments/test/fake-stripe.ts';
import type { BrowserHarness, SeededCustomer } from '../src/harness.ts';
import {
  browserUnavailable,
  expectNoSeriousA11yViolations,
  seedCustomer,
  startBrowserHarness,
} from '../src/harness.ts';

describe('portal top-up through the payment provider', { skip: browserUnavailable() }, () => {
  let stripe: FakeStripe;
  let harness: BrowserHarness;
  let seeded: SeededCustomer;

  before(async () => {
    stripe = await new FakeStripe().start();
    harness = await startBrowserHarness(stripe.config());
    seeded = await seedCustomer(harness.sdk, 'org_top_up', 'Top-up Org');
    await harness.sdk.updatePortalSettings({
      branding: { name: 'Acme AI', logo_url: null, accent_color: null },
      auto_recharge: {
        editable: false,
        threshold_max: null,
        amount_min: null,
        amount_max: null,
        monthly_cap_max: null,
      },
      top_up: { prices: [{ asset: 'credits', currency: 'usd', unit_price: '0.1' }] },
    });
  });
  after(async () => {
    await harness?.close();
    await stripe?.close();
  });

  it('asks for an amount, shows its exact price, then goes to the Checkout page', async () => {
    const session = await harness.sdk.createPortalSession({
      customer: seeded.customer,
      return_url: 'https://app.example.test/',
    });
    const page = await harness.newPage();
    // Any request off the Bursar server (the Checkout page) is answered here instead of by the network.
    const offServer: string[] = [];
    await page.route(
      (url) => url.origin !== harness.baseUrl,
      (route) => {
        offServer.push(route.request().url());
        return route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>Checkout</title>' });
      },
    );
    await page.goto(session.url);
    const balance = page.locator('.bursar-credit-balance');
    await balance.locator('[data-top-up="available"]').waitFor();

    await balance.getByRole('button', { name: 'Top up' }).click();
    const form = balance.locator('form[data-top-up="form"]');
    await form.getByLabel('Amount to add (credits)').fill('0');
    await form.getByRole('button', { name: 'Continue to payment' }).click();
    await form.getByText('Enter a positive amount').waitFor();

    await form.getByLabel('Amount to add (credits)').fill('120.5');
    assert.equal((await form.getByTestId('top-up-price').textContent()) ?? '', 'You will pay 12.05 usd.');
    await expectNoSeriousA11yViolations(page, 'portal top-up, step two');

    await form.getByRole('button', { name: 'Continue to payment' }).click();
    await page.waitForURL((url) => url.origin !== harness.baseUrl, { timeout: 10_000 });
    assert.match(page.url(), /^https:\/\/checkout\.stripe\.com\//);
    assert.deepEqual(offServer, [page.url()]);
    const checkout = stripe.requests.find(
      (request) => request.method === 'POST' && request.path === '/v1/checkout/sessions',
    );
    assert.ok(checkout, JSON.stringify(stripe.requests.map((request) => request.path)));
  });
});
