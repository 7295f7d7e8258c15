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

// ----- margin -------------------------------------------------------------------------------

const modelNameField = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$/, 'must be a model name such as "gpt-4o"');

export const marginReportQuery = z
  .strictObject({
    ...windowShape,
    feature: z.string().min(1).max(100).optional(),
    model: modelNameField.optional(),
    currency: assetCodeField
      .optional()
      .describe(
        'The currency asset revenue is counted in; model prices are USD, so this should be a USD asset. Default usd.',
      ),
    top: z
      .string()
      .regex(/^(?:[1-9]|[1-9]\d|100)$/, 'must be an integer from 1 to 100')
      .transform(Number)
      .optional()
      .describe('How many customers `top_by_cost` lists; default 5.'),
  })
  .superRefine(checkWindow);

const marginFigures = {
  revenue: moneyText.describe('Revenue recognized from the events’ debits, in the currency.'),
  provider_cost: z.string().describe('Exact USD at the model provider’s prices.'),
  gross_margin: z.string(),
  margin_percent: z.string().nullable().describe('Gross margin / revenue × 100, to 2 places; null without revenue.'),
};

export const marginReportResource = z
  .object({
    from: z.string(),
    to: z.string(),
    time_zone: z.string(),
    currency: z.string(),
    rows: z.array(
      z.object({
        day: z.string(),
        customer: z.string(),
        feature: z.string(),
        model: z.string(),
        events: z.int(),
        ...marginFigures,
      }),
    ),
    customers: z.array(z.object({ customer: z.string(), events: z.int(), ...marginFigures })),
    distribution: z
      .object({
        customers: z.int(),
        p50: z.string().nullable(),
        p75: z.string().nullable(),
        p90: z.string().nullable(),
      })
      .describe('Margin percentage across customers with revenue (nearest rank).'),
    top_by_cost: z.array(z.object({ customer: z.string(), events: z.int(), ...marginFigures })),
  })
  .meta({ id: 'MarginReport' });

export const financeSettingsResource = z
  .object({
    margin_low_threshold: z.string().nullable(),
    margin_window_days: z.int(),
    margin_currency: z.string(),
  })
  .meta({ id: 'FinanceSettings' });

export const updateFinanceSettingsBody = z.strictObject({
  margin_low_threshold: z
    .string()
    .regex(/^-?\d{1,3}(?:\.\d{1,6})?$/, 'must be a margin percentage such as "30" or "-5.5"')
    .nullable()
    .describe('`margin.low` fires when a customer’s margin over the window falls below this percentage; null: never.'),
  margin_window_days: z.int().min(1).max(90).optional().describe('The rolling window, in UTC days; default 7.'),
  margin_currency: assetCodeField.optional().describe('The currency asset revenue is counted in; default usd.'),
});

// ----- provider costs and reconciliation ----------------------------------------------------

export const providerCostFormats = ['openai', 'anthropic', 'csv'] as const;

export const importProviderCostsBody = z.strictObject({
  provider: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'must be lower-case letters, digits, _ and - (e.g. "openai")')
    .describe('Who charged: the name reconciliation groups by.'),
  format: z
    .enum(providerCostFormats)
    .describe(
      '`openai`: the Costs API page (group_by=line_item); `anthropic`: the Cost Report (group_by=description); `csv`: a header of day,model,cost.',
    ),
  content: z.string().min(1).describe('The export as the provider gave it (JSON text or CSV).'),
});

export const providerCostImportResource = z
  .object({
    provider: z.string(),
    rows: z.int().describe('Day and model totals stored (each replaces an earlier import of the same day and model).'),
    days: z.array(z.string()),
    total: z.string().describe('Exact USD.'),
  })
  .meta({ id: 'ProviderCostImport' });

export const reconciliationQuery = z
  .strictObject({
    from: dateField.describe('First UTC day, inclusive.'),
    to: dateField.describe('UTC day after the last, exclusive.'),
    provider: z.string().min(1).max(64).optional(),
    tolerance_percent: decimalNonNegativeField
      .optional()
      .describe('A gap within this percentage of the provider’s cost is within tolerance; default 1.'),
    tolerance_usd: decimalNonNegativeField
      .optional()
      .describe('A gap within this many USD is within tolerance whatever the percentage; default 0.01.'),
  })
  .superRefine(checkWindow);

export const reconciliationResource = z
  .object({
    from: z.string(),
    to: z.string(),
    tolerance_percent: z.string(),
    tolerance_usd: z.string(),
    rows: z.array(
      z.object({
        day: z.string(),
        model: z.string(),
        attributed: z.string().describe('Bursar’s provider cost of the day’s events of this model, exact USD.'),
        provider: z
          .string()
          .nullable()
          .describe('What the provider’s export says (summed over providers); null: not in any import.'),
        gap: z.string().nullable().describe('attributed − provider.'),
        within_tolerance: z.boolean(),
      }),
    ),
  })
  .meta({ id: 'Reconciliation' });

export type MarginReportQuery = z.output<typeof marginReportQuery>;
export type UpdateFinanceSettingsBody = z.output<typeof updateFinanceSettingsBody>;
export type ImportProviderCostsBody = z.output<typeof importProviderCostsBody>;
export type ReconciliationQuery = z.output<typeof reconciliationQuery>;
