/**
 * Property test of reads answered from memory (platform/wallet-reads.ts): seeded random commands on
 * a few wallets, and after each one every balance read and debit check the server answers (from its
 * cached wallet state) equals, byte for byte, the same read computed from the database alone, by a
 * ledger service whose wallet cache starts empty. Replay a failure with BURSAR_TEST_SEED.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestServer } from '../../../../test/harness.ts';
import { seedCustomer, seededRandom, startTestServer, testSeed } from '../../../../test/harness.ts';
import { Committer } from '../../../platform/commit/committer.ts';
import type { Caller } from '../../../platform/contract.ts';
import { LedgerService } from '../../../platform/service.ts';
import { checkDebit, getBalances } from '../queries.ts';

let server: TestServer;
const customers = ['m0', 'm1', 'm2'];
const assets = ['credits', 'tokens'];
const features = ['chat', 'image'];
const minute = 60_000;

before(async () => {
  server = await startTestServer();
  for (const customer of customers) {
    await seedCustomer(server, customer);
    await seedCustomer(server, customer, { asset: 'tokens', scale: 2 });
  }
});

after(async () => {
  await server.close();
});

/** A service over the same database whose committer has cached nothing: every wallet it reads comes from the database. */
function databaseOnlyService(): LedgerService {
  const running = server.server;
  const committer = new Committer({
    database: running.database,
    clock: server.clock,
    batchSizeMax: 1,
    queueMax: 1,
    walletCacheMax: 1000,
    auditKey: running.service.auditKey,
  });
  return new LedgerService({
    database: running.database,
    committer,
    clock: server.clock,
    limits: running.service.limits,
    webhooksAllowPrivate: true,
    auditKey: running.service.auditKey,
  });
}

test('every balance read and debit check from memory equals the read from the database', {
  timeout: 240_000,
}, async () => {
  const seed = testSeed('memory reads');
  const random = seededRandom(seed);
  const int = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const [environment] = await server.server.database.reader.all("SELECT id FROM environments WHERE name = 'live'");
  const caller: Caller = {
    environmentId: String(environment?.id),
    environmentName: 'live',
    apiKeyId: 'test',
    scopes: ['admin'],
    requestId: 'req_memory_reads',
    idempotencyKey: null,
  };
  const holds: string[] = [];
  const debits: string[] = [];
  const grants: string[] = [];
  const steps: string[] = [];
  const runs = Number(process.env.BURSAR_TEST_RUNS ?? '120');
  for (let step = 0; step < runs; step += 1) {
    const customer = pick(customers);
    const asset = pick(assets);
    const amount = asset === 'tokens' ? `${int(1, 40)}.${int(0, 99)}` : String(int(1, 40));
    const feature = random() < 0.3 ? pick(features) : undefined;
    const roll = random();
    let done: { status: number; body: { id?: string; hold?: { id: string }; transaction?: { id: string } } };
    if (roll < 0.22) {
      const expires = random() < 0.4 ? new Date(server.clock.now() + int(1, 180) * minute).toISOString() : undefined;
      done = await server.call('POST', '/v1/grants', {
        customer,
        asset,
        amount,
        category: pick(['paid', 'promotional']),
        priority: int(0, 2),
        ...(expires === undefined ? {} : { expires_at: expires }),
        ...(random() < 0.2 ? { features: [pick(features)] } : {}),
      });
      if (done.status === 201 && done.body.id !== undefined) grants.push(done.body.id);
    } else if (roll < 0.45) {
      done = await server.call('POST', '/v1/debits', { customer, asset, amount, ...(feature ? { feature } : {}) });
      if (done.status === 201 && done.body.id !== undefined) debits.push(done.body.id);
    } else if (roll < 0.58) {
      done = await server.call('POST', '/v1/holds', {
        customer,
        asset,
        amount,
        ttl_seconds: int(60, 3600),
        ...(feature ? { feature } : {}),
      });
      if (done.status === 201 && done.body.hold !== undefined) holds.push(done.body.hold.id);
    } else if (roll < 0.66 && holds.length > 0) {
      done = await server.call('POST', `/v1/holds/${pick(holds)}/capture`, random() < 0.5 ? {} : { amount: '1' });
    } else if (roll < 0.72 && holds.length > 0) {
      done = await server.call('POST', `/v1/holds/${pick(holds)}/release`, {});
    } else if (roll < 0.77 && debits.length > 0) {
      done = await server.call('POST', `/v1/transactions/${pick(debits)}/reverse`, { reason: 'memory reads test' });
    } else if (roll < 0.81 && grants.length > 0) {
      done = await server.call('POST', `/v1/grants/${pick(grants)}/void`, { reason: 'memory reads test' });
    } else if (roll < 0.85) {
      done = await server.call('POST', `/v1/customers/${customer}/wallets/${asset}/policy`, {
        overdraft_limit: String(int(0, 20)),
      });
    } else {
      const ms = int(1, 90) * minute;
      server.clock.advance(ms);
      done = { status: 0, body: {} };
    }
    steps.push(`${step}: ${done.status} ${roll.toFixed(3)} ${customer} ${asset}`);
    assert.ok(done.status < 500, `step ${step} answered ${done.status}\n${steps.join('\n')}`);

    // Every read of every wallet, from memory (the server) and from the database (a cold service).
    const cold = databaseOnlyService();
    for (const reader of customers) {
      const fromMemory = await server.call('GET', `/v1/customers/${reader}/balances`);
      const fromDatabase = await getBalances(cold, caller, reader, {});
      assert.equal(fromMemory.status, fromDatabase.status);
      assert.equal(
        fromMemory.text,
        fromDatabase.bodyText,
        `balances of ${reader} after step ${step}\n${steps.join('\n')}`,
      );
      for (const checked of assets) {
        const input = { customer: reader, asset: checked, amount: checked === 'tokens' ? '3.50' : '7' };
        const withFeature = { ...input, feature: pick(features) };
        for (const body of [input, withFeature]) {
          const memory = await server.call('POST', '/v1/debits/check', body);
          const database = await checkDebit(cold, caller, body);
          assert.equal(memory.status, database.status);
          assert.equal(
            memory.text,
            database.bodyText,
            `check ${JSON.stringify(body)} after step ${step}\n${steps.join('\n')}`,
          );
        }
      }
    }
  }
});
