/**
 * Request and response schemas of Stripe payments: a top-up bought through Stripe Checkout, the link
 * between a Bursar customer and a Stripe customer, and the answer to Stripe's webhook.
 */
import { z } from 'zod';
import { amountPositiveField, assetCodeField, customerKeyField, decimalNonNegativeField } from './fields.ts';

const urlField = z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2000);

export const stripeCustomerIdField = z
  .string()
  .regex(/^cus_[A-Za-z0-9]{1,250}$/, 'must be a Stripe customer id (cus_…)');

const priceBody = z
  .strictObject({
    currency: assetCodeField.describe(
      'The currency Stripe charges in (usd, eur, jpy, …), also the code of an asset of this environment (the cost basis).',
    ),
    total: decimalNonNegativeField.optional().describe('A pack price: what the whole amount costs, e.g. "10.00".'),
    unit_price: decimalNonNegativeField
      .optional()
      .describe('An exchange rate: what one unit of the asset costs, e.g. "0.01"; the total must come to whole cents.'),
  })
  .refine((price) => (price.total === undefined) !== (price.unit_price === undefined), {
    message: 'give exactly one of total and unit_price',
  })
  .describe('What the customer pays, set by the operator for this session.');

export const createCheckoutSessionBody = z.strictObject({
  customer: customerKeyField,
  asset: assetCodeField,
  amount: amountPositiveField.describe('Credit granted once Stripe confirms the payment.'),
  price: priceBody,
  success_url: urlField.describe('Where Stripe sends the customer after paying.'),
  cancel_url: urlField.describe('Where Stripe sends the customer who cancels.'),
});

export const linkStripeCustomerBody = z.strictObject({
  stripe_customer: stripeCustomerIdField
    .optional()
    .describe(
      'An existing Stripe customer to attach; absent: Bursar creates one in Stripe (or keeps the link it has).',
    ),
});

export const checkoutSessionParams = z.strictObject({
  id: z.string().regex(/^cs_[A-Za-z0-9_]{1,250}$/, 'must be a Stripe Checkout Session id (cs_…)'),
});

/** The event as Stripe sends it; only its id and type are read before the signature is checked. */
export const stripeEventBody = z
  .looseObject({ id: z.string(), type: z.string() })
  .describe('A Stripe event (https://docs.stripe.com/api/events/object), signed in the Stripe-Signature header.');

export const invoiceStripeOverageBody = z.strictObject({
  period: z
    .string()
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month, YYYY-MM')
    .describe('The calendar month (UTC) whose end the debt is invoiced at; it must have ended.'),
  unit_price: z
    .strictObject({
      currency: assetCodeField.describe('The currency of the invoice item, also an asset of this environment.'),
      unit_price: decimalNonNegativeField.describe('What one unit of the asset owed costs, e.g. "0.012".'),
    })
    .describe('The price of usage beyond credits; the total is rounded half-even to the smallest currency unit.'),
});

export type InvoiceStripeOverageBody = z.output<typeof invoiceStripeOverageBody>;

export type CreateCheckoutSessionBody = z.output<typeof createCheckoutSessionBody>;
export type LinkStripeCustomerBody = z.output<typeof linkStripeCustomerBody>;

const amountText = z.string().describe('A decimal string in the asset unit, e.g. "12.5"');
const timeText = z.string().meta({ format: 'date-time' });

export const stripeCustomerLinkResource = z
  .object({
    customer: z.string(),
    stripe_customer: z.string(),
    created: z.boolean().describe('True when Bursar created the Stripe customer for this call.'),
  })
  .meta({ id: 'StripeCustomerLink' });

export const checkoutSessionResource = z
  .object({
    id: z.string().describe("Stripe's Checkout Session id."),
    url: z.string().nullable().describe('Where to send the customer to pay; null once the session is over.'),
    customer: z.string(),
    asset: z.string(),
    amount: amountText,
    price: z.object({ currency: z.string(), total: z.string() }),
    status: z
      .enum(['pending_payment', 'paid', 'expired', 'reversed'])
      .describe(
        'pending_payment: no credit yet; paid: granted; expired: never paid; reversed: refunded or disputed, unspent credit voided.',
      ),
    grant: z.string().nullable().describe('The paid grant created when Stripe confirmed the payment.'),
    paid: z
      .object({ currency: z.string(), total: z.string() })
      .nullable()
      .describe("What Stripe collected: the grant's cost basis."),
    reversal: z
      .object({
        reason: z.string(),
        voided: amountText.describe('Unspent credit voided.'),
        consumed: amountText.describe('Credit already spent (or held) when the payment was reversed.'),
        at: timeText,
      })
      .nullable(),
    created_at: timeText,
  })
  .meta({ id: 'CheckoutSession' });

export const stripeWebhookReceipt = z
  .object({
    received: z.literal(true),
    duplicate: z.boolean().describe('True when this event id was handled before; nothing changed.'),
    outcome: z.string().describe('What the event did, e.g. granted, already_granted, reversed, ignored.'),
  })
  .meta({ id: 'StripeWebhookReceipt' });

export const stripeOverageInvoiceResource = z
  .object({
    customer: z.string(),
    asset: z.string(),
    period: z.string(),
    status: z.enum(['invoiced', 'nothing_owed']),
    debt: amountText.describe('The debt invoiced, repaid in Bursar by a paid grant of the same amount.'),
    price: z.object({ currency: z.string(), total: z.string() }),
    invoice_item: z.string().nullable().describe("Stripe's invoice item id (ii_…)."),
    grant: z.string().nullable().describe('The paid grant that repaid the invoiced debt.'),
  })
  .meta({ id: 'StripeOverageInvoice' });
