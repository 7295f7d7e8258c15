/**
 * Migrations, applied in order at start and by `bursar migrate`; each runs once, in its own
 * transaction, recorded in schema_migrations. The same list serves both dialects.
 */
import type { Database } from './database.ts';
import { migrationTables, schemaStatements } from './schema.ts';

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: (dialect: 'sqlite' | 'postgres') => string[];
}

const migrationNames = ['ledger', 'pricing', 'usage events', 'usage rollups', 'webhooks'];

const migrations: readonly Migration[] = migrationTables.map((names, index) => ({
  version: index + 1,
  name: migrationNames[index] ?? `migration_${index + 1}`,
  statements: (dialect) => schemaStatements(dialect, names),
}));

export async function migrate(database: Database, now: number): Promise<number[]> {
  const applied: number[] = [];
  for (const migration of migrations) {
    await database.writeTransaction(async (session) => {
      if (database.dialect === 'postgres') {
        // Several processes may start at once; the advisory lock lets one migrate while the others wait.
        await session.all('SELECT pg_advisory_xact_lock(4242)');
      }
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
  return applied;
}
