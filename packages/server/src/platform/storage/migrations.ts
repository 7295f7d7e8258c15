/**
 * Migrations, applied in order at start and by `bursar migrate`; each runs once, in its own
 * transaction, recorded in schema_migrations. The same list serves both dialects. A migration
 * creates the tables it introduced as the schema declares them now; a column added to an existing
 * table later is added by `addMissingColumns`, so fresh and old databases end the same.
 */
import type { Database, SqlSession } from './database.ts';
import type { TableName } from './schema.ts';
import { migrationTables, quote, schemaStatements, tables } from './schema.ts';

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: (dialect: 'sqlite' | 'postgres') => string[];
}

const migrationNames = [
  'ledger',
  'pricing',
  'usage events',
  'usage rollups',
  'webhooks',
  'top-ups',
  'plans and subscriptions',
];

const migrations: readonly Migration[] = migrationTables.map((names, index) => ({
  version: index + 1,
  name: migrationNames[index] ?? `migration_${index + 1}`,
  statements: (dialect) => schemaStatements(dialect, names),
}));

export interface MigrateOptions {
  /**
   * Runs in the transaction that added columns to existing tables (`table.column`), so work an
   * upgrade needs (keying the audit chain) commits with the columns or not at all.
   */
  readonly onColumnsAdded?: (added: readonly string[], session: SqlSession) => Promise<void>;
}

export async function migrate(database: Database, now: number, options: MigrateOptions = {}): Promise<number[]> {
  const applied: number[] = [];
  for (const migration of migrations) {
    await database.writeTransaction(async (session) => {
      await takeStartupLock(session);
      await session.run(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
      );
      const done = await session.all('SELECT version FROM schema_migrations WHERE version = ?', [migration.version]);
      if (done.length > 0) return;
      for (const statement of migration.statements(database.dialect)) await session.run(statement);
      await session.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        migration.version,
        migration.name,
        now,
      ]);
      applied.push(migration.version);
    });
  }
  await database.writeTransaction(async (session) => {
    await takeStartupLock(session);
    const added = await addMissingColumns(session);
    if (added.length > 0) await options.onColumnsAdded?.(added, session);
  });
  return applied;
}

/**
 * Serialises start-up work (migrations, bootstrap) across processes until the transaction ends:
 * several processes may start at once on one PostgreSQL database, and one must finish before the
 * next looks. SQLite needs nothing: its write transactions already exclude each other.
 */
export async function takeStartupLock(session: SqlSession): Promise<void> {
  if (session.dialect === 'postgres') await session.all('SELECT pg_advisory_xact_lock(4242)');
}

/**
 * Adds the columns the schema declares that a table lacks (tables created by an older version).
 * Only additions: such a column must be nullable, since existing rows have no value for it.
 */
async function addMissingColumns(session: SqlSession): Promise<string[]> {
  const added: string[] = [];
  for (const [name, spec] of Object.entries(tables) as [TableName, (typeof tables)[TableName]][]) {
    const present = new Set(await columnsOf(session, name));
    for (const [column, type] of Object.entries(spec.columns)) {
      if (present.has(column)) continue;
      if (!(spec.nullable as readonly string[]).includes(column)) {
        throw new Error(`assertion failed: ${name}.${column} is added to an existing table, so it must be nullable`);
      }
      const sqlType = type === 'text' ? 'TEXT' : session.dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
      await session.run(`ALTER TABLE ${name} ADD COLUMN ${quote(column)} ${sqlType}`);
      added.push(`${name}.${column}`);
    }
  }
  return added;
}

async function columnsOf(session: SqlSession, table: TableName): Promise<string[]> {
  const rows =
    session.dialect === 'sqlite'
      ? await session.all(`SELECT name FROM pragma_table_info('${table}')`)
      : await session.all(
          'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?',
          [table],
        );
  return rows.map((row) => String(row.name));
}
