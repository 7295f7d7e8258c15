/**
 * What a database's schema is, read from its catalog in a form two databases can be compared by:
 * tables, columns (type, nullability, default, primary key), indexes, constraints, triggers and
 * functions. Column order is left out: ALTER TABLE ADD COLUMN appends, and nothing reads by position.
 */
import type { SqlSession } from '../database.ts';

export interface SchemaShape {
  readonly columns: string[];
  readonly indexes: string[];
  readonly constraints: string[];
  readonly triggers: string[];
  readonly functions: string[];
}

export async function introspect(session: SqlSession): Promise<SchemaShape> {
  return session.dialect === 'sqlite' ? introspectSqlite(session) : introspectPostgres(session);
}

const text = (value: unknown) => (value === null ? 'null' : String(value));

async function introspectSqlite(session: SqlSession): Promise<SchemaShape> {
  const objects = await session.all(
    "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name",
  );
  const columns: string[] = [];
  const indexes: string[] = [];
  for (const table of objects.filter((object) => object.type === 'table')) {
    const name = text(table.name);
    for (const column of await session.all('SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)', [
      name,
    ])) {
      columns.push(
        `${name}.${text(column.name)} ${text(column.type)} notnull=${text(column.notnull)} default=${text(column.dflt_value)} pk=${text(column.pk)}`,
      );
    }
    // Unique constraints and primary keys show as automatic indexes; their columns say what they cover.
    for (const index of await session.all('SELECT name, "unique", origin, partial FROM pragma_index_list(?)', [name])) {
      const covered = await session.all('SELECT name FROM pragma_index_info(?) ORDER BY seqno', [text(index.name)]);
      const automatic = text(index.name).startsWith('sqlite_autoindex_') ? `${name}(auto)` : text(index.name);
      indexes.push(
        `${automatic} on ${name} (${covered.map((column) => text(column.name)).join(', ')}) unique=${text(index.unique)} origin=${text(index.origin)} partial=${text(index.partial)}`,
      );
    }
  }
  const explicitIndexes = objects.filter((object) => object.type === 'index').map((index) => text(index.sql));
  return {
    columns: columns.sort(),
    indexes: [...indexes, ...explicitIndexes].sort(),
    constraints: [],
    triggers: objects
      .filter((object) => object.type === 'trigger')
      .map((trigger) => text(trigger.sql))
      .sort(),
    functions: [],
  };
}

async function introspectPostgres(session: SqlSession): Promise<SchemaShape> {
  const columns = await session.all(
    `SELECT table_name || '.' || column_name || ' ' || data_type || ' nullable=' || is_nullable
       || ' default=' || coalesce(column_default, 'null') AS description
     FROM information_schema.columns WHERE table_schema = current_schema()`,
  );
  const indexes = await session.all(
    "SELECT indexname || ': ' || indexdef AS description FROM pg_indexes WHERE schemaname = current_schema()",
  );
  const constraints = await session.all(
    `SELECT c.relname || '.' || k.conname || ': ' || pg_get_constraintdef(k.oid) AS description
     FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = current_schema()`,
  );
  const triggers = await session.all(
    `SELECT pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text AS description
     FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = current_schema() AND NOT t.tgisinternal`,
  );
  const functions = await session.all(
    `SELECT p.proname || ': ' || p.prosrc AS description FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = current_schema()`,
  );
  const described = (rows: readonly Record<string, unknown>[]) => rows.map((row) => text(row.description)).sort();
  return {
    columns: described(columns),
    indexes: described(indexes),
    constraints: described(constraints),
    triggers: described(triggers),
    functions: described(functions),
  };
}
