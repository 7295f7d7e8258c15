/** The errors a metered model call throws of its own: refused before the provider is called, or not settled after it answered. */

/** The customer cannot afford the call's estimate (or, with caps, even the smallest capped call); the provider was not called. */
export class InsufficientCreditError extends Error {
  override readonly name = 'InsufficientCreditError';
  readonly customer: string;
  readonly feature: string;
  /** The customer's available balance and the estimate's cost, from Bursar's insufficient-balance problem. */
  readonly available: string | undefined;
  readonly requested: string | undefined;

  constructor(facts: { customer: string; feature: string; available?: string; requested?: string; cause: unknown }) {
    super(
      `${facts.customer} cannot afford ${facts.feature}: ${facts.requested ?? 'the estimate'} requested, ${facts.available ?? 'less'} available`,
      { cause: facts.cause },
    );
    this.customer = facts.customer;
    this.feature = facts.feature;
    this.available = facts.available;
    this.requested = facts.requested;
  }
}

/**
 * The provider answered but Bursar could not be told (capture or release failed after the SDK's
 * retries). The hold stays open until its TTL; `result` is the provider's answer when there is one.
 */
export class SettlementError extends Error {
  override readonly name = 'SettlementError';
  readonly holdId: string;
  result: unknown;

  constructor(holdId: string, cause: unknown) {
    super(`Hold ${holdId} could not be settled: ${(cause as Error)?.message ?? cause}`, { cause });
    this.holdId = holdId;
  }
}
