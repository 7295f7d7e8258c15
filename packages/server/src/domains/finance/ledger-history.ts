/**
 * Reads what revenue recognition is decided from: the environment's grants with a cost basis and
 * every ledger entry on a grant lot before a report's end, turned into the core's lot movements.
 */
import type { LotMovement, PaidLot, PromotionalMovement, TransactionKind } from '@bursar/core';
import { costBasisValue, lotMovementKindOf, parseDecimal } from '@bursar/core';
import type { LedgerService } from '../../platform/service.ts';
import { toBigint, toTime } from '../../platform/storage/codecs.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';

/** What finance reads with: the database's reader and the asset lookup (a LedgerService, or the CLI's). */
export type FinanceReader = Pick<LedgerService, 'database' | 'asset'>;

export interface HistoryFilter {
  readonly environmentId: string;
  readonly customer?: string | undefined;
  readonly asset?: string | undefined;
  readonly currency?: string | undefined;
  /** Nothing at or after this instant is read. */
  readonly endAt: number;
}

export interface RevenueHistory {
  readonly lots: readonly { readonly lot: PaidLot; readonly movements: readonly LotMovement[] }[];
  readonly promotional: readonly PromotionalMovement[];
}

export async function loadRevenueHistory(service: FinanceReader, filter: HistoryFilter): Promise<RevenueHistory> {
  const db = queryBuilder(service.database.reader);
  const grantRows = await db
    .selectFrom('grants')
    .select(['id', 'customer_id', 'asset', 'amount', 'cost_currency', 'cost_total', 'created_at'])
    .where('environment_id', '=', filter.environmentId)
    .where('created_at', '<', BigInt(filter.endAt))
    .$if(filter.customer !== undefined, (query) => query.where('customer_id', '=', filter.customer as string))
    .$if(filter.asset !== undefined, (query) => query.where('asset', '=', filter.asset as string))
    .execute();
  const entryRows = await db
    .selectFrom('entries')
    .innerJoin('transactions', (join) =>
      join
        .onRef('transactions.environment_id', '=', 'entries.environment_id')
        .onRef('transactions.customer_id', '=', 'entries.customer_id')
        .onRef('transactions.id', '=', 'entries.transaction_id'),
    )
    .select([
      'entries.grant_id as grant_id',
      'entries.amount as amount',
      'transactions.id as transaction_id',
      'transactions.kind as kind',
      'transactions.grant_id as transaction_grant',
      'transactions.created_at as created_at',
    ])
    .where('entries.environment_id', '=', filter.environmentId)
    .where('entries.account', '=', 'grant')
    .where('transactions.created_at', '<', BigInt(filter.endAt))
    .$if(filter.customer !== undefined, (query) => query.where('entries.customer_id', '=', filter.customer as string))
    .$if(filter.asset !== undefined, (query) => query.where('entries.asset', '=', filter.asset as string))
    .orderBy('transactions.created_at')
    .orderBy('transactions.id')
    .orderBy('entries.position')
    .execute();
  // The transaction that issued each grant, whose entry on the lot is what the debt repayment left.
  const issuing = await db
    .selectFrom('transactions')
    .select(['id', 'grant_id'])
    .where('environment_id', '=', filter.environmentId)
    .where('kind', 'in', ['grant', 'adjust'])
    .where('grant_id', 'is not', null)
    .where('created_at', '<', BigInt(filter.endAt))
    .$if(filter.customer !== undefined, (query) => query.where('customer_id', '=', filter.customer as string))
    .execute();
  const issuedBy = new Map(issuing.map((row) => [String(row.grant_id), String(row.id)]));

  const lots = new Map<string, { lot: PaidLot; movements: LotMovement[] }>();
  const freeLots = new Map<string, { customer: string; asset: string }>();
  for (const row of grantRows) {
    const grantId = String(row.id);
    if (row.cost_currency === null || row.cost_total === null) {
      freeLots.set(grantId, { customer: String(row.customer_id), asset: String(row.asset) });
      continue;
    }
    if (filter.currency !== undefined && row.cost_currency !== filter.currency) continue;
    const currency = await service.asset(filter.environmentId, row.cost_currency);
    const total = parseDecimal(row.cost_total);
    if (currency === undefined || !total.ok)
      throw new Error(`grant ${grantId}: a stored cost basis that does not read`);
    const lot: PaidLot = {
      grantId,
      customer: String(row.customer_id),
      asset: String(row.asset),
      currency: row.cost_currency,
      amount: toBigint(row.amount),
      value: costBasisValue(total.value, currency.scale),
      issuedAt: toTime(row.created_at),
      transactionId: issuedBy.get(grantId) ?? grantId,
    };
    // What the lot did not receive at issue went to repay debt: credit consumed before the grant.
    const repaid = { at: lot.issuedAt, transactionId: lot.transactionId, kind: 'consumed' as const, units: lot.amount };
    lots.set(grantId, { lot, movements: [repaid] });
  }

  const promotional: PromotionalMovement[] = [];
  for (const row of entryRows) {
    const grantId = String(row.grant_id);
    const amount = toBigint(row.amount);
    const kind = lotMovementKindOf(row.kind as TransactionKind);
    const at = toTime(row.created_at);
    const issuingEntry =
      row.transaction_grant === grantId && amount > 0n && (row.kind === 'grant' || row.kind === 'adjust');
    const paid = lots.get(grantId);
    if (paid !== undefined) {
      if (issuingEntry) {
        // The issuing entry puts credit into the lot: the repayment above shrinks by it.
        const [repaid] = paid.movements;
        if (repaid !== undefined) paid.movements[0] = { ...repaid, units: repaid.units - amount };
        continue;
      }
      if (kind !== null) paid.movements.push({ at, transactionId: String(row.transaction_id), kind, units: -amount });
      continue;
    }
    const free = freeLots.get(grantId);
    if (free !== undefined && kind === 'consumed' && !issuingEntry) {
      promotional.push({ at, customer: free.customer, asset: free.asset, units: -amount });
    }
  }
  return {
    lots: [...lots.values()].map(({ lot, movements }) => ({
      lot,
      movements: movements.filter((movement) => movement.units !== 0n),
    })),
    promotional,
  };
}
