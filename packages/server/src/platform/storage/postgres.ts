/**
 * PostgreSQL backend (pg): a few writer connections per process, one per group-commit batch in
 * flight (row locks taken in key order serialize batches that share a wallet), a small pool for
 * reads, named prepared statements, and bulk writes through `unnest` arrays so a batch costs one
 * round trip per table, not one per row.
 */
import pg from 'pg';
import type { Database, SqlRow, SqlSession, SqlValue } from './database.ts';
import { isRetryableStorageError } from './database.ts';
import type { TableName } from './schema.ts';
import { quote, tables } from './schema.ts';

const INT8_OID = 20;

/** int8 arrives as a bigint and numeric aggregates as exact strings; nothing becomes a float. */
const types = {
  getTypeParser(oid: number, format?: string) {
    if (oid === INT8_OID) return (text: string) => BigInt(text);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

export async function openPostgres(
  connectionString: string,
  options: { readPoolSize?: number; writersMax?: number } = {},
): Promise<Database> {
  const statementNames = new Map<string, string>();
  const writers = Array.from({ length: options.writersMax ?? 4 }, () => {
    const connection = new WriterConnection(connectionString);
    const session = new PostgresSession(async (text, values) =>
      (await connection.client()).query(named(statementNames, text, values)),
    );
    return { connection, session, busy: false };
  });
  await Promise.all(writers.map((writer) => writer.connection.client()));
  const pool = new pg.Pool({ connectionString, types, max: options.readPoolSize ?? 4 });
  // An idle client whose server connection drops (a restart, a terminated backend) emits 'error';
  // the pool discards it and the next query opens a new one, so nothing more is needed here.
  pool.on('error', () => {});
  return {
    dialect: 'postgres',
    writersMax: writers.length,
    reader: new PostgresSession((text, values) => pool.query(named(statementNames, text, values))),
    foreignCommitMark: () => null,
    async writeTransaction(work) {
      const writer = writers.find((candidate) => !candidate.busy);
      if (writer === undefined) throw new Error('assertion failed: no more write transactions than writers');
      writer.busy = true;
      try {
        for (let attempt = 1; ; attempt += 1) {
          const client = await writer.connection.client();
          await client.query('BEGIN');
          try {
            const result = await work(writer.session);
            await client.query('COMMIT');
            return result;
          } catch (error) {
            await client.query('ROLLBACK').catch(() => writer.connection.discard(client));
            if (!isRetryableStorageError(error) || attempt >= 5) throw error;
          }
        }
      } finally {
        writer.busy = false;
      }
    },
    async close() {
      await Promise.all(writers.map((writer) => writer.connection.close()));
      await pool.end();
    },
  };
}

/**
 * One writer connection, opened again after it breaks (server restart, network), so one lost
 * connection fails the batch in flight and not every batch after it. Prepared statements
 * are per connection; pg prepares them again on the new one.
 */
class WriterConnection {
  readonly #connectionString: string;
  #current: Promise<pg.Client> | null = null;

  constructor(connectionString: string) {
    this.#connectionString = connectionString;
  }

  client(): Promise<pg.Client> {
    this.#current ??= this.#connect();
    return this.#current;
  }

  async #connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.#connectionString, types });
    client.on('error', () => this.discard(client));
    client.on('end', () => this.discard(client));
    try {
      await client.connect();
    } catch (error) {
      this.#current = null;
      throw error;
    }
    return client;
  }

  discard(client: pg.Client): void {
    void this.#current?.then((current) => {
      if (current === client) this.#current = null;
    });
  }

  async close(): Promise<void> {
    const current = this.#current;
    this.#current = null;
    if (current !== null) await (await current).end();
  }
}

type Query = (text: string, values: readonly SqlValue[] | readonly SqlValue[][]) => Promise<pg.QueryResult>;

function named(names: Map<string, string>, text: string, values: readonly unknown[]): pg.QueryConfig {
  let name = names.get(text);
  if (name === undefined) {
    name = `bursar_${names.size + 1}`;
    names.set(text, name);
  }
  return { name, text, values: values as unknown[] };
}

const placeholderCache = new Map<string, string>();

/** Rewrites `?` placeholders as `$1, $2, …` once per statement text. */
function toPostgresPlaceholders(sql: string): string {
  let converted = placeholderCache.get(sql);
  if (converted === undefined) {
    let index = 0;
    converted = sql.replace(/\?/g, () => `$${++index}`);
    placeholderCache.set(sql, converted);
  }
  return converted;
}

class PostgresSession implements SqlSession {
  readonly dialect = 'postgres' as const;
  readonly #query: Query;

  constructor(query: Query) {
    this.#query = query;
  }

  async all(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow[]> {
    return (await this.#query(toPostgresPlaceholders(sql), params.map(toParameter))).rows as SqlRow[];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.#query(toPostgresPlaceholders(sql), params.map(toParameter))).rowCount ?? 0;
  }

  async insertMany(
    table: TableName,
    rows: readonly SqlRow[],
    options: { onConflictDoNothing?: boolean } = {},
  ): Promise<SqlRow[]> {
    if (rows.length === 0) return [];
    const spec = tables[table];
    const columns = Object.keys(spec.columns);
    const arrays = columns.map((column) => `$${columns.indexOf(column) + 1}::${arrayType(table, column)}`);
    const conflict = options.onConflictDoNothing === true ? ' ON CONFLICT DO NOTHING' : '';
    const returning = options.onConflictDoNothing === true ? ` RETURNING ${spec.primaryKey.map(quote).join(', ')}` : '';
    const text = `INSERT INTO ${table} (${columns.map(quote).join(', ')}) SELECT * FROM unnest(${arrays.join(', ')})${conflict}${returning}`;
    const result = await this.#query(
      text,
      columns.map((column) => rows.map((row) => toParameter(row[column] ?? null))),
    );
    if (options.onConflictDoNothing !== true) return [...rows];
    const insertedKeys = new Set(
      result.rows.map((row: SqlRow) => spec.primaryKey.map((column) => String(row[column])).join('\u0000')),
    );
    return rows.filter((row) => insertedKeys.has(spec.primaryKey.map((column) => String(row[column])).join('\u0000')));
  }

  async selectByKeys(
    table: TableName,
    keyColumns: readonly string[],
    keys: readonly (readonly string[])[],
    options: { lock?: boolean; columns?: readonly string[] } = {},
  ): Promise<SqlRow[]> {
    if (keys.length === 0) return [];
    // Keys arrive as text; each array is cast to its column's type (a bigint column takes decimal text).
    const arrays = keyColumns.map((column, index) => `$${index + 1}::${arrayType(table, column)}`).join(', ');
    const names = keyColumns.map((_, index) => `k${index}`);
    const matches = keyColumns.map((column, index) => `t.${quote(column)} = k.${names[index]}`).join(' AND ');
    const order = keyColumns.map((column) => `t.${quote(column)}`).join(', ');
    const lock = options.lock === true ? ' FOR UPDATE OF t' : '';
    const list =
      options.columns === undefined ? 't.*' : options.columns.map((column) => `t.${quote(column)}`).join(', ');
    const text = `SELECT ${list} FROM ${table} t JOIN unnest(${arrays}) AS k(${names.join(', ')}) ON ${matches} ORDER BY ${order}${lock}`;
    return (
      await this.#query(
        text,
        keyColumns.map((_, index) => keys.map((key) => key[index] ?? null)),
      )
    ).rows as SqlRow[];
  }

  async updateMany(table: TableName, keyColumns: readonly string[], rows: readonly SqlRow[]): Promise<void> {
    const first = rows[0];
    if (first === undefined) return;
    const columns = Object.keys(first);
    const setColumns = columns.filter((column) => !keyColumns.includes(column));
    const arrays = columns.map((column, index) => `$${index + 1}::${arrayType(table, column)}`);
    const text =
      `UPDATE ${table} AS t SET ${setColumns.map((column) => `${quote(column)} = v.${quote(column)}`).join(', ')} ` +
      `FROM unnest(${arrays.join(', ')}) AS v(${columns.map(quote).join(', ')}) ` +
      `WHERE ${keyColumns.map((column) => `t.${quote(column)} = v.${quote(column)}`).join(' AND ')}`;
    const result = await this.#query(
      text,
      columns.map((column) => rows.map((row) => toParameter(row[column] ?? null))),
    );
    if (result.rowCount !== rows.length)
      throw new Error(`assertion failed: update of ${table} matched ${result.rowCount} of ${rows.length} rows`);
  }
}

function arrayType(table: TableName, column: string): string {
  const type = (tables[table].columns as Record<string, string>)[column];
  if (type === undefined) throw new Error(`assertion failed: ${table}.${column} is not in the schema`);
  return type === 'bigint' ? 'bigint[]' : 'text[]';
}

function toParameter(value: SqlValue): SqlValue {
  return typeof value === 'bigint' ? value.toString() : value;
}
