/**
 * The Stripe SDK as Bursar uses it: built from the configuration (off when no secret key is set),
 * pointable at a local server for tests, and Stripe's errors sorted into what they mean for Bursar.
 */
import Stripe from 'stripe';

export interface StripeSettings {
  readonly secretKey: string | null;
  readonly webhookSecret: string | null;
  /** Tests only: a local server standing in for api.stripe.com. */
  readonly apiBase: string | null;
}

/** Stripe switched on: the SDK client and the secret that signs the webhook. */
export interface StripeAccount {
  readonly client: Stripe;
  readonly webhookSecret: string;
}

/** The SDK client, or null when Stripe is off (no secret key). */
export function openStripeAccount(settings: StripeSettings): StripeAccount | null {
  if (settings.secretKey === null || settings.webhookSecret === null) return null;
  const base = settings.apiBase === null ? null : new URL(settings.apiBase);
  const client = new Stripe(settings.secretKey, {
    // Bursar retries by its own means (leases, the webhook's redelivery), always with the same idempotency key.
    maxNetworkRetries: 2,
    timeout: 20_000,
    telemetry: false,
    appInfo: { name: 'Bursar' },
    ...(base === null
      ? {}
      : {
          host: base.hostname,
          port: base.port === '' ? (base.protocol === 'https:' ? 443 : 80) : Number(base.port),
          protocol: base.protocol === 'https:' ? 'https' : 'http',
        }),
  });
  return { client, webhookSecret: settings.webhookSecret };
}

/**
 * What a failed Stripe call means: `refused` (Stripe answered no: a card declined, a bad request),
 * or `unknown` (no answer, a 5xx, a rate limit), where retrying with the same idempotency key is safe.
 */
export function classifyStripeError(error: unknown):
  | {
      readonly kind: 'refused';
      readonly card: boolean;
      readonly code: string | null;
      readonly declineCode: string | null;
      readonly message: string;
    }
  | { readonly kind: 'unknown'; readonly message: string } {
  if (!(error instanceof Stripe.errors.StripeError)) return { kind: 'unknown', message: String(error) };
  const refused =
    error instanceof Stripe.errors.StripeCardError || error instanceof Stripe.errors.StripeInvalidRequestError;
  if (!refused) return { kind: 'unknown', message: error.message };
  return {
    kind: 'refused',
    card: error instanceof Stripe.errors.StripeCardError,
    code: error.code ?? null,
    declineCode: error.decline_code ?? null,
    message: error.message,
  };
}
