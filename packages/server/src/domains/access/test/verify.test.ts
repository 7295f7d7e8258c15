/**
 * Verification against someone with database access: copies of a populated database are
 * tampered with in each way (audit rows edited and rehashed without the key, a tail rolled back
 * with it, entries, grants, wallets, holds, reversals, triggers) and `bursar verify` must name
 * each; a clean database verifies with exit code 0.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import type { TestDatabase, TestServer } from '../../../../test/harness.ts';
import { adminKey, callApi, seedCustomer, startTestServer, testConfig } from '../../../../test/harness.ts';
import { openDatabase, startServer } from '../../../app.ts';
import {
  chainAuditRecords,
  exportAuditHead,
  hashedColumns,
  readAuditHead,
} from '../../../platform/commit/audit-chain.ts';
import { createLogger } from '../../../platform/http/logger.ts';
import type { Database, SqlRow, SqlSession, SqlValue } from '../../../platform/storage/database.ts';
import { postgresBaseline, sqliteBaseline } from '../../../platform/storage/migrations/baseline-ddl.ts';
import { loadAuditKey } from '../audit-key.ts';
import { verifyDatabase } from '../verify.ts';

const repoRoot = resolve(import.meta.dirname, '../../../../../..');
const auditKeyText = testConfig('sqlite::memory:').auditKey as string;
const auditKey = Buffer.from(auditKeyText, 'utf8');

/** A server's database after some of everything: grants, debits, holds, a capture, a release, a reversal, keys. */
async function populatedDatabase(): Promise<{ database: TestDatabase; ids: Record<string, string> }> {
  const server = await startTestServer();
  try {
    return await populate(server);
  } finally {
    await server.server.close();
  }
}

async function populate(server: TestServer): Promise<{ database: TestDatabase; ids: Record<string, string> }> {
  const call = async (method: string, path: string, body?: unknown) => {
    const reply = await server.call(method, path, body);
    assert.ok(reply.status < 300, `${method} ${path}: ${reply.text}`);
    return reply.body;
  };
  await seedCustomer(server, 'acme');
  await call('POST', '/v1/customers/acme/wallets/credits/policy', { overdraft_limit: '50' });
  const grant = await call('POST', '/v1/grants', {
    customer: 'acme',
    asset: 'credits',
    amount: '100',
    category: 'paid',
  });
  const debit = await call('POST', '/v1/debits', { customer: 'acme', asset: 'credits', amount: '30' });
  const captured = await call('POST', '/v1/holds', { customer: 'acme', asset: 'credits', amount: '20' });
  await call('POST', `/v1/holds/${captured.hold.id}/capture`, { amount: '15' });
  const released = await call('POST', '/v1/holds', { customer: 'acme', asset: 'credits', amount: '10' });
  await call('POST', `/v1/holds/${released.hold.id}/release`, {});
  await call('POST', '/v1/holds', { customer: 'acme', asset: 'credits', amount: '70' }); // open, partly overdraft
  await call('POST', `/v1/transactions/${debit.transaction.id}/reverse`, { amount: '5', reason: 'refund' });
  await call('POST', '/v1/api-keys', { name: 'reporting', scopes: ['read'] });
  await call('POST', '/v1/environments', { name: 'staging' });
  return {
    database: server.database,
    ids: { grant: grant.id, debit: debit.transaction.id, captured: captured.hold.id },
  };
}

async function withDatabase<T>(database: TestDatabase, work: (opened: Database) => Promise<T>): Promise<T> {
  const opened = await openDatabase({ databaseUrl: database.url, postgresWritersMax: 1 });
  try {
    return await work(opened);
  } finally {
    await opened.close();
  }
}

/** What someone with write access does: lift the append-only triggers, change rows, put the triggers back. */
async function tamper(database: TestDatabase, table: string, work: (session: SqlSession) => Promise<void>) {
  await withDatabase(database, (opened) =>
    opened.writeTransaction(async (session) => {
      await dropTriggers(session, table);
      await work(session);
      for (const statement of triggerStatements(session.dialect, table)) await session.run(statement);
    }),
  );
}

/** A table's append-only triggers as migration 1 creates them. */
function triggerStatements(dialect: 'sqlite' | 'postgres', table: string): string[] {
  const on = new RegExp(`^(CREATE|DROP) TRIGGER .* ON ${table}( |$)`);
  return (dialect === 'sqlite' ? sqliteBaseline : postgresBaseline).filter((statement) => on.test(statement));
}

async function dropTriggers(session: SqlSession, table: string) {
  if (session.dialect === 'postgres') await session.run(`DROP TRIGGER IF EXISTS ${table}_append_only ON ${table}`);
  else
    for (const operation of ['update', 'delete']) await session.run(`DROP TRIGGER IF EXISTS ${table}_no_${operation}`);
}

const canonical = (row: SqlRow) =>
  JSON.stringify(hashedColumns.map((column) => (typeof row[column] === 'bigint' ? String(row[column]) : row[column])));

/**
 * Rewrites one environment's chain from `fromSeq` with `rehash` and moves the head to match: what
 * a forger does after editing a row (plain SHA-256 without the key, or the real HMAC with it).
 */
async function rehashChain(
  session: SqlSession,
  environmentId: string,
  fromSeq: bigint,
  rehash: (row: SqlRow) => { hash: string; hash_kind?: SqlValue },
) {
  const rows = await session.all('SELECT * FROM audit_events WHERE environment_id = ? ORDER BY seq', [environmentId]);
  let previous = '';
  let last: SqlRow | undefined;
  for (const row of rows) {
    if (BigInt(row.seq as bigint) >= fromSeq) {
      const next = { ...row, prev_hash: previous };
      const { hash, hash_kind } = rehash(next);
      await session.updateMany(
        'audit_events',
        ['environment_id', 'seq'],
        [{ ...next, hash, ...(hash_kind === undefined ? {} : { hash_kind }) }],
      );
      row.hash = hash;
    }
    previous = String(row.hash);
    last = row;
  }
  await session.updateMany(
    'environments',
    ['id'],
    [{ id: environmentId, audit_seq: last?.seq ?? 0n, audit_hash: previous }],
  );
}

const plainHash = (row: SqlRow) => ({
  hash: createHash('sha256').update(canonical(row)).digest('hex'),
  // A forger without the key labels the rows as written before the chain was keyed.
  ...('hash_kind' in row ? { hash_kind: null } : {}),
});
const keyedHash = (row: SqlRow) => ({
  hash: createHmac('sha256', auditKey)
    .update(Buffer.from(JSON.stringify([String(row.hash_kind), ...JSON.parse(canonical(row))]), 'utf8'))
    .digest('hex'),
});

const startTestServerOn = (database: TestDatabase) =>
  startServer(testConfig(database.url), { logger: createLogger({ level: 'silent' }) });

async function liveEnvironmentId(opened: Database): Promise<string> {
  const [row] = await opened.reader.all("SELECT id FROM environments WHERE name = 'live'");
  return String(row?.id);
}

function bursar(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'packages/server/src/cli.ts', ...args], {
    cwd: repoRoot,
    env: { ...process.env, BURSAR_AUDIT_KEY: auditKeyText, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

const verifyOpened = (database: TestDatabase, options: { pageRows?: number; exported?: unknown } = {}) =>
  withDatabase(database, async (opened) => {
    const head = options.exported === undefined ? null : readAuditHead(options.exported, auditKey);
    if (head !== null && !head.ok) throw new Error(head.problem);
    return verifyDatabase(opened.reader, {
      auditKey,
      ...(options.pageRows === undefined ? {} : { pageRows: options.pageRows }),
      ...(head === null ? {} : { exportedHeads: head.heads }),
    });
  });

async function expectViolation(database: TestDatabase, table: string, row: RegExp, invariant: RegExp) {
  const result = await verifyOpened(database, { pageRows: 2 });
  assert.equal(result.valid, false, 'the tampering is detected');
  assert.equal(result.violation?.table, table, JSON.stringify(result.violation));
  assert.match(String(result.violation?.row), row, JSON.stringify(result.violation));
  assert.match(String(result.violation?.invariant), invariant, JSON.stringify(result.violation));
}

describe('bursar verify', () => {
  it('a clean database verifies, in pages of any size, as a child process with exit code 0', async () => {
    const { database } = await populatedDatabase();
    try {
      for (const pageRows of [1, 2, 1000]) {
        const result = await verifyOpened(database, { pageRows });
        assert.equal(result.valid, true, JSON.stringify(result.violation));
      }
      const progressed = new Set<string>();
      await withDatabase(database, (opened) =>
        verifyDatabase(opened.reader, { auditKey, pageRows: 2, onProgress: (table) => progressed.add(table) }),
      );
      assert.deepEqual([...progressed].sort(), ['audit_events', 'entries', 'environments', 'holds', 'wallets']);
      const run = bursar(['verify'], { BURSAR_DATABASE_URL: database.url });
      assert.equal(run.status, 0, run.stderr);
      const summary = JSON.parse(run.stdout);
      assert.equal(summary.valid, true);
      assert.equal(summary.violation, null);
      assert.ok(summary.rows_checked.entries > 0 && summary.rows_checked.audit_events > 0, run.stdout);
    } finally {
      await database.drop();
    }
  });

  it('an audit row edited and the chain rehashed without the key is detected, by the endpoint too', async () => {
    const { database } = await populatedDatabase();
    const directory = mkdtempSync(join(tmpdir(), 'bursar-verify-'));
    try {
      // The reproduction of issue 8: edit seq 2, recompute every following plain hash and the head.
      await tamper(database, 'audit_events', async (session) => {
        const [environment] = await session.all("SELECT id FROM environments WHERE name = 'live'");
        const environmentId = String(environment?.id);
        await session.run("UPDATE audit_events SET reason = 'nothing to see' WHERE environment_id = ? AND seq = 2", [
          environmentId,
        ]);
        await rehashChain(session, environmentId, 2n, plainHash);
      });
      const server = await startServer(testConfig(database.url), { logger: createLogger({ level: 'silent' }) });
      try {
        const reply = await callApi(server.url, 'GET', '/v1/audit-events/verify', undefined, { key: adminKey });
        assert.equal(reply.status, 200, reply.text);
        assert.equal(reply.body.valid, false, reply.text);
      } finally {
        await server.close();
      }
      const run = bursar(['verify'], { BURSAR_DATABASE_URL: database.url });
      assert.equal(run.status, 1, run.stderr);
      assert.equal(JSON.parse(run.stdout).violation.table, 'audit_events');
      assert.match(run.stderr, /audit_events/);
    } finally {
      rmSync(directory, { recursive: true, force: true });
      await database.drop();
    }
  });

  it('a forger who keeps the keyed label but lacks the key is detected at the edited row', async () => {
    const { database } = await populatedDatabase();
    try {
      let environmentId = '';
      await tamper(database, 'audit_events', async (session) => {
        const [environment] = await session.all("SELECT id FROM environments WHERE name = 'live'");
        environmentId = String(environment?.id);
        await session.run("UPDATE audit_events SET actor = 'someone else' WHERE environment_id = ? AND seq = 3", [
          environmentId,
        ]);
        await rehashChain(session, environmentId, 3n, (row) => ({
          hash: createHash('sha256').update(canonical(row)).digest('hex'),
        }));
      });
      await expectViolation(database, 'audit_events', new RegExp(`^${environmentId}/3$`), /audit log/);
    } finally {
      await database.drop();
    }
  });

  it('with the key, a rewrite or a rolled-back tail is detected only against an exported head', async () => {
    const { database } = await populatedDatabase();
    const directory = mkdtempSync(join(tmpdir(), 'bursar-head-'));
    try {
      const headFile = join(directory, 'head.json');
      const exported = bursar(['audit-head'], { BURSAR_DATABASE_URL: database.url });
      assert.equal(exported.status, 0, exported.stderr);
      writeFileSync(headFile, exported.stdout);
      assert.equal(bursar(['verify', '--head', headFile], { BURSAR_DATABASE_URL: database.url }).status, 0);

      // Someone with the key deletes the last two rows of `live` and rehashes the head.
      await tamper(database, 'audit_events', async (session) => {
        const [environment] = await session.all("SELECT id FROM environments WHERE name = 'live'");
        const environmentId = String(environment?.id);
        const [last] = await session.all('SELECT MAX(seq) AS seq FROM audit_events WHERE environment_id = ?', [
          environmentId,
        ]);
        await session.run('DELETE FROM audit_events WHERE environment_id = ? AND seq > ?', [
          environmentId,
          BigInt(last?.seq as bigint) - 2n,
        ]);
        await rehashChain(session, environmentId, 1n, keyedHash);
      });
      assert.equal((await verifyOpened(database)).valid, true, 'without the exported head it looks whole');
      const against = bursar(['verify', '--head', headFile], { BURSAR_DATABASE_URL: database.url });
      assert.equal(against.status, 1, against.stderr);
      assert.match(JSON.parse(against.stdout).violation.found, /rolled back/);

      // The same with an edited row rehashed with the key: the exported hash no longer appears.
      await tamper(database, 'audit_events', async (session) => {
        await session.run("UPDATE audit_events SET reason = 'rewritten' WHERE seq = 1");
        for (const environment of await session.all('SELECT id FROM environments'))
          await rehashChain(session, String(environment.id), 1n, keyedHash);
      });
      assert.equal((await verifyOpened(database)).valid, true, 'a rewrite with the key looks whole');
      const rewritten = await verifyOpened(database, { exported: JSON.parse(exported.stdout) });
      assert.equal(rewritten.valid, false);
      assert.equal(rewritten.violation?.table, 'audit_events');

      // An edited head file is refused (its signature).
      const forged = JSON.parse(exported.stdout);
      forged.environments[0].seq = '1';
      writeFileSync(headFile, JSON.stringify(forged));
      const refused = bursar(['verify', '--head', headFile], { BURSAR_DATABASE_URL: database.url });
      assert.equal(refused.status, 2, refused.stderr);
      assert.match(refused.stderr, /signature/);
    } finally {
      rmSync(directory, { recursive: true, force: true });
      await database.drop();
    }
  });

  it('an entries amount multiplied by 100 makes `bursar verify` exit non-zero naming it', async () => {
    const { database, ids } = await populatedDatabase();
    try {
      await tamper(database, 'entries', async (session) => {
        await session.run("UPDATE entries SET amount = amount * 100 WHERE transaction_id = ? AND account = 'grant'", [
          ids.debit as string,
        ]);
      });
      const run = bursar(['verify'], { BURSAR_DATABASE_URL: database.url });
      assert.equal(run.status, 1, run.stderr);
      const { violation } = JSON.parse(run.stdout);
      assert.equal(violation.table, 'entries');
      assert.match(violation.row, new RegExp(ids.debit as string));
      assert.equal(violation.expected, '0');
      assert.match(run.stderr, new RegExp(`entries .*${ids.debit}`));
    } finally {
      await database.drop();
    }
  });

  it('an unbalanced transaction is named', async () => {
    const { database, ids } = await populatedDatabase();
    try {
      await tamper(database, 'entries', async (session) => {
        const [entry] = await session.all('SELECT * FROM entries WHERE transaction_id = ? ORDER BY position LIMIT 1', [
          ids.debit as string,
        ]);
        await session.insertMany('entries', [
          { ...entry, position: 99n, account: 'adjustment', grant_id: null, amount: 7n },
        ]);
      });
      await expectViolation(database, 'entries', new RegExp(ids.debit as string), /^1: a transaction/);
    } finally {
      await database.drop();
    }
  });

  it('a grant or wallet that disagrees with the entries is named', async () => {
    const { database, ids } = await populatedDatabase();
    try {
      await tamper(database, 'grants', async (session) => {
        await session.run('UPDATE grants SET remaining = remaining + 10 WHERE id = ?', [ids.grant as string]);
      });
      await expectViolation(database, 'grants', new RegExp(ids.grant as string), /^2:/);
      await tamper(database, 'grants', async (session) => {
        await session.run('UPDATE grants SET remaining = remaining - 10 WHERE id = ?', [ids.grant as string]);
        await session.run("UPDATE wallets SET balance = balance + 10 WHERE customer_id = 'acme'");
      });
      await expectViolation(database, 'wallets', /acme\/credits$/, /^2: a wallet's balance/);
    } finally {
      await database.drop();
    }
  });

  it('a hold captured twice, a wrong held total and a reversal beyond its transaction are named', async () => {
    const { database, ids } = await populatedDatabase();
    try {
      await tamper(database, 'transactions', async (session) => {
        const [capture] = await session.all("SELECT * FROM transactions WHERE hold_id = ? AND kind = 'capture'", [
          ids.captured as string,
        ]);
        await session.insertMany('transactions', [{ ...capture, id: 'txn_second_capture' }]);
      });
      await expectViolation(database, 'transactions', new RegExp(ids.captured as string), /a hold ends exactly once/);
      await tamper(database, 'transactions', async (session) => {
        await session.run("DELETE FROM transactions WHERE id = 'txn_second_capture'");
        await session.run('UPDATE grants SET reserved = reserved + 3 WHERE id = ?', [ids.grant as string]);
      });
      await expectViolation(database, 'grants', new RegExp(ids.grant as string), /^4: a grant's reserved/);
      await tamper(database, 'transactions', async (session) => {
        await session.run('UPDATE grants SET reserved = reserved - 3 WHERE id = ?', [ids.grant as string]);
        await session.run("UPDATE wallets SET debt_reserved = debt_reserved + 1 WHERE customer_id = 'acme'");
      });
      await expectViolation(database, 'wallets', /acme\/credits$/, /^4: debt_reserved/);
      await tamper(database, 'transactions', async (session) => {
        await session.run("UPDATE wallets SET debt_reserved = debt_reserved - 1 WHERE customer_id = 'acme'");
        const [reversal] = await session.all("SELECT * FROM transactions WHERE kind = 'reverse'");
        await session.insertMany('transactions', [{ ...reversal, id: 'txn_second_reversal', amount: 26n }]);
      });
      await expectViolation(database, 'transactions', new RegExp(ids.debit as string), /^7: a transaction is reversed/);
    } finally {
      await database.drop();
    }
  });

  it('an id the directory lost, or names with another customer, is named', async () => {
    const { database, ids } = await populatedDatabase();
    try {
      const hold = ids.captured as string;
      await withDatabase(database, (opened) =>
        opened.writeTransaction((session) => session.run('DELETE FROM id_owners WHERE id = ?', [hold]).then(() => {})),
      );
      await expectViolation(
        database,
        'id_owners',
        new RegExp(`/${hold}$`),
        /^the id directory names the customer of every holds id/,
      );
      await withDatabase(database, (opened) =>
        opened.writeTransaction(async (session) => {
          const [row] = await session.all('SELECT environment_id FROM holds WHERE id = ?', [hold]);
          await session.insertMany('id_owners', [
            { environment_id: row?.environment_id ?? null, id: hold, customer_id: 'someone-else' },
          ]);
        }),
      );
      const result = await verifyOpened(database);
      assert.equal(result.violation?.found, 'someone-else', JSON.stringify(result.violation));
      assert.equal(result.violation?.expected, 'acme');
    } finally {
      await database.drop();
    }
  });

  it('a dropped append-only trigger is named', async () => {
    const { database } = await populatedDatabase();
    try {
      await withDatabase(database, (opened) => opened.writeTransaction((session) => dropTriggers(session, 'entries')));
      await expectViolation(database, 'entries', /^trigger entries_/, /^7: ledger, entries and audit log/);
    } finally {
      await database.drop();
    }
  });

  it('a chain written before keying is anchored by the upgrade; an edit before the anchor is detected', async () => {
    const { database } = await populatedDatabase();
    try {
      // As an older version left it: every row a plain hash, and no hash_kind column.
      await tamper(database, 'audit_events', async (session) => {
        for (const environment of await session.all('SELECT id FROM environments'))
          await rehashChain(session, String(environment.id), 1n, plainHash);
        await session.run('ALTER TABLE audit_events DROP COLUMN hash_kind');
        await session.run('DROP TABLE bursar_migrations'); // nor the migration history
      });
      const unkeyed = await verifyOpened(database);
      assert.equal(unkeyed.valid, false);
      assert.match(String(unkeyed.violation?.found), /no row is keyed/);
      const server = await startServer(testConfig(database.url), { logger: createLogger({ level: 'silent' }) });
      await server.close();
      const anchored = await verifyOpened(database);
      assert.equal(anchored.valid, true, JSON.stringify(anchored.violation));
      const environmentId = await withDatabase(database, liveEnvironmentId);
      const [anchor] = await withDatabase(database, (opened) =>
        opened.reader.all(
          "SELECT action, hash_kind FROM audit_events WHERE environment_id = ? AND action = 'audit.chain_keyed'",
          [environmentId],
        ),
      );
      assert.equal(anchor?.hash_kind, 'hmac-sha256');
      // A plain row before the anchor, edited and rehashed: the anchor's keyed hash no longer links.
      await tamper(database, 'audit_events', async (session) => {
        await session.run("UPDATE audit_events SET reason = 'edited' WHERE environment_id = ? AND seq = 1", [
          environmentId,
        ]);
        await rehashChain(session, environmentId, 1n, (row) =>
          row.hash_kind === null ? plainHash(row) : { hash: String(row.hash) },
        );
      });
      await expectViolation(database, 'audit_events', new RegExp(`^${environmentId}/`), /audit log/);
    } finally {
      await database.drop();
    }
  });

  it('a keyed chain relabelled as plain is not blessed by a restart or by the next keyed row', async () => {
    const { database } = await populatedDatabase();
    try {
      await tamper(database, 'audit_events', async (session) => {
        for (const environment of await session.all('SELECT id FROM environments'))
          await rehashChain(session, String(environment.id), 1n, plainHash);
      });
      const server = await startTestServerOn(database);
      const reply = await callApi(server.url, 'POST', '/v1/assets', { code: 'points', scale: 0 }, { key: adminKey });
      assert.equal(reply.status, 201, reply.text);
      const verified = await callApi(server.url, 'GET', '/v1/audit-events/verify', undefined, { key: adminKey });
      assert.equal(verified.body.valid, false, verified.text);
      await server.close();
      const result = await verifyOpened(database);
      assert.equal(result.valid, false);
      assert.match(String(result.violation?.found), /not anchored/);
    } finally {
      await database.drop();
    }
  });

  it('text that is not well-formed Unicode is hashed as stored, so the chain stays valid', async () => {
    const { database } = await populatedDatabase();
    try {
      await withDatabase(database, async (opened) => {
        const environmentId = await liveEnvironmentId(opened);
        await opened.writeTransaction(async (session) => {
          const { rows, heads } = await chainAuditRecords(
            session,
            [
              {
                environmentId,
                action: 'grant.created',
                target: 'grant:x',
                actor: 'api_key:k',
                reason: 'lone \ud800 surrogate',
                before: null,
                after: { note: '\udfff' },
                requestId: null,
              },
            ],
            Date.now(),
            auditKey,
          );
          await session.insertMany('audit_events', rows);
          await session.updateMany('environments', ['id'], heads);
        });
      });
      const result = await verifyOpened(database);
      assert.equal(result.valid, true, JSON.stringify(result.violation));
    } finally {
      await database.drop();
    }
  });
});

describe('the audit key', () => {
  it('is generated once with owner-only permissions, and never by a command that only checks', () => {
    const directory = mkdtempSync(join(tmpdir(), 'bursar-key-'));
    try {
      const auditKeyFile = join(directory, 'data', 'audit.key');
      assert.throws(() => loadAuditKey({ auditKey: null, auditKeyFile }, { create: false }), /BURSAR_AUDIT_KEY/);
      const created = loadAuditKey({ auditKey: null, auditKeyFile }, { create: true });
      assert.ok(created.length >= 32);
      assert.equal(statSync(auditKeyFile).mode & 0o777, 0o600);
      assert.equal(statSync(join(directory, 'data')).mode & 0o777, 0o700);
      assert.deepEqual(loadAuditKey({ auditKey: null, auditKeyFile }, { create: true }), created);
      assert.deepEqual(loadAuditKey({ auditKey: auditKeyText, auditKeyFile }, { create: false }), auditKey);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('is the same for processes creating it at once: none reads a half-written file', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'bursar-key-race-'));
    try {
      const auditKeyFile = join(directory, 'data', 'audit.key');
      const script = `import { loadAuditKey } from ${JSON.stringify(resolve('packages/server/src/domains/access/audit-key.ts'))};
        const at = Number(process.argv[1]);
        while (Date.now() < at) {}
        process.stdout.write(loadAuditKey({ auditKey: null, auditKeyFile: process.argv[2] }, { create: true }).toString('hex'));`;
      const startAt = Date.now() + 1500;
      const runs = await Promise.all(
        Array.from(
          { length: 6 },
          () =>
            new Promise<{ code: number | null; out: string; err: string }>((done) => {
              const child = spawn(
                process.execPath,
                ['--import', 'tsx', '--input-type=module', '-e', script, String(startAt), auditKeyFile],
                { stdio: ['ignore', 'pipe', 'pipe'] },
              );
              let out = '';
              let err = '';
              child.stdout.on('data', (chunk: Buffer) => {
                out += chunk.toString();
              });
              child.stderr.on('data', (chunk: Buffer) => {
                err += chunk.toString();
              });
              child.on('exit', (code) => done({ code, out, err }));
            }),
        ),
      );
      for (const run of runs) assert.equal(run.code, 0, run.err);
      assert.equal(new Set(runs.map((run) => run.out)).size, 1, 'every process uses one key');
      assert.deepEqual(readdirSync(join(directory, 'data')), ['audit.key'], 'no written-aside file is left');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('signs the exported head: another key refuses it', async () => {
    const { database } = await populatedDatabase();
    try {
      const head = await withDatabase(database, (opened) => exportAuditHead(opened.reader, Date.now(), auditKey));
      assert.equal(readAuditHead(head, auditKey).ok, true);
      assert.equal(readAuditHead(head, Buffer.from('another-key-0123456789abcdefghijklmnop')).ok, false);
    } finally {
      await database.drop();
    }
  });
});
