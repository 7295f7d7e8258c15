/**
 * The payment operations: link a customer to a Stripe customer, start a Checkout top-up, read one.
 * Stripe is called before anything is stored, with an idempotency key, so a retry reaches the same
 * Stripe object; what Bursar stores then goes through the committer like every other write.
 */
import type { CreateCheckoutSessionBody } from '@bursar/api';
import type { Decimal } from '@bursar/core';
import { formatAmount, formatDecimal, multiplyDecimal, parseDecimal } from '@bursar/core';
import type { Caller, FieldError, Reply } from '../../platform/contract.ts';
import type { LedgerService } from '../../platform/service.ts';
import { fieldReply, isFieldError, okReply, parseWireAmount, problemReply } from '../../platform/service.ts';
import type { SqlRow } from '../../platform/storage/database.ts';
import { toMinorUnits, toStripeAmount } from './decisions.ts';
import { checkoutById, stripeCustomerOf, toWireCheckout } from './store.ts';
import type { StripeAccount } from './stripe-client.ts';
import { classifyStripeError } from './stripe-client.ts';

export function notConfigured(caller: Pick<Caller, 'requestId'>): Reply {
  return problemReply(
    caller,
    'stripe_not_configured',
    'Stripe is off: set BURSAR_STRIPE_SECRET_KEY and BURSAR_STRIPE_WEBHOOK_SECRET (docs/stripe.md).',
  );
}

/** The reply for a Stripe call that failed: Stripe's refusal as 422, no answer as a retryable 502. */
export function stripeFailed(caller: Pick<Caller, 'requestId'>, error: unknown): Reply {
  const failure = classifyStripeError(error);
  return failure.kind === 'refused'
    ? problemReply(caller, 'stripe_refused', `Stripe refused the request: ${failure.message}`)
    : problemReply(
        caller,
        'stripe_unavailable',
        'Stripe did not answer or failed; nothing changed. Retry the request.',
      );
}

function isReply(value: unknown): value is Reply {
  return typeof value === 'object' && value !== null && 'bodyText' in value;
}

/** Stores the link, keeping one already stored (a concurrent call) unless `replace`. Returns the stored id. */
async function storeLink(
  service: LedgerService,
  caller: Caller,
  customer: string,
  stripeCustomer: string,
  replace: boolean,
): Promise<string> {
  return service.committer.runInWriter('payments', async ({ session, now }) => {
    const row = {
      environment_id: caller.environmentId,
      customer_id: customer,
      stripe_customer_id: stripeCustomer,
      created_at: BigInt(now),
    };
    const inserted = await session.insertMany('stripe_customers', [row], { onConflictDoNothing: true });
    if (inserted.length > 0) return stripeCustomer;
    if (replace) {
      await session.updateMany('stripe_customers', ['environment_id', 'customer_id'], [row]);
      return stripeCustomer;
    }
    const [stored] = await session.all(
      'SELECT stripe_customer_id FROM stripe_customers WHERE environment_id = ? AND customer_id = ?',
      [caller.environmentId, customer],
    );
    return String(stored?.stripe_customer_id);
  });
}

/**
 * The customer's Stripe customer: the stored link, else one created in Stripe with an idempotency
 * key of the environment and customer, so callers racing here create one Stripe customer.
 */
async function ensureStripeCustomer(
  service: LedgerService,
  account: StripeAccount,
  caller: Caller,
  customer: string,
): Promise<{ id: string; created: boolean } | Reply> {
  const linked = await stripeCustomerOf(service, caller.environmentId, customer);
  if (linked !== null) return { id: linked, created: false };
  let created: string;
  try {
    const made = await account.client.customers.create(
      { metadata: { bursar_environment: caller.environmentId, bursar_customer: customer } },
      { idempotencyKey: `bursar-customer-${caller.environmentId}-${customer}` },
    );
    created = made.id;
  } catch (error) {
    return stripeFailed(caller, error);
  }
  const stored = await storeLink(service, caller, customer, created, false);
  return { id: stored, created: stored === created };
}

export async function linkStripeCustomer(
  service: LedgerService,
  account: StripeAccount | null,
  caller: Caller,
  customer: string,
  input: { stripe_customer?: string | undefined },
): Promise<Reply> {
  if (account === null) return notConfigured(caller);
  if (!(await service.customerExists(caller.environmentId, customer))) {
    return problemReply(caller, 'customer_not_found', `No customer "${customer}" in this environment.`);
  }
  if (input.stripe_customer === undefined) {
    const ensured = await ensureStripeCustomer(service, account, caller, customer);
    if (isReply(ensured)) return ensured;
    return okReply(200, { customer, stripe_customer: ensured.id, created: ensured.created });
  }
  try {
    const found = await account.client.customers.retrieve(input.stripe_customer);
    if (found.deleted === true) {
      return problemReply(caller, 'stripe_refused', `Stripe customer ${input.stripe_customer} is deleted.`);
    }
  } catch (error) {
    return stripeFailed(caller, error);
  }
  await storeLink(service, caller, customer, input.stripe_customer, true);
  return okReply(200, { customer, stripe_customer: input.stripe_customer, created: false });
}

/** The price of the whole amount: a pack's total, or the unit price (an exchange rate) times the amount. */
async function priceOf(
  service: LedgerService,
  caller: Caller,
  price: CreateCheckoutSessionBody['price'],
  amount: bigint,
  scale: number,
): Promise<{ currency: string; total: Decimal; minor: bigint } | FieldError> {
  if ((await service.asset(caller.environmentId, price.currency)) === undefined) {
    return {
      field: 'price.currency',
      message: `must be the code of an asset of this environment (the cost basis's currency); there is no asset "${price.currency}"`,
    };
  }
  const field = price.total !== undefined ? 'price.total' : 'price.unit_price';
  const parsed = parseDecimal(price.total ?? price.unit_price ?? '');
  if (!parsed.ok) return { field, message: parsed.reason };
  // A unit price is per whole unit of the asset; `amount` is in its smallest units.
  const total =
    price.total !== undefined
      ? parsed.value
      : multiplyDecimal({ units: parsed.value.units, scale: parsed.value.scale + scale }, amount);
  const minor = toMinorUnits(price.currency, total);
  if (!minor.ok) return { field, message: `comes to ${formatDecimal(total)} ${price.currency}, which ${minor.reason}` };
  return { currency: price.currency, total, minor: minor.units };
}

export async function createCheckoutSession(
  service: LedgerService,
  account: StripeAccount | null,
  caller: Caller,
  input: CreateCheckoutSessionBody,
): Promise<Reply> {
  if (account === null) return notConfigured(caller);
  const target = await service.walletFor(caller, input.customer, input.asset);
  if (isReply(target)) return target;
  const { scale } = target.asset;
  const amount = parseWireAmount(input.amount, scale, 'amount', { positive: true });
  if (isFieldError(amount)) return fieldReply(caller, [amount]);
  const price = await priceOf(service, caller, input.price, amount, scale);
  if (isFieldError(price)) return fieldReply(caller, [price]);
  const stripeCustomer = await ensureStripeCustomer(service, account, caller, input.customer);
  if (isReply(stripeCustomer)) return stripeCustomer;
  const metadata = {
    bursar_environment: caller.environmentId,
    bursar_customer: input.customer,
    bursar_asset: input.asset,
    bursar_amount: formatAmount(amount, scale),
  };
  let session: { id: string; url: string | null };
  try {
    session = await account.client.checkout.sessions.create(
      {
        mode: 'payment',
        customer: stripeCustomer.id,
        client_reference_id: input.customer,
        line_items: [
          {
            quantity: 1,
            price_data: {
              currency: price.currency,
              unit_amount: toStripeAmount(price.minor),
              product_data: { name: `${formatAmount(amount, scale)} ${input.asset}` },
            },
          },
        ],
        // The card is kept for off-session charges: auto-recharge pays with it later.
        payment_intent_data: { setup_future_usage: 'off_session', metadata },
        metadata,
        success_url: input.success_url,
        cancel_url: input.cancel_url,
      },
      // The caller's key makes a retried request reach the same session; without one each call starts one.
      caller.idempotencyKey === null
        ? {}
        : { idempotencyKey: `bursar-checkout-${caller.environmentId}-${caller.idempotencyKey}` },
    );
  } catch (error) {
    return stripeFailed(caller, error);
  }
  return service.submit(caller, 'createCheckoutSession', input, {
    kind: 'task',
    async run({ session: sql, now }) {
      const row: SqlRow = {
        environment_id: caller.environmentId,
        id: session.id,
        customer_id: input.customer,
        asset: input.asset,
        amount,
        price_currency: price.currency,
        price_total: formatDecimal(price.total),
        url: session.url,
        status: 'pending_payment',
        payment_intent: null,
        paid_currency: null,
        paid_total: null,
        grant_id: null,
        reversal_reason: null,
        reversal_voided: null,
        reversal_consumed: null,
        created_at: BigInt(now),
        settled_at: null,
        reversed_at: null,
      };
      await sql.insertMany('stripe_checkouts', [row], { onConflictDoNothing: true });
      const [stored] = await sql.all(
        'SELECT * FROM stripe_checkouts WHERE environment_id = ? AND customer_id = ? AND id = ?',
        [caller.environmentId, input.customer, session.id],
      );
      return okReply(201, toWireCheckout(stored ?? row, scale));
    },
  });
}

export async function getCheckoutSession(service: LedgerService, caller: Caller, id: string): Promise<Reply> {
  const row = await checkoutById(service, id);
  if (row === undefined || row.environment_id !== caller.environmentId) {
    return problemReply(caller, 'checkout_session_not_found', `No Checkout Session "${id}" in this environment.`);
  }
  const asset = await service.asset(caller.environmentId, String(row.asset));
  if (asset === undefined) throw new Error('assertion failed: a checkout names an existing asset');
  return okReply(200, toWireCheckout(row, asset.scale));
}
