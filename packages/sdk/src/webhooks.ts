/** Checks a webhook delivery's Standard Webhooks signature with Web Crypto and returns its typed event. */
import type { WebhookEvent } from './generated/contract.ts';
import { webhookEventTypes } from './generated/contract.ts';

/** A Fetch `Headers`, or a plain object such as Node's `IncomingHttpHeaders` (names in any case). */
export type WebhookHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface VerifyWebhookOptions {
  /** How far webhook-timestamp may be from now, either way. Default 300 (Standard Webhooks' five minutes). */
  readonly toleranceSeconds?: number;
  /** The time to check the timestamp against, in milliseconds. Default: Date.now(). */
  readonly nowMs?: number;
}

/** The delivery is not a genuine, fresh Bursar delivery; `reason` says which check failed. */
export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
  readonly reason: 'missing_headers' | 'stale_timestamp' | 'bad_signature' | 'bad_payload';
  constructor(reason: WebhookVerificationError['reason'], message: string) {
    super(message);
    this.reason = reason;
  }
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers as Record<string, string | readonly string[] | undefined>)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value.join(' ') : (value as string | undefined);
  }
  return undefined;
}

function base64ToBytes(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}

const knownTypes: ReadonlySet<string> = new Set(webhookEventTypes);

/**
 * Verifies `body` (the raw request body, exactly as received) against the webhook-id,
 * webhook-timestamp and webhook-signature headers with the endpoint's secret (`whsec_…`; several
 * during a rotation), and returns the parsed event. Throws WebhookVerificationError otherwise.
 */
export async function verifyWebhook(
  body: string | Uint8Array,
  headers: WebhookHeaders,
  secret: string | readonly string[],
  options: VerifyWebhookOptions = {},
): Promise<WebhookEvent> {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerificationError(
      'missing_headers',
      'webhook-id, webhook-timestamp and webhook-signature are required',
    );
  }
  const toleranceSeconds = options.toleranceSeconds ?? 300;
  const nowSeconds = Math.floor((options.nowMs ?? Date.now()) / 1000);
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) {
    throw new WebhookVerificationError('stale_timestamp', 'webhook-timestamp is outside the tolerance');
  }
  const bodyText = typeof body === 'string' ? body : new TextDecoder().decode(body);
  const signed = new TextEncoder().encode(`${id}.${timestamp}.${bodyText}`);
  const candidates = signatures
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => base64ToBytes(entry.slice(3)))
    .filter((bytes) => bytes !== undefined);
  let verified = false;
  for (const each of typeof secret === 'string' ? [secret] : secret) {
    const keyBytes = base64ToBytes(each.replace(/^whsec_/, ''));
    if (keyBytes === undefined) continue;
    const key = await globalThis.crypto.subtle.importKey('raw', keyBytes, { name: 'HMAC', hash: 'SHA-256' }, false, [
      'verify',
    ]);
    // subtle.verify compares in constant time.
    for (const signature of candidates) {
      if (await globalThis.crypto.subtle.verify('HMAC', key, signature, signed)) verified = true;
    }
  }
  if (!verified) throw new WebhookVerificationError('bad_signature', 'No signature matches the secret');
  let event: unknown;
  try {
    event = JSON.parse(bodyText);
  } catch {
    throw new WebhookVerificationError('bad_payload', 'The body is not JSON');
  }
  const type = (event as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !knownTypes.has(type)) {
    throw new WebhookVerificationError('bad_payload', 'The body is not a Bursar event');
  }
  return event as WebhookEvent;
}
