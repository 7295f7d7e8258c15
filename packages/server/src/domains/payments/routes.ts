/** The payment routes: Stripe customer links, Checkout top-ups, and Stripe's signed webhook. */
import { operations } from '@bursar/api';
import type { Route } from '../../platform/http/router.ts';
import { route, signedRoute } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import { createCheckoutSession, getCheckoutSession, linkStripeCustomer } from './operations.ts';
import { invoiceStripeOverage } from './overage.ts';
import type { StripeAccount } from './stripe-client.ts';
import { receiveStripeWebhook } from './webhook.ts';

/** `account` null: Stripe is off, and every route answers stripe_not_configured. */
export function paymentRoutes(service: LedgerService, account: StripeAccount | null): Route[] {
  return [
    route(operations.linkStripeCustomer, ({ caller, params, body }) =>
      linkStripeCustomer(service, account, caller, params.customer, body),
    ),
    route(operations.createCheckoutSession, ({ caller, body }) =>
      createCheckoutSession(service, account, caller, body),
    ),
    route(operations.getCheckoutSession, ({ caller, params }) => getCheckoutSession(service, caller, params.id)),
    route(operations.invoiceStripeOverage, ({ caller, params, body }) =>
      invoiceStripeOverage(service, account, caller, params, body),
    ),
    signedRoute(operations.receiveStripeWebhook, (request) => receiveStripeWebhook(service, account, request)),
  ];
}
