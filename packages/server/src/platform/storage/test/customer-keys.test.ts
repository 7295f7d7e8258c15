/**
 * The customer-key rule, read from the catalog of a migrated database on each backend: every
 * primary and unique key of a customer-owned table (one with a `customer_id` column) begins with
 * (environment_id, customer_id), so a distributed PostgreSQL can shard the table by customer
 * (docs/distribution.md). A deliberately broken table proves the check fails.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backend, createTestDatabase } from '../../../../test/harness.ts';
import { openDatabase } from '../../../app.ts';
import type { SqlSession } from '../database.ts';
import { migrate } from '../migrations.ts';

/**
 * Customer-owned tables allowed to break the rule, each with its reason. A table added here must
 * say in docs/distribution.md how it is distributed.
 */
const exceptions: Readonly<Record<string, string>> = {
  id_owners:
    'the id directory: looked up by an id alone, before its customer is known, so it is keyed (and distributed) by id',
};

interface TableKeys {
  readonly columns: readonly string[];
  /** Primary and unique keys, each as its columns in order. */
  readonly keys: readonly { readonly name: string; readonly columns: readonly string[] }[];
}

async function readTableKeys(session: SqlSession): Promise<Map<string, TableKeys>> {
  return session.dialect === 'sqlite' ? readSqliteKeys(session) : readPostgresKeys(session);
}

async function readSqliteKeys(session: SqlSession): Promise<Map<string, TableKeys>> {
  const found = new Map<string, TableKeys>();
  const names = await session.all("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
  for (const { name } of names) {
    const table = String(name);
    const columns = await session.all('SELECT name, pk FROM pragma_table_info(?) ORDER BY cid', [table]);
    const primary = columns
      .filter((column) => Number(column.pk) > 0)
      .sort((a, b) => Number(a.pk) - Number(b.pk))
      .map((column) => String(column.name));
    const keys = primary.length === 0 ? [] : [{ name: `${table} primary key`, columns: primary }];
    for (const index of await session.all('SELECT name, origin FROM pragma_index_list(?) WHERE "unique" = 1', [
      table,
    ])) {
      if (index.origin === 'pk') continue; // the primary key, read above in its declared order
      const covered = await session.all('SELECT name FROM pragma_index_info(?) ORDER BY seqno', [String(index.name)]);
      keys.push({ name: String(index.name), columns: covered.map((column) => String(column.name)) });
    }
    found.set(table, { columns: columns.map((column) => String(column.name)), keys });
  }
  return found;
}

async function readPostgresKeys(session: SqlSession): Promise<Map<string, TableKeys>> {
  const found = new Map<string, TableKeys>();
  const columns = await session.all(
    `SELECT c.relname AS table_name, a.attname AS column_name
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY c.relname, a.attnum`,
  );
  for (const row of columns) {
    const table = String(row.table_name);
    const entry = found.get(table) ?? { columns: [], keys: [] };
    found.set(table, { ...entry, columns: [...entry.columns, String(row.column_name)] });
  }
  // Every unique index, the primary key's included; a constraint's name shows where one backs it.
  const keys = await session.all(
    `SELECT c.relname AS table_name, coalesce(k.conname, i.relname) AS key_name,
       array_to_string(ARRAY(
         SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY AS key(attnum, position)
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = key.attnum ORDER BY key.position
       ), ',') AS columns
     FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_constraint k ON k.conindid = x.indexrelid AND k.contype IN ('p', 'u')
     WHERE n.nspname = current_schema() AND x.indisunique`,
  );
  for (const row of keys) {
    const table = String(row.table_name);
    const entry = found.get(table) ?? { columns: [], keys: [] };
    found.set(table, {
      ...entry,
      keys: [...entry.keys, { name: String(row.key_name), columns: String(row.columns).split(',') }],
    });
  }
  return found;
}

/** Every way the schema breaks the rule, as sentences naming the table and the key, sorted. */
function keyRuleViolations(
  schema: ReadonlyMap<string, TableKeys>,
  allowed: Readonly<Record<string, string>>,
): string[] {
  const violations: string[] = [];
  for (const [table, { columns, keys }] of [...schema].sort(([a], [b]) => a.localeCompare(b))) {
    if (!columns.includes('customer_id') || table in allowed) continue;
    if (keys.length === 0) violations.push(`${table} has a customer_id but no primary key`);
    for (const key of keys) {
      if (key.columns[0] !== 'environment_id' || key.columns[1] !== 'customer_id')
        violations.push(
          `${table}: ${key.name} (${key.columns.join(', ')}) does not begin with environment_id, customer_id`,
        );
    }
  }
  for (const table of Object.keys(allowed)) {
    if (!schema.get(table)?.columns.includes('customer_id'))
      violations.push(`${table} is listed as an exception but is not a customer-owned table`);
  }
  return violations.sort();
}

async function withMigratedDatabase<T>(work: (session: SqlSession) => Promise<T>): Promise<T> {
  const database = await createTestDatabase();
  const opened = await openDatabase({ databaseUrl: database.url, postgresWritersMax: 1 });
  try {
    await migrate(opened, Date.now());
    return await work(opened.reader);
  } finally {
    await opened.close();
    await database.drop();
  }
}

describe(`the customer-key rule (${backend})`, () => {
  it('holds for every customer-owned table the migrations build', async () => {
    await withMigratedDatabase(async (session) => {
      const schema = await readTableKeys(session);
      const owned = [...schema].filter(([, table]) => table.columns.includes('customer_id')).map(([name]) => name);
      // The check must have something to check: the ledger's own tables are customer-owned.
      for (const table of ['wallets', 'grants', 'holds', 'hold_reservations', 'transactions', 'entries', 'events'])
        assert.ok(owned.includes(table), table);
      assert.deepEqual(keyRuleViolations(schema, exceptions), []);
    });
  });

  it('fails for a table that breaks it', async () => {
    const database = await createTestDatabase();
    const opened = await openDatabase({ databaseUrl: database.url, postgresWritersMax: 1 });
    try {
      await migrate(opened, Date.now());
      await opened.writeTransaction(async (session) => {
        // A customer's table keyed by environment and id alone, with a unique index that skips the customer.
        await session.run(
          'CREATE TABLE broken_notes ("environment_id" TEXT NOT NULL, "customer_id" TEXT NOT NULL, "id" TEXT NOT NULL, "slug" TEXT NOT NULL, PRIMARY KEY ("environment_id", "id"))',
        );
        await session.run('CREATE UNIQUE INDEX broken_notes_slug ON broken_notes ("environment_id", "slug")');
        // A customer's table with no key at all.
        await session.run('CREATE TABLE broken_marks ("environment_id" TEXT NOT NULL, "customer_id" TEXT NOT NULL)');
        // Right: the customer follows the environment in every key.
        await session.run(
          'CREATE TABLE sound_notes ("environment_id" TEXT NOT NULL, "customer_id" TEXT NOT NULL, "id" TEXT NOT NULL, PRIMARY KEY ("environment_id", "customer_id", "id"))',
        );
      });
      const schema = await readTableKeys(opened.reader);
      const primaryName = backend === 'sqlite' ? 'broken_notes primary key' : 'broken_notes_pkey';
      assert.deepEqual(keyRuleViolations(schema, exceptions), [
        'broken_marks has a customer_id but no primary key',
        `broken_notes: ${primaryName} (environment_id, id) does not begin with environment_id, customer_id`,
        'broken_notes: broken_notes_slug (environment_id, slug) does not begin with environment_id, customer_id',
      ]);
    } finally {
      await opened.close();
      await database.drop();
    }
  });

  it('refuses a stale exception', () => {
    const schema = new Map([['plans', { columns: ['environment_id', 'id'], keys: [] }]]);
    assert.deepEqual(keyRuleViolations(schema, { plans: 'no longer owned by a customer' }), [
      'plans is listed as an exception but is not a customer-owned table',
    ]);
  });
});
