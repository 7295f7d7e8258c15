// Big wallets (SPEC §6): a debit and a balance read on a wallet with 5,000 grants, and on one with
// 5,000 open holds, against the same on wallets with 5, all in one run on the same database.

import { decideSettlement } from '@bursar/core';
import * as catalog from '../packages/server/src/domains/wallets/catalog.ts';
import * as wallets from '../packages/server/src/domains/wallets/operations.ts';
import * as queries from '../packages/server/src/domains/wallets/queries.ts';
import { toWireBalance } from '../packages/server/src/domains/wallets/wire.ts';
import type { WalletKey } from '../packages/server/src/platform/commit/wallet-key.ts';
import { loadWallet } from '../packages/server/src/platform/commit/wallet-store.ts';
import { queryBuilder } from '../packages/server/src/platform/storage/kysely.ts';
import type { BenchServer } from './bench-server.ts';
import { percentile, ratio, startBenchServer } from './bench-server.ts';

const big = Number(process.env.BURSAR_BENCH_BIG_WALLET_SIZE ?? '5000');
const small = 5;

interface Latencies {
  readonly p50_ms: number;
  readonly p99_ms: number;
}

function summarize(samples: number[]): Latencies {
  const sorted = Float64Array.from(samples).sort();
  return { p50_ms: round(percentile(sorted, 0.5)), p99_ms: round(percentile(sorted, 0.99)) };
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

/** Submits `count` commands `inFlight` at a time, so the seeding shares batches. */
async function inBatches(
  count: number,
  inFlight: number,
  run: (index: number) => Promise<{ status: number; bodyText: string }>,
) {
  for (let start = 0; start < count; start += inFlight) {
    const replies = await Promise.all(
      Array.from({ length: Math.min(inFlight, count - start) }, (_, offset) => run(start + offset)),
    );
    for (const reply of replies) if (reply.status !== 201) throw new Error(reply.bodyText);
  }
}

async function seedWallets(server: BenchServer): Promise<void> {
  const { service, caller } = server;
  await catalog.createAsset(service, caller('seed'), { code: 'credits', scale: 0 });
  for (const [customer, grants] of [
    ['grants-small', small],
    ['grants-big', big],
    ['holds-small', 1],
    ['holds-big', 1],
  ] as const) {
    await catalog.createCustomer(service, caller('seed'), { id: customer });
    await inBatches(grants, 500, (index) =>
      wallets.createGrant(service, caller(`g${index}`), {
        customer,
        asset: 'credits',
        amount: '1000000000',
        category: 'paid',
        // Spread over priorities and expiries, so the consumption order has work to do.
        priority: index % 7,
        expires_at: Date.now() + 86_400_000 * (30 + (index % 300)),
      }),
    );
  }
  for (const [customer, holds] of [
    ['holds-small', small],
    ['holds-big', big],
  ] as const) {
    await inBatches(holds, 500, (index) =>
      wallets.createHold(service, caller(`h${index}`), {
        customer,
        asset: 'credits',
        amount: '1',
        ttl_seconds: 3600,
      }),
    );
  }
}

async function measure(server: BenchServer, customer: string, rounds: number) {
  const { service, caller } = server;
  const debits: number[] = [];
  for (let index = 0; index < rounds; index += 1) {
    const started = performance.now();
    const reply = await wallets.createDebit(service, caller(`d${customer}${index}`, `k-${customer}-${index}`), {
      customer,
      asset: 'credits',
      amount: '1',
    });
    debits.push(performance.now() - started);
    if (reply.status !== 201) throw new Error(reply.bodyText);
  }
  const reads: number[] = [];
  for (let index = 0; index < rounds; index += 1) {
    const started = performance.now();
    const reply = await queries.getBalances(service, caller(`b${index}`), customer, {});
    reads.push(performance.now() - started);
    if (reply.status !== 200) throw new Error(reply.bodyText);
  }
  // The read from the wallet state itself (what a read answered from memory does): settle at
  // read time, then the balance view, rendered.
  const key: WalletKey = { environmentId: server.environmentId, customer, asset: 'credits' };
  const loadStarted = performance.now();
  const row = await queryBuilder(service.database.reader)
    .selectFrom('wallets')
    .selectAll()
    .where('environment_id', '=', key.environmentId)
    .where('customer_id', '=', key.customer)
    .where('asset', '=', key.asset)
    .executeTakeFirst();
  const wallet = row === undefined ? null : await loadWallet(service.database.reader, row);
  const loadMs = performance.now() - loadStarted;
  if (wallet === null) throw new Error('no wallet');
  const memory: number[] = [];
  for (let index = 0; index < rounds * 10; index += 1) {
    const started = performance.now();
    const now = Date.now();
    toWireBalance(decideSettlement(wallet, { now, nextId: () => 'txn_unbooked' }).wallet, 0, now);
    memory.push(performance.now() - started);
  }
  // A hold and its capture, one after the other (the wallet keeps its number of open holds).
  const holdCycles: number[] = [];
  for (let index = 0; index < rounds / 4; index += 1) {
    const started = performance.now();
    const held = await wallets.createHold(service, caller(`h${customer}${index}`), {
      customer,
      asset: 'credits',
      amount: '1',
      ttl_seconds: 3600,
    });
    if (held.status !== 201) throw new Error(held.bodyText);
    const { id } = (JSON.parse(held.bodyText) as { hold: { id: string } }).hold;
    const captured = await wallets.captureHold(service, caller(`c${customer}${index}`), id, {});
    if (captured.status !== 200 && captured.status !== 201) throw new Error(captured.bodyText);
    holdCycles.push(performance.now() - started);
  }
  return {
    debit: summarize(debits),
    hold_and_capture: summarize(holdCycles),
    database_read: summarize(reads),
    memory_read: summarize(memory),
    load_ms: round(loadMs),
  };
}

export async function benchBigWallet(
  backend: 'sqlite' | 'postgres',
  emit: (record: object) => void,
  progress: (message: string) => void,
): Promise<void> {
  const server = await startBenchServer(backend);
  try {
    progress(`${backend}: big wallets, seeding ${big} grants and ${big} holds`);
    await seedWallets(server);
    const rounds = Number(process.env.BURSAR_BENCH_BIG_WALLET_ROUNDS ?? '300');
    for (const kind of ['grants', 'holds'] as const) {
      // Warm both wallets into the committer's cache before timing.
      await measure(server, `${kind}-small`, 20);
      await measure(server, `${kind}-big`, 20);
      const few = await measure(server, `${kind}-small`, rounds);
      const many = await measure(server, `${kind}-big`, rounds);
      const debitRatio = ratio(many.debit.p50_ms, few.debit.p50_ms);
      const readRatio = ratio(many.memory_read.p50_ms, few.memory_read.p50_ms);
      emit({
        name: 'engine.big_wallet',
        backend,
        case: `${big}_${kind}`,
        size: big,
        baseline_size: small,
        debit: many.debit,
        baseline_debit: few.debit,
        debit_ratio: debitRatio,
        balance_read: many.memory_read,
        baseline_balance_read: few.memory_read,
        balance_read_ratio: readRatio,
        hold_and_capture: many.hold_and_capture,
        baseline_hold_and_capture: few.hold_and_capture,
        database_read: many.database_read,
        baseline_database_read: few.database_read,
        database_read_ratio: ratio(many.database_read.p50_ms, few.database_read.p50_ms),
        load_ms: many.load_ms,
        baseline_load_ms: few.load_ms,
        ratio: Math.max(debitRatio ?? Infinity, readRatio ?? Infinity),
        target: 2,
        met: (debitRatio ?? Infinity) <= 2 && (readRatio ?? Infinity) <= 2,
      });
    }
  } finally {
    await server.close();
  }
}
