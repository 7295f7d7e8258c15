/**
 * Request and response schemas of finance: the revenue report, the journal export, the margin
 * report, provider cost imports and the reconciliation against them.
 */
import { isTimeZone } from '@bursar/core';
import { z } from 'zod';
import { assetCodeField, customerKeyField, decimalNonNegativeField } from './fields.ts';

/** The longest window a report covers, in days: ten years of daily rows is already a lot. */
export const reportDaysMax = 3700;

const dateField = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, 'must be a calendar day such as "2026-01-31"')
  .refine((text) => new Date(`${text}T00:00:00Z`).toISOString().startsWith(text), 'must be a calendar day that exists');

const timeZoneField = z
  .string()
  .max(64)
  .refine(isTimeZone, 'must be an IANA time zone such as "Europe/Paris" (or "UTC")')
  .optional()
  .describe('IANA time zone the days and months are counted in; default UTC.');

const accountNameField = z.string().min(1).max(100);

const windowShape = {
  from: dateField.describe('First day of the report, inclusive, in `time_zone`.'),
  to: dateField.describe('Day after the report, exclusive, in `time_zone`.'),
  time_zone: timeZoneField,
  customer: customerKeyField.optional(),
};

/** A window runs forward, and not for longer than reportDaysMax. */
function checkWindow(query: { from: string; to: string }, context: z.RefinementCtx): void {
  const days = (Date.parse(query.to) - Date.parse(query.from)) / 86_400_000;
  if (days <= 0) context.addIssue({ code: 'custom', path: ['to'], message: 'must be a later day than from' });
  if (days > reportDaysMax)
    context.addIssue({ code: 'custom', path: ['to'], message: `must be at most ${reportDaysMax} days after from` });
}

const revenueShape = {
  ...windowShape,
  granularity: z.enum(['day', 'month']).optional().describe('Period of each row; default month.'),
  asset: assetCodeField.optional(),
  currency: assetCodeField.optional().describe('Only grants whose cost basis is in this currency asset.'),
  breakage: z
    .enum(['at_expiry', 'spread'])
    .optional()
    .describe(
      'Breakage policy: `at_expiry` (default) recognizes unused paid credit when it expires; `spread` recognizes the expected breakage alongside consumption.',
    ),
  expected_breakage: decimalNonNegativeField
    .optional()
    .describe('With `breakage=spread`: the fraction of paid credit expected to expire unused, below 1 ("0.2").'),
};

export const revenueReportQuery = z.strictObject(revenueShape).superRefine(checkWindow);

export const exportJournalQuery = z
  .strictObject({
    ...revenueShape,
    format: z.enum(['json', 'csv']).optional().describe('json (default): `lines`; csv: the same lines as `csv` text.'),
    account_cash: accountNameField.optional().describe('Debited when a paid grant is issued; default "Cash".'),
    account_deferred: accountNameField.optional().describe('The liability; default "Deferred revenue".'),
    account_revenue: accountNameField.optional().describe('Credited as credit is consumed; default "Credit revenue".'),
    account_breakage: accountNameField
      .optional()
      .describe('Credited as paid credit breaks; default "Breakage revenue".'),
    account_refunds: accountNameField
      .optional()
      .describe('Credited when unspent credit is refunded; default "Refunds payable".'),
  })
  .superRefine(checkWindow);

const moneyText = z.string().describe('Exact decimal in the currency asset’s unit.');

const revenueFigures = {
  opening: moneyText,
  additions: moneyText,
  recognized: moneyText,
  breakage: moneyText,
  refunds: moneyText,
  closing: moneyText,
};

export const revenueReportResource = z
  .object({
    from: z.string(),
    to: z.string(),
    time_zone: z.string(),
    granularity: z.enum(['day', 'month']),
    breakage: z.object({ policy: z.enum(['at_expiry', 'spread']), expected_breakage: z.string().nullable() }),
    rows: z.array(
      z.object({
        period: z.string(),
        customer: z.string(),
        asset: z.string(),
        currency: z.string(),
        ...revenueFigures,
      }),
    ),
    totals: z.array(z.object({ currency: z.string(), ...revenueFigures })),
    promotional: z
      .array(z.object({ period: z.string(), customer: z.string(), asset: z.string(), consumed: z.string() }))
      .describe('Free credit (no cost basis) consumed, in the credit asset: promotional cost, never revenue.'),
  })
  .meta({ id: 'RevenueReport' });

export const journalLineResource = z
  .object({
    date: z.string(),
    transaction: z.string(),
    grant: z.string(),
    customer: z.string(),
    asset: z.string(),
    currency: z.string(),
    kind: z.enum(['addition', 'recognized', 'breakage', 'refund']),
    debit: z.string(),
    credit: z.string(),
    amount: moneyText,
  })
  .meta({ id: 'JournalLine' });

export const journalResource = z
  .object({
    format: z.enum(['json', 'csv']),
    lines: z.array(journalLineResource),
    csv: z.string().nullable().describe('With `format=csv`: the lines as RFC 4180 CSV with a header row.'),
  })
  .meta({ id: 'Journal' });

export type RevenueReportQuery = z.output<typeof revenueReportQuery>;
export type ExportJournalQuery = z.output<typeof exportJournalQuery>;
