/**
 * Write operations on wallets — grants, debits, holds, reversals, voids, adjustments and policy —
 * each a command the committer runs inside a batch: settle, decide (pure core), record, render.
 */
import type { CostBasis, GrantCategory, Hold, OrderKey, PlannedTransaction } from '@bursar/core';
import {
  decideCapture,
  decideDebit,
  decideExtend,
  decideGrant,
  decideHold,
  decideNegativeAdjustment,
  decidePolicy,
  decideRelease,
  decideReversal,
  decideVoid,
  formatAmount,
  multiplyDecimal,
  parseDecimal,
} from '@bursar/core';
import { sql } from 'kysely';
import { auditOf } from '../../platform/commit/audit-chain.ts';
import type { Batch } from '../../platform/commit/batch.ts';
import type { SqlReader } from '../../platform/commit/command.ts';
import { customerOfId } from '../../platform/commit/id-owners.ts';
import type { WalletKey } from '../../platform/commit/wallet-key.ts';
import { grantFromRow } from '../../platform/commit/wallet-store.ts';
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
import { toBigint } from '../../platform/storage/codecs.ts';
import { isAnyOf, queryBuilder } from '../../platform/storage/kysely.ts';
import type { TableRow } from '../../platform/storage/schema.ts';
import type { PricedAmountInput } from '../pricing/index.ts';
import { PriceCatalog, resolvePricedAmount } from '../pricing/index.ts';
import type { EventInput } from '../usage/index.ts';
import {
  costInBatch,
  eventAgeMaxMs,
  eventFutureMaxMs,
  eventPreloads,
  isRepeated,
  rateEvent,
  recordEvent,
} from '../usage/index.ts';
import { toWireBalance, toWireGrant, toWireHold, toWireTransaction, transactionFromRows } from './wire.ts';

export type Metadata = Record<string, string>;

export interface GrantInput {
  customer: string;
  asset: string;
  amount: string;
  category: GrantCategory;
  priority?: number | undefined;
  effective_at?: number | undefined;
  expires_at?: number | undefined;
  features?: string[] | undefined;
  cost_basis?: { currency: string; total?: string | undefined; unit_price?: string | undefined } | undefined;
  reason?: string | undefined;
  metadata?: Metadata | undefined;
}

function metadataText(metadata: Metadata | undefined): string | null {
  return metadata === undefined ? null : JSON.stringify(metadata);
}

function isReply(value: unknown): value is Reply {
  return typeof value === 'object' && value !== null && 'bodyText' in value;
}

export async function costBasisOf(
  service: LedgerService,
  caller: Caller,
  input: GrantInput['cost_basis'],
  amount: bigint,
): Promise<CostBasis | null | FieldError> {
  if (input === undefined) return null;
  if ((await service.asset(caller.environmentId, input.currency)) === undefined) {
    return {
      field: 'cost_basis.currency',
      message: `must be the code of an asset of this environment (create it with POST /v1/assets); there is no asset "${input.currency}"`,
    };
  }
  const text = input.total ?? input.unit_price;
  if (text === undefined || (input.total !== undefined && input.unit_price !== undefined)) {
    return { field: 'cost_basis', message: 'give exactly one of total and unit_price' };
  }
  const parsed = parseDecimal(text);
  if (!parsed.ok)
    return { field: input.total !== undefined ? 'cost_basis.total' : 'cost_basis.unit_price', message: parsed.reason };
  return {
    currency: input.currency,
    total: input.total !== undefined ? parsed.value : multiplyDecimal(parsed.value, amount),
  };
}

export async function createGrant(service: LedgerService, caller: Caller, input: GrantInput): Promise<Reply> {
  return grantLike(service, caller, input, 'createGrant', 'issuance');
}

async function grantLike(
  service: LedgerService,
  caller: Caller,
  input: GrantInput,
  operation: string,
  source: 'issuance' | 'adjustment',
): Promise<Reply> {
  const target = await service.walletFor(caller, input.customer, input.asset);
  if (isReply(target)) return target;
  const amount = parseWireAmount(input.amount, target.asset.scale, 'amount', { positive: true });
  if (isFieldError(amount)) return fieldReply(caller, [amount]);
  const costBasis = await costBasisOf(service, caller, input.cost_basis, amount);
  if (isFieldError(costBasis)) return fieldReply(caller, [costBasis]);
  const { key, asset } = target;
  return service.submit(caller, operation, input, {
    wallets: [key],
    decide(batch) {
      const decision = decideGrant(
        batch.wallet(key),
        {
          amount,
          category: input.category,
          priority: input.priority ?? 0,
          effectiveAt: input.effective_at ?? null,
          expiresAt: input.expires_at ?? null,
          features: input.features ?? null,
          costBasis,
          reason: input.reason ?? null,
          source,
        },
        batch.context,
      );
      if (decision.kind === 'refused') return refusalReply(caller, decision, asset.scale);
      const metadata = metadataText(input.metadata);
      batch.grantExtras.set(decision.result.grant.id, { reason: input.reason ?? null, metadata });
      const result = batch.apply(key, decision, { requestId: caller.requestId, metadata });
      const grantBody = toWireGrant(
        result.grant,
        { customer: key.customer, asset: key.asset, reason: input.reason ?? null, metadata },
        asset.scale,
        batch.now,
      );
      batch.audits.push(
        auditOf(
          caller,
          source === 'issuance' ? 'grant.created' : 'adjustment.created',
          `grant:${result.grant.id}`,
          input.reason ?? null,
          null,
          grantBody,
        ),
      );
      if (source === 'adjustment') {
        return okReply(201, {
          transaction: toWireTransaction(result.transaction, metadata, asset.scale),
          balance: toWireBalance(batch.wallet(key), asset.scale, batch.now),
          grant: grantBody,
        });
      }
      return okReply(201, {
        ...grantBody,
        transaction_id: result.transaction.id,
        debt_repaid: formatAmount(result.debtRepaid, asset.scale),
      });
    },
  });
}

export interface DebitInput {
  customer: string;
  asset: string;
  amount: string;
  feature?: string | undefined;
  description?: string | undefined;
  metadata?: Metadata | undefined;
}

export async function createDebit(service: LedgerService, caller: Caller, input: DebitInput): Promise<Reply> {
  const target = await service.walletFor(caller, input.customer, input.asset);
  if (isReply(target)) return target;
  const amount = parseWireAmount(input.amount, target.asset.scale, 'amount', { positive: true });
  if (isFieldError(amount)) return fieldReply(caller, [amount]);
  const { key, asset } = target;
  const feature = input.feature ?? null;
  const metadata =
    input.metadata === undefined && input.description === undefined
      ? null
      : JSON.stringify({
          ...input.metadata,
          ...(input.description === undefined ? {} : { description: input.description }),
        });
  return service.submit(caller, 'createDebit', input, {
    wallets: [key],
    decide(batch) {
      const decision = decideDebit(batch.wallet(key), { amount, feature }, batch.context);
      if (decision.kind === 'refused') return refusalReply(caller, decision, asset.scale);
      const result = batch.apply(key, decision, { requestId: caller.requestId, metadata });
      return okReply(201, {
        transaction: toWireTransaction(result.transaction, metadata, asset.scale),
        balance: toWireBalance(batch.wallet(key), asset.scale, batch.now, feature),
      });
    },
  });
}

export interface HoldInput extends PricedAmountInput {
  ttl_seconds?: number | undefined;
  metadata?: Metadata | undefined;
}

export async function createHold(service: LedgerService, caller: Caller, input: HoldInput): Promise<Reply> {
  const target = await resolvePricedAmount(service, caller, input);
  if (isReply(target)) return target;
  const { amount } = target;
  const ttlMs = input.ttl_seconds === undefined ? service.limits.holdTtlDefaultMs : input.ttl_seconds * 1000;
  if (ttlMs > service.limits.holdTtlMaxMs)
    return fieldReply(caller, [
      { field: 'ttl_seconds', message: `must be at most ${service.limits.holdTtlMaxMs / 1000}` },
    ]);
  const { key, asset } = target;
  const metadata = metadataText(input.metadata);
  return service.submit(caller, 'createHold', input, {
    wallets: [key],
    decide(batch) {
      const decision = decideHold(
        batch.wallet(key),
        { amount, feature: input.feature ?? null, expiresAt: batch.now + ttlMs },
        batch.context,
      );
      if (decision.kind === 'refused') return refusalReply(caller, decision, asset.scale);
      batch.holdMetadata.set(decision.result.hold.id, metadata);
      const { hold, transaction } = batch.apply(key, decision, { requestId: caller.requestId, metadata });
      return holdReply(201, batch, key, asset, hold, { status: 'open', captured: 0n, metadata }, transaction);
    },
  });
}

/** Finds the wallet of a hold (immutable once created), or the 404 reply. */
async function holdTarget(
  service: LedgerService,
  caller: Caller,
  holdId: string,
): Promise<{ key: WalletKey; asset: AssetInfo; row: TableRow<'holds'> } | Reply> {
  const row = await rowById(service, 'holds', caller.environmentId, holdId);
  if (row === undefined) return problemReply(caller, 'hold_not_found', `No hold "${holdId}" in this environment.`);
  const asset = await service.asset(caller.environmentId, row.asset);
  if (asset === undefined) throw new Error('assertion failed: a hold names an existing asset');
  return {
    key: { environmentId: caller.environmentId, customer: row.customer_id, asset: asset.code },
    asset,
    row,
  };
}

export interface CaptureInput {
  amount?: string | undefined;
  on_excess?: 'draw' | 'refuse' | undefined;
  /** The real usage: rated like an ingested event and recorded as one; its cost is what is captured. */
  event?: { id: string; timestamp?: number | undefined; properties?: EventInput['properties'] } | undefined;
}

export async function captureHold(
  service: LedgerService,
  caller: Caller,
  holdId: string,
  input: CaptureInput,
): Promise<Reply> {
  const target = await holdTarget(service, caller, holdId);
  if (isReply(target)) return target;
  const { key, asset, row } = target;
  const metadata = row.metadata;
  const onExcess = input.on_excess ?? 'draw';
  if (input.event !== undefined) return captureWithEvent(service, caller, holdId, target, input.event, onExcess);
  const amount = input.amount === undefined ? null : parseWireAmount(input.amount, asset.scale, 'amount');
  if (isFieldError(amount)) return fieldReply(caller, [amount]);
  return service.submit(
    caller,
    'captureHold',
    { holdId, ...input },
    {
      wallets: [key],
      decide(batch) {
        const decision = decideCapture(batch.wallet(key), holdId, { amount, onExcess }, batch.context);
        if (decision.kind === 'refused') return refusalReply(caller, decision, asset.scale);
        const { hold, transaction } = batch.apply(key, decision, { requestId: caller.requestId, metadata });
        return holdReply(
          200,
          batch,
          key,
          asset,
          hold,
          { status: 'captured', captured: transaction.amount, metadata },
          transaction,
        );
      },
    },
  );
}

/**
 * Settles a hold with the event carrying the real usage: the event is rated by the price in force
 * at its time, in the hold's asset, and that cost is captured; the event is recorded like an
 * ingested one (deduplicated, counted in the period's usage).
 */
async function captureWithEvent(
  service: LedgerService,
  caller: Caller,
  holdId: string,
  target: { key: WalletKey; asset: AssetInfo; row: TableRow<'holds'> },
  input: NonNullable<CaptureInput['event']>,
  onExcess: 'draw' | 'refuse',
): Promise<Reply> {
  const { key, asset, row } = target;
  if (row.feature === null)
    return fieldReply(caller, [{ field: 'event', message: 'the hold names no feature to price the event by' }]);
  const now = service.clock.now();
  const event: EventInput = {
    id: input.id,
    customer: key.customer,
    feature: row.feature,
    timestamp: input.timestamp ?? now,
    properties: input.properties,
  };
  if (event.timestamp < now - eventAgeMaxMs || event.timestamp > now + eventFutureMaxMs) {
    return fieldReply(caller, [
      { field: 'event.timestamp', message: 'must be at most 35 days old and 5 minutes ahead' },
    ]);
  }
  const rated = await rateEvent(new PriceCatalog(service, caller.environmentId), event);
  if ('code' in rated) return problemReply(caller, rated.code, rated.detail);
  const option = rated.options.find((candidate) => candidate.asset.code === asset.code);
  if (option === undefined)
    return problemReply(
      caller,
      'price_not_found',
      `The price of "${event.feature}" has no option in ${asset.code}, the hold's asset.`,
    );
  const metadata = row.metadata;
  return service.submit(
    caller,
    'captureHold',
    { holdId, event: input, on_excess: onExcess },
    {
      wallets: [key],
      preload: eventPreloads(caller.environmentId, rated),
      decide(batch) {
        if (isRepeated(batch, caller.environmentId, key.customer, event.id)) {
          return problemReply(
            caller,
            'event_exists',
            `Event "${event.id}" is recorded already; it is not charged twice.`,
          );
        }
        const cost = costInBatch(batch, caller.environmentId, rated, option.option, asset.scale);
        if ('kind' in cost) return refusalReply(caller, cost, asset.scale);
        const decision = decideCapture(batch.wallet(key), holdId, { amount: cost.units, onExcess }, batch.context);
        if (decision.kind === 'refused') return refusalReply(caller, decision, asset.scale);
        const { hold, transaction } = batch.apply(key, decision, { requestId: caller.requestId, metadata });
        recordEvent(batch, caller.environmentId, rated, asset, cost.units, transaction.id);
        return holdReply(
          200,
          batch,
          key,
          asset,
          hold,
          { status: 'captured', captured: transaction.amount, metadata },
          transaction,
        );
      },
    },
  );
}

export async function releaseHold(service: LedgerService, caller: Caller, holdId: string): Promise<Reply> {
  const target = await holdTarget(service, caller, holdId);
  if (isReply(target)) return target;
  const { key, asset, row } = target;
  const metadata = row.metadata;
  return service.submit(
    caller,
    'releaseHold',
    { holdId },
    {
      wallets: [key],
      decide(batch) {
        const decision = decideRelease(batch.wallet(key), holdId, batch.context);
        if (decision.kind === 'refused') return refusalReply(caller, decision, asset.scale);
        const { hold, transaction } = batch.apply(key, decision, { requestId: caller.requestId, metadata });
        return holdReply(200, batch, key, asset, hold, { status: 'released', captured: 0n, metadata }, transaction);
      },
    },
  );
}

export async function extendHold(
  service: LedgerService,
  caller: Caller,
  holdId: string,
  input: { amount?: string | undefined; ttl_seconds?: number | undefined },
): Promise<Reply> {
  const target = await holdTarget(service, caller, holdId);
  if (isReply(target)) return target;
  const { key, asset, row } = target;
  const additional =
    input.amount === undefined ? 0n : parseWireAmount(input.amount, asset.scale, 'amount', { positive: true });
  if (isFieldError(additional)) return fieldReply(caller, [additional]);
  if (input.ttl_seconds !== undefined && input.ttl_seconds * 1000 > service.limits.holdTtlMaxMs) {
    return fieldReply(caller, [
      { field: 'ttl_seconds', message: `must be at most ${service.limits.holdTtlMaxMs / 1000}` },
    ]);
  }
  const metadata = row.metadata;
  return service.submit(
    caller,
    'extendHold',
    { holdId, ...input },
    {
      wallets: [key],
      decide(batch) {
        const expiresAt = input.ttl_seconds === undefined ? null : batch.now + input.ttl_seconds * 1000;
        const decision = decideExtend(
          batch.wallet(key),
          holdId,
          { additionalAmount: additional, expiresAt },
          batch.context,
        );
        if (decision.kind === 'refused') return refusalReply(caller, decision, asset.scale);
        const { hold, transaction } = batch.apply(key, decision, { requestId: caller.requestId, metadata });
        return holdReply(200, batch, key, asset, hold, { status: 'open', captured: 0n, metadata }, transaction);
      },
    },
  );
}

export async function voidGrant(
  service: LedgerService,
  caller: Caller,
  grantId: string,
  input: { reason: string },
): Promise<Reply> {
  const row = await rowById(service, 'grants', caller.environmentId, grantId);
  if (row === undefined) return problemReply(caller, 'grant_not_found', `No grant "${grantId}" in this environment.`);
  const asset = await service.asset(caller.environmentId, row.asset);
  if (asset === undefined) throw new Error('assertion failed: a grant names an existing asset');
  const key: WalletKey = { environmentId: caller.environmentId, customer: row.customer_id, asset: asset.code };
  const owner = { customer: key.customer, asset: key.asset, reason: row.reason, metadata: row.metadata };
  return service.submit(
    caller,
    'voidGrant',
    { grantId, ...input },
    {
      wallets: [key],
      async read(batch, reader) {
        await ensureGrantsLoaded(batch, reader, key, [grantId]);
      },
      decide(batch) {
        const wallet = batch.wallet(key);
        const before = wallet.grants.find((grant) => grant.id === grantId);
        const decision = decideVoid(wallet, grantId, input.reason, batch.context);
        if (decision.kind === 'refused') return refusalReply(caller, decision, asset.scale);
        const result = batch.apply(key, decision, { requestId: caller.requestId, metadata: null });
        const after = toWireGrant(result.grant, owner, asset.scale, batch.now);
        batch.audits.push(
          auditOf(
            caller,
            'grant.voided',
            `grant:${grantId}`,
            input.reason,
            before === undefined ? null : toWireGrant(before, owner, asset.scale, batch.now),
            after,
          ),
        );
        return okReply(200, { ...after, transaction: toWireTransaction(result.transaction, null, asset.scale) });
      },
    },
  );
}

/** Loads grants a decision needs that the cached wallet state dropped (spent or dead lots). */
async function ensureGrantsLoaded(
  batch: Batch,
  reader: SqlReader,
  key: WalletKey,
  grantIds: readonly string[],
): Promise<void> {
  const known = new Set(batch.wallet(key).grants.map((grant) => grant.id));
  const missing = grantIds.filter((id) => !known.has(id));
  if (missing.length === 0) return;
  const rows = await queryBuilder(reader)
    .selectFrom('grants')
    .selectAll()
    .where('environment_id', '=', key.environmentId)
    .where('customer_id', '=', key.customer)
    .where(isAnyOf(reader.dialect, 'id', missing))
    .orderBy('id')
    .execute();
  batch.addGrants(key, rows.map(grantFromRow));
}

export async function reverseTransaction(
  service: LedgerService,
  caller: Caller,
  transactionId: string,
  input: { amount?: string | undefined; reason: string },
): Promise<Reply> {
  const row = await rowById(service, 'transactions', caller.environmentId, transactionId);
  if (row === undefined)
    return problemReply(caller, 'transaction_not_found', `No transaction "${transactionId}" in this environment.`);
  const asset = await service.asset(caller.environmentId, row.asset);
  if (asset === undefined) throw new Error('assertion failed: a transaction names an existing asset');
  const amount =
    input.amount === undefined ? null : parseWireAmount(input.amount, asset.scale, 'amount', { positive: true });
  if (isFieldError(amount)) return fieldReply(caller, [amount]);
  const key: WalletKey = { environmentId: caller.environmentId, customer: row.customer_id, asset: asset.code };
  const entries = await queryBuilder(service.database.reader)
    .selectFrom('entries')
    .selectAll()
    .where('environment_id', '=', caller.environmentId)
    .where('customer_id', '=', key.customer)
    .where('transaction_id', '=', transactionId)
    .orderBy('position')
    .execute();
  const original = transactionFromRows(row, entries);
  const draws = original.entries
    .filter((entry) => (entry.account === 'grant' || entry.account === 'debt') && entry.amount < 0n)
    .map((entry) => ({ grantId: entry.grantId, amount: -entry.amount }));
  let reversedAmount = 0n;
  return service.submit(
    caller,
    'reverseTransaction',
    { transactionId, ...input },
    {
      wallets: [key],
      async read(batch, reader) {
        // Read under the wallet lock: reversals of this transaction by other processes are committed or waiting.
        const sum = await queryBuilder(reader)
          .selectFrom('transactions')
          .select((select) => select.fn.coalesce(select.fn.sum('amount'), sql.lit(0)).as('total'))
          .where('environment_id', '=', caller.environmentId)
          .where('customer_id', '=', key.customer)
          .where('reverses_id', '=', transactionId)
          .executeTakeFirst();
        // A sum is an aggregate: PostgreSQL answers numeric (exact text), SQLite an integer.
        reversedAmount = toBigint(sum?.total ?? 0n);
        for (const planned of batch.transactions) {
          if (planned.environmentId === caller.environmentId && planned.transaction.reversesId === transactionId)
            reversedAmount += planned.transaction.amount;
        }
        await ensureGrantsLoaded(
          batch,
          reader,
          key,
          draws.flatMap((draw) => (draw.grantId === null ? [] : [draw.grantId])),
        );
      },
      decide(batch) {
        const decision = decideReversal(
          batch.wallet(key),
          { id: original.id, kind: original.kind, amount: original.amount, draws, reversedAmount },
          { amount, reason: input.reason },
          batch.context,
        );
        if (decision.kind === 'refused') return refusalReply(caller, decision, asset.scale);
        const result = batch.apply(key, decision, { requestId: caller.requestId, metadata: null });
        const body = toWireTransaction(result.transaction, null, asset.scale);
        batch.audits.push(
          auditOf(caller, 'transaction.reversed', `transaction:${transactionId}`, input.reason, null, body),
        );
        return okReply(201, { transaction: body, balance: toWireBalance(batch.wallet(key), asset.scale, batch.now) });
      },
    },
  );
}

export interface AdjustmentInput {
  customer: string;
  asset: string;
  amount: string;
  reason: string;
  expires_at?: number | undefined;
  category?: GrantCategory | undefined;
}

export async function createAdjustment(service: LedgerService, caller: Caller, input: AdjustmentInput): Promise<Reply> {
  if (!input.amount.startsWith('-')) {
    return grantLike(
      service,
      caller,
      { ...input, category: input.category ?? 'adjustment' },
      'createAdjustment',
      'adjustment',
    );
  }
  const target = await service.walletFor(caller, input.customer, input.asset);
  if (isReply(target)) return target;
  const signed = parseWireAmount(input.amount, target.asset.scale, 'amount', { signed: true });
  if (isFieldError(signed)) return fieldReply(caller, [signed]);
  const { key, asset } = target;
  return service.submit(caller, 'createAdjustment', input, {
    wallets: [key],
    decide(batch) {
      const decision = decideNegativeAdjustment(
        batch.wallet(key),
        { amount: -signed, reason: input.reason },
        batch.context,
      );
      if (decision.kind === 'refused') return refusalReply(caller, decision, asset.scale);
      const result = batch.apply(key, decision, { requestId: caller.requestId, metadata: null });
      const body = toWireTransaction(result.transaction, null, asset.scale);
      batch.audits.push(
        auditOf(caller, 'adjustment.created', `transaction:${result.transaction.id}`, input.reason, null, body),
      );
      return okReply(201, {
        grant: null,
        transaction: body,
        balance: toWireBalance(batch.wallet(key), asset.scale, batch.now),
      });
    },
  });
}

export interface PolicyInput {
  overdraft_limit?: string | undefined;
  consumption_order?: OrderKey[] | undefined;
  repay_debt_first?: boolean | undefined;
  /** A decimal amount, or null to stop the balance.low / balance.recovered events. */
  low_balance_threshold?: string | null | undefined;
  reason?: string | undefined;
}

export async function updateWalletPolicy(
  service: LedgerService,
  caller: Caller,
  customer: string,
  assetCode: string,
  input: PolicyInput,
): Promise<Reply> {
  const target = await service.walletFor(caller, customer, assetCode);
  if (isReply(target)) return target;
  const { key, asset } = target;
  const limit =
    input.overdraft_limit === undefined
      ? undefined
      : parseWireAmount(input.overdraft_limit, asset.scale, 'overdraft_limit');
  if (isFieldError(limit)) return fieldReply(caller, [limit]);
  const threshold =
    input.low_balance_threshold === undefined || input.low_balance_threshold === null
      ? input.low_balance_threshold
      : parseWireAmount(input.low_balance_threshold, asset.scale, 'low_balance_threshold');
  if (isFieldError(threshold)) return fieldReply(caller, [threshold]);
  return service.submit(
    caller,
    'updateWalletPolicy',
    { customer, asset: assetCode, ...input },
    {
      wallets: [key],
      decide(batch) {
        const wallet = batch.wallet(key);
        const decision = decidePolicy(wallet, {
          ...(limit === undefined ? {} : { overdraftLimit: limit }),
          ...(input.consumption_order === undefined ? {} : { consumptionOrder: input.consumption_order }),
          ...(input.repay_debt_first === undefined ? {} : { repayDebtFirst: input.repay_debt_first }),
          ...(threshold === undefined ? {} : { lowBalanceThreshold: threshold }),
        });
        if (decision.kind === 'refused') return refusalReply(caller, decision, asset.scale);
        batch.replacePolicy(key, decision.wallet);
        const before = toWireBalance(wallet, asset.scale, batch.now);
        const after = toWireBalance(decision.wallet, asset.scale, batch.now);
        batch.audits.push(
          auditOf(
            caller,
            'wallet.policy_updated',
            `wallet:${customer}/${assetCode}`,
            input.reason ?? null,
            before,
            after,
          ),
        );
        return okReply(200, { customer, ...after });
      },
    },
  );
}

/** The reply of every hold operation: the hold as it now stands, the transaction, the wallet after. */
function holdReply(
  status: number,
  batch: Batch,
  key: WalletKey,
  asset: AssetInfo,
  hold: Hold,
  state: { status: 'open' | 'captured' | 'released'; captured: bigint; metadata: string | null },
  transaction: PlannedTransaction,
): Reply {
  const endedAt = state.status === 'open' ? null : batch.now;
  return okReply(status, {
    hold: toWireHold(hold, { customer: key.customer, asset: key.asset, ...state, endedAt }, asset.scale),
    transaction: toWireTransaction(transaction, state.metadata, asset.scale),
    balance: toWireBalance(batch.wallet(key), asset.scale, batch.now, hold.feature),
  });
}

/** A row of one of the wallet's tables by its id alone: the id directory names its customer, then its whole key reads it. */
async function rowById<Table extends 'holds' | 'grants' | 'transactions'>(
  service: LedgerService,
  table: Table,
  environmentId: string,
  id: string,
): Promise<TableRow<Table> | undefined> {
  const reader = service.database.reader;
  const customer = await customerOfId(reader, environmentId, id);
  if (customer === undefined) return undefined;
  const [row] = await reader.selectByKeys(
    table,
    ['environment_id', 'customer_id', 'id'],
    [[environmentId, customer, id]],
  );
  // A whole row of one table: the drivers type it as the schema does.
  return row as TableRow<Table> | undefined;
}
