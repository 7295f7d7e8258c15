/**
 * Migration 2: drops what versions before the history left behind. The `entries(grant_id)` index
 * (every debit wrote it at random places; dropped from the schema in d800b09) and the
 * `grants(…, remaining)` index (rewritten by every debit) stay on databases created before them;
 * `schema_migrations`, the per-table ledger those versions kept, is replaced by `bursar_migrations`.
 */
import type { Migration } from 'kysely';

const staleIndexes = ['entries_environment_id_grant_id', 'grants_environment_id_customer_id_asset_remaining'];

export const dropStaleIndexesMigration: Migration = {
  async up(db) {
    for (const index of staleIndexes) await db.schema.dropIndex(index).ifExists().execute();
    await db.schema.dropTable('schema_migrations').ifExists().execute();
  },
};
