/**
 * Migration 8: the transactions table's `reverses_id` and `hold_id` indexes become partial, over the
 * rows that carry one. A debit carries neither, yet each debit's row was entered into both (a
 * fifth of its insert on SQLite, docs/performance.md, "The debit write path"); every query through
 * them asks for a value (`= ?`, `IS NOT NULL`), which the partial index answers on both backends.
 */
import type { Migration } from 'kysely';
import { sql } from 'kysely';

const statements = ['reverses_id', 'hold_id'].flatMap((column) => [
  `DROP INDEX IF EXISTS transactions_environment_id_${column}`,
  `CREATE INDEX transactions_environment_id_${column} ON transactions ("environment_id", "${column}") WHERE "${column}" IS NOT NULL`,
]);

export const partialTransactionIndexesMigration: Migration = {
  async up(db) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};
