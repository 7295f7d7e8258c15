/**
 * Keyset paging for every list: each list is ordered by a unique key, its cursor carries the last
 * row's key, and one statement text serves every page, the first one starting from a bound
 * beyond every key.
 */

import type { FieldError } from '../contract.ts';
import { toBigint } from './codecs.ts';
import type { SqlRow, SqlSession, SqlValue } from './database.ts';
import type { TableName, TableRow } from './schema.ts';

interface KeyColumn {
  readonly name: string;
  readonly type: 'text' | 'bigint';
}

/** How one list is ordered: its unique key's columns and the direction they are read in. */
export interface Keyset {
  /** Names the list inside its cursors, so a cursor handed out by one list is refused by another. */
  readonly list: string;
  readonly columns: readonly KeyColumn[];
  readonly direction: 'asc' | 'desc';
}

export function keyset(list: string, direction: 'asc' | 'desc', ...columns: readonly KeyColumn[]): Keyset {
  return { list, columns, direction };
}

export const textColumn = (name: string): KeyColumn => ({ name, type: 'text' });
export const bigintColumn = (name: string): KeyColumn => ({ name, type: 'bigint' });

// The first page's bound. A key that leads with text (ids, codes, keys, model names) is at most
// 200 characters of ASCII letters, digits and `_ . : @ / -`, so the empty string sorts before
// every key and 201 `z`s after every key, in SQLite's binary order and in PostgreSQL's C and
// natural-language collations alike. A key's later columns never meet the bound: its first differs.
const textBelowEvery = '';
const textAboveEvery = 'z'.repeat(201);
const bigintBelowEvery = -(2n ** 63n);
const bigintAboveEvery = 2n ** 63n - 1n;

const cursorTextPattern = /^[\x20-\x7e]{1,500}$/;
const cursorBigintPattern = /^-?\d{1,19}$/;

/** `(a, b) < (?, ?) ORDER BY a DESC, b DESC`: the rows after a key, in the list's order. */
function afterKeySql(keys: Keyset): { condition: string; order: string } {
  const names = keys.columns.map((column) => column.name);
  const operator = keys.direction === 'asc' ? '>' : '<';
  const tuple = (values: readonly string[]) => (values.length === 1 ? values[0] : `(${values.join(', ')})`);
  return {
    condition: `${tuple(names)} ${operator} ${tuple(names.map(() => '?'))}`,
    order: names.map((name) => `${name} ${keys.direction === 'asc' ? 'ASC' : 'DESC'}`).join(', '),
  };
}

const badCursor: FieldError = { field: 'cursor', message: 'must be a next_cursor this list returned' };

/**
 * The key to read after: the first page's bound when there is no cursor, the cursor's key when it
 * is one this list handed out, a field error naming `cursor` otherwise.
 */
export function cursorKey(keys: Keyset, cursor: string | undefined): SqlValue[] | FieldError {
  if (cursor === undefined)
    return keys.columns.map((column) => {
      if (column.type === 'text') return keys.direction === 'asc' ? textBelowEvery : textAboveEvery;
      return keys.direction === 'asc' ? bigintBelowEvery : bigintAboveEvery;
    });
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  // Base64url decoding skips what it cannot read; only the canonical encoding of a cursor is one.
  if (Buffer.from(text, 'utf8').toString('base64url') !== cursor) return badCursor;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return badCursor;
  }
  if (!Array.isArray(parsed) || parsed.length !== keys.columns.length + 1 || parsed[0] !== keys.list) return badCursor;
  const values: SqlValue[] = [];
  for (const [index, column] of keys.columns.entries()) {
    const value: unknown = parsed[index + 1];
    if (typeof value !== 'string') return badCursor;
    if (column.type === 'text') {
      if (!cursorTextPattern.test(value)) return badCursor;
      values.push(value);
    } else {
      if (!cursorBigintPattern.test(value)) return badCursor;
      values.push(BigInt(value));
    }
  }
  return values;
}

/**
 * A page of at most `limit` rows out of `limit + 1` read, and the cursor after its last row;
 * the extra row only says whether there is more, so `next_cursor` is null exactly on the last page.
 */
function pageRows<Row extends SqlRow>(
  keys: Keyset,
  rows: readonly Row[],
  limit: number,
): { rows: Row[]; nextCursor: string | null } {
  const shown = rows.slice(0, limit);
  const last = shown[shown.length - 1];
  if (rows.length <= limit || last === undefined) return { rows: shown, nextCursor: null };
  const key = [keys.list, ...keys.columns.map((column) => String(last[column.name]))];
  return { rows: shown, nextCursor: Buffer.from(JSON.stringify(key), 'utf8').toString('base64url') };
}

/** A list request's paging: the cursor it was given and the page size (already bounded by the schema). */
export interface PageQuery {
  readonly cursor?: string | undefined;
  readonly limit: number;
}

/**
 * Reads one page of `table`: the rows matching every filter that is set (each clause's `?`s take
 * its value; a clause without `?` is set by any value but undefined; the caller always sets
 * `environment_id = ?`), after the cursor's key, in the list's order. The statement text depends
 * on which filters are set, never on the page. Rows are typed by the schema (`TableRow`).
 */
export async function readPage<Table extends TableName>(
  session: SqlSession,
  table: Table,
  keys: Keyset,
  filters: Readonly<Record<string, SqlValue | undefined>>,
  query: PageQuery,
): Promise<{ rows: TableRow<Table>[]; nextCursor: string | null } | FieldError> {
  const after = cursorKey(keys, query.cursor);
  if (!Array.isArray(after)) return after;
  const clauses: string[] = [];
  const params: SqlValue[] = [];
  for (const [clause, value] of Object.entries(filters)) {
    if (value === undefined) continue;
    clauses.push(clause);
    for (const _ of clause.matchAll(/\?/g)) params.push(value);
  }
  const { condition, order } = afterKeySql(keys);
  clauses.push(condition);
  const rows = await session.all(`SELECT * FROM ${table} WHERE ${clauses.join(' AND ')} ORDER BY ${order} LIMIT ?`, [
    ...params,
    ...after,
    query.limit + 1,
  ]);
  // `SELECT *` of one table: the drivers return its columns as the schema types them.
  return pageRows(keys, rows as TableRow<Table>[], query.limit);
}

/**
 * The child rows of a page's rows (entries, periods, versions, attempts), read with one
 * statement whatever the page's size, grouped by parent and ordered by `orderColumn`. A customer's
 * parents are named with their customer, so the lookup uses the child's whole key.
 */
export async function childRowsOf<Table extends TableName>(
  session: SqlSession,
  table: Table,
  parentColumn: keyof TableRow<Table> & string,
  environmentId: string,
  parents: readonly string[] | readonly { readonly customer: string; readonly id: string }[],
  orderColumn: keyof TableRow<Table> & string,
): Promise<Map<string, TableRow<Table>[]>> {
  const named = parents.map((parent) => (typeof parent === 'string' ? { customer: null, id: parent } : parent));
  const byCustomer = named.some((parent) => parent.customer !== null);
  // Rows of one table: the drivers return its columns as the schema types them.
  const rows = (await session.selectByKeys(
    table,
    byCustomer ? ['environment_id', 'customer_id', parentColumn] : ['environment_id', parentColumn],
    named.map((parent) =>
      byCustomer ? [environmentId, parent.customer ?? '', parent.id] : [environmentId, parent.id],
    ),
  )) as TableRow<Table>[];
  const byParent = new Map<string, TableRow<Table>[]>(named.map((parent) => [parent.id, []]));
  for (const row of rows) byParent.get(String(row[parentColumn]))?.push(row);
  for (const children of byParent.values())
    children.sort((a, b) => {
      const [x, y] = [toBigint(a[orderColumn]), toBigint(b[orderColumn])];
      return x < y ? -1 : x > y ? 1 : 0;
    });
  return byParent;
}
