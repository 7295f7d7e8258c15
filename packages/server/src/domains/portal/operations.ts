/**
 * What a portal session may do: read its own customer's balances, grants, open holds, usage and
 * transactions through the wallets, usage and top-ups domains' own operations (the customer always
 * the session's, never one from the request), change its auto-recharge settings within the
 * operator's limits, and start a top-up at the operator's price.
 */
import type { UpdatePortalAutoRechargeBody, UsageQuery } from '@bursar/api';
import type { Caller, Reply } from '../../platform/contract.ts';
import type { LedgerService } from '../../platform/service.ts';
import { fieldReply, isFieldError, okReply, parseWireAmount, problemReply } from '../../platform/service.ts';
import type { PageQuery } from '../../platform/storage/paging.ts';
import { keyset, readPage, textColumn } from '../../platform/storage/paging.ts';
import type { StripeAccount } from '../payments/index.ts';
import { createCheckoutSession } from '../payments/index.ts';
import { getAutoTopUpRule, putAutoTopUpRule } from '../top-ups/index.ts';
import { getUsage } from '../usage/index.ts';
import { getBalances, getHold, listGrants, listTransactions } from '../wallets/index.ts';
import { limitViolations } from './limits.ts';
import { portalSettingsOf } from './settings.ts';
import { sessionById } from './store.ts';

/** The session's customer: every portal operation reads and writes this one, and only it. */
export function portalCustomer(caller: Caller): string {
  if (caller.portal === undefined) throw new Error('assertion failed: a portal route has a portal caller');
  return caller.portal.customer;
}

export function getPortalBalances(service: LedgerService, caller: Caller): Promise<Reply> {
  return getBalances(service, caller, portalCustomer(caller), {});
}

export function listPortalGrants(
  service: LedgerService,
  caller: Caller,
  query: PageQuery & { asset?: string | undefined; status?: string | undefined },
): Promise<Reply> {
  return listGrants(service, caller, { ...query, customer: portalCustomer(caller) });
}

const openHoldKeys = keyset('portal_holds', 'asc', textColumn('id'));

/** The customer's holds in flight (open and not past their expiry), oldest first, each as getHold renders it. */
export async function listPortalHolds(service: LedgerService, caller: Caller, query: PageQuery): Promise<Reply> {
  const filters = {
    'environment_id = ?': caller.environmentId,
    'customer_id = ?': portalCustomer(caller),
    'status = ?': 'open',
    'expires_at > ?': BigInt(service.clock.now()),
  };
  const found = await readPage(service.database.reader, 'holds', openHoldKeys, filters, query);
  if (isFieldError(found)) return fieldReply(caller, [found]);
  const holds: unknown[] = [];
  for (const row of found.rows) {
    const reply = await getHold(service, caller, row.id);
    if (!reply.problem) holds.push(JSON.parse(reply.bodyText));
  }
  return okReply(200, { data: holds, next_cursor: found.nextCursor });
}

export function getPortalUsage(
  service: LedgerService,
  caller: Caller,
  query: Pick<UsageQuery, 'from' | 'to' | 'granularity' | 'feature'>,
): Promise<Reply> {
  return getUsage(service, caller, portalCustomer(caller), query);
}

export function listPortalTransactions(service: LedgerService, caller: Caller, query: PageQuery): Promise<Reply> {
  return listTransactions(service, caller, { ...query, customer: portalCustomer(caller) });
}

interface StoredRule {
  enabled: boolean;
  threshold: string;
  amount: string;
  monthly_cap: string | null;
  failures_max: number;
  cost: { currency: string; total: string } | null;
  status: 'active' | 'disabled' | 'stopped_after_failures';
  spent_this_month: string;
}

/** The top-ups domain's rule as the portal shows it (no cost basis, failures or pending top-up). */
function toPortalRule(asset: string, rule: StoredRule | null) {
  return rule === null
    ? {
        asset,
        enabled: false,
        threshold: null,
        amount: null,
        monthly_cap: null,
        status: 'not_set',
        spent_this_month: '0',
      }
    : {
        asset,
        enabled: rule.enabled,
        threshold: rule.threshold,
        amount: rule.amount,
        monthly_cap: rule.monthly_cap,
        status: rule.status,
        spent_this_month: rule.spent_this_month,
      };
}

/** The stored rule, null when the wallet has none, or the refusal (no such asset). */
async function storedRule(service: LedgerService, caller: Caller, asset: string): Promise<StoredRule | null | Reply> {
  const reply = await getAutoTopUpRule(service, caller, portalCustomer(caller), asset);
  if (!reply.problem) return JSON.parse(reply.bodyText) as StoredRule;
  return reply.status === 404 && reply.bodyText.includes('"auto_top_up_rule_not_found"') ? null : reply;
}

function isReply(value: unknown): value is Reply {
  return typeof value === 'object' && value !== null && 'bodyText' in value;
}

export async function getPortalAutoRecharge(service: LedgerService, caller: Caller, asset: string): Promise<Reply> {
  const rule = await storedRule(service, caller, asset);
  if (isReply(rule)) return rule;
  return okReply(200, toPortalRule(asset, rule));
}

/**
 * Replaces the rule's enabled, threshold, amount and monthly cap when the operator lets customers
 * edit and the choice lies within the limits (each field outside them named in one 400); the rule's
 * other parts (failures allowed, cost basis) stay as the operator set them.
 */
export async function updatePortalAutoRecharge(
  service: LedgerService,
  caller: Caller,
  input: UpdatePortalAutoRechargeBody,
): Promise<Reply> {
  const customer = portalCustomer(caller);
  const settings = await portalSettingsOf(service, caller.environmentId);
  if (!settings.auto_recharge.editable)
    return problemReply(caller, 'auto_recharge_locked', 'The operator does not let customers change auto-recharge.');
  const target = await service.walletFor(caller, customer, input.asset);
  if (isReply(target)) return target;
  const { scale } = target.asset;
  const threshold = parseWireAmount(input.threshold, scale, 'threshold');
  const amount = parseWireAmount(input.amount, scale, 'amount', { positive: true });
  const cap = input.monthly_cap === null ? null : parseWireAmount(input.monthly_cap, scale, 'monthly_cap');
  const parseErrors = [threshold, amount, cap].filter(isFieldError);
  if (parseErrors.length > 0) return fieldReply(caller, parseErrors);
  const violations = limitViolations(
    { threshold: threshold as bigint, amount: amount as bigint, monthlyCap: cap as bigint | null },
    scale,
    settings.auto_recharge,
  );
  if (violations.length > 0) return fieldReply(caller, violations);
  const existing = await storedRule(service, caller, input.asset);
  if (isReply(existing)) return existing;
  const cost = existing?.cost ?? null;
  const reply = await putAutoTopUpRule(service, caller, customer, input.asset, {
    enabled: input.enabled,
    threshold: input.threshold,
    amount: input.amount,
    monthly_cap: input.monthly_cap,
    failures_max: existing?.failures_max ?? 3,
    ...(cost === null ? {} : { cost }),
    reason: 'changed by the customer in the portal',
  });
  if (reply.problem) return reply;
  return okReply(200, toPortalRule(input.asset, JSON.parse(reply.bodyText) as StoredRule));
}

/**
 * A top-up through Stripe Checkout at the operator's unit price for the asset; without Stripe or
 * without a price, 409 top_up_unavailable. The customer returns to the session's return URL.
 */
export async function createPortalTopUp(
  service: LedgerService,
  account: StripeAccount | null,
  caller: Caller,
  input: { asset: string; amount: string },
): Promise<Reply> {
  const customer = portalCustomer(caller);
  const settings = await portalSettingsOf(service, caller.environmentId);
  const price = settings.top_up.prices.find((candidate) => candidate.asset === input.asset);
  if (account === null || price === undefined)
    return problemReply(
      caller,
      'top_up_unavailable',
      account === null
        ? 'No payment provider is configured.'
        : `The operator has set no top-up price for ${input.asset}.`,
    );
  const portal = caller.portal;
  const session =
    portal === undefined
      ? undefined
      : await sessionById(service, { environmentId: caller.environmentId, customer }, portal.sessionId);
  if (session === undefined) throw new Error('assertion failed: an authenticated portal session exists');
  const reply = await createCheckoutSession(service, account, caller, {
    customer,
    asset: input.asset,
    amount: input.amount,
    price: { currency: price.currency, unit_price: price.unit_price },
    success_url: session.return_url,
    cancel_url: session.return_url,
  });
  if (reply.problem) return reply;
  const checkout = JSON.parse(reply.bodyText) as { url: string | null };
  return okReply(201, { checkout_url: checkout.url ?? '', expires_at: null });
}
