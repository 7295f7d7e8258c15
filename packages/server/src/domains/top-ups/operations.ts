/**
 * Auto top-up operations: put and read a wallet's rule, list its top-ups, and settle one. Settling
 * is one command whichever way the outcome arrives (the integrator's settleTopUp, or the worker
 * after the payment provider answered), so a top-up is settled once however often it is reported.
 */
import type { CostBasis, TopUpRule, TopUpState } from '@bursar/core';
import { decideGrant, decideTopUpOutcome, formatAmount } from '@bursar/core';
import { auditOf } from '../../platform/commit/audit-chain.ts';
import type { Batch } from '../../platform/commit/batch.ts';
import type { WalletCommand } from '../../platform/commit/command.ts';
import { customerOfId } from '../../platform/commit/id-owners.ts';
import { costFromText, costText, topUpStateFromRow } from '../../platform/commit/top-up-rows.ts';
import type { WalletKey } from '../../platform/commit/wallet-key.ts';
import type { Caller, FieldError, Reply } from '../../platform/contract.ts';
import type { AssetInfo, LedgerService } from '../../platform/service.ts';
import {
  fieldReply,
  isFieldError,
  okReply,
  parseWireAmount,
  problemReply,
  refusalReply,
} from '../../platform/service.ts';
import { toTime } from '../../platform/storage/codecs.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';
import type { PageQuery } from '../../platform/storage/paging.ts';
import { keyset, readPage, textColumn } from '../../platform/storage/paging.ts';
import type { TableRow } from '../../platform/storage/schema.ts';
import { toTimestamp } from '../../platform/wire.ts';
import { costBasisOf } from '../wallets/index.ts';
import { monthOf } from './requests.ts';

type TopUpRow = TableRow<'topups'>;
/** The columns a settlement changes, with the row's key. */
type TopUpChange = Pick<
  TopUpRow,
  'environment_id' | 'customer_id' | 'id' | 'status' | 'provider_reference' | 'settled_at'
> &
  Partial<Pick<TopUpRow, 'reason' | 'cost_currency' | 'cost_total' | 'grant_id'>>;

export const topUpGrantReason = 'auto top-up';

export interface AutoTopUpRuleInput {
  enabled: boolean;
  threshold: string;
  amount: string;
  monthly_cap?: string | null | undefined;
  failures_max: number;
  cost?: { currency: string; total: string } | undefined;
  reason?: string | undefined;
}

function isReply(value: unknown): value is Reply {
  return typeof value === 'object' && value !== null && 'bodyText' in value;
}

export async function putAutoTopUpRule(
  service: LedgerService,
  caller: Caller,
  customer: string,
  assetCode: string,
  input: AutoTopUpRuleInput,
): Promise<Reply> {
  const target = await service.walletFor(caller, customer, assetCode);
  if (isReply(target)) return target;
  const rule = await parseRule(service, caller, input, target.asset);
  if (isReply(rule)) return rule;
  const { key, asset } = target;
  return service.submit(
    caller,
    'putAutoTopUpRule',
    { customer, asset: assetCode, ...input },
    {
      wallets: [key],
      decide(batch) {
        const wallet = batch.wallet(key);
        const previous = wallet.topUp;
        // A pending top-up stays pending (it may be being charged); the failure count starts again.
        const state: TopUpState = {
          rule,
          pending: previous?.pending ?? null,
          month: previous?.month ?? null,
          monthAmount: previous?.monthAmount ?? 0n,
          failures: 0,
        };
        batch.replacePolicy(key, { ...wallet, topUp: state });
        const after = toWireRule(key, state, asset.scale, batch.now);
        const before = previous === undefined ? null : toWireRule(key, previous, asset.scale, batch.now);
        batch.audits.push(
          auditOf(
            caller,
            'wallet.auto_top_up_updated',
            `wallet:${customer}/${assetCode}`,
            input.reason ?? null,
            before,
            after,
          ),
        );
        return okReply(200, after);
      },
    },
  );
}

async function parseRule(
  service: LedgerService,
  caller: Caller,
  input: AutoTopUpRuleInput,
  asset: AssetInfo,
): Promise<TopUpRule | Reply> {
  const threshold = parseWireAmount(input.threshold, asset.scale, 'threshold');
  if (isFieldError(threshold)) return fieldReply(caller, [threshold]);
  const amount = parseWireAmount(input.amount, asset.scale, 'amount', { positive: true });
  if (isFieldError(amount)) return fieldReply(caller, [amount]);
  const cap =
    input.monthly_cap === undefined || input.monthly_cap === null
      ? null
      : parseWireAmount(input.monthly_cap, asset.scale, 'monthly_cap', { positive: true });
  if (isFieldError(cap)) return fieldReply(caller, [cap]);
  if (cap !== null && cap < amount)
    return fieldReply(caller, [{ field: 'monthly_cap', message: 'must be at least amount, or no top-up could run' }]);
  const costBasis = await costBasisOf(service, caller, input.cost, amount);
  if (isFieldError(costBasis)) return fieldReply(caller, [costField(costBasis)]);
  return {
    enabled: input.enabled,
    threshold,
    amount,
    monthlyCap: cap,
    failuresMax: input.failures_max,
    ...(costBasis === null ? {} : { costBasis }),
  };
}

/** costBasisOf names its fields after a grant's `cost_basis`; here the field is `cost`. */
function costField(error: FieldError): FieldError {
  return { field: error.field.replace(/^cost_basis/, 'cost'), message: error.message };
}

export async function getAutoTopUpRule(
  service: LedgerService,
  caller: Caller,
  customer: string,
  assetCode: string,
): Promise<Reply> {
  const target = await service.walletFor(caller, customer, assetCode);
  if (isReply(target)) return target;
  const row = await queryBuilder(service.database.reader)
    .selectFrom('wallets')
    .select(['topup_rule', 'topup_pending', 'topup_month', 'topup_month_amount', 'topup_failures'])
    .where('environment_id', '=', caller.environmentId)
    .where('customer_id', '=', customer)
    .where('asset', '=', assetCode)
    .executeTakeFirst();
  const state = row === undefined ? undefined : topUpStateFromRow(row);
  if (state === undefined)
    return problemReply(
      caller,
      'auto_top_up_rule_not_found',
      `The ${assetCode} wallet of "${customer}" has no auto top-up rule.`,
    );
  return okReply(200, toWireRule(target.key, state, target.asset.scale, service.clock.now()));
}

function ruleStatus(state: TopUpState): 'active' | 'disabled' | 'stopped_after_failures' {
  if (!state.rule.enabled) return 'disabled';
  return state.failures >= state.rule.failuresMax ? 'stopped_after_failures' : 'active';
}

function toWireRule(key: WalletKey, state: TopUpState, scale: number, now: number) {
  const { rule } = state;
  const month = monthOf(now);
  return {
    customer: key.customer,
    asset: key.asset,
    enabled: rule.enabled,
    threshold: formatAmount(rule.threshold, scale),
    amount: formatAmount(rule.amount, scale),
    monthly_cap: rule.monthlyCap === null ? null : formatAmount(rule.monthlyCap, scale),
    failures_max: rule.failuresMax,
    cost: rule.costBasis === undefined ? null : costText(rule.costBasis),
    status: ruleStatus(state),
    pending_top_up: state.pending,
    month,
    spent_this_month: formatAmount(state.month === month ? state.monthAmount : 0n, scale),
    failures: state.failures,
  };
}

export function toWireTopUp(row: TopUpRow, scale: number) {
  return {
    id: row.id,
    customer: row.customer_id,
    asset: row.asset,
    amount: formatAmount(row.amount, scale),
    status: row.status as 'requested' | 'succeeded' | 'failed',
    reason: row.reason,
    provider_reference: row.provider_reference,
    cost:
      row.cost_currency === null || row.cost_total === null
        ? null
        : { currency: row.cost_currency, total: row.cost_total },
    grant: row.grant_id,
    attempts: Number(row.attempts),
    created_at: toTimestamp(toTime(row.created_at)),
    settled_at: row.settled_at === null ? null : toTimestamp(toTime(row.settled_at)),
  };
}

const topUpKeys = keyset('topups', 'desc', textColumn('id'));

/** A wallet's top-ups, newest first. */
export async function listTopUps(
  service: LedgerService,
  caller: Caller,
  customer: string,
  assetCode: string,
  query: PageQuery & { status?: string | undefined },
): Promise<Reply> {
  const target = await service.walletFor(caller, customer, assetCode);
  if (isReply(target)) return target;
  const filters = {
    'environment_id = ?': caller.environmentId,
    'customer_id = ?': customer,
    'asset = ?': assetCode,
    'status = ?': query.status,
  };
  const found = await readPage(service.database.reader, 'topups', topUpKeys, filters, query);
  if (isFieldError(found)) return fieldReply(caller, [found]);
  return okReply(200, {
    data: found.rows.map((row) => toWireTopUp(row, target.asset.scale)),
    next_cursor: found.nextCursor,
  });
}

/** How a top-up ended, as reported by the integrator or the payment provider. */
export interface TopUpSettlement {
  readonly succeeded: boolean;
  readonly reference: string | null;
  readonly reason: string | null;
  /** What the customer paid; null: the cost the top-up carries from its rule (if any). */
  readonly costBasis: CostBasis | null;
  readonly actor: string;
  readonly requestId: string;
}

export interface SettleTopUpInput {
  outcome: 'succeeded' | 'failed';
  reference?: string | undefined;
  reason?: string | undefined;
  cost?: { currency: string; total: string } | undefined;
}

export async function settleTopUp(
  service: LedgerService,
  caller: Caller,
  topUpId: string,
  input: SettleTopUpInput,
): Promise<Reply> {
  const target = await topUpTarget(service, caller.environmentId, topUpId);
  if (target === undefined)
    return problemReply(caller, 'top_up_not_found', `No top-up "${topUpId}" in this environment.`);
  const amount = target.row.amount;
  const costBasis = await costBasisOf(service, caller, input.cost, amount);
  if (isFieldError(costBasis)) return fieldReply(caller, [costField(costBasis)]);
  const settlement: TopUpSettlement = {
    succeeded: input.outcome === 'succeeded',
    reference: input.reference ?? null,
    reason: input.reason ?? null,
    costBasis,
    actor: `api_key:${caller.apiKeyId}`,
    requestId: caller.requestId,
  };
  const reply = await service.submit(caller, 'settleTopUp', { topUpId, ...input }, settleCommand(target, settlement));
  if (!reply.problem && !reply.replayed) service.onTopUpSettled(input.outcome);
  return reply;
}

export interface TopUpTarget {
  readonly key: WalletKey;
  readonly asset: AssetInfo;
  /** The top-up as read before queueing; only its immutable fields (wallet, amount) are used. */
  readonly row: TopUpRow;
}

export async function topUpTarget(
  service: LedgerService,
  environmentId: string,
  topUpId: string,
): Promise<TopUpTarget | undefined> {
  const customer = await customerOfId(service.database.reader, environmentId, topUpId);
  if (customer === undefined) return undefined;
  const row = await queryBuilder(service.database.reader)
    .selectFrom('topups')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .where('customer_id', '=', customer)
    .where('id', '=', topUpId)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  const asset = await service.asset(environmentId, row.asset);
  if (asset === undefined) throw new Error('assertion failed: a top-up names an existing asset');
  return { key: { environmentId, customer: row.customer_id, asset: asset.code }, asset, row };
}

/**
 * Settles a top-up under the wallet lock and the top-up row's lock: only a top-up still
 * `requested` in storage and still pending in the wallet settles, so a replay, a second worker or
 * a second process finds it settled and changes nothing.
 */
export function settleCommand(
  target: TopUpTarget,
  settlement: TopUpSettlement,
): Pick<WalletCommand, 'wallets' | 'preload' | 'decide'> {
  const { key, asset } = target;
  const id = target.row.id;
  const rowKey = [key.environmentId, key.customer, id];
  return {
    wallets: [key],
    preload: [{ table: 'topups', keyColumns: ['environment_id', 'customer_id', 'id'], key: rowKey, lock: true }],
    decide(batch) {
      const row = batch.preloaded('topups', rowKey);
      if (row === undefined) throw new Error('assertion failed: a top-up is never deleted');
      const wallet = batch.wallet(key);
      if (row.status !== 'requested' || wallet.topUp?.pending !== id) {
        return problemReply(settlement, 'top_up_settled', `Top-up "${id}" is already settled; nothing changed.`);
      }
      const settled = settlement.succeeded
        ? recordSuccess(batch, target, row, settlement)
        : recordFailure(batch, target, row, settlement);
      if (isReply(settled)) return settled;
      batch.update('topups', ['environment_id', 'customer_id', 'id'], settled);
      const body = toWireTopUp({ ...row, ...settled }, asset.scale);
      batch.audits.push({
        environmentId: key.environmentId,
        action: 'top_up.settled',
        target: `top_up:${id}`,
        actor: settlement.actor,
        reason: settlement.reason,
        before: toWireTopUp(row, asset.scale),
        after: body,
        requestId: settlement.requestId,
      });
      return okReply(200, body);
    },
  };
}

/** A paid grant of the top-up's amount with its cost basis; returns the top-up row's new columns. */
function recordSuccess(
  batch: Batch,
  target: TopUpTarget,
  row: TopUpRow,
  settlement: TopUpSettlement,
): TopUpChange | Reply {
  const { key, asset } = target;
  const { id, amount } = row;
  const costBasis =
    settlement.costBasis ??
    (row.cost_currency === null || row.cost_total === null ? null : costFromText(row.cost_currency, row.cost_total));
  const decision = decideGrant(
    batch.wallet(key),
    {
      amount,
      category: 'paid',
      priority: 0,
      effectiveAt: null,
      expiresAt: null,
      features: null,
      costBasis,
      reason: topUpGrantReason,
      source: 'issuance',
    },
    batch.context,
  );
  if (decision.kind === 'refused') return refusalReply(settlement, decision, asset.scale);
  const metadata = JSON.stringify({ top_up: id });
  batch.grantExtras.set(decision.result.grant.id, { reason: topUpGrantReason, metadata });
  const { grant } = batch.apply(key, decision, { requestId: settlement.requestId, metadata });
  batch.replacePolicy(key, decideTopUpOutcome(batch.wallet(key), id, amount, true));
  batch.events.push({
    environmentId: key.environmentId,
    event: {
      type: 'topup.succeeded',
      customer: key.customer,
      asset: key.asset,
      data: { top_up: id, amount, grant: grant.id, reference: settlement.reference },
    },
  });
  return {
    environment_id: key.environmentId,
    customer_id: key.customer,
    id,
    status: 'succeeded',
    provider_reference: settlement.reference,
    cost_currency: costBasis?.currency ?? null,
    cost_total: costBasis === null ? null : costText(costBasis).total,
    grant_id: grant.id,
    settled_at: BigInt(batch.now),
  };
}

/** Counts the failure (the rule stops after failures_max in a row); returns the top-up row's new columns. */
function recordFailure(batch: Batch, target: TopUpTarget, row: TopUpRow, settlement: TopUpSettlement): TopUpChange {
  const { key } = target;
  const { id, amount } = row;
  const after = decideTopUpOutcome(batch.wallet(key), id, amount, false);
  batch.replacePolicy(key, after);
  const failures = after.topUp?.failures ?? 0;
  batch.events.push({
    environmentId: key.environmentId,
    event: {
      type: 'topup.failed',
      customer: key.customer,
      asset: key.asset,
      data: {
        top_up: id,
        amount,
        reason: settlement.reason,
        reference: settlement.reference,
        failures,
        failures_max: after.topUp?.rule.failuresMax ?? null,
      },
    },
  });
  return {
    environment_id: key.environmentId,
    customer_id: key.customer,
    id,
    status: 'failed',
    reason: settlement.reason,
    provider_reference: settlement.reference,
    settled_at: BigInt(batch.now),
  };
}
