/**
 * What the payments domain reads: a customer's Stripe customer, a Checkout top-up by its session or
 * payment, a top-up by its payment, an event already handled — and the wire form of a Checkout top-up.
 */
import { formatAmount } from '@bursar/core';
import { customerOfId } from '../../platform/commit/id-owners.ts';
import type { LedgerService } from '../../platform/service.ts';
import { toBigint, toTime } from '../../platform/storage/codecs.ts';
import type { SqlRow } from '../../platform/storage/database.ts';
import { nullableText, toTimestamp } from '../../platform/wire.ts';

export async function stripeCustomerOf(
  service: LedgerService,
  environmentId: string,
  customer: string,
): Promise<string | null> {
  const [row] = await service.database.reader.all(
    'SELECT stripe_customer_id FROM stripe_customers WHERE environment_id = ? AND customer_id = ?',
    [environmentId, customer],
  );
  return row === undefined ? null : String(row.stripe_customer_id);
}

/** A Checkout top-up by Stripe's session id, which is unique across environments. */
export async function checkoutById(service: LedgerService, id: string): Promise<SqlRow | undefined> {
  const [row] = await service.database.reader.all('SELECT * FROM stripe_checkouts WHERE id = ?', [id]);
  return row;
}

export async function checkoutByPaymentIntent(
  service: LedgerService,
  paymentIntent: string,
): Promise<SqlRow | undefined> {
  const [row] = await service.database.reader.all('SELECT * FROM stripe_checkouts WHERE payment_intent = ?', [
    paymentIntent,
  ]);
  return row;
}

/** A settled auto top-up paid by this PaymentIntent (its provider reference). */
export async function topUpByPaymentIntent(service: LedgerService, paymentIntent: string): Promise<SqlRow | undefined> {
  const [row] = await service.database.reader.all(
    "SELECT * FROM topups WHERE provider_reference = ? AND status = 'succeeded'",
    [paymentIntent],
  );
  return row;
}

/** The outcome stored for a Stripe event already handled, or null. */
export async function handledOutcome(service: LedgerService, eventId: string): Promise<string | null> {
  const [row] = await service.database.reader.all('SELECT outcome FROM stripe_events WHERE id = ?', [eventId]);
  return row === undefined ? null : String(row.outcome);
}

export async function grantRow(
  service: LedgerService,
  environmentId: string,
  grantId: string,
): Promise<SqlRow | undefined> {
  const customer = await customerOfId(service.database.reader, environmentId, grantId);
  if (customer === undefined) return undefined;
  const [row] = await service.database.reader.all(
    'SELECT * FROM grants WHERE environment_id = ? AND customer_id = ? AND id = ?',
    [environmentId, customer, grantId],
  );
  return row;
}

export function toWireCheckout(row: SqlRow, scale: number) {
  const paidCurrency = nullableText(row.paid_currency);
  const reversedAt = row.reversed_at === null ? null : toTime(row.reversed_at);
  return {
    id: String(row.id),
    url: row.status === 'pending_payment' ? nullableText(row.url) : null,
    customer: String(row.customer_id),
    asset: String(row.asset),
    amount: formatAmount(toBigint(row.amount), scale),
    price: { currency: String(row.price_currency), total: String(row.price_total) },
    status: String(row.status) as 'pending_payment' | 'paid' | 'expired' | 'reversed',
    grant: nullableText(row.grant_id),
    paid: paidCurrency === null ? null : { currency: paidCurrency, total: String(row.paid_total) },
    reversal:
      reversedAt === null
        ? null
        : {
            reason: String(row.reversal_reason),
            voided: formatAmount(toBigint(row.reversal_voided), scale),
            consumed: formatAmount(toBigint(row.reversal_consumed), scale),
            at: toTimestamp(reversedAt) ?? '',
          },
    created_at: toTimestamp(toTime(row.created_at)) ?? '',
  };
}
