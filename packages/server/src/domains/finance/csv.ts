/** CSV rendering of finance rows, through csv-stringify (RFC 4180 quoting, a header row). */
import { stringify } from 'csv-stringify/sync';

/** Renders rows of string fields with a header of their keys, in the first row's key order. */
export function toCsv(rows: readonly Readonly<Record<string, string>>[], columns: readonly string[]): string {
  return stringify(
    rows.map((row) => columns.map((column) => row[column] ?? '')),
    { header: true, columns: [...columns] },
  );
}

const journalColumns = [
  'date',
  'transaction',
  'grant',
  'customer',
  'asset',
  'currency',
  'kind',
  'debit',
  'credit',
  'amount',
];

export function toJournalCsv(lines: readonly Readonly<Record<string, string>>[]): string {
  return toCsv(lines, journalColumns);
}
