/**
 * The sole writer of a PostgreSQL database (storage/postgres-sole-writer.ts): a server alone claims
 * it and its reads answer from memory; a second process's writers wait until it has left, so that
 * process's writes are seen at once; an unresponsive sole writer is taken over and stops trusting its
 * cache within the bound; and no process becomes the sole writer while a writer of an earlier sole
 * writer (one that lost its lock session) may still commit. PostgreSQL only: SQLite's data_version
 * tells the same without locks.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { TestDatabase } from '../../../../test/harness.ts';
import {
  adminKey,
  backend,
  createTestDatabase,
  seedCustomer,
  startTestServer,
  testConfig,
} from '../../../../test/harness.ts';
import type { RunningServer } from '../../../app.ts';
import { startServer } from '../../../app.ts';
import { createLogger } from '../../http/logger.ts';
import type { Database } from '../database.ts';
import { openPostgres } from '../postgres.ts';
import type { SoleWriterTiming } from '../postgres-sole-writer.ts';

const skip = backend !== 'postgres';

/** The backend holding the sole writer's gate, if any. */
async function gateHolder(url: string): Promise<number | null> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND classid = 1651864179 AND objid = 1 AND granted AND mode = 'ExclusiveLock'",
    );
    return rows[0] === undefined ? null : Number(rows[0].pid);
  } finally {
    await client.end();
  }
}

async function terminate(url: string, pid: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('SELECT pg_terminate_backend($1)', [pid]);
  await client.end();
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('sole writer (postgres)', { skip }, () => {
  it('a server alone answers from memory; a second server’s writes wait for it to leave and are seen at once', async () => {
    const first = await startTestServer();
    let second: RunningServer | undefined;
    try {
      // A renewal slower than the bound (a loaded machine, a long startup) only makes reads check again.
      await until(() => first.server.database.foreignCommitMark() === 0n, 5_000);
      await seedCustomer(first, 'shared');
      const grant = await first.call('POST', '/v1/grants', {
        customer: 'shared',
        asset: 'credits',
        amount: '100',
        category: 'paid',
      });
      assert.equal(grant.status, 201, grant.text);
      const balance = async () =>
        (await first.call('GET', '/v1/customers/shared/balances?asset=credits')).body.balances[0].available;
      assert.equal(await balance(), '100');
      const other = await startServer(testConfig(first.database.url), {
        clock: first.clock,
        logger: createLogger({ level: 'silent' }),
      });
      second = other;
      assert.equal(first.server.database.foreignCommitMark(), null, 'the first left before the second could write');
      assert.equal(other.database.foreignCommitMark(), null, 'the second never became the sole writer');
      for (let round = 1; round <= 5; round += 1) {
        const debit = await other.inject({
          method: 'POST',
          url: '/v1/debits',
          headers: {
            authorization: `Bearer ${adminKey}`,
            'content-type': 'application/json',
            'idempotency-key': randomUUID(),
          },
          payload: JSON.stringify({ customer: 'shared', asset: 'credits', amount: '1' }),
        });
        assert.equal(debit.statusCode, 201, debit.body);
        assert.equal(await balance(), String(100 - round), `round ${round}`);
      }
    } finally {
      await second?.close();
      await first.close();
    }
  });

  describe('takeover and lost locks', () => {
    let database: TestDatabase;
    const opened: Database[] = [];
    const open = async (options: { claim: boolean; timing?: Partial<SoleWriterTiming> }) => {
      const handle = await openPostgres(database.url, {
        writersMax: 2,
        claimSoleWriter: options.claim,
        soleWriterTiming: { pingMs: 20, boundMs: 200, takeoverMs: 5_000, ...options.timing },
      });
      opened.push(handle);
      return handle;
    };

    before(async () => {
      database = await createTestDatabase();
    });

    after(async () => {
      for (const handle of opened) await handle.close().catch(() => {});
      await database.drop();
    });

    it('an unresponsive sole writer stops trusting its cache within the bound and is taken over', async () => {
      // Renewals never come: as if its event loop had stopped.
      const opening = performance.now();
      const frozen = await open({ claim: true, timing: { pingMs: 3_600_000, boundMs: 200 } });
      const opened = performance.now();
      if (opened - opening < 150) assert.equal(frozen.foreignCommitMark(), 0n);
      await until(() => frozen.foreignCommitMark() === null, 400);
      // The claim was sent after `opening`: trusted for 200 ms after it, and not beyond.
      assert.ok(performance.now() - opening >= 195, 'trusted until the bound');
      assert.ok(performance.now() - opened < 300, 'not beyond it');
      const started = performance.now();
      const other = await open({ claim: false, timing: { takeoverMs: 300 } });
      assert.ok(performance.now() - started >= 290, 'the other process waited before taking over');
      assert.equal(await gateHolder(database.url), null, 'the frozen writer’s gate session was ended');
      await other.writeTransaction((session) => session.run('SELECT 1'));
      await frozen.writeTransaction((session) => session.run('SELECT 1'));
      assert.equal(frozen.foreignCommitMark(), null);
      await frozen.close();
      await other.close();
    });

    it('no process becomes the sole writer while the writers of one that lost its gate live', async () => {
      const first = await open({ claim: true });
      assert.equal(first.foreignCommitMark(), 0n);
      const pid = await gateHolder(database.url);
      assert.notEqual(pid, null);
      await terminate(database.url, pid as number);
      await until(() => first.foreignCommitMark() === null, 250);
      const second = await open({ claim: true });
      assert.equal(second.foreignCommitMark(), null, 'the first one’s writers may still commit');
      // Both write; the first's writers keep their connections.
      await first.writeTransaction((session) => session.run('SELECT 1'));
      await second.writeTransaction((session) => session.run('SELECT 1'));
      await first.close();
      await second.close();
      const third = await open({ claim: true });
      assert.equal(third.foreignCommitMark(), 0n, 'alone again: the sole writer');
      await third.close();
    });
  });
});
