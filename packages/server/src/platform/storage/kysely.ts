/**
 * Kysely over our own sessions: Kysely builds and compiles a query, and a `SqlSession` runs it,
 * so compiled queries share the session's prepared-statement cache and, in a write transaction,
 * its transaction. Kysely's own dialects would open connections of their own, outside the group
 * commit; only its compilers, adapters and introspectors are used.
 */
import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, RawBuilder } from 'kysely';
import {
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  sql,
} from 'kysely';
import type { SqlSession, SqlValue } from './database.ts';
import type { DB } from './schema.ts';

/** What Kysely runs queries through: a session, or a read-only view of one (`run` absent: writes are refused). */
type QuerySession = Pick<SqlSession, 'dialect' | 'all'> & Partial<Pick<SqlSession, 'run'>>;

const builders = new WeakMap<QuerySession, Kysely<DB>>();

/** The typed query builder over a session (one per session, kept with it). */
export function queryBuilder(session: QuerySession): Kysely<DB> {
  let builder = builders.get(session);
  if (builder === undefined) {
    builder = kyselyOver<DB>(session);
    builders.set(session, builder);
  }
  return builder;
}

/**
 * A Kysely bound to one session. `inTransaction`: the session is a write transaction's, and
 * Kysely's `transaction()` joins it (the migrator opens one); otherwise it refuses to open one.
 */
export function kyselyOver<Schema>(session: QuerySession, options: { inTransaction?: boolean } = {}): Kysely<Schema> {
  const driver = new SessionDriver(session, options.inTransaction === true);
  const dialect: Dialect =
    session.dialect === 'sqlite'
      ? {
          createAdapter: () => new SqliteAdapter(),
          createDriver: () => driver,
          createIntrospector: (db) => new SqliteIntrospector(db),
          createQueryCompiler: () => new SqliteQueryCompiler(),
        }
      : {
          createAdapter: () => new StartupLockedPostgresAdapter(),
          createDriver: () => driver,
          createIntrospector: (db) => new PostgresIntrospector(db),
          createQueryCompiler: () => new PostgresQueryCompiler(),
        };
  return new Kysely<Schema>({ dialect });
}

/** A query Kysely compiles: a select builder (or a `sql` fragment) typed by the rows it returns. */
interface CompilableQuery<Row> {
  compile(): CompiledQuery<Row>;
}

/** Where a prepared query's parameter comes from: an argument by name, or a value fixed in the query. */
type ParameterSource = { readonly argument: string } | { readonly value: unknown };

class Placeholder {
  readonly argument: string;

  constructor(argument: string) {
    this.argument = argument;
  }
}

/**
 * A read whose text Kysely builds and compiles once per dialect and that then runs with new
 * arguments, for the debit path: building and compiling a query on every call costs more than the
 * statement itself (platform/storage/README.md has the measurements). `build` writes the query
 * with `args.name` wherever an argument goes; each call passes the arguments by name.
 */
export function preparedQuery<Args extends Record<string, SqlValue>, Row>(
  build: (db: Kysely<DB>, args: Args) => CompilableQuery<Row>,
): (session: QuerySession, args: Args) => Promise<Row[]> {
  const compiled = new Map<QuerySession['dialect'], { sql: string; sources: ParameterSource[] }>();
  const placeholders = new Proxy({} as Args, { get: (_target, name) => new Placeholder(String(name)) });
  return async (session, args) => {
    let statement = compiled.get(session.dialect);
    if (statement === undefined) {
      const query = build(queryBuilder(session), placeholders).compile();
      statement = {
        sql: query.sql,
        sources: query.parameters.map((parameter) =>
          parameter instanceof Placeholder ? { argument: parameter.argument } : { value: parameter },
        ),
      };
      compiled.set(session.dialect, statement);
    }
    const parameters = statement.sources.map((source) =>
      'argument' in source ? (args[source.argument] ?? null) : (source.value as SqlValue),
    );
    // The rows of the query the builder typed: the drivers return columns as the schema types them.
    return (await session.all(statement.sql, parameters)) as Row[];
  };
}

/**
 * `column` is one of `values`, with one parameter (a JSON array) however many there are, so one
 * prepared statement serves every list where `IN (?, …)` would prepare one per length.
 */
export function isAnyOf(
  dialect: 'sqlite' | 'postgres',
  column: string,
  values: readonly string[],
): RawBuilder<boolean> {
  const list = JSON.stringify(values);
  return dialect === 'sqlite'
    ? sql<boolean>`${sql.ref(column)} IN (SELECT value FROM json_each(${list}))`
    : sql<boolean>`${sql.ref(column)} = ANY(ARRAY(SELECT json_array_elements_text(${list}::json)))`;
}

/**
 * The migrator runs inside `migrate`'s transaction, which holds the start-up lock already; the
 * adapter's own session-level advisory lock would be a second lock, and one a failed migration
 * could leave held on a pooled connection (its unlock cannot run in an aborted transaction).
 */
class StartupLockedPostgresAdapter extends PostgresAdapter {
  override async acquireMigrationLock(): Promise<void> {}

  override async releaseMigrationLock(): Promise<void> {}
}

class SessionDriver implements Driver {
  readonly #connection: SessionConnection;
  readonly #inTransaction: boolean;

  constructor(session: QuerySession, inTransaction: boolean) {
    this.#connection = new SessionConnection(session);
    this.#inTransaction = inTransaction;
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return this.#connection;
  }

  // The write transaction is the Database's (its BEGIN, COMMIT, retries); Kysely's joins it, and a
  // failure inside reaches the Database's callback, which rolls back.
  async beginTransaction(): Promise<void> {
    if (!this.#inTransaction) throw new Error('assertion failed: transactions are opened by Database.writeTransaction');
  }

  async commitTransaction(): Promise<void> {}

  async rollbackTransaction(): Promise<void> {}

  async releaseConnection(): Promise<void> {}

  async destroy(): Promise<void> {}
}

class SessionConnection implements DatabaseConnection {
  readonly #session: QuerySession;

  constructor(session: QuerySession) {
    this.#session = session;
  }

  async executeQuery<Row>(compiled: CompiledQuery): Promise<QueryResult<Row>> {
    const parameters = compiled.parameters as readonly SqlValue[];
    if (returnsRows(compiled)) return { rows: (await this.#session.all(compiled.sql, parameters)) as Row[] };
    if (this.#session.run === undefined) throw new Error('assertion failed: a read-only session runs no writes');
    return { rows: [], numAffectedRows: BigInt(await this.#session.run(compiled.sql, parameters)) };
  }

  // biome-ignore lint/correctness/useYield: never called, streaming is not offered
  async *streamQuery<Row>(): AsyncIterableIterator<QueryResult<Row>> {
    throw new Error('assertion failed: sessions do not stream');
  }
}

/** SQLite's drivers refuse `all` on a statement without a result (better-sqlite3), so DDL and plain writes go to `run`. */
function returnsRows(compiled: CompiledQuery): boolean {
  const node = compiled.query;
  if (node.kind === 'SelectQueryNode') return true;
  if ('returning' in node && node.returning !== undefined) return true;
  if (node.kind === 'RawNode') return /^\s*(select|with|pragma|values)\b/i.test(compiled.sql);
  return false;
}
