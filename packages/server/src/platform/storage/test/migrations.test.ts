/**
 * The migration history: a fresh database and databases made by earlier versions (fixtures of the
 * schema and rows those versions wrote) end with the same schema, read from the catalog; rows
 * survive the upgrade; the declared schema matches what the history builds; processes migrating
 * at once apply it once.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { TestDatabase } from '../../../../test/harness.ts';
import { backend, createTestDatabase } from '../../../../test/harness.ts';
import { openDatabase } from '../../../app.ts';
import type { Database, SqlSession } from '../database.ts';
import { migrate } from '../migrations.ts';
import { tables } from '../schema.ts';
import { introspect } from './introspect.ts';

interface Fixture {
  readonly sqlite: readonly string[];
  readonly postgres: readonly string[];
  readonly rows: Readonly<Record<string, readonly Record<string, string | null>[]>>;
}

const fixtures = ['main-95a06e3', 'd800b09-parent'] as const;

function readFixture(name: string): Fixture {
  return JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', `${name}.json`), 'utf8')) as Fixture;
}

async function withDatabase<T>(work: (opened: Database, url: string) => Promise<T>): Promise<T> {
  const database: TestDatabase = await createTestDatabase();
  const opened = await openDatabase({ databaseUrl: database.url, postgresWritersMax: 4 });
  try {
    return await work(opened, database.url);
  } finally {
    await opened.close();
    await database.drop();
  }
}

/** Creates what an earlier version left: its DDL, then its rows (every value as text; columns convert it). */
async function loadFixture(opened: Database, fixture: Fixture): Promise<void> {
  await opened.writeTransaction(async (session) => {
    for (const statement of fixture[session.dialect]) await session.run(statement);
    for (const [table, rows] of Object.entries(fixture.rows)) {
      for (const row of rows) {
        const columns = Object.keys(row);
        await session.run(
          `INSERT INTO ${table} (${columns.map((column) => `"${column}"`).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
          Object.values(row),
        );
      }
    }
  });
}

/** A table's rows as sorted text, each row cut to `columns` (later migrations add columns, backfilled apart). */
async function rowsAsText(session: SqlSession, table: string, columns: readonly string[]): Promise<string[]> {
  const rows = await session.all(`SELECT * FROM ${table}`);
  return rows
    .map((row) =>
      JSON.stringify(
        Object.fromEntries(
          Object.entries(row)
            .filter(([column]) => columns.includes(column))
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([column, value]) => [column, value === null ? null : String(value)]),
        ),
      ),
    )
    .sort();
}

describe(`migration history (${backend})`, () => {
  it('applies every migration once to a fresh database', async () => {
    await withDatabase(async (opened) => {
      assert.deepEqual(await migrate(opened, Date.now()), [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.deepEqual(await migrate(opened, Date.now()), []);
      const history = await opened.reader.all('SELECT name FROM bursar_migrations ORDER BY name');
      assert.deepEqual(
        history.map((row) => row.name),
        [
          '0001-baseline',
          '0002-drop-stale-indexes',
          '0003-stripe-payments',
          '0004-finance',
          '0005-console-sessions',
          '0006-portal',
          '0007-customer-keys',
          '0008-partial-transaction-indexes',
        ],
      );
    });
  });

  const fresh = () =>
    withDatabase(async (opened) => {
      await migrate(opened, Date.now());
      return introspect(opened.reader);
    });

  for (const name of fixtures) {
    it(`upgrades a database made by ${name} to the schema a fresh database has`, async () => {
      const expected = await fresh();
      const upgraded = await withDatabase(async (opened) => {
        await loadFixture(opened, readFixture(name));
        assert.notDeepEqual(await introspect(opened.reader), expected, 'before the upgrade, the fixture differs');
        assert.deepEqual(await migrate(opened, Date.now()), [1, 2, 3, 4, 5, 6, 7, 8]);
        return introspect(opened.reader);
      });
      for (const part of ['columns', 'indexes', 'constraints', 'triggers', 'functions'] as const) {
        assert.deepEqual(upgraded[part], expected[part], part);
      }
    });
  }

  it('keeps the rows of a database made by main-95a06e3', async () => {
    const fixture = readFixture('main-95a06e3');
    await withDatabase(async (opened) => {
      await loadFixture(opened, fixture);
      await migrate(opened, Date.now());
      const tablesWithRows = Object.keys(fixture.rows).filter((table) => table !== 'schema_migrations');
      assert.ok(tablesWithRows.includes('entries') && tablesWithRows.includes('audit_events'));
      for (const table of tablesWithRows) {
        const expected = (fixture.rows[table] ?? [])
          .map((row) => JSON.stringify(Object.fromEntries(Object.entries(row).sort(([a], [b]) => a.localeCompare(b)))))
          .sort();
        const columns = [...new Set((fixture.rows[table] ?? []).flatMap((row) => Object.keys(row)))];
        assert.deepEqual(await rowsAsText(opened.reader, table, columns), expected, table);
      }
      // Migration 7: a reservation takes its hold's customer; every id looked up alone is in the directory.
      const reservations = await opened.reader.all(
        'SELECT r.customer_id AS reservation, h.customer_id AS hold FROM hold_reservations r JOIN holds h ON h.environment_id = r.environment_id AND h.id = r.hold_id',
      );
      assert.ok(reservations.length > 0);
      for (const row of reservations) assert.equal(row.reservation, row.hold);
      const owned = ['holds', 'grants', 'transactions', 'subscriptions', 'topups']
        .flatMap((table) => fixture.rows[table] ?? [])
        .map((row) => `${row.environment_id} ${row.id} ${row.customer_id}`)
        .sort();
      const directory = await opened.reader.all('SELECT environment_id, id, customer_id FROM id_owners');
      assert.ok(owned.length > 0);
      assert.deepEqual(directory.map((row) => `${row.environment_id} ${row.id} ${row.customer_id}`).sort(), owned);
    });
  });

  it('keeps every transaction with a hold or a reversed transaction findable through the partial indexes (migration 8)', async () => {
    const fixture = readFixture('main-95a06e3');
    const transactions = fixture.rows.transactions ?? [];
    await withDatabase(async (opened) => {
      await loadFixture(opened, fixture);
      await migrate(opened, Date.now());
      const plan = async (query: string, parameters: string[]) =>
        opened.dialect === 'sqlite'
          ? (await opened.reader.all(`EXPLAIN QUERY PLAN ${query}`, parameters)).map((step) => step.detail).join('; ')
          : '';
      for (const column of ['hold_id', 'reverses_id'] as const) {
        const carrying = transactions.filter((row) => row[column] !== null);
        assert.ok(carrying.length > 0, `the fixture has transactions with a ${column}`);
        for (const row of carrying) {
          const query = `SELECT id FROM transactions WHERE environment_id = ? AND ${column} = ?`;
          const parameters = [String(row.environment_id), String(row[column])];
          const found = await opened.reader.all(query, parameters);
          const expected = transactions.filter(
            (other) => other.environment_id === row.environment_id && other[column] === row[column],
          );
          assert.deepEqual(found.map((other) => other.id).sort(), expected.map((other) => other.id).sort());
          if (opened.dialect === 'sqlite')
            assert.match(await plan(query, parameters), new RegExp(`transactions_environment_id_${column}`));
        }
        const definition =
          opened.dialect === 'sqlite'
            ? await opened.reader.all('SELECT sql AS text FROM sqlite_master WHERE name = ?', [
                `transactions_environment_id_${column}`,
              ])
            : await opened.reader.all('SELECT indexdef AS text FROM pg_indexes WHERE indexname = ?', [
                `transactions_environment_id_${column}`,
              ]);
        assert.match(String(definition[0]?.text), new RegExp(`WHERE \\(?"?${column}"? IS NOT NULL`));
      }
    });
  });

  it('applies nothing when a migration fails', async () => {
    await withDatabase(async (opened) => {
      // A table an earlier version could never have made: a NOT NULL column missing from it cannot be added.
      await opened.writeTransaction((session) => session.run('CREATE TABLE environments ("id" TEXT NOT NULL)'));
      await assert.rejects(migrate(opened, Date.now()), /environments\.name is added to an existing table/);
      const left = (await introspect(opened.reader)).columns;
      assert.deepEqual(
        left.map((column) => column.split(' ')[0]),
        ['environments.id'],
      );
    });
  });

  it('declares in schema.ts exactly the tables and columns the history builds', async () => {
    await withDatabase(async (opened) => {
      await migrate(opened, Date.now());
      const shape = await introspect(opened.reader);
      const declared = Object.entries(tables)
        .flatMap(([table, spec]) =>
          Object.entries(spec.columns).map(([column, type]) => {
            const nullable = (spec.nullable as readonly string[]).includes(column);
            return `${table}.${column} ${type} ${nullable ? 'null' : 'not null'}`;
          }),
        )
        .sort();
      const built = shape.columns
        .filter((column) => !column.startsWith('bursar_migrations'))
        .map((column) => {
          const [name, sqlType] = column.split(' ');
          const type = /text/i.test(String(sqlType)) ? 'text' : 'bigint';
          const nullable = / notnull=0 | nullable=YES /.test(`${column} `);
          return `${name} ${type} ${nullable ? 'null' : 'not null'}`;
        })
        .sort();
      assert.deepEqual(built, declared);
    });
  });

  it('applies the history once when several processes migrate at once', { skip: backend === 'sqlite' }, async () => {
    // PostgreSQL only: SQLite's drivers are synchronous, so two handles in one process would wait
    // on each other's write lock inside one thread (test/startup.test.ts starts processes instead).
    await withDatabase(async (opened, url) => {
      const others = await Promise.all([1, 2, 3].map(() => openDatabase({ databaseUrl: url, postgresWritersMax: 1 })));
      try {
        const applied = await Promise.all([opened, ...others].map((database) => migrate(database, Date.now())));
        assert.deepEqual(applied.flat(), [1, 2, 3, 4, 5, 6, 7, 8]);
      } finally {
        await Promise.all(others.map((other) => other.close()));
      }
    });
  });
});
