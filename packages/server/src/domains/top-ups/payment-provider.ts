/**
 * The port through which Bursar charges a customer for an auto top-up. A Stripe implementation
 * (or any other) plugs in here; without one, top-ups wait for the integrator's `settleTopUp`.
 */
import type { Decimal } from '@bursar/core';

export interface TopUpCharge {
  /**
   * The idempotency key of the charge. The same top-up can be handed over more than once (a process
   * died between the charge and the settle commit, or a lease ran out while the provider answered
   * slowly); an implementation must charge the customer at most once per `topUpId` and answer
   * repeated calls with the first call's outcome (e.g. Stripe's `Idempotency-Key: <topUpId>`).
   */
  readonly topUpId: string;
  readonly environmentId: string;
  readonly customer: string;
  readonly asset: string;
  /** Units of the asset to add to the wallet (the rule's amount). */
  readonly amount: bigint;
}

export type ChargeOutcome =
  | {
      readonly outcome: 'succeeded';
      /** The provider's id of the payment, kept on the top-up. */
      readonly reference: string;
      /** What the customer paid; null: the rule's `cost`, if it has one. */
      readonly costBasis: { readonly currency: string; readonly total: Decimal } | null;
    }
  | { readonly outcome: 'failed'; readonly reason: string };

export interface PaymentProvider {
  /**
   * Charges for one top-up. A thrown error means "unknown": the top-up stays requested and is
   * handed over again, with the same `topUpId`, once its lease runs out.
   */
  charge(charge: TopUpCharge): Promise<ChargeOutcome>;
}
