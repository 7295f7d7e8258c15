/** What the console's browser tests share: signing in through the real sign-in page and reading a table cell. */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';

/** Signs in on /console/ with the key, as an operator would, and waits for the signed-in navigation. */
export async function signIn(page: Page, apiKey: string, path = '/console/'): Promise<void> {
  await page.goto(path);
  await page.getByLabel('API key').fill(apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Console' }).waitFor();
}

/** The trimmed text of the one element the selector matches, waiting for it to appear. */
export async function textOf(page: Page, selector: string): Promise<string> {
  const locator = page.locator(selector);
  await locator.first().waitFor();
  assert.equal(await locator.count(), 1, `${selector} matches more than one element`);
  return ((await locator.textContent()) ?? '').trim();
}
