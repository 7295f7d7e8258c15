/** The payments domain's surface for the rest of the server: Stripe checkout, auto-recharge, refunds and the webhook. */

export { createCheckoutSession } from './operations.ts';
export { paymentRoutes } from './routes.ts';
export type { StripeAccount } from './stripe-client.ts';
export { openStripeAccount } from './stripe-client.ts';
export { StripePaymentProvider } from './stripe-payment-provider.ts';
