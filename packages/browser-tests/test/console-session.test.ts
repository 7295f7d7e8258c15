/**
 * The console session as a real browser holds it: after sign-in the cookie is invisible to the
 * page's scripts (HttpOnly), rides on same-origin requests, and a write without the session's CSRF
 * token is refused while one with it goes through; sign-out leaves the cookie useless.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserHarness } from '../src/harness.ts';
import { browserUnavailable, startBrowserHarness } from '../src/harness.ts';

describe('console session in Chromium', { skip: browserUnavailable() }, () => {
  let harness: BrowserHarness;
  before(async () => {
    harness = await startBrowserHarness();
  });
  after(async () => {
    await harness?.close();
  });

  it('keeps the cookie from scripts, sends it same-origin, and needs the CSRF token to write', async () => {
    const page = await harness.newPage();
    // A page of the server's origin without a CSP of its own (the reference page allows no fetch).
    await page.goto('/healthz');
    // Strings evaluated in the page: this program is typed for Node, without the DOM's names.
    const script = `(async (key) => {
      const json = { 'content-type': 'application/json' };
      const signIn = await fetch('/v1/console/sessions', { method: 'POST', headers: json, body: JSON.stringify({ api_key: key }) });
      const session = await signIn.json();
      const visible = document.cookie;
      const read = await fetch('/v1/api-keys/current', { credentials: 'same-origin' });
      const body = JSON.stringify({ id: 'browser_customer' });
      const forged = await fetch('/v1/customers', { method: 'POST', headers: json, body, credentials: 'same-origin' });
      const echoed = await fetch('/v1/customers', {
        method: 'POST',
        headers: { ...json, 'x-csrf-token': session.csrf_token },
        body,
        credentials: 'same-origin',
      });
      const signOut = await fetch('/v1/console/sessions/current', {
        method: 'DELETE',
        headers: { 'x-csrf-token': session.csrf_token },
        credentials: 'same-origin',
      });
      const afterSignOut = await fetch('/v1/api-keys/current', { credentials: 'same-origin' });
      return {
        signIn: signIn.status,
        visible,
        read: read.status,
        forged: [forged.status, (await forged.json()).code],
        echoed: echoed.status,
        signOut: signOut.status,
        afterSignOut: afterSignOut.status,
        stored: [localStorage.length, sessionStorage.length],
      };
    })(${JSON.stringify(harness.ownerKey)})`;
    const seen = (await page.evaluate(script)) as Record<string, unknown>;
    assert.deepEqual(seen, {
      signIn: 201,
      visible: '',
      read: 200,
      forged: [403, 'csrf_token_invalid'],
      echoed: 201,
      signOut: 204,
      afterSignOut: 401,
      stored: [0, 0],
    });
    const cookies = await page.context().cookies();
    const session = cookies.find((cookie) => cookie.name === 'bursar_console');
    // Signed out: the browser dropped it (Max-Age=0).
    assert.equal(session, undefined);
    assert.deepEqual(harness.pageErrors, []);
  });

  it('the browser stores the cookie HttpOnly and SameSite=Strict', async () => {
    const page = await harness.newPage();
    // A page of the server's origin without a CSP of its own (the reference page allows no fetch).
    await page.goto('/healthz');
    await page.evaluate(
      `fetch('/v1/console/sessions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: ${JSON.stringify(harness.ownerKey)} }) })`,
    );
    const session = (await page.context().cookies()).find((cookie) => cookie.name === 'bursar_console');
    assert.ok(session !== undefined);
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(session.path, '/');
  });

  it('a link from another site does not carry the cookie (SameSite=Strict); the same URL typed in does', async () => {
    const page = await harness.newPage();
    await page.goto('/healthz');
    await page.evaluate(
      `fetch('/v1/console/sessions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: ${JSON.stringify(harness.ownerKey)} }) })`,
    );
    const target = `${harness.baseUrl}/v1/api-keys/current`;
    // localhost and 127.0.0.1 are different sites to the browser.
    const otherSite = harness.baseUrl.replace('127.0.0.1', 'localhost');
    await page.goto(`${otherSite}/healthz`);
    await page.evaluate(
      `(() => { const a = document.createElement('a'); a.href = ${JSON.stringify(target)}; a.textContent = 'go'; document.body.append(a); })()`,
    );
    const [crossSite] = await Promise.all([page.waitForNavigation(), page.click('a')]);
    assert.equal(crossSite?.status(), 401, 'the cross-site navigation came without the session');
    const typed = await page.goto(target);
    assert.equal(typed?.status(), 200, 'a navigation the user started carries it');
  });
});
