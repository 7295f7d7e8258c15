/**
 * Writes what a batch decided: one bulk statement per table (transactions, entries, grants,
 * holds, reservations, wallets, outbox, the rows commands added), then each registered domain
 * part's own rows, then the audit chain, all inside the batch's transaction.
 */
import type { Grant, Wallet } from '@bursar/core';
import { changedItems, formatAmount, grantTotals } from '@bursar/core';
import { newId } from '../ids.ts';
import { decimalText } from '../storage/codecs.ts';
import type { SqlRow, SqlSession } from '../storage/database.ts';
import { isAnyOf, queryBuilder } from '../storage/kysely.ts';
import { chainAuditRecords } from './audit-chain.ts';
import type { Batch, HoldVersion } from './batch.ts';
import { idOwnerRows } from './id-owners.ts';
import { topUpColumns } from './top-up-rows.ts';
import { rolloverToText } from './wallet-store.ts';

export async function flushBatch(session: SqlSession, batch: Batch, auditKey: Buffer): Promise<void> {
  const idOwners = await writeTransactions(session, batch);
  const grantInserts: SqlRow[] = [];
  const grantUpdates: SqlRow[] = [];
  const walletUpdates: SqlRow[] = [];
  const initialHolds = new Map<string, HoldVersion>();
  for (const slot of batch.slots()) {
    // The holds a wallet started the batch with, only where its holds changed (to tell an insert
    // from an update): a wallet with thousands of holds open that only took debits costs nothing.
    if (slot.current.holds !== slot.initial.holds) {
      for (const hold of slot.initial.holds) {
        initialHolds.set(hold.id, {
          environmentId: slot.key.environmentId,
          customer: slot.key.customer,
          asset: slot.key.asset,
          hold,
        });
      }
    }
    if (slot.current === slot.initial && !slot.policyChanged) continue;
    const environmentId = slot.key.environmentId;
    // Only the grants the batch added or changed are written.
    for (const { before: previous, after: grant } of changedItems(slot.initial.grants, slot.current.grants)) {
      if (previous === undefined)
        grantInserts.push(grantRow(environmentId, slot.current, grant, batch.grantExtras.get(grant.id)));
      else {
        grantUpdates.push({
          environment_id: environmentId,
          customer_id: slot.key.customer,
          id: grant.id,
          remaining: grant.remaining,
          reserved: grant.reserved,
          voided_at: grant.voidedAt === null ? null : BigInt(grant.voidedAt),
          rollover: rolloverToText(grant),
        });
      }
    }
    walletUpdates.push(walletRow(environmentId, slot.current, slot.version + 1n, batch.now));
  }
  await session.insertMany('grants', grantInserts);
  await session.updateMany('grants', ['environment_id', 'customer_id', 'id'], grantUpdates);
  idOwners.push(...idOwnerRows('grants', grantInserts));
  idOwners.push(...(await writeHolds(session, batch, initialHolds)));
  await session.updateMany('wallets', ['environment_id', 'customer_id', 'asset'], walletUpdates);
  await writeOutbox(session, batch);
  for (const [table, rows] of batch.insertsByTable) {
    await session.insertMany(table, rows);
    idOwners.push(...idOwnerRows(table, rows));
  }
  await session.insertMany('id_owners', idOwners);
  for (const { table, keyColumns, row } of batch.updates) await session.updateMany(table, keyColumns, [row]);
  for (const [part, state] of batch.usedParts()) await part.flush(state, session);
  if (batch.audits.length > 0) {
    const { rows, heads } = await chainAuditRecords(session, batch.audits, batch.now, auditKey);
    await session.insertMany('audit_events', rows);
    await session.updateMany('environments', ['id'], heads);
  }
}

/** Returns the id directory's rows of the transactions written. */
async function writeTransactions(session: SqlSession, batch: Batch): Promise<SqlRow[]> {
  const transactionRows: SqlRow[] = [];
  const entryRows: SqlRow[] = [];
  for (const { environmentId, transaction, options } of batch.transactions) {
    transactionRows.push({
      environment_id: environmentId,
      customer_id: transaction.customer,
      asset: transaction.asset,
      id: transaction.id,
      kind: transaction.kind,
      amount: transaction.amount,
      feature: transaction.feature,
      hold_id: transaction.holdId,
      grant_id: transaction.grantId,
      reverses_id: transaction.reversesId,
      reason: transaction.reason,
      metadata: options.metadata,
      request_id: options.requestId,
      created_at: BigInt(transaction.createdAt),
    });
    transaction.entries.forEach((entry, position) => {
      entryRows.push({
        environment_id: environmentId,
        customer_id: transaction.customer,
        transaction_id: transaction.id,
        position: BigInt(position),
        asset: transaction.asset,
        account: entry.account,
        grant_id: entry.grantId,
        amount: entry.amount,
      });
    });
  }
  await session.insertMany('transactions', transactionRows);
  await session.insertMany('entries', entryRows);
  return idOwnerRows('transactions', transactionRows);
}

/** Returns the id directory's rows of the holds created. */
async function writeHolds(
  session: SqlSession,
  batch: Batch,
  initialHolds: Map<string, HoldVersion>,
): Promise<SqlRow[]> {
  const endings = new Map(batch.holdsEnded.map(({ ending }) => [ending.holdId, ending]));
  const holdInserts: SqlRow[] = [];
  const holdUpdates: SqlRow[] = [];
  const reservationInserts: SqlRow[] = [];
  const touched = new Map(batch.holdVersions);
  for (const { ending } of batch.holdsEnded) {
    const initial = initialHolds.get(ending.holdId);
    if (!touched.has(ending.holdId) && initial !== undefined) touched.set(ending.holdId, initial);
  }
  for (const [holdId, { environmentId, customer, asset, hold }] of touched) {
    const ending = endings.get(holdId);
    const initial = initialHolds.get(holdId)?.hold;
    const status = ending?.status ?? 'open';
    const firstNewPosition = initial?.reservations.length ?? 0;
    hold.reservations.slice(firstNewPosition).forEach((reservation, offset) => {
      reservationInserts.push({
        environment_id: environmentId,
        customer_id: customer,
        hold_id: holdId,
        position: BigInt(firstNewPosition + offset),
        grant_id: reservation.grantId,
        amount: reservation.amount,
      });
    });
    const mutable = {
      amount: hold.amount,
      captured: ending?.capturedAmount ?? 0n,
      status,
      expires_at: BigInt(hold.expiresAt),
      ended_at: ending === undefined ? null : BigInt(ending.endedAt),
    };
    if (initial === undefined) {
      holdInserts.push({
        environment_id: environmentId,
        customer_id: customer,
        asset,
        id: holdId,
        feature: hold.feature,
        metadata: batch.holdMetadata.get(holdId) ?? null,
        created_at: BigInt(hold.createdAt),
        ...mutable,
      });
    } else if (initial !== hold || ending !== undefined) {
      holdUpdates.push({ environment_id: environmentId, customer_id: customer, id: holdId, ...mutable });
    }
  }
  await session.insertMany('holds', holdInserts);
  await session.insertMany('hold_reservations', reservationInserts);
  await session.updateMany('holds', ['environment_id', 'customer_id', 'id'], holdUpdates);
  return idOwnerRows('holds', holdInserts);
}

function grantRow(
  environmentId: string,
  wallet: Wallet,
  grant: Grant,
  extras: { reason: string | null; metadata: string | null } | undefined,
): SqlRow {
  return {
    environment_id: environmentId,
    customer_id: wallet.customer,
    asset: wallet.asset,
    id: grant.id,
    amount: grant.amount,
    remaining: grant.remaining,
    reserved: grant.reserved,
    category: grant.category,
    priority: BigInt(grant.priority),
    effective_at: BigInt(grant.effectiveAt),
    expires_at: grant.expiresAt === null ? null : BigInt(grant.expiresAt),
    features: grant.features === null ? null : JSON.stringify(grant.features),
    cost_currency: grant.costBasis?.currency ?? null,
    cost_total: grant.costBasis === null ? null : decimalText(grant.costBasis.total),
    reason: extras?.reason ?? null,
    metadata: extras?.metadata ?? null,
    created_at: BigInt(grant.createdAt),
    voided_at: grant.voidedAt === null ? null : BigInt(grant.voidedAt),
    rollover: rolloverToText(grant),
  };
}

/** Outbox rows carry amounts as decimal strings in the asset's unit (SPEC §3), as REST does. */
async function writeOutbox(session: SqlSession, batch: Batch): Promise<void> {
  const scales = await assetScales(session, batch);
  await session.insertMany(
    'outbox',
    batch.events.map(({ environmentId, event }) => {
      const data: Record<string, string | number | null> = {};
      for (const [name, value] of Object.entries(event.data)) {
        if (typeof value !== 'bigint') data[name] = value;
        else {
          const scale = scales.get(assetScaleKey(environmentId, event.asset));
          if (scale === undefined)
            throw new Error(`assertion failed: ${event.type} names unknown asset ${event.asset}`);
          data[name] = formatAmount(value, scale);
        }
      }
      return {
        environment_id: environmentId,
        id: newId('evt', batch.now),
        type: event.type,
        customer_id: event.customer,
        asset: event.asset,
        data: JSON.stringify(data),
        created_at: BigInt(batch.now),
        delivered_at: null,
      };
    }),
  );
}

function assetScaleKey(environmentId: string, asset: string): string {
  return `${environmentId}\u0000${asset}`;
}

/** The scale of every asset whose amounts the batch's events carry: one read per environment, none without amounts. */
async function assetScales(session: SqlSession, batch: Batch): Promise<Map<string, number>> {
  const codesByEnvironment = new Map<string, Set<string>>();
  for (const { environmentId, event } of batch.events) {
    if (!Object.values(event.data).some((value) => typeof value === 'bigint')) continue;
    const codes = codesByEnvironment.get(environmentId) ?? new Set<string>();
    codes.add(event.asset);
    codesByEnvironment.set(environmentId, codes);
  }
  const scales = new Map<string, number>();
  for (const [environmentId, codes] of codesByEnvironment) {
    const rows = await queryBuilder(session)
      .selectFrom('assets')
      .select(['code', 'scale'])
      .where('environment_id', '=', environmentId)
      .where(isAnyOf(session.dialect, 'code', [...codes]))
      .execute();
    for (const row of rows) scales.set(assetScaleKey(environmentId, row.code), Number(row.scale));
  }
  return scales;
}

/** The booked balance is the sum of the wallet's grant-lot and debt entries (kept in the grant index's totals). */
function bookedBalance(wallet: Wallet, now: number): bigint {
  return grantTotals(wallet.grants, now).remaining - wallet.debt;
}

function walletRow(environmentId: string, wallet: Wallet, version: bigint, now: number): SqlRow {
  return {
    environment_id: environmentId,
    customer_id: wallet.customer,
    asset: wallet.asset,
    overdraft_limit: wallet.policy.overdraftLimit,
    consumption_order: wallet.policy.consumptionOrder.join(','),
    repay_debt_first: wallet.policy.repayDebtFirst ? 1n : 0n,
    low_balance_threshold: wallet.policy.lowBalanceThreshold,
    debt: wallet.debt,
    debt_reserved: wallet.debtReserved,
    balance: bookedBalance(wallet, now),
    version,
    ...topUpColumns(wallet),
  };
}
