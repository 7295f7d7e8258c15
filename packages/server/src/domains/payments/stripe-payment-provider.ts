/**
 * Auto-recharge through Stripe: the `PaymentProvider` that charges a top-up to the customer's saved
 * default payment method off-session, with the top-up id as Stripe's idempotency key, so a top-up
 * handed over again after a crash or an expired lease is charged once and answered alike.
 */

import { parseDecimal } from '@bursar/core';
import type Stripe from 'stripe';
import type { LedgerService } from '../../platform/service.ts';
import type { ChargeOutcome, PaymentProvider, TopUpCharge } from '../top-ups/index.ts';
import { describeChargeFailure, fromMinorUnits, toMinorUnits, toStripeAmount } from './decisions.ts';
import { stripeCustomerOf } from './store.ts';
import type { StripeAccount } from './stripe-client.ts';
import { classifyStripeError } from './stripe-client.ts';

const failed = (reason: string): ChargeOutcome => ({ outcome: 'failed', reason });

export class StripePaymentProvider implements PaymentProvider {
  readonly #service: LedgerService;
  readonly #client: Stripe;

  constructor(service: LedgerService, account: StripeAccount) {
    this.#service = service;
    this.#client = account.client;
  }

  /** Throws only when Stripe's answer is unknown (no answer, a 5xx): the top-up is handed over again. */
  async charge(charge: TopUpCharge): Promise<ChargeOutcome> {
    const stripeCustomer = await stripeCustomerOf(this.#service, charge.environmentId, charge.customer);
    if (stripeCustomer === null) return failed('no Stripe customer is linked (linkStripeCustomer)');
    const [topUp] = await this.#service.database.reader.all(
      'SELECT cost_currency, cost_total FROM topups WHERE environment_id = ? AND customer_id = ? AND id = ?',
      [charge.environmentId, charge.customer, charge.topUpId],
    );
    if (topUp === undefined || topUp.cost_currency === null) {
      return failed('the auto top-up rule has no cost, so there is nothing to charge');
    }
    const currency = String(topUp.cost_currency);
    const total = parseDecimal(String(topUp.cost_total));
    if (!total.ok) throw new Error('assertion failed: a stored cost is a decimal');
    const minor = toMinorUnits(currency, total.value);
    if (!minor.ok) return failed(`the rule's cost ${minor.reason}`);
    const customer = await this.#client.customers.retrieve(stripeCustomer);
    if (customer.deleted === true) return failed(`Stripe customer ${stripeCustomer} is deleted`);
    const paymentMethod = customer.invoice_settings.default_payment_method;
    if (paymentMethod === null) return failed(`Stripe customer ${stripeCustomer} has no default payment method`);
    let intent: Stripe.PaymentIntent;
    try {
      intent = await this.#client.paymentIntents.create(
        {
          amount: toStripeAmount(minor.units),
          currency,
          customer: stripeCustomer,
          payment_method: typeof paymentMethod === 'string' ? paymentMethod : paymentMethod.id,
          off_session: true,
          confirm: true,
          description: `Bursar auto top-up ${charge.topUpId}`,
          metadata: {
            bursar_environment: charge.environmentId,
            bursar_customer: charge.customer,
            bursar_asset: charge.asset,
            bursar_top_up: charge.topUpId,
          },
        },
        { idempotencyKey: charge.topUpId },
      );
    } catch (error) {
      const failure = classifyStripeError(error);
      if (failure.kind === 'unknown') throw error;
      return failed(describeChargeFailure(failure));
    }
    if (intent.status === 'succeeded') {
      return {
        outcome: 'succeeded',
        reference: intent.id,
        costBasis: {
          currency: intent.currency,
          total: fromMinorUnits(intent.currency, BigInt(intent.amount_received)),
        },
      };
    }
    if (intent.status === 'requires_action') {
      return failed(describeChargeFailure({ code: 'authentication_required', declineCode: null, message: null }));
    }
    return failed(`the payment is ${intent.status}, not succeeded`);
  }
}
