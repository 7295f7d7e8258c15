/**
 * The id directory (`id_owners`): which customer owns each id the API takes alone, so a lookup by
 * id reads one directory row, then the row itself by its whole customer key (docs/distribution.md).
 */

import type { SqlRow } from '../storage/database.ts';
import type { TableName } from '../storage/schema.ts';
import type { SqlReader } from './command.ts';

/** The tables whose ids routes take without their customer (`/v1/holds/{id}`, …). */
export const ownedIdTables = ['holds', 'grants', 'transactions', 'subscriptions', 'topups'] as const;
const owned: ReadonlySet<TableName> = new Set(ownedIdTables);

/** The directory rows of rows just inserted into `table`: none unless the API looks its ids up alone. */
export function idOwnerRows(table: TableName, rows: readonly SqlRow[]): SqlRow[] {
  if (!owned.has(table)) return [];
  return rows.map((row) => ({
    environment_id: row.environment_id ?? null,
    id: row.id ?? null,
    customer_id: row.customer_id ?? null,
  }));
}

/** The customer owning `id` in the environment, or undefined when the environment has no such id. */
export async function customerOfId(reader: SqlReader, environmentId: string, id: string): Promise<string | undefined> {
  const [row] = await reader.selectByKeys('id_owners', ['environment_id', 'id'], [[environmentId, id]]);
  return row === undefined ? undefined : String(row.customer_id);
}
