/**
 * The SQLite driver under the backend: Node's built-in `node:sqlite` where the runtime has it
 * (Node 22.5 and later), better-sqlite3 on Node 20. better-sqlite3 12 (the last line that builds
 * for Node 20) can abort the process on Node 24 when V8 collects a statement object
 * (`RemoveEnvironmentCleanupHook`), and its Node-API successor needs Node 22; the built-in driver
 * has neither problem. Both are reduced to the few calls the backend makes, with 64-bit integers
 * read as bigint.
 */
import { createRequire } from 'node:module';
import type { SqlRow, SqlValue } from './database.ts';

export interface Statement {
  all(params: readonly SqlValue[]): SqlRow[];
  /** Runs the statement and returns how many rows it changed. */
  run(params: readonly SqlValue[]): number;
}

export interface Connection {
  exec(sql: string): void;
  prepare(sql: string): Statement;
  readonly inTransaction: boolean;
  close(): void;
}

interface BuiltinStatement {
  all(...params: unknown[]): SqlRow[];
  run(...params: unknown[]): { changes: number | bigint };
}
interface BuiltinDatabase {
  exec(sql: string): void;
  prepare(sql: string): BuiltinStatement;
  readonly isTransaction: boolean;
  close(): void;
}
interface BuiltinModule {
  DatabaseSync: new (path: string, options: { readBigInts: boolean }) => BuiltinDatabase;
}

const builtin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule?.('node:sqlite') as
  | BuiltinModule
  | undefined;

/** Which driver this process uses, for logs and the benchmark. */
export const sqliteDriverName = builtin === undefined ? 'better-sqlite3' : 'node:sqlite';

export function openConnection(path: string): Connection {
  return builtin === undefined ? openBetterSqlite3(path) : openBuiltin(builtin, path);
}

/** node:sqlite binds a JS number as REAL; integers go in as INTEGER, as stored values are. */
function toBuiltinParameter(value: SqlValue): SqlValue {
  return typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : value;
}

function openBuiltin(module: BuiltinModule, path: string): Connection {
  const database = new module.DatabaseSync(path, { readBigInts: true });
  return {
    exec: (sql) => database.exec(sql),
    prepare(sql) {
      const statement = database.prepare(sql);
      return {
        all: (params) => statement.all(...params.map(toBuiltinParameter)),
        run: (params) => Number(statement.run(...params.map(toBuiltinParameter)).changes),
      };
    },
    get inTransaction() {
      return database.isTransaction;
    },
    close: () => database.close(),
  };
}

interface BetterSqlite3Database {
  defaultSafeIntegers(toggle: boolean): void;
  exec(sql: string): void;
  prepare(sql: string): { all(...params: unknown[]): SqlRow[]; run(...params: unknown[]): { changes: number } };
  readonly inTransaction: boolean;
  close(): void;
}

function openBetterSqlite3(path: string): Connection {
  // Loaded only where it is used, so Node 22+ never loads the native module.
  const BetterSqlite3 = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => BetterSqlite3Database;
  const database = new BetterSqlite3(path);
  database.defaultSafeIntegers(true);
  return {
    exec: (sql) => database.exec(sql),
    prepare(sql) {
      const statement = database.prepare(sql);
      return { all: (params) => statement.all(...params), run: (params) => statement.run(...params).changes };
    },
    get inTransaction() {
      return database.inTransaction;
    },
    close: () => database.close(),
  };
}
