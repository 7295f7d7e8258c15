/**
 * The storage port: a small SQL session the ledger shell writes through, with bulk insert and
 * update helpers, implemented once per dialect (SQLite and PostgreSQL).
 */
import type { TableName } from './schema.ts';

export type SqlValue = string | bigint | number | null;
export type SqlRow = Record<string, SqlValue>;

/**
 * A write transaction's session may hold back `insertMany` without `onConflictDoNothing` and
 * `updateMany` (which return nothing the database decides) and send them with its next statement
 * that returns rows, or at commit: PostgreSQL sends them as one statement, one round trip for a whole
 * flush. A failure of a held write (a violated key, an update that missed a row) is then thrown by
 * that later call or by the commit, inside the same transaction, which rolls back as before.
 */
export interface SqlSession {
  readonly dialect: 'sqlite' | 'postgres';
  /** Runs a query written with `?` placeholders and returns its rows. */
  all(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]>;
  /** Runs a statement and returns the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Inserts rows of one table; with `onConflict`, rows whose key exists are skipped and the inserted ones returned. */
  insertMany(table: TableName, rows: readonly SqlRow[], options?: { onConflictDoNothing?: boolean }): Promise<SqlRow[]>;
  /**
   * Rows of one table whose text key columns match any of `keys`, in one statement; with `lock`,
   * locked for update in key order (PostgreSQL; SQLite's write transaction already excludes writers).
   * With `columns`, only those columns are read: a driver builds each row column by column, so a
   * lock that needs a row's version alone should not pay for the whole row.
   */
  selectByKeys(
    table: TableName,
    keyColumns: readonly string[],
    keys: readonly (readonly string[])[],
    options?: { lock?: boolean; columns?: readonly string[] },
  ): Promise<SqlRow[]>;
  /** Updates rows of one table matched by `keyColumns`, setting every other column given in the rows. */
  updateMany(table: TableName, keyColumns: readonly string[], rows: readonly SqlRow[]): Promise<void>;
}

export interface Database {
  readonly dialect: 'sqlite' | 'postgres';
  /** How many write transactions may run at once: 1 on SQLite (one writer), a few on PostgreSQL. */
  readonly writersMax: number;
  /** Runs `work` in a write transaction; on SQLite it takes the write lock at BEGIN. */
  writeTransaction<T>(work: (session: SqlSession) => Promise<T>): Promise<T>;
  /** A session for reads outside any write transaction. */
  readonly reader: SqlSession;
  /**
   * On SQLite, the writer connection's `PRAGMA data_version`: it changes whenever another
   * connection (another process) commits, and never for this process's own commits, so reads
   * can tell without a query that their cached wallets are still current. On PostgreSQL, a mark
   * that never changes while this process is the database's proven sole writer (renewed less than
   * the bound ago, `postgres-sole-writer.ts`), and null otherwise, where only a round trip can tell.
   */
  foreignCommitMark(): bigint | null;
  close(): Promise<void>;
}

/** True for errors after which the same transaction may succeed when run again (deadlock, serialization, busy). */
export function isRetryableStorageError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === '40001' || code === '40P01' || code === 'SQLITE_BUSY';
}
