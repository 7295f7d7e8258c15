/**
 * The migration history, applied at start and by `bursar migrate`: an append-only list of
 * numbered migrations (README.md has the rules), run by Kysely's Migrator inside one write
 * transaction under the start-up lock and recorded in `bursar_migrations`.
 */
import type { Migration } from 'kysely';
import { Migrator } from 'kysely';
import type { Database, SqlSession } from './database.ts';
import { kyselyOver } from './kysely.ts';
import { baselineMigration } from './migrations/0001-baseline.ts';
import { dropStaleIndexesMigration } from './migrations/0002-drop-stale-indexes.ts';
import { stripePaymentsMigration } from './migrations/0003-stripe-payments.ts';
import { financeMigration } from './migrations/0004-finance.ts';
import { consoleSessionsMigration } from './migrations/0005-console-sessions.ts';
import { portalMigration } from './migrations/0006-portal.ts';
import { customerKeysMigration } from './migrations/0007-customer-keys.ts';
import { partialTransactionIndexesMigration } from './migrations/0008-partial-transaction-indexes.ts';

export interface MigrateOptions {
  /**
   * Runs in migration 1's transaction when it added columns to tables an earlier version made
   * (`table.column`), so work an upgrade needs (keying the audit chain) commits with the columns
   * or not at all.
   */
  readonly onColumnsAdded?: (added: readonly string[], session: SqlSession) => Promise<void>;
}

/** The history, by name: four digits (the number `migrate` reports) and what it does. Append only. */
function history(session: SqlSession, options: MigrateOptions): Record<string, Migration> {
  return {
    '0001-baseline': baselineMigration(session.dialect, async (added) => options.onColumnsAdded?.(added, session)),
    '0002-drop-stale-indexes': dropStaleIndexesMigration,
    '0003-stripe-payments': stripePaymentsMigration(session.dialect),
    '0004-finance': financeMigration(session.dialect),
    '0005-console-sessions': consoleSessionsMigration(session.dialect),
    '0006-portal': portalMigration(session.dialect),
    '0007-customer-keys': customerKeysMigration(session.dialect),
    '0008-partial-transaction-indexes': partialTransactionIndexesMigration,
  };
}

/**
 * Applies the migrations a database lacks and returns their numbers. All of them commit together
 * or not at all; processes starting at once wait on the start-up lock and find them applied.
 * `_now` is kept for callers: the Migrator records its own wall-clock time.
 */
export async function migrate(database: Database, _now: number, options: MigrateOptions = {}): Promise<number[]> {
  return database.writeTransaction(async (session) => {
    await takeStartupLock(session);
    const migrator = new Migrator({
      db: kyselyOver(session, { inTransaction: true }),
      provider: { getMigrations: async () => history(session, options) },
      migrationTableName: 'bursar_migrations',
      migrationLockTableName: 'bursar_migrations_lock',
    });
    const { error, results = [] } = await migrator.migrateToLatest();
    if (error !== undefined) throw error;
    return results.map((result) => Number(result.migrationName.slice(0, 4)));
  });
}

/**
 * Serialises start-up work (migrations, bootstrap) across processes until the transaction ends:
 * several processes may start at once on one PostgreSQL database, and one must finish before the
 * next looks. SQLite needs nothing: its write transactions already exclude each other.
 */
export async function takeStartupLock(session: SqlSession): Promise<void> {
  if (session.dialect === 'postgres') await session.all('SELECT pg_advisory_xact_lock(4242)');
}
