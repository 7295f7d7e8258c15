/**
 * The owner's portal calls the browser tests make (minting sessions, setting the portal's branding and
 * limits), sent with fetch and the owner key so the tests do not wait on the SDK's regeneration.
 */
import type { BrowserHarness } from '../src/harness.ts';

export interface PortalSessionCreated {
  readonly id: string;
  readonly url: string;
  readonly token: string;
  readonly expires_at: string;
}

async function ownerCall<T>(harness: BrowserHarness, method: string, path: string, body: unknown): Promise<T> {
  const response = await fetch(`${harness.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${harness.ownerKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

export function createPortalSession(
  harness: BrowserHarness,
  customer: string,
  returnUrl = 'https://app.example.test/account',
): Promise<PortalSessionCreated> {
  return ownerCall(harness, 'POST', '/v1/portal_sessions', { customer, return_url: returnUrl });
}

export function updatePortalSettings(harness: BrowserHarness, settings: Record<string, unknown>): Promise<unknown> {
  return ownerCall(harness, 'PUT', '/v1/portal_settings', settings);
}
