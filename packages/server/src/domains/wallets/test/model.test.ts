/**
 * Model-based test: seeded random command sequences against the REAL server, each command
 * predicted by a small independent reference model (grants, holds, debt, clock). After every
 * command the live balances are compared with the model; ledger entries must sum to zero per
 * transaction, and at the end `bursar verify`'s checker finds every invariant whole. Replay a failure with BURSAR_TEST_SEED; raise the run count with BURSAR_TEST_RUNS.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../../../test/harness.ts';
import { seedCustomer, seededRandom, startTestServer, testConfig, testSeed } from '../../../../test/harness.ts';
import { verifyDatabase } from '../../access/verify.ts';

// ---- the reference model ----
interface MGrant {
  id: string;
  seq: number;
  remaining: number;
  reserved: number;
  priority: number;
  expiresAt: number | null;
  features: string[] | null;
  voided: boolean;
}
interface Slice {
  grant: string | null;
  amount: number;
}
interface MHold {
  id: string;
  amount: number;
  reservations: Slice[];
  feature: string | null;
  expiresAt: number;
}
interface MDebit {
  id: string;
  amount: number;
  draws: Slice[];
  reversed: number;
}

class Model {
  grants: MGrant[] = [];
  holds: MHold[] = [];
  debits: MDebit[] = [];
  debt = 0;
  debtReserved = 0;
  limit = 0;
  seq = 0;
  constructor(public now: number) {}
  dead(g: MGrant): boolean {
    return g.voided || (g.expiresAt !== null && this.now >= g.expiresAt);
  }
  usable(g: MGrant, feature: string | null): boolean {
    return (
      !this.dead(g) &&
      (g.features === null || (feature !== null && g.features.includes(feature))) &&
      g.remaining - g.reserved > 0
    );
  }
  /** Ends expired holds and books out dead grants' unreserved credit (what time already decided). */
  settle(): void {
    for (const h of this.holds.filter((x) => x.expiresAt <= this.now)) this.unreserve(h.reservations);
    this.holds = this.holds.filter((x) => x.expiresAt > this.now);
    for (const g of this.grants) if (this.dead(g)) g.remaining = g.reserved;
  }
  grant(id: string): MGrant {
    const g = this.grants.find((x) => x.id === id);
    assert.ok(g, `model: grant ${id}`);
    return g;
  }
  unreserve(slices: Slice[]): void {
    for (const s of slices) {
      if (s.grant === null) this.debtReserved -= s.amount;
      else this.grant(s.grant).reserved -= s.amount;
    }
  }
  plan(amount: number, feature: string | null): Slice[] | null {
    const ordered = this.grants
      .filter((g) => this.usable(g, feature))
      .sort(
        (a, b) => a.priority - b.priority || (a.expiresAt ?? Infinity) - (b.expiresAt ?? Infinity) || a.seq - b.seq,
      );
    const draws: Slice[] = [];
    let left = amount;
    for (const g of ordered) {
      if (left === 0) break;
      const take = Math.min(left, g.remaining - g.reserved);
      draws.push({ grant: g.id, amount: take });
      left -= take;
    }
    const od = this.limit - this.debt - this.debtReserved;
    if (left > 0 && od > 0) {
      const take = Math.min(left, od);
      draws.push({ grant: null, amount: take });
      left -= take;
    }
    return left > 0 ? null : draws;
  }
  addGrant(id: string, amount: number, priority: number, expiresAt: number | null, features: string[] | null): void {
    const repaid = features === null ? Math.min(this.debt, amount) : 0;
    this.debt -= repaid;
    this.grants.push({
      id,
      seq: this.seq++,
      remaining: amount - repaid,
      reserved: 0,
      priority,
      expiresAt,
      features,
      voided: false,
    });
  }
  consume(draws: Slice[]): void {
    for (const s of draws) {
      if (s.grant === null) this.debt += s.amount;
      else this.grant(s.grant).remaining -= s.amount;
    }
  }
  reserve(draws: Slice[]): void {
    for (const s of draws) {
      if (s.grant === null) this.debtReserved += s.amount;
      else this.grant(s.grant).reserved += s.amount;
    }
  }
  view(): { balance: number; held: number; available: number; debt: number } {
    let balance = -this.debt;
    let held = this.debtReserved;
    let free = 0;
    for (const g of this.grants) {
      balance += this.dead(g) ? g.reserved : g.remaining;
      held += g.reserved;
      if (this.usable(g, null)) free += g.remaining - g.reserved;
    }
    return { balance, held, available: free + this.limit - this.debt - this.debtReserved, debt: this.debt };
  }
}

const minute = 60_000;
const day = 86_400_000;
const features = ['chat', 'image'];

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  try {
    // Whatever the sequences did, the whole database passes the checks `bursar verify` runs.
    const auditKey = Buffer.from(testConfig(server.database.url).auditKey ?? '', 'utf8');
    const verified = await verifyDatabase(server.server.database.reader, { auditKey, pageRows: 7 });
    assert.equal(verified.valid, true, JSON.stringify(verified.violation));
  } finally {
    await server.close();
  }
});

async function entriesBalance(s: TestServer, customer: string): Promise<number> {
  let cursor: string | null = null;
  let count = 0;
  do {
    const page = await s.call(
      'GET',
      `/v1/transactions?customer=${customer}&limit=200${cursor === null ? '' : `&cursor=${cursor}`}`,
    );
    assert.equal(page.status, 200, page.text);
    for (const txn of page.body.data) {
      const sum = txn.entries.reduce((total: bigint, entry: { amount: string }) => total + BigInt(entry.amount), 0n);
      assert.equal(sum, 0n, `entries of ${txn.id} (${txn.kind}) sum to ${sum}: ${JSON.stringify(txn.entries)}`);
      count += 1;
    }
    cursor = page.body.next_cursor;
  } while (cursor !== null);
  return count;
}

describe('model-based command sequences', () => {
  it('the server agrees with the reference model after every command', async () => {
    const seed = testSeed('model');
    const rand = seededRandom(seed);
    const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
    const runs = Number(process.env.BURSAR_TEST_RUNS ?? 15);
    const s = server;
    let keyCounter = 0;

    for (let run = 0; run < runs; run += 1) {
      const customer = `m${seed}-${run}`;
      await seedCustomer(s, customer);
      const model = new Model(s.clock.now());
      const history: { method: string; path: string; body: unknown; key: string; status: number; text: string }[] = [];
      const steps: string[] = [];
      const length = int(10, 40);
      for (let step = 0; step < length; step += 1) {
        model.now = s.clock.now();
        model.settle();
        const key = `k-${seed}-${run}-${keyCounter++}`;
        const where = () => `seed ${seed} run ${run} step ${step}; steps so far:\n${steps.join('\n')}`;
        const send = async (method: string, path: string, body: unknown) => {
          const reply = await s.call(method, path, body, { idempotencyKey: key });
          history.push({ method, path, body, key, status: reply.status, text: reply.text });
          steps.push(
            `  ${step}: ${method} ${path} ${JSON.stringify(body)} → ${reply.status} ${reply.body?.code ?? ''}`,
          );
          assert.ok(reply.status < 500, `5xx at ${where()}\n${reply.text}`);
          return reply;
        };
        const expectRefusal = (reply: { status: number; body: { code?: string }; text: string }, code: string) =>
          assert.equal(reply.body?.code, code, `expected ${code} at ${where()}\n${reply.text}`);
        const expectOk = (reply: { status: number; text: string }, status: number) =>
          assert.equal(reply.status, status, `expected ${status} at ${where()}\n${reply.text}`);

        const openHolds = model.holds;
        const reversible = model.debits.filter((d) => d.amount > d.reversed);
        const live = model.grants.filter((g) => !g.voided);
        const roll = int(0, 99);
        if (roll < 20 || model.grants.length === 0) {
          const amount = int(1, 1000);
          const priority = int(0, 2);
          const expiresAt = rand() < 0.5 ? model.now + int(1, 10) * day : null;
          const feats = rand() < 0.25 ? [pick(features)] : null;
          const reply = await send('POST', '/v1/grants', {
            customer,
            asset: 'credits',
            amount: String(amount),
            category: 'paid',
            priority,
            ...(expiresAt === null ? {} : { expires_at: new Date(expiresAt).toISOString() }),
            ...(feats === null ? {} : { features: feats }),
          });
          expectOk(reply, 201);
          model.addGrant(reply.body.id, amount, priority, expiresAt, feats);
        } else if (roll < 38) {
          const amount = int(1, 400);
          const feature = rand() < 0.3 ? pick(features) : null;
          const reply = await send('POST', '/v1/debits', {
            customer,
            asset: 'credits',
            amount: String(amount),
            ...(feature === null ? {} : { feature }),
          });
          const plan = model.plan(amount, feature);
          if (plan === null) expectRefusal(reply, 'insufficient_balance');
          else {
            expectOk(reply, 201);
            model.consume(plan);
            model.debits.push({ id: reply.body.transaction.id, amount, draws: plan, reversed: 0 });
          }
        } else if (roll < 48) {
          const amount = int(1, 300);
          const ttl = pick([60, 600, 3600, 86400]);
          const feature = rand() < 0.2 ? pick(features) : null;
          const reply = await send('POST', '/v1/holds', {
            customer,
            asset: 'credits',
            amount: String(amount),
            ttl_seconds: ttl,
            ...(feature === null ? {} : { feature }),
          });
          const plan = model.plan(amount, feature);
          if (plan === null) expectRefusal(reply, 'insufficient_balance');
          else {
            expectOk(reply, 201);
            model.reserve(plan);
            model.holds.push({
              id: reply.body.hold.id,
              amount,
              reservations: plan,
              feature,
              expiresAt: model.now + ttl * 1000,
            });
          }
        } else if (roll < 56 && openHolds.length > 0) {
          const hold = pick(openHolds);
          const mode = pick(['partial', 'full', 'over', 'absent'] as const);
          const amount =
            mode === 'partial'
              ? int(0, hold.amount)
              : mode === 'full'
                ? hold.amount
                : mode === 'over'
                  ? hold.amount + int(1, 10)
                  : null;
          const reply = await send('POST', `/v1/holds/${hold.id}/capture`, {
            ...(amount === null ? {} : { amount: String(amount) }),
            on_excess: 'refuse',
          });
          if (mode === 'over') expectRefusal(reply, 'capture_exceeds_hold');
          else {
            expectOk(reply, 200);
            const take = amount ?? hold.amount;
            const taken: Slice[] = [];
            const rest: Slice[] = [];
            let left = take;
            for (const r of hold.reservations) {
              const t = Math.min(r.amount, left);
              if (t > 0) taken.push({ grant: r.grant, amount: t });
              if (r.amount - t > 0) rest.push({ grant: r.grant, amount: r.amount - t });
              left -= t;
            }
            model.unreserve(hold.reservations);
            model.consume(taken);
            model.holds = model.holds.filter((h) => h !== hold);
          }
        } else if (roll < 61 && openHolds.length > 0) {
          const hold = pick(openHolds);
          const reply = await send('POST', `/v1/holds/${hold.id}/release`, {});
          expectOk(reply, 200);
          model.unreserve(hold.reservations);
          model.holds = model.holds.filter((h) => h !== hold);
        } else if (roll < 66 && openHolds.length > 0) {
          const hold = pick(openHolds);
          const amount = int(1, 100);
          const remainingTtl = Math.ceil((hold.expiresAt - model.now) / 1000);
          const ttl = rand() < 0.5 ? Math.min(86400, remainingTtl + int(0, 3600)) : null;
          const reply = await send('POST', `/v1/holds/${hold.id}/extend`, {
            amount: String(amount),
            ...(ttl === null ? {} : { ttl_seconds: ttl }),
          });
          const plan = model.plan(amount, hold.feature);
          const newExpiry = ttl === null ? hold.expiresAt : model.now + ttl * 1000;
          if (newExpiry < hold.expiresAt) expectRefusal(reply, 'validation_failed');
          else if (plan === null) expectRefusal(reply, 'insufficient_balance');
          else {
            expectOk(reply, 200);
            model.reserve(plan);
            hold.amount += amount;
            hold.reservations = [...hold.reservations, ...plan];
            hold.expiresAt = newExpiry;
          }
        } else if (roll < 73 && model.debits.length > 0) {
          const debit = pick(model.debits);
          const left = debit.amount - debit.reversed;
          const amount = left === 0 || rand() < 0.3 ? null : rand() < 0.2 ? left + 1 : int(1, left);
          const reply = await send('POST', `/v1/transactions/${debit.id}/reverse`, {
            ...(amount === null ? {} : { amount: String(amount) }),
            reason: 'model test',
          });
          const take = amount ?? left;
          if (left === 0 || take > left) expectRefusal(reply, 'reversal_exceeds_remaining');
          else {
            expectOk(reply, 201);
            // Last drawn first, skipping what earlier reversals returned.
            let skip = debit.reversed;
            let rest = take;
            for (let index = debit.draws.length - 1; index >= 0 && rest > 0; index -= 1) {
              const draw = debit.draws[index] as Slice;
              const skipped = Math.min(skip, draw.amount);
              skip -= skipped;
              const back = Math.min(draw.amount - skipped, rest);
              rest -= back;
              if (back === 0) continue;
              if (draw.grant !== null) model.grant(draw.grant).remaining += back;
              else {
                const repaid = Math.min(model.debt, back);
                model.debt -= repaid;
                if (back > repaid) {
                  const refund = (reply.body.transaction ?? reply.body).entries.find(
                    (e: { account: string; grant: string | null }) =>
                      e.account === 'grant' && !model.grants.some((g) => g.id === e.grant),
                  );
                  assert.ok(refund, `refund lot expected at ${where()}\n${reply.text}`);
                  model.grants.push({
                    id: refund.grant,
                    seq: model.seq++,
                    remaining: back - repaid,
                    reserved: 0,
                    priority: 0,
                    expiresAt: null,
                    features: null,
                    voided: false,
                  });
                }
              }
            }
            debit.reversed += take;
            model.settle();
          }
          void reversible;
        } else if (roll < 77 && live.length > 0) {
          const grant = pick(model.grants);
          const reply = await send('POST', `/v1/grants/${grant.id}/void`, { reason: 'model void' });
          if (grant.voided) expectRefusal(reply, 'grant_voided');
          else {
            expectOk(reply, 200);
            grant.voided = true;
            grant.remaining = grant.reserved;
          }
        } else if (roll < 83) {
          const limit = int(0, 50);
          const reply = await send('POST', `/v1/customers/${customer}/wallets/credits/policy`, {
            overdraft_limit: String(limit),
          });
          if (limit < model.debt + model.debtReserved) expectRefusal(reply, 'overdraft_limit_below_debt');
          else {
            expectOk(reply, 200);
            model.limit = limit;
          }
        } else if (roll < 93) {
          const ms = pick([int(1, 59) * minute, int(1, 23) * 60 * minute, int(1, 4) * day]);
          s.clock.advance(ms);
          steps.push(`  ${step}: advance ${ms} ms`);
          model.now = s.clock.now();
          model.settle();
        } else if (history.length > 0) {
          const old = pick(history);
          const reply = await s.call(old.method, old.path, old.body, { idempotencyKey: old.key });
          steps.push(`  ${step}: replay ${old.key} ${old.method} ${old.path}`);
          assert.equal(reply.status, old.status, `replay status at ${where()}`);
          assert.equal(reply.text, old.text, `replay body at ${where()}`);
          assert.equal(reply.headers.get('idempotent-replayed'), 'true', `replay header at ${where()}`);
        } else continue;

        model.now = s.clock.now();
        model.settle();
        const balances = await s.call('GET', `/v1/customers/${customer}/balances?asset=credits`);
        assert.equal(balances.status, 200, balances.text);
        const actual = balances.body.balances[0];
        const expected = model.view();
        if (actual === undefined) {
          assert.deepEqual(
            expected,
            { balance: 0, held: 0, available: model.limit, debt: 0 },
            `no wallet yet at ${where()}`,
          );
        } else {
          assert.deepEqual(
            {
              balance: Number(actual.balance),
              held: Number(actual.held),
              available: Number(actual.available),
              debt: Number(actual.debt),
            },
            expected,
            `balances differ from the model at ${where()}`,
          );
        }
        if (step % 10 === 9) await entriesBalance(s, customer);
      }
      await entriesBalance(s, customer);
    }
  });
});
