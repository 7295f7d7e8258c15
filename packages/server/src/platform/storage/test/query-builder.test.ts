/**
 * The query builder over our sessions: rows come back as `DB` types them (bigint, text, null) on
 * both backends, `isAnyOf` matches any number of values with one statement text, a prepared
 * query runs with new arguments, and Kysely cannot open a transaction of its own on the reader.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestDatabase } from '../../../../test/harness.ts';
import { backend, createTestDatabase } from '../../../../test/harness.ts';
import { openDatabase } from '../../../app.ts';
import type { Database } from '../database.ts';
import { isAnyOf, preparedQuery, queryBuilder } from '../kysely.ts';
import { migrate } from '../migrations.ts';

describe(`query builder (${backend})`, () => {
  let database: TestDatabase;
  let opened: Database;
  const large = 2n ** 62n + 7n; // beyond a double's exact integers

  before(async () => {
    database = await createTestDatabase();
    opened = await openDatabase({ databaseUrl: database.url, postgresWritersMax: 1 });
    await migrate(opened, Date.now());
    await opened.writeTransaction(async (session) => {
      await session.insertMany(
        'customers',
        ['a', 'b', 'c'].map((id) => ({
          environment_id: 'env',
          id,
          name: id === 'a' ? 'Acme' : null,
          metadata: null,
          created_at: 5n,
        })),
      );
      await session.insertMany('wallets', [
        {
          environment_id: 'env',
          customer_id: 'a',
          asset: 'credits',
          overdraft_limit: 0n,
          consumption_order: 'expiring_first',
          repay_debt_first: 1n,
          low_balance_threshold: null,
          debt: 0n,
          debt_reserved: 0n,
          balance: large,
          version: 1n,
          created_at: 5n,
        },
      ]);
    });
  });

  after(async () => {
    await opened.close();
    await database.drop();
  });

  it('reads bigint columns as bigint, text as string and NULL as null', async () => {
    const wallet = await queryBuilder(opened.reader).selectFrom('wallets').selectAll().executeTakeFirstOrThrow();
    assert.equal(wallet.balance, large);
    assert.equal(typeof wallet.version, 'bigint');
    assert.equal(wallet.consumption_order, 'expiring_first');
    assert.equal(wallet.low_balance_threshold, null);
    assert.equal(wallet.topup_rule, null);
    const customer = await queryBuilder(opened.reader)
      .selectFrom('customers')
      .select(['name', 'created_at'])
      .where('id', '=', 'a')
      .executeTakeFirstOrThrow();
    // Spread: node:sqlite (Node 22+) hands rows over as objects without a prototype.
    assert.deepEqual({ ...customer }, { name: 'Acme', created_at: 5n });
  });

  it('matches any number of values with one statement text', async () => {
    const idsIn = (ids: readonly string[]) =>
      queryBuilder(opened.reader)
        .selectFrom('customers')
        .select('id')
        .where('environment_id', '=', 'env')
        .where(isAnyOf(opened.dialect, 'id', ids))
        .orderBy('id');
    assert.equal(idsIn(['a']).compile().sql, idsIn(['a', 'b', 'c']).compile().sql);
    const found = async (ids: readonly string[]) => (await idsIn(ids).execute()).map((row) => row.id);
    assert.deepEqual(await found(['c', 'a', 'zz']), ['a', 'c']);
    assert.deepEqual(await found(['b']), ['b']);
    assert.deepEqual(await found([]), []);
  });

  it('prepares a query once and runs it with new arguments, keeping the values written into it', async () => {
    const namesAfter = preparedQuery((db, args: { environmentId: string; createdAfter: bigint }) =>
      db
        .selectFrom('customers')
        .select(['id', 'name'])
        .where('environment_id', '=', args.environmentId)
        .where('created_at', '>', args.createdAfter)
        .where('id', '!=', 'c')
        .orderBy('id'),
    );
    const names = async (args: { environmentId: string; createdAfter: bigint }) =>
      (await namesAfter(opened.reader, args)).map((row) => ({ ...row }));
    assert.deepEqual(await names({ environmentId: 'env', createdAfter: 0n }), [
      { id: 'a', name: 'Acme' },
      { id: 'b', name: null },
    ]);
    assert.deepEqual(await names({ environmentId: 'elsewhere', createdAfter: 0n }), []);
    assert.deepEqual(await names({ environmentId: 'env', createdAfter: 5n }), []);
  });

  it('opens no transaction of its own on the reader', async () => {
    await assert.rejects(
      queryBuilder(opened.reader)
        .transaction()
        .execute(async () => {}),
      /transactions are opened by Database.writeTransaction/,
    );
  });
});
