/**
 * The margin report: each usage event's provider cost (stored beside its charge) against the
 * revenue its debit recognized (from the revenue movements of the same ledger), by day, customer,
 * feature and model, with per-customer totals, their margin percentiles and the costliest customers.
 */
import type { MarginReportQuery } from '@bursar/api';
import type { Rational } from '@bursar/core';
import {
  breakageAtExpiry,
  formatAmount,
  localDateOf,
  marginPercent,
  percentile,
  rational,
  startOfLocalDate,
} from '@bursar/core';
import type { Caller, FieldError, Reply } from '../../platform/contract.ts';
import type { LedgerService } from '../../platform/service.ts';
import { fieldReply, isFieldError, okReply } from '../../platform/service.ts';
import { toTime } from '../../platform/storage/codecs.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';
import type { FinanceReader } from './ledger-history.ts';
import { rationalOfText } from './provider-cost.ts';
import { reckonRevenue } from './revenue.ts';

interface MarginTotals {
  events: number;
  /** In the currency's smallest unit. */
  revenue: bigint;
  cost: Rational;
}

export async function getMarginReport(
  service: LedgerService,
  caller: Caller,
  query: MarginReportQuery,
): Promise<Reply> {
  const report = await buildMarginReport(service, caller.environmentId, query);
  return isFieldError(report) ? fieldReply(caller, [report]) : okReply(200, report);
}

/** The margin report's body, or the field error refusing the query. */
export async function buildMarginReport(
  service: FinanceReader,
  environmentId: string,
  query: MarginReportQuery,
  onProgress: (done: number, total: number) => void = () => {},
) {
  const currencyCode = query.currency ?? 'usd';
  const currency = await service.asset(environmentId, currencyCode);
  if (currency === undefined) {
    const refusal: FieldError = {
      field: 'currency',
      message: `must be the code of an asset of this environment; there is no asset "${currencyCode}"`,
    };
    return refusal;
  }
  const timeZone = query.time_zone ?? 'UTC';
  const reckoning = await reckonRevenue(
    service,
    environmentId,
    { from: query.from, to: query.to, time_zone: timeZone, customer: query.customer, currency: currencyCode },
    breakageAtExpiry,
  );
  const recognizedByTransaction = new Map<string, bigint>();
  for (const movement of reckoning.movements) {
    if (movement.kind !== 'recognized') continue;
    recognizedByTransaction.set(
      movement.transactionId,
      (recognizedByTransaction.get(movement.transactionId) ?? 0n) + movement.amount,
    );
  }
  const events = await queryBuilder(service.database.reader)
    .selectFrom('event_costs')
    .select(['customer_id', 'feature', 'model', 'occurred_at', 'provider_cost', 'transaction_id'])
    .where('environment_id', '=', environmentId)
    .where('occurred_at', '>=', BigInt(startOfLocalDate(query.from, timeZone)))
    .where('occurred_at', '<', BigInt(startOfLocalDate(query.to, timeZone)))
    .$if(query.customer !== undefined, (select) => select.where('customer_id', '=', query.customer as string))
    .$if(query.feature !== undefined, (select) => select.where('feature', '=', query.feature as string))
    .$if(query.model !== undefined, (select) => select.where('model', '=', query.model as string))
    .execute();

  const rows = new Map<string, MarginTotals & { day: string; customer: string; feature: string; model: string }>();
  const customers = new Map<string, MarginTotals & { customer: string }>();
  for (const [index, event] of events.entries()) {
    onProgress(index + 1, events.length);
    const day = localDateOf(toTime(event.occurred_at), timeZone);
    const revenue = recognizedByTransaction.get(event.transaction_id) ?? 0n;
    const cost = rationalOfText(event.provider_cost);
    const key = JSON.stringify([day, event.customer_id, event.feature, event.model]);
    const row = rows.get(key) ?? {
      day,
      customer: event.customer_id,
      feature: event.feature,
      model: event.model,
      events: 0,
      revenue: 0n,
      cost: rational.zero,
    };
    rows.set(key, addTo(row, revenue, cost));
    const customer = customers.get(event.customer_id) ?? {
      customer: event.customer_id,
      events: 0,
      revenue: 0n,
      cost: rational.zero,
    };
    customers.set(event.customer_id, addTo(customer, revenue, cost));
  }

  const asMoney = (units: bigint) =>
    rational.divide(rational.fromInteger(units), rational.fromInteger(10n ** BigInt(currency.scale)));
  const figures = (totals: MarginTotals) => {
    const revenue = asMoney(totals.revenue);
    const percent = marginPercent(revenue, totals.cost);
    return {
      events: totals.events,
      revenue: formatAmount(totals.revenue, currency.scale),
      provider_cost: rational.toDecimalText(totals.cost),
      gross_margin: rational.toDecimalText(rational.subtract(revenue, totals.cost)),
      margin_percent: percent === null ? null : rational.toDecimalText(percent, 2),
    };
  };
  const byCustomer = [...customers.values()].sort((a, b) => (a.customer < b.customer ? -1 : 1));
  const percents = byCustomer.flatMap((totals) => {
    const percent = marginPercent(asMoney(totals.revenue), totals.cost);
    return percent === null ? [] : [percent];
  });
  const percentileText = (p: number) => {
    const value = percentile(percents, p);
    return value === null ? null : rational.toDecimalText(value, 2);
  };
  const top = [...byCustomer]
    .sort((a, b) => rational.compare(b.cost, a.cost) || (a.customer < b.customer ? -1 : 1))
    .slice(0, query.top ?? 5);
  return {
    from: query.from,
    to: query.to,
    time_zone: timeZone,
    currency: currencyCode,
    rows: [...rows.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, row]) => ({
        day: row.day,
        customer: row.customer,
        feature: row.feature,
        model: row.model,
        ...figures(row),
      })),
    customers: byCustomer.map((totals) => ({ customer: totals.customer, ...figures(totals) })),
    distribution: {
      customers: percents.length,
      p50: percentileText(50),
      p75: percentileText(75),
      p90: percentileText(90),
    },
    top_by_cost: top.map((totals) => ({ customer: totals.customer, ...figures(totals) })),
  };
}

function addTo<Totals extends MarginTotals>(totals: Totals, revenue: bigint, cost: Rational): Totals {
  return {
    ...totals,
    events: totals.events + 1,
    revenue: totals.revenue + revenue,
    cost: rational.add(totals.cost, cost),
  };
}
