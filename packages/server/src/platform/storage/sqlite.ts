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

  async insertMany(
    table: TableName,
    rows: readonly SqlRow[],
    options: { onConflictDoNothing?: boolean } = {},
  ): Promise<SqlRow[]> {
    if (rows.length === 0) return [];
    const columns = Object.keys(tables[table].columns);
    const conflict = options.onConflictDoNothing === true ? ' ON CONFLICT DO NOTHING' : '';
    const statement = this.#prepare(
      `INSERT INTO ${table} (${columns.map(quote).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})${conflict}`,
    );
    const inserted: SqlRow[] = [];
    for (const row of rows) {
      const changes = statement.run(columns.map((column) => columnValue(row, column)));
      if (changes > 0) inserted.push(row);
    }
    return inserted;
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

  async updateMany(table: TableName, keyColumns: readonly string[], rows: readonly SqlRow[]): Promise<void> {
    const first = rows[0];
    if (first === undefined) return;
    const setColumns = Object.keys(first).filter((column) => !keyColumns.includes(column));
    const statement = this.#prepare(
      `UPDATE ${table} SET ${setColumns.map((column) => `${quote(column)} = ?`).join(', ')} WHERE ${keyColumns
        .map((column) => `${quote(column)} = ?`)
        .join(' AND ')}`,
    );
    for (const row of rows) {
      const changes = statement.run([
        ...setColumns.map((column) => columnValue(row, column)),
        ...keyColumns.map((column) => columnValue(row, column)),
      ]);
      if (changes !== 1) throw new Error(`assertion failed: update of ${table} matched ${changes} rows`);
    }
  }
}

/** The columns a select names: all of them, or the ones asked for. */
function selectList(columns: readonly string[] | undefined): string {
  return columns === undefined ? 't.*' : columns.map((column) => `t.${quote(column)}`).join(', ');
}

function columnValue(row: SqlRow, column: string): SqlValue {
  const value = row[column];
  return value === undefined ? null : value;
}
