/**
 * The revenue report and the journal export: load the paid lots and their ledger movements, let
 * the core decide each lot's revenue movements, roll them up, and render exact amounts.
 */
import type { ExportJournalQuery, RevenueReportQuery } from '@bursar/api';
import type { BreakagePolicy, JournalAccounts, ReportWindow, RevenueMovement, RevenueRow } from '@bursar/core';
import {
  breakageAtExpiry,
  decideLotRevenue,
  defaultJournalAccounts,
  formatAmount,
  isBreakageRate,
  journalLines,
  parseDecimal,
  rational,
  startOfLocalDate,
  summarizePromotional,
  summarizeRevenue,
} from '@bursar/core';
import type { Caller, FieldError, Reply } from '../../platform/contract.ts';
import type { LedgerService } from '../../platform/service.ts';
import { fieldReply, isFieldError, okReply } from '../../platform/service.ts';
import { toJournalCsv } from './csv.ts';
import type { FinanceReader } from './ledger-history.ts';
import { loadRevenueHistory } from './ledger-history.ts';

export interface RevenueReckoning {
  readonly window: ReportWindow;
  readonly policy: BreakagePolicy;
  readonly movements: readonly RevenueMovement[];
  readonly promotional: ReturnType<typeof summarizePromotional>;
  /** Currency asset scales, for rendering. */
  readonly scales: ReadonlyMap<string, number>;
}

/** The breakage policy a query asks for, or the field error. */
export function breakagePolicyOf(
  query: Pick<RevenueReportQuery, 'breakage' | 'expected_breakage'>,
): BreakagePolicy | FieldError {
  if ((query.breakage ?? 'at_expiry') === 'at_expiry') {
    if (query.expected_breakage !== undefined)
      return { field: 'expected_breakage', message: 'applies only with breakage=spread' };
    return breakageAtExpiry;
  }
  if (query.expected_breakage === undefined)
    return { field: 'expected_breakage', message: 'is required with breakage=spread' };
  const parsed = parseDecimal(query.expected_breakage);
  const rate = parsed.ok ? rational.fromDecimal(parsed.value) : null;
  if (rate === null || !isBreakageRate(rate))
    return { field: 'expected_breakage', message: 'must be at least 0 and below 1' };
  return { kind: 'spread', expectedRate: rate };
}

export function windowOf(query: RevenueReportQuery): ReportWindow {
  return {
    from: query.from,
    to: query.to,
    granularity: query.granularity ?? 'month',
    timeZone: query.time_zone ?? 'UTC',
  };
}

/** Every revenue movement up to the window's end, under `policy`, in ledger order. */
export async function reckonRevenue(
  service: FinanceReader,
  environmentId: string,
  query: RevenueReportQuery,
  policy: BreakagePolicy,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<RevenueReckoning> {
  const window = windowOf(query);
  const history = await loadRevenueHistory(service, {
    environmentId,
    customer: query.customer,
    asset: query.asset,
    currency: query.currency,
    endAt: startOfLocalDate(window.to, window.timeZone),
  });
  const movements: RevenueMovement[] = [];
  const scales = new Map<string, number>();
  for (const [index, { lot, movements: lotMovements }] of history.lots.entries()) {
    movements.push(...decideLotRevenue(lot, lotMovements, policy));
    const currency = await service.asset(environmentId, lot.currency);
    scales.set(lot.currency, currency?.scale ?? 0);
    onProgress(index + 1, history.lots.length);
  }
  movements.sort(
    (a, b) => a.at - b.at || (a.transactionId < b.transactionId ? -1 : a.transactionId > b.transactionId ? 1 : 0),
  );
  return { window, policy, movements, promotional: summarizePromotional(history.promotional, window), scales };
}

const figures = ['opening', 'additions', 'recognized', 'breakage', 'refunds', 'closing'] as const;

/** The report's rows, per-currency totals and promotional rows, amounts as exact decimal strings. */
export async function renderRevenueReport(service: FinanceReader, environmentId: string, reckoning: RevenueReckoning) {
  const rows = summarizeRevenue(reckoning.movements, reckoning.window);
  const scaleOf = (currency: string) => reckoning.scales.get(currency) ?? 0;
  const money = (row: Pick<RevenueRow, (typeof figures)[number]>, currency: string) =>
    Object.fromEntries(figures.map((figure) => [figure, formatAmount(row[figure], scaleOf(currency))])) as Record<
      (typeof figures)[number],
      string
    >;
  const promotionalScales = new Map<string, number>();
  for (const row of reckoning.promotional) {
    if (!promotionalScales.has(row.asset))
      promotionalScales.set(row.asset, (await service.asset(environmentId, row.asset))?.scale ?? 0);
  }
  return {
    from: reckoning.window.from,
    to: reckoning.window.to,
    time_zone: reckoning.window.timeZone,
    granularity: reckoning.window.granularity,
    breakage:
      reckoning.policy.kind === 'at_expiry'
        ? { policy: 'at_expiry' as const, expected_breakage: null }
        : { policy: 'spread' as const, expected_breakage: rational.toDecimalText(reckoning.policy.expectedRate) },
    rows: rows.map((row) => ({
      period: row.period,
      customer: row.customer,
      asset: row.asset,
      currency: row.currency,
      ...money(row, row.currency),
    })),
    totals: totalsByCurrency(rows).map((total) => ({ currency: total.currency, ...money(total, total.currency) })),
    promotional: reckoning.promotional.map((row) => ({
      period: row.period,
      customer: row.customer,
      asset: row.asset,
      consumed: formatAmount(row.consumed, promotionalScales.get(row.asset) ?? 0),
    })),
  };
}

/** Window totals per currency: openings of each key's first row, closings of its last, movements summed. */
export function totalsByCurrency(rows: readonly RevenueRow[]) {
  const byKey = new Map<string, RevenueRow[]>();
  for (const row of rows) {
    const key = JSON.stringify([row.customer, row.asset, row.currency]);
    byKey.set(key, [...(byKey.get(key) ?? []), row]);
  }
  const totals = new Map<string, Omit<RevenueRow, 'period' | 'customer' | 'asset'>>();
  for (const keyRows of byKey.values()) {
    const first = keyRows[0];
    const last = keyRows[keyRows.length - 1];
    if (first === undefined || last === undefined) continue;
    const total = totals.get(first.currency) ?? {
      currency: first.currency,
      opening: 0n,
      additions: 0n,
      recognized: 0n,
      breakage: 0n,
      refunds: 0n,
      closing: 0n,
    };
    let { additions, recognized, breakage, refunds } = total;
    for (const row of keyRows) {
      additions += row.additions;
      recognized += row.recognized;
      breakage += row.breakage;
      refunds += row.refunds;
    }
    totals.set(first.currency, {
      currency: first.currency,
      opening: total.opening + first.opening,
      additions,
      recognized,
      breakage,
      refunds,
      closing: total.closing + last.closing,
    });
  }
  return [...totals.values()].sort((a, b) => (a.currency < b.currency ? -1 : 1));
}

export async function getRevenueReport(
  service: LedgerService,
  caller: Caller,
  query: RevenueReportQuery,
): Promise<Reply> {
  const report = await buildRevenueReport(service, caller.environmentId, query);
  return isFieldError(report) ? fieldReply(caller, [report]) : okReply(200, report);
}

/** The revenue report's body, or the field error refusing the query. */
export async function buildRevenueReport(
  service: FinanceReader,
  environmentId: string,
  query: RevenueReportQuery,
  onProgress?: (done: number, total: number) => void,
) {
  const policy = breakagePolicyOf(query);
  if (isFieldError(policy)) return policy;
  const reckoning = await reckonRevenue(service, environmentId, query, policy, onProgress);
  return renderRevenueReport(service, environmentId, reckoning);
}

function accountsOf(query: ExportJournalQuery): JournalAccounts {
  return {
    cash: query.account_cash ?? defaultJournalAccounts.cash,
    deferred: query.account_deferred ?? defaultJournalAccounts.deferred,
    revenue: query.account_revenue ?? defaultJournalAccounts.revenue,
    breakage: query.account_breakage ?? defaultJournalAccounts.breakage,
    refunds: query.account_refunds ?? defaultJournalAccounts.refunds,
  };
}

export async function exportJournal(service: LedgerService, caller: Caller, query: ExportJournalQuery): Promise<Reply> {
  const policy = breakagePolicyOf(query);
  if (isFieldError(policy)) return fieldReply(caller, [policy]);
  const reckoning = await reckonRevenue(service, caller.environmentId, query, policy);
  const lines = journalLines(reckoning.movements, reckoning.window, accountsOf(query)).map((line) => ({
    date: line.date,
    transaction: line.transactionId,
    grant: line.grantId,
    customer: line.customer,
    asset: line.asset,
    currency: line.currency,
    kind: line.kind,
    debit: line.debit,
    credit: line.credit,
    amount: formatAmount(line.amount, reckoning.scales.get(line.currency) ?? 0),
  }));
  const format = query.format ?? 'json';
  return okReply(200, { format, lines, csv: format === 'csv' ? toJournalCsv(lines) : null });
}
