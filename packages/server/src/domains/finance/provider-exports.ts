/**
 * Reading model providers' cost exports into USD totals per UTC day and model: OpenAI's Costs API
 * page, Anthropic's Cost Report, and a CSV of day, model, cost (read with csv-parse). A row that
 * names no model (a tool or storage charge) is counted under the model `unattributed`.
 */
import type { Rational } from '@bursar/core';
import { parseDecimal, rational } from '@bursar/core';
import { parse } from 'csv-parse/sync';

export interface ProviderCostRow {
  readonly day: string;
  readonly model: string;
  readonly cost: Rational;
}

export const unattributedModel = 'unattributed';

/** Why an export does not read, fit for a field message on `content`. */
export class ExportError extends Error {}

const dayPattern = /^\d{4}-\d{2}-\d{2}$/;

export function readProviderExport(format: 'openai' | 'anthropic' | 'csv', content: string): ProviderCostRow[] {
  const rows = format === 'csv' ? readCsv(content) : format === 'openai' ? readOpenAi(content) : readAnthropic(content);
  return sumByDayAndModel(rows);
}

function sumByDayAndModel(rows: readonly ProviderCostRow[]): ProviderCostRow[] {
  const totals = new Map<string, ProviderCostRow>();
  for (const row of rows) {
    const key = `${row.day}\u0000${row.model}`;
    const known = totals.get(key);
    totals.set(key, { ...row, cost: known === undefined ? row.cost : rational.add(known.cost, row.cost) });
  }
  return [...totals.values()].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : a.model < b.model ? -1 : 1));
}

function decimalOf(text: string, where: string): Rational {
  const parsed = parseDecimal(text);
  if (!parsed.ok) throw new ExportError(`${where}: the cost ${JSON.stringify(text)} ${parsed.reason}`);
  return rational.fromDecimal(parsed.value);
}

/**
 * A JSON number's exact decimal as the exporter most likely wrote it: its shortest round-trip
 * form, with an exponent (1e-7) written out. JSON has no exact decimals; the text is all there is.
 */
function decimalOfNumber(value: number, where: string): Rational {
  if (!Number.isFinite(value) || value < 0)
    throw new ExportError(`${where}: the cost ${value} is not a non-negative number`);
  const [mantissa = '0', exponentText = '0'] = String(value).split('e');
  const exponent = Number(exponentText);
  const [whole = '0', fraction = ''] = mantissa.split('.');
  const digits = whole + fraction;
  const point = whole.length + exponent;
  const text =
    point <= 0
      ? `0.${'0'.repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + '0'.repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return decimalOf(text, where);
}

function readJson(content: string): unknown {
  try {
    return JSON.parse(content);
  } catch {
    throw new ExportError('is not JSON');
  }
}

function bucketsOf(document: unknown): Record<string, unknown>[] {
  const data = (document as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) throw new ExportError('has no `data` array of time buckets');
  return data as Record<string, unknown>[];
}

function resultsOf(bucket: Record<string, unknown>, where: string): Record<string, unknown>[] {
  if (!Array.isArray(bucket.results)) throw new ExportError(`${where} has no \`results\` array`);
  return bucket.results as Record<string, unknown>[];
}

/**
 * OpenAI `GET /v1/organization/costs?bucket_width=1d&group_by=line_item`: buckets with `start_time`
 * (Unix seconds) and results of `amount: { value, currency }` and `line_item` ("gpt-4o-2024-08-06,
 * input"), whose model is the part before the first comma. `value` is in dollars.
 */
function readOpenAi(content: string): ProviderCostRow[] {
  const rows: ProviderCostRow[] = [];
  bucketsOf(readJson(content)).forEach((bucket, index) => {
    const where = `data[${index}]`;
    if (typeof bucket.start_time !== 'number') throw new ExportError(`${where}.start_time must be Unix seconds`);
    const day = new Date(bucket.start_time * 1000).toISOString().slice(0, 10);
    resultsOf(bucket, where).forEach((result, resultIndex) => {
      const at = `${where}.results[${resultIndex}]`;
      const amount = result.amount as { value?: unknown; currency?: unknown } | undefined;
      if (amount === undefined || String(amount.currency ?? '').toLowerCase() !== 'usd')
        throw new ExportError(`${at}.amount must be { value, currency: "usd" }`);
      const cost =
        typeof amount.value === 'number'
          ? decimalOfNumber(amount.value, `${at}.amount.value`)
          : decimalOf(String(amount.value), `${at}.amount.value`);
      const lineItem = typeof result.line_item === 'string' ? result.line_item : null;
      const model = lineItem === null ? unattributedModel : (lineItem.split(',')[0] ?? '').trim() || unattributedModel;
      rows.push({ day, model, cost });
    });
  });
  return rows;
}

/**
 * Anthropic `GET /v1/organizations/cost_report?group_by[]=description`: buckets with `starting_at`
 * (RFC 3339) and results of `amount` (a decimal string in cents), `currency` ("USD") and `model`.
 */
function readAnthropic(content: string): ProviderCostRow[] {
  const rows: ProviderCostRow[] = [];
  const hundred = rational.fromInteger(100n);
  bucketsOf(readJson(content)).forEach((bucket, index) => {
    const where = `data[${index}]`;
    const day = typeof bucket.starting_at === 'string' ? bucket.starting_at.slice(0, 10) : '';
    if (!dayPattern.test(day)) throw new ExportError(`${where}.starting_at must be an RFC 3339 time`);
    resultsOf(bucket, where).forEach((result, resultIndex) => {
      const at = `${where}.results[${resultIndex}]`;
      if (String(result.currency ?? 'USD').toUpperCase() !== 'USD') throw new ExportError(`${at}.currency must be USD`);
      if (typeof result.amount !== 'string') throw new ExportError(`${at}.amount must be a decimal string of cents`);
      const cents = decimalOf(result.amount, `${at}.amount`);
      const model = typeof result.model === 'string' && result.model !== '' ? result.model : unattributedModel;
      rows.push({ day, model, cost: rational.divide(cents, hundred) });
    });
  });
  return rows;
}

/** A CSV with a header naming `day`, `model` and `cost` (USD), in any order; other columns are ignored. */
function readCsv(content: string): ProviderCostRow[] {
  let records: Record<string, string>[];
  try {
    records = parse(content, { columns: true, skip_empty_lines: true, trim: true, bom: true });
  } catch (error) {
    throw new ExportError(`is not CSV: ${(error as Error).message}`);
  }
  return records.map((record, index) => {
    const where = `line ${index + 2}`;
    const { day, model, cost } = record;
    if (day === undefined || model === undefined || cost === undefined)
      throw new ExportError('must have a header row naming day, model and cost');
    if (!dayPattern.test(day)) throw new ExportError(`${where}: day must be YYYY-MM-DD`);
    if (model === '') throw new ExportError(`${where}: model is empty`);
    return { day, model, cost: decimalOf(cost.replace(/^\$/, ''), where) };
  });
}
