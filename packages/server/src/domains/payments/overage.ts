/**
 * Usage beyond credits, to Stripe: a wallet's debt when a period has ended becomes one invoice item on
 * the customer's Stripe customer, once per wallet and period, and a paid grant of the same amount
 * repays the debt in Bursar, so the next period never invoices it again. The debt is frozen in a
 * `pending` row first, so a retry after a crash sends Stripe the same item under the same key.
 */
import type { InvoiceStripeOverageBody } from '@bursar/api';
import { decideGrant, formatAmount, formatDecimal, parseDecimal } from '@bursar/core';
import type { WalletKey } from '../../platform/commit/wallet-key.ts';
import type { Caller, Reply } from '../../platform/contract.ts';
import type { LedgerService } from '../../platform/service.ts';
import { fieldReply, okReply, problemReply, refusalReply } from '../../platform/service.ts';
import { toBigint } from '../../platform/storage/codecs.ts';
import type { SqlRow } from '../../platform/storage/database.ts';
import { nullableText } from '../../platform/wire.ts';
import { overageTotal, periodEndMs, toMinorUnits, toStripeAmount } from './decisions.ts';
import { notConfigured, stripeFailed } from './operations.ts';
import { stripeCustomerOf } from './store.ts';
import type { StripeAccount } from './stripe-client.ts';

const keyColumns = ['environment_id', 'customer_id', 'asset', 'period'];

function toWireOverage(row: SqlRow, scale: number) {
  return {
    customer: String(row.customer_id),
    asset: String(row.asset),
    period: String(row.period),
    status: row.status === 'nothing_owed' ? ('nothing_owed' as const) : ('invoiced' as const),
    debt: formatAmount(toBigint(row.debt), scale),
    price: { currency: String(row.currency), total: String(row.total) },
    invoice_item: nullableText(row.invoice_item),
    grant: nullableText(row.grant_id),
  };
}

export async function invoiceStripeOverage(
  service: LedgerService,
  account: StripeAccount | null,
  caller: Caller,
  params: { customer: string; asset: string },
  input: InvoiceStripeOverageBody,
): Promise<Reply> {
  if (account === null) return notConfigured(caller);
  const target = await service.walletFor(caller, params.customer, params.asset);
  if ('bodyText' in target) return target;
  const { key, asset } = target;
  if (periodEndMs(input.period) > service.clock.now()) {
    return fieldReply(caller, [{ field: 'period', message: `${input.period} has not ended yet` }]);
  }
  const { currency } = input.unit_price;
  if ((await service.asset(caller.environmentId, currency)) === undefined) {
    return fieldReply(caller, [
      {
        field: 'unit_price.currency',
        message: `must be the code of an asset of this environment; there is no "${currency}"`,
      },
    ]);
  }
  const unitPrice = parseDecimal(input.unit_price.unit_price);
  if (!unitPrice.ok) return fieldReply(caller, [{ field: 'unit_price.unit_price', message: unitPrice.reason }]);
  const stripeCustomer = await stripeCustomerOf(service, caller.environmentId, params.customer);
  if (stripeCustomer === null) {
    return problemReply(caller, 'stripe_customer_not_linked', `Customer "${params.customer}" has no Stripe customer.`);
  }
  const rowKey = [caller.environmentId, params.customer, params.asset, input.period];
  // Freeze the debt for this period (or find it frozen, or invoiced, by an earlier call).
  const frozen = await service.committer.runInWriter('payments', async ({ session, now }) => {
    const [wallet] = await session.all(
      'SELECT debt FROM wallets WHERE environment_id = ? AND customer_id = ? AND asset = ?',
      [caller.environmentId, params.customer, params.asset],
    );
    const debt = wallet === undefined ? 0n : toBigint(wallet.debt);
    const total = overageTotal(debt, asset.scale, currency, unitPrice.value);
    const row: SqlRow = {
      environment_id: caller.environmentId,
      customer_id: params.customer,
      asset: params.asset,
      period: input.period,
      debt,
      currency,
      total: formatDecimal(total),
      status: debt === 0n || total.units === 0n ? 'nothing_owed' : 'pending',
      invoice_item: null,
      grant_id: null,
      created_at: BigInt(now),
      invoiced_at: null,
    };
    await session.insertMany('stripe_overage_invoices', [row], { onConflictDoNothing: true });
    const [stored] = await session.all(
      'SELECT * FROM stripe_overage_invoices WHERE environment_id = ? AND customer_id = ? AND asset = ? AND period = ?',
      rowKey,
    );
    return stored ?? row;
  });
  if (frozen.status !== 'pending') return okReply(200, toWireOverage(frozen, asset.scale));
  const total = parseDecimal(String(frozen.total));
  if (!total.ok) throw new Error('assertion failed: a stored total is a decimal');
  const minor = toMinorUnits(String(frozen.currency), total.value);
  if (!minor.ok) return fieldReply(caller, [{ field: 'unit_price.unit_price', message: `the total ${minor.reason}` }]);
  const debt = toBigint(frozen.debt);
  let invoiceItem: string;
  try {
    const item = await account.client.invoiceItems.create(
      {
        customer: stripeCustomer,
        amount: toStripeAmount(minor.units),
        currency: String(frozen.currency),
        description: `${formatAmount(debt, asset.scale)} ${params.asset} beyond credits, ${input.period}`,
        metadata: {
          bursar_environment: caller.environmentId,
          bursar_customer: params.customer,
          bursar_period: input.period,
        },
      },
      { idempotencyKey: `bursar-overage-${caller.environmentId}-${params.customer}-${params.asset}-${input.period}` },
    );
    invoiceItem = item.id;
  } catch (error) {
    return stripeFailed(caller, error);
  }
  return settleOverage(service, caller, key, asset.scale, rowKey, invoiceItem, total.value);
}

/** Repays the frozen debt with a paid grant and marks the period invoiced, once, under the row's lock. */
function settleOverage(
  service: LedgerService,
  caller: Caller,
  key: WalletKey,
  scale: number,
  rowKey: string[],
  invoiceItem: string,
  total: { units: bigint; scale: number },
): Promise<Reply> {
  return service.committer.submit({
    environmentId: caller.environmentId,
    requestId: caller.requestId,
    idempotency: null,
    wallets: [key],
    preload: [{ table: 'stripe_overage_invoices', keyColumns, key: rowKey, lock: true }],
    decide(batch) {
      const row = batch.preloaded('stripe_overage_invoices', rowKey);
      if (row === undefined) throw new Error('assertion failed: a frozen overage row exists');
      if (row.status !== 'pending') return okReply(200, toWireOverage(row, scale));
      const reason = `stripe invoice item ${invoiceItem}`;
      const granted = decideGrant(
        batch.wallet(key),
        {
          amount: toBigint(row.debt),
          category: 'paid',
          priority: 0,
          effectiveAt: null,
          expiresAt: null,
          features: null,
          costBasis: { currency: String(row.currency), total },
          reason,
          source: 'issuance',
        },
        batch.context,
      );
      if (granted.kind === 'refused') return refusalReply(caller, granted, scale);
      const metadata = JSON.stringify({ stripe_invoice_item: invoiceItem, period: String(row.period) });
      batch.grantExtras.set(granted.result.grant.id, { reason, metadata });
      const { grant } = batch.apply(key, granted, { requestId: caller.requestId, metadata });
      const settled = {
        status: 'invoiced',
        invoice_item: invoiceItem,
        grant_id: grant.id,
        invoiced_at: BigInt(batch.now),
      };
      batch.update('stripe_overage_invoices', keyColumns, {
        environment_id: key.environmentId,
        customer_id: key.customer,
        asset: key.asset,
        period: String(row.period),
        ...settled,
      });
      batch.audits.push({
        environmentId: key.environmentId,
        action: 'stripe.overage_invoiced',
        target: `grant:${grant.id}`,
        actor: `api_key:${caller.apiKeyId}`,
        reason,
        before: null,
        after: { period: row.period, debt: String(row.debt), invoice_item: invoiceItem },
        requestId: caller.requestId,
      });
      return okReply(200, toWireOverage({ ...row, ...settled }, scale));
    },
  });
}
