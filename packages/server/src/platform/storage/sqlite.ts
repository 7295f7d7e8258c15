/**
 * SQLite backend: one file in WAL mode with synchronous=FULL, a writer connection that takes the
 * write lock at BEGIN IMMEDIATE, and a separate reader connection. Statements are prepared once
 * and cached.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database, SqlRow, SqlSession, SqlValue } from './database.ts';
import type { TableName } from './schema.ts';
import { quote, tables } from './schema.ts';
import type { Connection, Statement } from './sqlite-driver.ts';
import { openConnection } from './sqlite-driver.ts';

export function openSqlite(path: string): Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const writer = connect(path);
  const reader = path === ':memory:' ? writer : connect(path);
  const writeSession = new SqliteSession(writer);
  let inTransaction = false;
  const dataVersion = writer.prepare('PRAGMA data_version');
  return {
    dialect: 'sqlite',
    writersMax: 1,
    reader: new SqliteSession(reader),
    foreignCommitMark: () => (dataVersion.all([])[0]?.data_version as bigint | undefined) ?? null,
    async writeTransaction(work) {
      if (inTransaction) throw new Error('assertion failed: one write transaction at a time');
      inTransaction = true;
      writer.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(writeSession);
        writer.exec('COMMIT');
        return result;
      } catch (error) {
        if (writer.inTransaction) writer.exec('ROLLBACK');
        throw error;
      } finally {
        inTransaction = false;
      }
    },
    async close() {
      writer.close();
      if (reader !== writer) reader.close();
    },
  };
}

function connect(path: string): Connection {
  const connection = openConnection(path);
  // First, so that switching a new file to WAL waits for a process starting beside this one
  // instead of failing with SQLITE_BUSY (node:sqlite has no busy timeout by default).
  connection.exec('PRAGMA busy_timeout = 5000');
  connection.exec('PRAGMA journal_mode = WAL');
  // FULL: every acknowledged commit survives power loss, not only a process crash.
  connection.exec('PRAGMA synchronous = FULL');
  connection.exec('PRAGMA foreign_keys = ON');
  return connection;
}

class SqliteSession implements SqlSession {
  readonly dialect = 'sqlite' as const;
  readonly #connection: Connection;
  readonly #statements = new Map<string, Statement>();
  /** The bulk statements, by a short name (their text is long to build). */
  readonly #bulkStatements = new Map<string, Statement>();

  constructor(connection: Connection) {
    this.#connection = connection;
  }

  #prepare(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#connection.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  async all(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow[]> {
    return this.#prepare(sql).all(params);
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.#prepare(sql).run(params);
  }

  /**
   * Multi-row statements, as few as the row count allows: one statement of 2^k rows per step, so a
   * table has at most nine prepared forms and a batch of 100 debits inserts its transactions in three
   * calls instead of 100 (each call binds and steps through the driver: docs/performance.md).
   */
  async insertMany(
    table: TableName,
    rows: readonly SqlRow[],
    options: { onConflictDoNothing?: boolean } = {},
  ): Promise<SqlRow[]> {
    if (rows.length === 0) return [];
    const columns = Object.keys(tables[table].columns);
    const conflict = options.onConflictDoNothing === true;
    const inserted: SqlRow[] = [];
    for (let start = 0; start < rows.length; ) {
      const count = chunkSize(rows.length - start, columns.length);
      const chunk = rows.slice(start, start + count);
      start += count;
      const statement = this.#prepareKeyed(`insert ${table} ${count} ${conflict}`, () => {
        const tuple = `(${columns.map(() => '?').join(', ')})`;
        const returning = conflict
          ? ` ON CONFLICT DO NOTHING RETURNING ${tables[table].primaryKey.map(quote).join(', ')}`
          : '';
        return `INSERT INTO ${table} (${columns.map(quote).join(', ')}) VALUES ${Array(count).fill(tuple).join(', ')}${returning}`;
      });
      const parameters = chunk.flatMap((row) => columns.map((column) => columnValue(row, column)));
      if (!conflict) {
        statement.run(parameters);
        inserted.push(...chunk);
        continue;
      }
      // Which rows went in: their keys come back (a row whose key was already taken, or taken
      // earlier in the same statement, does not), each key matched once.
      const primaryKey = tables[table].primaryKey;
      const keyOf = (row: SqlRow): string => primaryKey.map((column) => String(row[column])).join('\u0000');
      const returned = new Map<string, number>();
      for (const row of statement.all(parameters)) returned.set(keyOf(row), (returned.get(keyOf(row)) ?? 0) + 1);
      for (const row of chunk) {
        const left = returned.get(keyOf(row)) ?? 0;
        if (left === 0) continue;
        returned.set(keyOf(row), left - 1);
        inserted.push(row);
      }
    }
    return inserted;
  }

  /** A statement prepared once under a short name, for statement texts that are long to build. */
  #prepareKeyed(name: string, build: () => string): Statement {
    let statement = this.#bulkStatements.get(name);
    if (statement === undefined) {
      statement = this.#connection.prepare(build());
      this.#bulkStatements.set(name, statement);
    }
    return statement;
  }

  async selectByKeys(
    table: TableName,
    keyColumns: readonly string[],
    keys: readonly (readonly string[])[],
    options: { columns?: readonly string[] } = {},
  ): Promise<SqlRow[]> {
    if (keys.length === 0) return [];
    const matches = keyColumns.map((column, index) => `t.${quote(column)} = k.value ->> ${index}`).join(' AND ');
    return this.#prepare(`SELECT ${selectList(options.columns)} FROM ${table} t JOIN json_each(?) k ON ${matches}`).all(
      [JSON.stringify(keys)],
    );
  }

  /** One `UPDATE … FROM (VALUES …)` per chunk of rows (sized as inserts are), each row matching one row. */
  async updateMany(table: TableName, keyColumns: readonly string[], rows: readonly SqlRow[]): Promise<void> {
    const first = rows[0];
    if (first === undefined) return;
    const setColumns = Object.keys(first).filter((column) => !keyColumns.includes(column));
    const columns = [...keyColumns, ...setColumns];
    for (let start = 0; start < rows.length; ) {
      const count = chunkSize(rows.length - start, columns.length);
      const chunk = rows.slice(start, start + count);
      start += count;
      const statement = this.#prepareKeyed(`update ${table} ${count} ${columns.join(',')}`, () => {
        const tuple = `(${columns.map(() => '?').join(', ')})`;
        return `WITH v(${columns.map(quote).join(', ')}) AS (VALUES ${Array(count).fill(tuple).join(', ')}) UPDATE ${table} SET ${setColumns
          .map((column) => `${quote(column)} = v.${quote(column)}`)
          .join(
            ', ',
          )} FROM v WHERE ${keyColumns.map((column) => `${table}.${quote(column)} = v.${quote(column)}`).join(' AND ')}`;
      });
      const changes = statement.run(chunk.flatMap((row) => columns.map((column) => columnValue(row, column))));
      if (changes !== count) throw new Error(`assertion failed: update of ${count} ${table} rows matched ${changes}`);
    }
  }
}

/** Rows per statement: the largest power of two up to 256 that fits SQLite's 32,766 parameters. */
function chunkSize(remaining: number, columnCount: number): number {
  const most = Math.min(remaining, 256, Math.floor(32_766 / columnCount));
  return 2 ** Math.floor(Math.log2(most));
}

/** The columns a select names: all of them, or the ones asked for. */
function selectList(columns: readonly string[] | undefined): string {
  return columns === undefined ? 't.*' : columns.map((column) => `t.${quote(column)}`).join(', ');
}

function columnValue(row: SqlRow, column: string): SqlValue {
  const value = row[column];
  return value === undefined ? null : value;
}
