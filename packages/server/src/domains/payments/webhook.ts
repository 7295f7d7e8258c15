/**
 * Stripe's webhook: the signature is checked with the SDK on the body exactly as sent, an event id
 * already handled answers its stored outcome, and each event is decided (decisions.ts) on the state
 * read under the committer's locks, so redeliveries and any order of arrival grant or reverse once.
 */
import { decideGrant, decideVoid, formatDecimal } from '@bursar/core';
import type Stripe from 'stripe';
import type { Batch } from '../../platform/commit/batch.ts';
import type { WalletKey } from '../../platform/commit/wallet-key.ts';
import { grantFromRow } from '../../platform/commit/wallet-store.ts';
import type { Reply } from '../../platform/contract.ts';
import type { SignedRequest } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import { okReply, problemReply, refusalReply } from '../../platform/service.ts';
import { toBigint } from '../../platform/storage/codecs.ts';
import type { SqlRow } from '../../platform/storage/database.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';
import type { CheckoutEventFacts, ReversalFacts } from './decisions.ts';
import { decideCheckoutEvent, decideReversal } from './decisions.ts';
import { notConfigured } from './operations.ts';
import {
  checkoutById,
  checkoutByPaymentIntent,
  grantRow,
  handledOutcome,
  stripeCustomerOf,
  topUpByPaymentIntent,
} from './store.ts';
import type { StripeAccount } from './stripe-client.ts';

/** The reason on a grant bought through Checkout. */
const checkoutGrantReason = 'stripe checkout';

/** An event about a payment Bursar has not seen confirmed yet: answered non-2xx, so Stripe sends it again later. */
class EventTooEarly extends Error {}

export async function receiveStripeWebhook(
  service: LedgerService,
  account: StripeAccount | null,
  request: SignedRequest,
): Promise<Reply> {
  if (account === null) return notConfigured(request);
  const header = request.headers['stripe-signature'];
  let event: Stripe.Event;
  try {
    if (typeof header !== 'string') throw new Error('no Stripe-Signature header');
    event = account.client.webhooks.constructEvent(request.bodyText, header, account.webhookSecret);
  } catch {
    return problemReply(
      request,
      'stripe_signature_invalid',
      'The Stripe-Signature header is missing, too old, or does not sign this body with the webhook secret.',
    );
  }
  const stored = await handledOutcome(service, event.id);
  if (stored !== null) return okReply(200, { received: true, duplicate: true, outcome: stored });
  let outcome: string;
  try {
    outcome = await handleEvent(service, account, event, request.requestId);
  } catch (error) {
    if (!(error instanceof EventTooEarly)) throw error;
    return problemReply(request, 'stripe_event_early', error.message);
  }
  await service.committer.runInWriter('payments', async ({ session, now }) => {
    await session.insertMany('stripe_events', [{ id: event.id, type: event.type, outcome, received_at: BigInt(now) }], {
      onConflictDoNothing: true,
    });
  });
  return okReply(200, { received: true, duplicate: false, outcome });
}

async function handleEvent(
  service: LedgerService,
  account: StripeAccount,
  event: Stripe.Event,
  requestId: string,
): Promise<string> {
  switch (event.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded':
    case 'checkout.session.async_payment_failed':
    case 'checkout.session.expired': {
      const session = event.data.object;
      return settleCheckout(service, account, session.id, requestId, {
        type: event.type,
        paymentStatus: session.payment_status,
        currency: session.currency,
        amountTotal: session.amount_total === null ? null : BigInt(session.amount_total),
        paymentIntent: idOf(session.payment_intent),
      });
    }
    case 'charge.refunded': {
      const charge = event.data.object;
      const paymentIntent = idOf(charge.payment_intent);
      if (paymentIntent === null) return 'ignored';
      const facts = { type: event.type, refundedFully: charge.refunded, reference: paymentIntent } as const;
      return reverse(service, paymentIntent, facts, charge.metadata.bursar_environment !== undefined, requestId);
    }
    case 'charge.dispute.created': {
      const dispute = event.data.object;
      const paymentIntent = idOf(dispute.payment_intent);
      if (paymentIntent === null) return 'ignored';
      const facts = { type: event.type, refundedFully: false, reference: paymentIntent } as const;
      return reverse(service, paymentIntent, facts, false, requestId);
    }
    default:
      return 'ignored';
  }
}

function idOf(value: string | { id: string } | null): string | null {
  return value === null ? null : typeof value === 'string' ? value : value.id;
}

/** Grants, expires or leaves a Checkout top-up, deciding on its row read under its lock. */
async function settleCheckout(
  service: LedgerService,
  account: StripeAccount,
  sessionId: string,
  requestId: string,
  facts: CheckoutEventFacts,
): Promise<string> {
  const found = await checkoutById(service, sessionId);
  if (found === undefined) return 'unknown_session';
  const environmentId = String(found.environment_id);
  const paymentIntent = facts.paymentIntent;
  if (found.status === 'pending_payment' && paymentIntent !== null) {
    // Before the grant: a failure here fails the event, and Stripe's redelivery tries again.
    await adoptSavedCard(service, account, environmentId, String(found.customer_id), paymentIntent);
  }
  const asset = await service.asset(environmentId, String(found.asset));
  if (asset === undefined) throw new Error('assertion failed: a checkout names an existing asset');
  const key: WalletKey = { environmentId, customer: String(found.customer_id), asset: asset.code };
  const rowKey = [environmentId, key.customer, sessionId];
  const reply = await service.committer.submit({
    environmentId,
    requestId,
    idempotency: null,
    wallets: [key],
    preload: [
      { table: 'stripe_checkouts', keyColumns: ['environment_id', 'customer_id', 'id'], key: rowKey, lock: true },
    ],
    decide(batch) {
      const row = batch.preloaded('stripe_checkouts', rowKey);
      if (row === undefined) throw new Error('assertion failed: a checkout is never deleted');
      const decision = decideCheckoutEvent(String(row.status) as 'pending_payment', facts);
      if (decision.kind === 'none') return okReply(200, { outcome: decision.outcome });
      if (decision.kind === 'expire') {
        batch.update('stripe_checkouts', ['environment_id', 'customer_id', 'id'], {
          environment_id: environmentId,
          customer_id: key.customer,
          id: sessionId,
          status: 'expired',
          settled_at: BigInt(batch.now),
        });
        return okReply(200, { outcome: 'expired' });
      }
      const granted = decideGrant(
        batch.wallet(key),
        {
          amount: toBigint(row.amount),
          category: 'paid',
          priority: 0,
          effectiveAt: null,
          expiresAt: null,
          features: null,
          costBasis: decision.paid,
          reason: checkoutGrantReason,
          source: 'issuance',
        },
        batch.context,
      );
      if (granted.kind === 'refused') return refusalReply({ requestId }, granted, asset.scale);
      const metadata = JSON.stringify({ stripe_checkout_session: sessionId });
      batch.grantExtras.set(granted.result.grant.id, { reason: checkoutGrantReason, metadata });
      const { grant } = batch.apply(key, granted, { requestId, metadata });
      batch.update('stripe_checkouts', ['environment_id', 'customer_id', 'id'], {
        environment_id: environmentId,
        customer_id: key.customer,
        id: sessionId,
        status: 'paid',
        payment_intent: decision.paymentIntent,
        paid_currency: decision.paid.currency,
        paid_total: formatDecimal(decision.paid.total),
        grant_id: grant.id,
        settled_at: BigInt(batch.now),
      });
      auditStripe(batch, environmentId, 'stripe.checkout_paid', `grant:${grant.id}`, checkoutGrantReason, requestId, {
        checkout_session: sessionId,
        grant: grant.id,
      });
      return okReply(200, { outcome: 'granted' });
    },
  });
  // A refusal (the wallet would overflow) leaves the session pending: the event fails and Stripe retries it.
  if (reply.problem) throw new Error(`checkout ${sessionId} could not be granted: ${reply.bodyText}`);
  return (JSON.parse(reply.bodyText) as { outcome: string }).outcome;
}

/**
 * Makes the card a Checkout payment saved (`setup_future_usage: off_session`) the Stripe customer's
 * default payment method when it has none, so auto-recharge can charge it off-session.
 */
async function adoptSavedCard(
  service: LedgerService,
  account: StripeAccount,
  environmentId: string,
  customer: string,
  paymentIntent: string,
): Promise<void> {
  const stripeCustomer = await stripeCustomerOf(service, environmentId, customer);
  if (stripeCustomer === null) return;
  const found = await account.client.customers.retrieve(stripeCustomer);
  if (found.deleted === true || found.invoice_settings.default_payment_method !== null) return;
  const intent = await account.client.paymentIntents.retrieve(paymentIntent);
  const paymentMethod = idOf(intent.payment_method);
  if (paymentMethod === null) return;
  await account.client.customers.update(stripeCustomer, {
    invoice_settings: { default_payment_method: paymentMethod },
  });
}

function auditStripe(
  batch: Batch,
  environmentId: string,
  action: string,
  target: string,
  reason: string,
  requestId: string,
  after: unknown,
): void {
  batch.audits.push({ environmentId, action, target, actor: 'stripe', reason, before: null, after, requestId });
}

/** The grant a payment bought: a Checkout top-up's or an auto top-up's. */
async function paidGrantOf(
  service: LedgerService,
  paymentIntent: string,
): Promise<{ environmentId: string; grantId: string; checkout: SqlRow | null } | null> {
  const checkout = await checkoutByPaymentIntent(service, paymentIntent);
  if (checkout !== undefined && checkout.grant_id !== null) {
    return { environmentId: String(checkout.environment_id), grantId: String(checkout.grant_id), checkout };
  }
  const topUp = await topUpByPaymentIntent(service, paymentIntent);
  if (topUp !== undefined && topUp.grant_id !== null) {
    return { environmentId: String(topUp.environment_id), grantId: String(topUp.grant_id), checkout: null };
  }
  return null;
}

/** Voids the unspent part of the grant a refunded or disputed payment bought; reports what was consumed. */
async function reverse(
  service: LedgerService,
  paymentIntent: string,
  facts: ReversalFacts,
  markedByBursar: boolean,
  requestId: string,
): Promise<string> {
  const paid = await paidGrantOf(service, paymentIntent);
  if (paid === null) {
    // A payment Bursar started whose confirmation has not arrived yet: Stripe sends the refund again later.
    if (markedByBursar) throw new EventTooEarly(`Payment ${paymentIntent} is not confirmed in Bursar yet.`);
    return 'unknown_payment';
  }
  const { environmentId, grantId, checkout } = paid;
  const stored = await grantRow(service, environmentId, grantId);
  if (stored === undefined) throw new Error('assertion failed: a paid grant exists');
  const asset = await service.asset(environmentId, String(stored.asset));
  if (asset === undefined) throw new Error('assertion failed: a grant names an existing asset');
  const key: WalletKey = { environmentId, customer: String(stored.customer_id), asset: asset.code };
  const reply = await service.committer.submit({
    environmentId,
    requestId,
    idempotency: null,
    wallets: [key],
    async read(batch, reader) {
      // A spent or dead lot may have left the cached wallet; the void needs it.
      if (batch.wallet(key).grants.some((grant) => grant.id === grantId)) return;
      const rows = await queryBuilder(reader)
        .selectFrom('grants')
        .selectAll()
        .where('environment_id', '=', environmentId)
        .where('customer_id', '=', key.customer)
        .where('id', '=', grantId)
        .execute();
      batch.addGrants(key, rows.map(grantFromRow));
    },
    decide(batch) {
      const grant = batch.wallet(key).grants.find((lot) => lot.id === grantId);
      const decision = decideReversal(grant === undefined ? undefined : { voided: grant.voidedAt !== null }, facts);
      if (decision.kind === 'none' || grant === undefined) {
        return okReply(200, { outcome: decision.kind === 'none' ? decision.outcome : 'unknown_payment' });
      }
      const voided = decideVoid(batch.wallet(key), grantId, decision.reason, batch.context);
      if (voided.kind === 'refused') return refusalReply({ requestId }, voided, asset.scale);
      const { transaction } = batch.apply(key, voided, { requestId, metadata: null });
      const consumed = grant.amount - transaction.amount;
      if (checkout !== null) {
        batch.update('stripe_checkouts', ['environment_id', 'customer_id', 'id'], {
          environment_id: environmentId,
          customer_id: key.customer,
          id: String(checkout.id),
          status: 'reversed',
          reversal_reason: decision.reason,
          reversal_voided: transaction.amount,
          reversal_consumed: consumed,
          reversed_at: BigInt(batch.now),
        });
      }
      const report = { grant: grantId, voided: transaction.amount.toString(), consumed: consumed.toString() };
      auditStripe(
        batch,
        environmentId,
        'stripe.payment_reversed',
        `grant:${grantId}`,
        decision.reason,
        requestId,
        report,
      );
      return okReply(200, { outcome: `reversed: voided ${report.voided}, consumed ${report.consumed}` });
    },
  });
  if (reply.problem) throw new Error(`payment ${paymentIntent} could not be reversed: ${reply.bodyText}`);
  return (JSON.parse(reply.bodyText) as { outcome: string }).outcome;
}
