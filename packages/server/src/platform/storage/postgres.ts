/**
 * PostgreSQL backend (pg): a few writer connections per process, one per group-commit batch in
 * flight (row locks taken in key order serialize batches that share a wallet), a small pool for
 * reads, named prepared statements, and bulk writes through `unnest` arrays. A write transaction's
 * writes whose result nobody reads are held and sent together, as one statement of data-modifying
 * `WITH` parts, before the next statement that reads or at commit: a debit batch's flush is one
 * round trip, not one per table.
 */
import pg from 'pg';
import type { Database, SqlRow, SqlSession, SqlValue } from './database.ts';
import { isRetryableStorageError } from './database.ts';
import type { SoleWriterTiming } from './postgres-sole-writer.ts';
import { defaultSoleWriterTiming, enterShared, SoleWriter } from './postgres-sole-writer.ts';
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
  options: {
    readPoolSize?: number;
    writersMax?: number;
    /** Claim the database as its sole writer when no other process writes (a server does; tools do not). */
    claimSoleWriter?: boolean;
    /** The sole-writer lock's renewal, staleness bound and takeover wait (tests shorten them). */
    soleWriterTiming?: SoleWriterTiming;
  } = {},
): Promise<Database> {
  const statementNames = new Map<string, string>();
  const timing = options.soleWriterTiming ?? defaultSoleWriterTiming;
  // Before any writer connects: a writer of this process holding the gate shared would refuse the claim.
  const sole = options.claimSoleWriter === true ? await SoleWriter.claim(connectionString, timing) : null;
  const enter = (client: pg.Client) => (sole === null ? enterShared(client, timing) : sole.enter(client));
  const writers = Array.from({ length: options.writersMax ?? 4 }, () => {
    const connection = new WriterConnection(connectionString, enter);
    const session = new PostgresSession(
      async (text, values) => (await connection.client()).query(named(statementNames, text, values)),
      { holdWrites: true },
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
    // A sole writer's cache misses no other process's commit: one mark that never changes while it
    // is current. Otherwise null: only a round trip can tell.
    foreignCommitMark: () => (sole?.current === true ? 0n : null),
    async writeTransaction(work) {
      const writer = writers.find((candidate) => !candidate.busy);
      if (writer === undefined) throw new Error('assertion failed: no more write transactions than writers');
      writer.busy = true;
      try {
        for (let attempt = 1; ; attempt += 1) {
          const client = await writer.connection.client();
          writer.session.dropHeldWrites();
          await client.query('BEGIN');
          try {
            const result = await work(writer.session);
            await writer.session.sendHeldWrites();
            await client.query('COMMIT');
            return result;
          } catch (error) {
            writer.session.dropHeldWrites();
            await client.query('ROLLBACK').catch(() => writer.connection.discard(client));
            if (!isRetryableStorageError(error) || attempt >= 5) throw error;
          }
        }
      } finally {
        writer.busy = false;
      }
    },
    async close() {
      sole?.leave();
      await Promise.all(writers.map((writer) => writer.connection.close()));
      await pool.end();
    },
  };
}

/**
 * One writer connection, opened again after it breaks (server restart, network), so one lost
 * connection fails the batch in flight and not every batch after it. Prepared statements
 * are per connection; pg prepares them again on the new one. Each connection takes its
 * sole-writer lock (`enter`) before its first transaction.
 */
class WriterConnection {
  readonly #connectionString: string;
  readonly #enter: (client: pg.Client) => Promise<void>;
  #current: Promise<pg.Client> | null = null;

  constructor(connectionString: string, enter: (client: pg.Client) => Promise<void>) {
    this.#connectionString = connectionString;
    this.#enter = enter;
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
      await this.#enter(client);
    } catch (error) {
      this.#current = null;
      await client.end().catch(() => {});
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

/**
 * A write held for the next round trip: its statement (placeholders from `$1`), its array
 * parameters, and for an update the rows it must match.
 */
interface HeldWrite {
  readonly table: TableName;
  readonly text: string;
  readonly values: readonly (readonly SqlValue[])[];
  readonly update: boolean;
  readonly rows: number;
}

class PostgresSession implements SqlSession {
  readonly dialect = 'postgres' as const;
  readonly #query: Query;
  readonly #holdWrites: boolean;
  #held: HeldWrite[] = [];

  constructor(query: Query, options: { holdWrites?: boolean } = {}) {
    this.#query = query;
    this.#holdWrites = options.holdWrites === true;
  }

  async all(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow[]> {
    await this.sendHeldWrites();
    return (await this.#query(toPostgresPlaceholders(sql), params.map(toParameter))).rows as SqlRow[];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    await this.sendHeldWrites();
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
    const skipConflicts = options.onConflictDoNothing === true;
    const conflict = skipConflicts ? ' ON CONFLICT DO NOTHING' : '';
    const returning = skipConflicts ? ` RETURNING ${spec.primaryKey.map(quote).join(', ')}` : '';
    const write: HeldWrite = {
      table,
      text: `INSERT INTO ${table} (${columns.map(quote).join(', ')}) SELECT * FROM unnest(${arrays.join(', ')})${conflict}${returning}`,
      values: columns.map((column) => rows.map((row) => toParameter(row[column] ?? null))),
      update: false,
      rows: rows.length,
    };
    if (!skipConflicts) {
      await this.#hold(write);
      return [...rows];
    }
    // Which rows were inserted is read at once: the held writes go in the same statement, before it.
    const inserted = await this.#sendWith(write);
    const insertedKeys = new Set(
      inserted.map((row) => spec.primaryKey.map((column) => String(row[column])).join('\u0000')),
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
    await this.sendHeldWrites();
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
    await this.#hold({
      table,
      text:
        `UPDATE ${table} AS t SET ${setColumns.map((column) => `${quote(column)} = v.${quote(column)}`).join(', ')} ` +
        `FROM unnest(${arrays.join(', ')}) AS v(${columns.map(quote).join(', ')}) ` +
        `WHERE ${keyColumns.map((column) => `t.${quote(column)} = v.${quote(column)}`).join(' AND ')}`,
      values: columns.map((column) => rows.map((row) => toParameter(row[column] ?? null))),
      update: true,
      rows: rows.length,
    });
  }

  /** Sends the held writes (a writer session does before COMMIT); their failures are thrown here. */
  async sendHeldWrites(): Promise<void> {
    if (this.#held.length > 0) await this.#sendWith(undefined);
  }

  /** Forgets held writes of a transaction that is rolled back. */
  dropHeldWrites(): void {
    this.#held = [];
  }

  async #hold(write: HeldWrite): Promise<void> {
    if (!this.#holdWrites) {
      this.#held = [write];
      await this.#sendWith(undefined);
      return;
    }
    this.#held.push(write);
  }

  /**
   * Sends the held writes, then `last` (whose returned rows are answered), in as few statements as
   * one: each part of a data-modifying `WITH` sees the snapshot from before the statement, so a
   * write that touches a table an earlier part updated, or that updates a table an earlier part
   * wrote, starts the next statement. Each update must match all of its rows.
   */
  async #sendWith(last: HeldWrite | undefined): Promise<SqlRow[]> {
    const writes = last === undefined ? this.#held : [...this.#held, last];
    this.#held = [];
    let group: HeldWrite[] = [];
    const written = new Set<TableName>();
    const updated = new Set<TableName>();
    for (const write of writes) {
      if (updated.has(write.table) || (write.update && written.has(write.table))) {
        await this.#sendGroup(group, undefined);
        group = [];
        written.clear();
        updated.clear();
      }
      group.push(write);
      written.add(write.table);
      if (write.update) updated.add(write.table);
    }
    const lastOfGroup = last !== undefined && group.at(-1) === last ? group.pop() : undefined;
    return this.#sendGroup(group, lastOfGroup);
  }

  async #sendGroup(group: readonly HeldWrite[], last: HeldWrite | undefined): Promise<SqlRow[]> {
    if (group.length === 0 && last === undefined) return [];
    const values: (readonly SqlValue[])[] = [];
    const renumbered = (write: HeldWrite) => {
      const offset = values.length;
      values.push(...write.values);
      return write.text.replace(/\$(\d+)/g, (_match, index: string) => `$${Number(index) + offset}`);
    };
    const parts = group.map(
      (write, index) => `w${index} AS (${renumbered(write)}${write.update ? ' RETURNING 1' : ''})`,
    );
    const counts = group.flatMap((write, index) =>
      write.update ? [`(SELECT count(*) FROM w${index}) AS n${index}`] : [],
    );
    const countsRow = `(SELECT ${counts.length === 0 ? '1 AS one' : counts.join(', ')}) AS n`;
    let text: string;
    if (last === undefined) text = `WITH ${parts.join(', ')} SELECT n.* FROM ${countsRow}`;
    else {
      parts.push(`l AS (${renumbered(last)})`);
      text = `WITH ${parts.join(', ')} SELECT n.*, l.* FROM ${countsRow} LEFT JOIN l ON true`;
    }
    const result = await this.#query(text, values as SqlValue[][]);
    const [first] = result.rows as SqlRow[];
    group.forEach((write, index) => {
      if (!write.update) return;
      const matched = Number(first?.[`n${index}`] ?? 0);
      if (matched !== write.rows)
        throw new Error(`assertion failed: update of ${write.table} matched ${matched} of ${write.rows} rows`);
    });
    if (last === undefined) return [];
    const primaryKey = tables[last.table].primaryKey;
    return (result.rows as SqlRow[]).filter((row) => primaryKey.every((column) => row[column] !== null));
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
