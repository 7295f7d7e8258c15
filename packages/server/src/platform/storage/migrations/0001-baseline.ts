/**
 * Migration 1: the schema as main (95a06e3) created it, from frozen DDL. A database made by an
 * earlier version (tables and columns it lacks, its own `schema_migrations` rows) is brought to
 * the same schema: its tables gain the columns added since, then every missing table, index and
 * trigger is created.
 */
import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';
import { postgresBaseline, sqliteBaseline } from './baseline-ddl.ts';

export function baselineMigration(
  dialect: 'sqlite' | 'postgres',
  onColumnsAdded: (added: readonly string[]) => Promise<void>,
): Migration {
  return {
    async up(db) {
      const statements = dialect === 'sqlite' ? sqliteBaseline : postgresBaseline;
      const added = await addMissingColumns(db, dialect, statements);
      for (const statement of statements) await sql.raw(statement).execute(db);
      if (added.length > 0) await onColumnsAdded(added);
    },
  };
}

interface FrozenColumn {
  readonly name: string;
  readonly type: string;
  readonly nullable: boolean;
}

/** The tables and columns the frozen CREATE TABLE statements declare. */
function frozenTables(statements: readonly string[]): Map<string, FrozenColumn[]> {
  const found = new Map<string, FrozenColumn[]>();
  for (const statement of statements) {
    const table = /^CREATE TABLE IF NOT EXISTS (\w+) \(\n/.exec(statement)?.[1];
    if (table === undefined) continue;
    const columns = [...statement.matchAll(/^ {2}"(\w+)" (TEXT|INTEGER|BIGINT)( NOT NULL)?,?$/gm)].map((match) => ({
      name: match[1] as string,
      type: match[2] as string,
      nullable: match[3] === undefined,
    }));
    found.set(table, columns);
  }
  return found;
}

/**
 * Adds to tables an earlier version created the columns added since (`table.column` returned).
 * Such a column is nullable: the rows already there have no value for it.
 */
async function addMissingColumns(
  db: Kysely<unknown>,
  dialect: 'sqlite' | 'postgres',
  statements: readonly string[],
): Promise<string[]> {
  const added: string[] = [];
  for (const [table, columns] of frozenTables(statements)) {
    const present = new Set(await columnsOf(db, dialect, table));
    if (present.size === 0) continue; // created below, whole
    for (const column of columns) {
      if (present.has(column.name)) continue;
      if (!column.nullable) {
        throw new Error(
          `assertion failed: ${table}.${column.name} is added to an existing table, so it must be nullable`,
        );
      }
      await sql.raw(`ALTER TABLE ${table} ADD COLUMN "${column.name}" ${column.type}`).execute(db);
      added.push(`${table}.${column.name}`);
    }
  }
  return added;
}

async function columnsOf(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres', table: string): Promise<string[]> {
  const query =
    dialect === 'sqlite'
      ? sql<{ name: string }>`SELECT name FROM pragma_table_info(${table})`
      : sql<{ name: string }>`SELECT column_name AS name FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name = ${table}`;
  return (await query.execute(db)).rows.map((row) => row.name);
}
