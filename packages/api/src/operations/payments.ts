/** The operations of Stripe payments: checkout, customer links, and the Stripe webhook. */
import {
  checkoutSessionParams,
  checkoutSessionResource,
  createCheckoutSessionBody,
  invoiceStripeOverageBody,
  linkStripeCustomerBody,
  stripeCustomerLinkResource,
  stripeEventBody,
  stripeOverageInvoiceResource,
  stripeWebhookReceipt,
} from '../payments.ts';
import { customerParams, walletParams } from '../schemas.ts';
import type { Operation } from './operation.ts';

export const paymentOperations = {
  linkStripeCustomer: {
    method: 'POST',
    path: '/v1/customers/{customer}/stripe-customer',
    operationId: 'linkStripeCustomer',
    summary: 'Link a customer to a Stripe customer: attach an existing id, or create one in Stripe',
    tag: 'Payments',
    scope: 'write',
    params: customerParams,
    body: linkStripeCustomerBody,
    responses: { 200: stripeCustomerLinkResource },
  },

  createCheckoutSession: {
    method: 'POST',
    path: '/v1/checkout-sessions',
    operationId: 'createCheckoutSession',
    summary: 'Start a Stripe Checkout top-up; the credit is granted when Stripe confirms the payment',
    tag: 'Payments',
    scope: 'write',
    body: createCheckoutSessionBody,
    responses: { 201: checkoutSessionResource },
  },

  getCheckoutSession: {
    method: 'GET',
    path: '/v1/checkout-sessions/{id}',
    operationId: 'getCheckoutSession',
    summary: 'A Checkout top-up: pending, paid (its grant), expired or reversed (what was consumed)',
    tag: 'Payments',
    scope: 'read',
    params: checkoutSessionParams,
    responses: { 200: checkoutSessionResource },
  },

  invoiceStripeOverage: {
    method: 'POST',
    path: '/v1/customers/{customer}/wallets/{asset}/stripe-overage',
    operationId: 'invoiceStripeOverage',
    summary: "Invoice a wallet's debt at a period's end to Stripe, once per period; the debt is repaid",
    tag: 'Payments',
    scope: 'write',
    params: walletParams,
    body: invoiceStripeOverageBody,
    responses: { 200: stripeOverageInvoiceResource },
  },

  receiveStripeWebhook: {
    method: 'POST',
    path: '/v1/integrations/stripe/webhook',
    operationId: 'receiveStripeWebhook',
    summary: "Stripe's webhook: authenticated by the Stripe-Signature header, not an API key",
    tag: 'Payments',
    scope: 'write',
    signature: 'stripe-signature',
    body: stripeEventBody,
    responses: { 200: stripeWebhookReceipt },
  },
} as const satisfies Readonly<Record<string, Operation>>;
