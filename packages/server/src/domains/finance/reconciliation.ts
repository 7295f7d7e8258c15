/**
 * Provider cost imports and the reconciliation: a provider's export is stored as USD totals per UTC
 * day and model (a later import of the same day and model replaces it), and compared with the
 * provider cost Bursar attributed to the day's events of that model.
 */
import type { ImportProviderCostsBody, ReconciliationQuery } from '@bursar/api';
import type { Rational } from '@bursar/core';
import { parseDecimal, rational } from '@bursar/core';
import { auditOf } from '../../platform/commit/audit-chain.ts';
import type { Caller, Reply } from '../../platform/contract.ts';
import type { LedgerService } from '../../platform/service.ts';
import { fieldReply, okReply } from '../../platform/service.ts';
import { toTime } from '../../platform/storage/codecs.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';
import { rationalOfText } from './provider-cost.ts';
import { ExportError, readProviderExport } from './provider-exports.ts';

export async function importProviderCosts(
  service: LedgerService,
  caller: Caller,
  input: ImportProviderCostsBody,
): Promise<Reply> {
  let rows: ReturnType<typeof readProviderExport>;
  try {
    rows = readProviderExport(input.format, input.content);
  } catch (error) {
    if (error instanceof ExportError) return fieldReply(caller, [{ field: 'content', message: error.message }]);
    throw error;
  }
  if (rows.length === 0) return fieldReply(caller, [{ field: 'content', message: 'holds no cost rows' }]);
  let total = rational.zero;
  for (const row of rows) total = rational.add(total, row.cost);
  const body = {
    provider: input.provider,
    rows: rows.length,
    days: [...new Set(rows.map((row) => row.day))],
    total: rational.toDecimalText(total),
  };
  return service.submit(caller, 'importProviderCosts', input, {
    kind: 'task',
    async run(writer) {
      const stored = rows.map((row) => ({
        environment_id: caller.environmentId,
        provider: input.provider,
        day: row.day,
        model: row.model,
        cost: rational.toDecimalText(row.cost),
        imported_at: BigInt(writer.now),
      }));
      const inserted = await writer.session.insertMany('provider_costs', stored, { onConflictDoNothing: true });
      if (inserted.length < stored.length)
        await writer.session.updateMany('provider_costs', ['environment_id', 'provider', 'day', 'model'], stored);
      writer.audits.push(auditOf(caller, 'provider_costs.imported', `provider:${input.provider}`, null, null, body));
      return okReply(200, body);
    },
  });
}

export async function getReconciliation(
  service: LedgerService,
  caller: Caller,
  query: ReconciliationQuery,
): Promise<Reply> {
  const tolerancePercent = rational.fromDecimal(decimalOrThrow(query.tolerance_percent ?? '1'));
  const toleranceUsd = rational.fromDecimal(decimalOrThrow(query.tolerance_usd ?? '0.01'));
  const db = queryBuilder(service.database.reader);
  const attributed = await db
    .selectFrom('event_costs')
    .select(['model', 'occurred_at', 'provider_cost'])
    .where('environment_id', '=', caller.environmentId)
    .where('occurred_at', '>=', BigInt(Date.parse(`${query.from}T00:00:00Z`)))
    .where('occurred_at', '<', BigInt(Date.parse(`${query.to}T00:00:00Z`)))
    .execute();
  const imported = await db
    .selectFrom('provider_costs')
    .select(['day', 'model', 'cost'])
    .where('environment_id', '=', caller.environmentId)
    .where('day', '>=', query.from)
    .where('day', '<', query.to)
    .$if(query.provider !== undefined, (select) => select.where('provider', '=', query.provider as string))
    .execute();
  const rows = new Map<string, { day: string; model: string; attributed: Rational; provider: Rational | null }>();
  const rowOf = (day: string, model: string) => {
    const key = `${day}\u0000${model}`;
    const row = rows.get(key) ?? { day, model, attributed: rational.zero, provider: null };
    rows.set(key, row);
    return row;
  };
  for (const event of attributed) {
    const row = rowOf(new Date(toTime(event.occurred_at)).toISOString().slice(0, 10), event.model);
    row.attributed = rational.add(row.attributed, rationalOfText(event.provider_cost));
  }
  for (const cost of imported) {
    const row = rowOf(cost.day, cost.model);
    row.provider = rational.add(row.provider ?? rational.zero, rationalOfText(cost.cost));
  }
  const hundred = rational.fromInteger(100n);
  return okReply(200, {
    from: query.from,
    to: query.to,
    tolerance_percent: rational.toDecimalText(tolerancePercent),
    tolerance_usd: rational.toDecimalText(toleranceUsd),
    rows: [...rows.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, row]) => {
        const gap = row.provider === null ? null : rational.subtract(row.attributed, row.provider);
        const allowed =
          row.provider === null
            ? null
            : rational.max(toleranceUsd, rational.divide(rational.multiply(row.provider, tolerancePercent), hundred));
        const gapSize = gap === null ? null : gap.numerator < 0n ? rational.subtract(rational.zero, gap) : gap;
        return {
          day: row.day,
          model: row.model,
          attributed: rational.toDecimalText(row.attributed),
          provider: row.provider === null ? null : rational.toDecimalText(row.provider),
          gap: gap === null ? null : rational.toDecimalText(gap),
          within_tolerance: gapSize !== null && allowed !== null && rational.compare(gapSize, allowed) <= 0,
        };
      }),
  });
}

/** The query schema has checked these are decimals already. */
function decimalOrThrow(text: string) {
  const parsed = parseDecimal(text);
  if (!parsed.ok) throw new Error(`assertion failed: ${text} is a decimal`);
  return parsed.value;
}
