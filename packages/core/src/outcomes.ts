/**
 * The catalogue of named outcomes: every refusal and error Bursar can answer with, its HTTP
 * status, and whether retrying the same request later can give a different answer.
 * docs/errors.md lists the same codes; a test keeps the two in step.
 */

export interface OutcomeSpec {
  readonly status: number;
  readonly title: string;
  /** True when a later retry of the same request (with a new idempotency key) may succeed. */
  readonly retryable: boolean;
}

export const outcomes = {
  validation_failed: { status: 400, title: 'The request is not valid', retryable: false },
  idempotency_key_invalid: { status: 400, title: 'The Idempotency-Key header is not valid', retryable: false },
  malformed_json: { status: 400, title: 'The body is not valid JSON', retryable: false },
  stripe_signature_invalid: {
    status: 400,
    title: 'The Stripe-Signature header does not sign this body with the webhook secret',
    retryable: false,
  },
  unauthenticated: { status: 401, title: 'A valid API key is required', retryable: false },
  session_expired: { status: 401, title: 'The console session has expired; sign in again', retryable: false },
  insufficient_scope: { status: 403, title: "The API key's scope does not allow this operation", retryable: false },
  portal_session_required: {
    status: 403,
    title: 'Only a portal session may call /v1/portal/ routes',
    retryable: false,
  },
  portal_session_not_allowed: {
    status: 403,
    title: 'A portal session may call only /v1/portal/ routes',
    retryable: false,
  },
  auto_recharge_locked: {
    status: 403,
    title: 'The operator does not let customers change auto-recharge in the portal',
    retryable: false,
  },
  csrf_token_invalid: { status: 403, title: 'The x-csrf-token header does not match the session', retryable: false },
  insufficient_balance: { status: 402, title: 'Not enough credits available', retryable: true },
  route_not_found: { status: 404, title: 'No such route', retryable: false },
  environment_not_found: { status: 404, title: 'No such environment', retryable: false },
  api_key_not_found: { status: 404, title: 'No such API key', retryable: false },
  asset_not_found: { status: 404, title: 'No such asset', retryable: false },
  customer_not_found: { status: 404, title: 'No such customer', retryable: false },
  grant_not_found: { status: 404, title: 'No such grant', retryable: false },
  hold_not_found: { status: 404, title: 'No such hold', retryable: false },
  transaction_not_found: { status: 404, title: 'No such transaction', retryable: false },
  webhook_endpoint_not_found: { status: 404, title: 'No such webhook endpoint', retryable: false },
  webhook_delivery_not_found: { status: 404, title: 'No such webhook delivery', retryable: false },
  feature_not_found: { status: 404, title: 'No such feature', retryable: false },
  price_book_not_found: { status: 404, title: 'No such price book', retryable: false },
  plan_not_found: { status: 404, title: 'No such plan or plan version', retryable: false },
  subscription_not_found: { status: 404, title: 'No such subscription', retryable: false },
  auto_top_up_rule_not_found: { status: 404, title: 'The wallet has no auto top-up rule', retryable: false },
  top_up_not_found: { status: 404, title: 'No such top-up', retryable: false },
  checkout_session_not_found: { status: 404, title: 'No such Checkout Session', retryable: false },
  method_not_allowed: { status: 405, title: 'Method not allowed on this route', retryable: false },
  environment_exists: { status: 409, title: 'An environment with this name exists', retryable: false },
  asset_exists: { status: 409, title: 'An asset with this code exists', retryable: false },
  customer_exists: { status: 409, title: 'A customer with this id exists', retryable: false },
  feature_exists: { status: 409, title: 'A feature with this key exists', retryable: false },
  price_book_exists: { status: 409, title: 'A price book with this key exists', retryable: false },
  plan_exists: { status: 409, title: 'A plan with this id exists', retryable: false },
  subscription_transition_invalid: {
    status: 409,
    title: 'The subscription cannot make this change in its current status',
    retryable: false,
  },
  stripe_customer_not_linked: {
    status: 409,
    title: 'The customer has no Stripe customer; link one with linkStripeCustomer',
    retryable: false,
  },
  stripe_event_early: {
    status: 409,
    title: 'The Stripe event is about a payment not confirmed in Bursar yet; Stripe sends it again',
    retryable: true,
  },
  subscription_changed: {
    status: 409,
    title: 'The subscription changed plan while the request was being decided',
    retryable: true,
  },
  subscription_preview_stale: {
    status: 409,
    title: 'The subscription or its wallets changed since the preview_token was given; preview the change again',
    retryable: false,
  },
  subscription_preview_required: {
    status: 409,
    title: 'This plan change requires a preview_token from previewSubscriptionChange',
    retryable: false,
  },
  top_up_settled: { status: 409, title: 'The top-up is already settled', retryable: false },
  top_up_unavailable: {
    status: 409,
    title: 'Top-up is not offered: no payment provider, or no price for the asset',
    retryable: false,
  },
  default_price_book_exists: {
    status: 409,
    title: 'The environment already has a default price book',
    retryable: false,
  },
  model_price_exists: {
    status: 409,
    title: 'The model already has a price effective at that instant',
    retryable: false,
  },
  event_exists: { status: 409, title: 'The usage event is recorded already', retryable: false },
  hold_not_open: { status: 409, title: 'The hold has already ended', retryable: false },
  grant_voided: { status: 409, title: 'The grant is already voided', retryable: false },
  transaction_not_reversible: { status: 409, title: 'This kind of transaction cannot be reversed', retryable: false },
  reversal_exceeds_remaining: {
    status: 409,
    title: 'The reversal is larger than what is left to reverse',
    retryable: false,
  },
  idempotency_key_in_use: {
    status: 409,
    title: 'A request with this Idempotency-Key is still running',
    retryable: true,
  },
  payload_too_large: { status: 413, title: 'The body is too large', retryable: false },
  unsupported_media_type: { status: 415, title: 'The body must be application/json', retryable: false },
  idempotency_key_reused: {
    status: 422,
    title: 'The Idempotency-Key was used for a different request',
    retryable: false,
  },
  capture_exceeds_hold: { status: 422, title: 'The capture is larger than the hold', retryable: false },
  overdraft_limit_below_debt: {
    status: 422,
    title: 'The overdraft limit is below what the wallet already owes or reserves on overdraft',
    retryable: false,
  },
  event_out_of_window: {
    status: 422,
    title: 'The event timestamp is too old or too far in the future',
    retryable: false,
  },
  invalid_quantity: {
    status: 422,
    title: 'An event property that carries a quantity is not a non-negative number',
    retryable: false,
  },
  price_not_found: { status: 422, title: 'No price of the feature matches the event', retryable: false },
  model_price_not_found: {
    status: 422,
    title: 'No provider price for the model at the time of the event',
    retryable: false,
  },
  amount_overflow: { status: 422, title: 'The amount would overflow a 64-bit balance', retryable: false },
  stripe_refused: { status: 422, title: 'Stripe refused the request', retryable: false },
  rate_limited: { status: 429, title: 'Too many requests with this API key', retryable: true },
  internal_error: { status: 500, title: 'Internal error', retryable: true },
  stripe_not_configured: { status: 501, title: 'Stripe is not switched on', retryable: false },
  stripe_unavailable: { status: 502, title: 'Stripe did not answer or failed', retryable: true },
  unavailable: { status: 503, title: 'The server is shutting down or not ready', retryable: true },
  overloaded: { status: 503, title: 'Too many writes are waiting', retryable: true },
} as const satisfies Record<string, OutcomeSpec>;

export type OutcomeCode = keyof typeof outcomes;

/** A refusal decided by the core or the shell: a code from the catalogue plus details for the client. */
export interface Refusal {
  readonly kind: 'refused';
  readonly code: OutcomeCode;
  readonly detail: string;
  /** Extra machine-readable facts, e.g. the amount available when a debit is short. */
  readonly facts?: Readonly<Record<string, unknown>>;
}

export function refuse(code: OutcomeCode, detail: string, facts?: Readonly<Record<string, unknown>>): Refusal {
  return facts === undefined ? { kind: 'refused', code, detail } : { kind: 'refused', code, detail, facts };
}

/** Throws on a broken invariant: a bug, never a business outcome. */
export function assert(condition: boolean, why: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${why}`);
}
