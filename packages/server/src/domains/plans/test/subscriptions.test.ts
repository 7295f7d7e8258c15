/**
 * Plans and subscriptions end to end, on the real server with a manual clock: a year of monthly
 * renewals with a rollover cap gives exactly the balances and breakage worked out by hand here;
 * a week of downtime catches up to the same state; trials convert; plan changes, pauses and
 * cancellations follow their documented rules; entitlement checks say why not; and
 * `grant.expiring_soon` is sent once per grant.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiResponse, TestServer } from '../../../../test/harness.ts';
import { seedCustomer, startTestServer, testConfig, testSeed } from '../../../../test/harness.ts';
import type { RunningServer } from '../../../app.ts';
import { startServer } from '../../../app.ts';
import { createLogger } from '../../../platform/http/logger.ts';
import { describeJobs } from '../../../scheduler.ts';

const day = 86_400_000;
let server: TestServer;

async function ok(reply: Promise<ApiResponse>, status = 200): Promise<ApiResponse> {
  const response = await reply;
  assert.equal(response.status, status, response.text);
  return response;
}

async function balanceOf(customer: string, asset = 'credits'): Promise<bigint> {
  const reply = await ok(server.call('GET', `/v1/customers/${customer}/balances?asset=${asset}`));
  return BigInt(reply.body.balances[0]?.balance ?? '0');
}

async function bookedBreakage(customer: string): Promise<bigint> {
  const rows = await server.server.database.reader.all(
    "SELECT COALESCE(SUM(e.amount), 0) AS total FROM entries e WHERE e.customer_id = ? AND e.account = 'expired'",
    [customer],
  );
  return BigInt(String(rows[0]?.total ?? 0));
}

async function notificationsOf(customer: string, type: string): Promise<{ data: Record<string, unknown> }[]> {
  const reply = await ok(server.call('GET', `/v1/notifications?customer=${customer}&type=${type}&limit=200`));
  return reply.body.data;
}

/** Moves the clock and runs the scheduler, as the interval inside `bursar serve` would. */
async function advanceTo(at: number): Promise<void> {
  server.clock.set(at);
  await server.server.runScheduler();
}

function monthStart(index: number): number {
  return Date.UTC(2026, index, 1);
}

before(async () => {
  server = await startTestServer();
  await ok(server.call('POST', '/v1/assets', { code: 'credits', scale: 0 }), 201);
  await ok(server.call('POST', '/v1/features', { key: 'chat' }), 201);
  await ok(server.call('POST', '/v1/price-books', { key: 'standard', default: true }), 201);
  await ok(
    server.call('POST', '/v1/price-books/standard/versions', {
      prices: [
        {
          feature: 'chat',
          options: [
            { asset: 'credits', components: [{ quantity: 'units', rates: [{ per_unit: { unit_price: '2' } }] }] },
          ],
        },
      ],
    }),
    201,
  );
  await ok(
    server.call('POST', '/v1/plans', {
      id: 'pro',
      name: 'Pro',
      version: {
        period: { interval: 'month' },
        allowances: [
          { asset: 'credits', amount: '10000', rollover: { kind: 'amount', amount_max: '5000', expires_after: null } },
        ],
        entitlements: [
          { feature: 'sso', kind: 'boolean', enabled: true },
          { feature: 'seats', kind: 'limit', limit: '5' },
          { feature: 'chat', kind: 'metered', limit: '3' },
        ],
      },
    }),
    201,
  );
});

after(async () => {
  await server.close();
});

describe('subscriptions', () => {
  it('a year of monthly renewals with a rollover cap gives exactly the expected balances and breakage', async () => {
    const seed = testSeed('year of renewals');
    let random = seed;
    const next = () => {
      random = (random * 1103515245 + 12345) % 2 ** 31;
      return random;
    };
    await seedCustomer(server, 'year');
    server.clock.set(monthStart(0));
    const created = await ok(server.call('POST', '/v1/subscriptions', { customer: 'year', plan: 'pro' }), 201);
    assert.equal(created.body.status, 'active');
    assert.equal(created.body.current_period.ends_at, '2026-02-01T00:00:00.000Z');
    // By hand: each month's 10,000 is spent first (it expires soonest); what is left of it rolls
    // over up to 5,000 and never expires; the rest of it is breakage. Rolled credit pays the excess.
    let rolled = 0n;
    let breakage = 0n;
    for (let month = 0; month < 12; month += 1) {
      assert.equal(await balanceOf('year'), 10_000n + rolled, `balance at the start of month ${month + 1}`);
      const spend = BigInt(next() % 14_000);
      const debit = spend > 10_000n + rolled ? 10_000n + rolled : spend;
      if (debit > 0n) {
        server.clock.set(monthStart(month) + 10 * day);
        await ok(server.call('POST', '/v1/debits', { customer: 'year', asset: 'credits', amount: String(debit) }), 201);
      }
      const leftOfAllowance = debit >= 10_000n ? 0n : 10_000n - debit;
      const rolledNow = leftOfAllowance < 5_000n ? leftOfAllowance : 5_000n;
      breakage += leftOfAllowance - rolledNow;
      rolled += rolledNow - (debit > 10_000n ? debit - 10_000n : 0n);
      await advanceTo(monthStart(month + 1));
    }
    assert.equal(await balanceOf('year'), 10_000n + rolled);
    assert.equal(await bookedBreakage('year'), breakage);
    const subscription = await ok(server.call('GET', `/v1/subscriptions/${created.body.id}`));
    assert.equal(subscription.body.current_period.index, 12);
    assert.equal(subscription.body.periods.length, 13);
    assert.equal((await notificationsOf('year', 'subscription.renewed')).length, 12);
  });

  it('a week of downtime catches up in order to the state of a server that never stopped', async () => {
    const plan = {
      id: 'daily',
      version: {
        period: { interval: 'day' },
        allowances: [
          { asset: 'credits', amount: '100', rollover: { kind: 'percent', percent: '50', expires_after: null } },
        ],
      },
    };
    const start = Date.UTC(2027, 1, 1);
    const asleep = await startTestServer();
    try {
      const runs: { server: TestServer; id: string }[] = [];
      for (const target of [server, asleep]) {
        await seedCustomer(target, 'daily_user');
        await ok(target.call('POST', '/v1/plans', plan), 201);
        target.clock.set(start);
        const created = await ok(
          target.call('POST', '/v1/subscriptions', { customer: 'daily_user', plan: 'daily' }),
          201,
        );
        runs.push({ server: target, id: created.body.id });
      }
      for (let dayIndex = 1; dayIndex <= 7; dayIndex += 1) await advanceTo(start + dayIndex * day);
      // The other server was down all week: one run when it comes back.
      asleep.clock.set(start + 7 * day);
      await asleep.server.runScheduler();
      const balance = async (target: TestServer) =>
        (await ok(target.call('GET', '/v1/customers/daily_user/balances?asset=credits'))).body.balances[0].balance;
      // Unused, each day's 100 rolls 50 over: after 7 days, 7 × 50 rolled plus today's 100.
      assert.equal(await balance(server), '450');
      assert.equal(await balance(asleep), '450');
      const breakage = async (target: TestServer) =>
        (
          await target.server.database.reader.all(
            "SELECT COALESCE(SUM(amount), 0) AS total FROM entries WHERE customer_id = 'daily_user' AND account = 'expired'",
          )
        )[0]?.total;
      assert.equal(String(await breakage(asleep)), String(await breakage(server)));
      assert.equal(String(await breakage(server)), '350');
      const periods = async ({ server: target, id }: { server: TestServer; id: string }) =>
        (await ok(target.call('GET', `/v1/subscriptions/${id}`))).body.periods;
      const [onTime, caughtUp] = runs as [{ server: TestServer; id: string }, { server: TestServer; id: string }];
      assert.equal((await periods(onTime)).length, 8);
      assert.deepEqual(await periods(caughtUp), await periods(onTime));
    } finally {
      await asleep.close();
    }
  });

  it('a trial grants its credit, warns before it ends, then converts to the paid plan', async () => {
    await ok(
      server.call('POST', '/v1/plans', {
        id: 'trialed',
        version: {
          period: { interval: 'month' },
          allowances: [{ asset: 'credits', amount: '1000' }],
          trial: {
            duration: { interval: 'day', count: 14 },
            grants: [{ asset: 'credits', amount: '200' }],
            notice_before: { interval: 'day', count: 3 },
          },
        },
      }),
      201,
    );
    await seedCustomer(server, 'trier');
    const start = Date.UTC(2027, 2, 10);
    server.clock.set(start);
    const created = await ok(server.call('POST', '/v1/subscriptions', { customer: 'trier', plan: 'trialed' }), 201);
    assert.equal(created.body.status, 'trialing');
    assert.equal(created.body.trial_ends_at, new Date(start + 14 * day).toISOString());
    assert.equal(await balanceOf('trier'), 200n);
    await advanceTo(start + 10 * day);
    assert.equal((await notificationsOf('trier', 'subscription.trial_ending')).length, 0);
    await advanceTo(start + 11 * day);
    assert.equal((await notificationsOf('trier', 'subscription.trial_ending')).length, 1);
    await advanceTo(start + 14 * day);
    const converted = await ok(server.call('GET', `/v1/subscriptions/${created.body.id}`));
    assert.equal(converted.body.status, 'active');
    // The unused trial credit expired with the trial; the first paid allowance took over.
    assert.equal(await balanceOf('trier'), 1000n);
    assert.equal(await bookedBreakage('trier'), 200n);
    assert.equal((await notificationsOf('trier', 'subscription.trial_ended')).length, 1);
    assert.equal((await notificationsOf('trier', 'subscription.trial_ending')).length, 1);
  });

  it('an upgrade starts the new plan now; a downgrade waits for the period end', async () => {
    await ok(
      server.call('POST', '/v1/plans', {
        id: 'max',
        version: { period: { interval: 'month' }, allowances: [{ asset: 'credits', amount: '50000' }] },
      }),
      201,
    );
    await seedCustomer(server, 'mover');
    const start = Date.UTC(2027, 3, 1);
    server.clock.set(start);
    const created = await ok(server.call('POST', '/v1/subscriptions', { customer: 'mover', plan: 'pro' }), 201);
    server.clock.set(start + 10 * day);
    const upgraded = await ok(
      server.call('POST', `/v1/subscriptions/${created.body.id}/change`, {
        action: 'change_plan',
        plan: 'max',
        timing: 'immediate',
      }),
    );
    assert.equal(upgraded.body.plan, 'max');
    assert.equal(upgraded.body.current_period.starts_at, new Date(start + 10 * day).toISOString());
    // The old plan's credit for this period stays until its end; the new allowance is added now.
    assert.equal(await balanceOf('mover'), 60_000n);
    const downgraded = await ok(
      server.call('POST', `/v1/subscriptions/${created.body.id}/change`, {
        action: 'change_plan',
        plan: 'pro',
        timing: 'period_end',
      }),
    );
    assert.equal(downgraded.body.plan, 'max');
    assert.equal(downgraded.body.pending_change.plan, 'pro');
    const periodEnd = Date.parse(downgraded.body.current_period.ends_at);
    await advanceTo(periodEnd);
    const switched = await ok(server.call('GET', `/v1/subscriptions/${created.body.id}`));
    assert.equal(switched.body.plan, 'pro');
    assert.equal(switched.body.pending_change, null);
    assert.equal(await balanceOf('mover'), 10_000n + 5_000n);
  });

  it('pause stops renewals, resume starts a new period, cancel at period end ends it there', async () => {
    await seedCustomer(server, 'pauser');
    const start = Date.UTC(2027, 4, 1);
    server.clock.set(start);
    const created = await ok(server.call('POST', '/v1/subscriptions', { customer: 'pauser', plan: 'pro' }), 201);
    const id = created.body.id;
    server.clock.set(start + 5 * day);
    const paused = await ok(server.call('POST', `/v1/subscriptions/${id}/change`, { action: 'pause' }));
    assert.equal(paused.body.status, 'paused');
    assert.equal(paused.body.next_due_at, null);
    const refused = await server.call('POST', `/v1/subscriptions/${id}/change`, { action: 'pause' });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'subscription_transition_invalid');
    await advanceTo(start + 40 * day);
    assert.equal((await ok(server.call('GET', `/v1/subscriptions/${id}`))).body.status, 'paused');
    const resumed = await ok(server.call('POST', `/v1/subscriptions/${id}/change`, { action: 'resume' }));
    assert.equal(resumed.body.status, 'active');
    assert.equal(resumed.body.current_period.starts_at, new Date(start + 40 * day).toISOString());
    const canceling = await ok(server.call('POST', `/v1/subscriptions/${id}/cancel`, { timing: 'period_end' }));
    assert.equal(canceling.body.cancel_at_period_end, true);
    await advanceTo(Date.parse(canceling.body.current_period.ends_at));
    const ended = await ok(server.call('GET', `/v1/subscriptions/${id}`));
    assert.equal(ended.body.status, 'canceled');
    assert.equal(ended.body.next_due_at, null);
    const listed = await ok(server.call('GET', '/v1/subscriptions?customer=pauser'));
    assert.deepEqual(
      listed.body.data.map((item: { id: string }) => item.id),
      [id],
    );
  });

  it('checkEntitlement answers for boolean, numeric and metered features, and says why not', async () => {
    await seedCustomer(server, 'gated');
    server.clock.set(Date.UTC(2027, 6, 1));
    const check = async (body: Record<string, unknown>) =>
      (await ok(server.call('POST', '/v1/customers/gated/entitlements/check', body))).body;
    assert.equal((await check({ feature: 'sso' })).reason, 'not_entitled');
    await ok(server.call('POST', '/v1/subscriptions', { customer: 'gated', plan: 'pro' }), 201);
    assert.equal((await check({ feature: 'sso' })).allowed, true);
    assert.equal((await check({ feature: 'seats', quantity: '5' })).allowed, true);
    const tooMany = await check({ feature: 'seats', quantity: '6' });
    assert.equal(tooMany.allowed, false);
    assert.equal(tooMany.reason, 'limit_exceeded');
    assert.equal(tooMany.remaining, '-1');
    assert.equal((await check({ feature: 'unknown_feature' })).reason, 'not_entitled');
    const events = [1, 2, 3].map((n) => ({
      id: `gated-${n}`,
      customer: 'gated',
      feature: 'chat',
      timestamp: new Date(Date.UTC(2027, 6, 1) + n * 1000).toISOString(),
      properties: {},
    }));
    const chat = await check({ feature: 'chat' });
    assert.equal(chat.allowed, true);
    assert.equal(chat.used, '0');
    assert.deepEqual(chat.credit, { asset: 'credits', cost: '2', available: '10000' });
    await ok(server.call('POST', '/v1/events', { events: events.slice(0, 3) }));
    server.clock.set(Date.UTC(2027, 6, 1) + 10_000);
    const spent = await check({ feature: 'chat' });
    assert.equal(spent.used, '3');
    assert.equal(spent.allowed, false);
    assert.equal(spent.reason, 'usage_limit_exceeded');
    // Two hours on, the first hour is read from the hourly rollups and the current one from events.
    server.clock.set(Date.UTC(2027, 6, 1) + 2 * 3_600_000 + 60_000);
    const later = {
      id: 'gated-4',
      customer: 'gated',
      feature: 'chat',
      timestamp: new Date(server.clock.now()).toISOString(),
    };
    await ok(server.call('POST', '/v1/events', { events: [later] }));
    assert.equal((await check({ feature: 'chat' })).used, '4');
  });

  it('sends grant.expiring_soon once per grant, however often the scheduler runs', async () => {
    await seedCustomer(server, 'expiring');
    const start = Date.UTC(2027, 7, 1);
    server.clock.set(start);
    await ok(
      server.call('POST', '/v1/grants', {
        customer: 'expiring',
        asset: 'credits',
        amount: '300',
        category: 'promotional',
        expires_at: new Date(start + 30 * day).toISOString(),
      }),
      201,
    );
    await advanceTo(start + 20 * day);
    assert.equal((await notificationsOf('expiring', 'grant.expiring_soon')).length, 0);
    await advanceTo(start + 24 * day);
    await advanceTo(start + 25 * day);
    const notices = await notificationsOf('expiring', 'grant.expiring_soon');
    assert.equal(notices.length, 1);
    assert.equal(notices[0]?.data.remaining, '300');
  });

  it("a plan's price override prices its subscribers' usage with another book", async () => {
    const start = Date.UTC(2027, 8, 1);
    server.clock.set(start);
    await ok(server.call('POST', '/v1/price-books', { key: 'vip' }), 201);
    await ok(
      server.call('POST', '/v1/price-books/vip/versions', {
        prices: [
          {
            feature: 'chat',
            options: [
              { asset: 'credits', components: [{ quantity: 'units', rates: [{ per_unit: { unit_price: '1' } }] }] },
            ],
          },
        ],
      }),
      201,
    );
    await ok(
      server.call('POST', '/v1/plans', {
        id: 'vip',
        version: {
          period: { interval: 'month' },
          allowances: [{ asset: 'credits', amount: '100' }],
          price_overrides: [{ feature: 'chat', price_book: 'vip' }],
        },
      }),
      201,
    );
    await ok(
      server.call('POST', '/v1/plans', {
        id: 'plain',
        version: { period: { interval: 'month' }, allowances: [{ asset: 'credits', amount: '100' }] },
      }),
      201,
    );
    for (const [customer, plan] of [
      ['vip_user', 'vip'],
      ['plain_user', 'plain'],
    ] as const) {
      await seedCustomer(server, customer);
      await ok(server.call('POST', '/v1/subscriptions', { customer, plan }), 201);
    }
    // One request for both customers: each is priced by its own plan.
    const events = ['vip_user', 'plain_user'].map((customer) => ({
      id: `${customer}-chat`,
      customer,
      feature: 'chat',
      timestamp: new Date(start).toISOString(),
    }));
    const ingested = await ok(server.call('POST', '/v1/events', { events }));
    assert.equal(ingested.body.accepted, 2, ingested.text);
    assert.equal(await balanceOf('vip_user'), 99n);
    assert.equal(await balanceOf('plain_user'), 98n);
    const quote = await ok(server.call('POST', '/v1/quotes', { feature: 'chat', customer: 'vip_user' }));
    assert.equal(quote.body.price_book, 'vip');
  });

  it('a failing job is recorded, shown by describeJobs, retried after its backoff, and cleared once it succeeds', async () => {
    const start = Date.UTC(2027, 9, 1);
    server.clock.set(start);
    await seedCustomer(server, 'flaky');
    const created = await ok(server.call('POST', '/v1/subscriptions', { customer: 'flaky', plan: 'pro' }), 201);
    const id = created.body.id;
    const database = server.server.database;
    const setVersion = (version: number) =>
      database.writeTransaction((session) =>
        session.run('UPDATE subscriptions SET plan_version = ? WHERE id = ?', [BigInt(version), id]),
      );
    await setVersion(99); // a version that does not exist: the renewal cannot load its plan
    const periodEnd = Date.parse(created.body.current_period.ends_at);
    await advanceTo(periodEnd);
    const failures = async () => database.reader.all('SELECT * FROM job_failures WHERE target = ?', [id]);
    const [failure] = await failures();
    assert.equal(Number(failure?.attempts), 1);
    assert.equal(Number(failure?.retry_at), periodEnd + 10_000);
    const jobs = await describeJobs(database.reader, server.clock.now());
    assert.ok(
      jobs.some((job) => job.failing === id && job.attempts === 1),
      JSON.stringify(jobs),
    );
    await setVersion(1);
    await advanceTo(periodEnd + 5_000);
    assert.equal(Number((await failures())[0]?.attempts), 1, 'not retried before its backoff');
    assert.equal((await ok(server.call('GET', `/v1/subscriptions/${id}`))).body.current_period.index, 0);
    await advanceTo(periodEnd + 10_000);
    assert.equal((await failures()).length, 0);
    assert.equal((await ok(server.call('GET', `/v1/subscriptions/${id}`))).body.current_period.index, 1);
  });

  it('refuses bad plans and unknown references by field, changing nothing', async () => {
    const badAsset = await server.call('POST', '/v1/plans', {
      id: 'broken',
      version: { period: { interval: 'month' }, allowances: [{ asset: 'nope', amount: '10' }] },
    });
    assert.equal(badAsset.status, 400, badAsset.text);
    assert.equal(badAsset.body.errors[0].field, 'version.allowances[0].asset');
    const badCap = await server.call('POST', '/v1/plans', {
      id: 'broken',
      version: {
        period: { interval: 'month' },
        allowances: [
          { asset: 'nope', amount: '10', rollover: { kind: 'amount', amount_max: '5' } },
          { asset: 'credits', amount: '10', rollover: { kind: 'amount', amount_max: '1.5' } },
        ],
      },
    });
    assert.equal(badCap.status, 400, badCap.text);
    assert.deepEqual(
      badCap.body.errors.map((error: { field: string }) => error.field),
      ['version.allowances[0].asset', 'version.allowances[1].rollover.amount_max'],
    );
    const badRollover = await server.call('POST', '/v1/plans', {
      id: 'broken',
      version: {
        period: { interval: 'month' },
        allowances: [{ asset: 'credits', amount: '10', rollover: { kind: 'amount' } }],
      },
    });
    assert.equal(badRollover.status, 400, badRollover.text);
    assert.equal((await server.call('GET', '/v1/plans/broken')).status, 404);
    const unknownPlan = await server.call('POST', '/v1/subscriptions', { customer: 'year', plan: 'nope' });
    assert.equal(unknownPlan.body.code, 'plan_not_found');
    const badZone = await server.call('POST', '/v1/subscriptions', {
      customer: 'year',
      plan: 'pro',
      time_zone: 'Mars/Base',
    });
    assert.equal(badZone.status, 400);
    assert.equal(badZone.body.errors[0].field, 'time_zone');
    const published = await ok(
      server.call('POST', '/v1/plans/pro/versions', {
        period: { interval: 'month' },
        allowances: [{ asset: 'credits', amount: '12000' }],
      }),
      201,
    );
    assert.equal(published.body.version, 2);
    const plan = await ok(server.call('GET', '/v1/plans/pro'));
    assert.equal(plan.body.latest_version, 2);
    assert.equal(plan.body.versions.length, 2);
  });
});

describe('two schedulers on one database', () => {
  let second: RunningServer;
  before(async () => {
    second = await startServer(testConfig(server.database.url), {
      clock: server.clock,
      logger: createLogger({ level: 'silent' }),
    });
  });
  after(async () => {
    await second.close();
  });

  it('never renew a period twice, however their runs overlap', async () => {
    const start = Date.UTC(2028, 0, 1);
    server.clock.set(start);
    await ok(
      server.call('POST', '/v1/plans', {
        id: 'shared-daily',
        version: { period: { interval: 'day' }, allowances: [{ asset: 'credits', amount: '10' }] },
      }),
      201,
    );
    const customers = Array.from({ length: 20 }, (_, index) => `shared-${index}`);
    for (const customer of customers) {
      await seedCustomer(server, customer);
      await ok(server.call('POST', '/v1/subscriptions', { customer, plan: 'shared-daily' }), 201);
    }
    for (let dayIndex = 1; dayIndex <= 10; dayIndex += 1) {
      server.clock.set(start + dayIndex * day);
      await Promise.all([server.server.runScheduler(), second.runScheduler(), server.server.runScheduler()]);
    }
    for (const customer of customers) {
      assert.equal((await notificationsOf(customer, 'subscription.renewed')).length, 10, customer);
      // Nothing rolls over: the balance is today's allowance, whatever ran twice.
      assert.equal(await balanceOf(customer), 10n, customer);
      assert.equal(await bookedBreakage(customer), 100n, customer);
    }
    const listed = await ok(server.call('GET', '/v1/subscriptions?customer=shared-0'));
    assert.equal(listed.body.data[0].periods.length, 11);
  });
});
