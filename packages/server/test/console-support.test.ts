/**
 * The reads the console needs, through the real server: listHolds with its filters and pinned
 * grants, listJobs (the runner's jobs, their failures and the scheduled renewals), and the filters
 * of listAuditEvents, listCustomers (`q`) and listWebhookDeliveries (`customer`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiResponse, TestServer } from './harness.ts';
import { seedCustomer, startTestServer } from './harness.ts';

let server: TestServer;

before(async () => {
  server = await startTestServer();
  await seedCustomer(server, 'acme');
  await seedCustomer(server, 'globex');
});
after(async () => {
  await server.close();
});

async function ok(call: Promise<ApiResponse>): Promise<ApiResponse> {
  const reply = await call;
  assert.ok(reply.status < 300, `${reply.status} ${reply.text}`);
  return reply;
}

async function grant(customer: string, amount: string): Promise<string> {
  const reply = await ok(server.call('POST', '/v1/grants', { customer, asset: 'credits', amount, category: 'paid' }));
  return reply.body.id;
}

async function hold(customer: string, amount: string, ttlSeconds = 600): Promise<string> {
  const reply = await ok(
    server.call('POST', '/v1/holds', { customer, asset: 'credits', amount, ttl_seconds: ttlSeconds }),
  );
  return reply.body.hold.id;
}

/** Every item of a list, following next_cursor with pages of `limit`. */
async function listAll(path: string, limit = 2): Promise<{ id: string; [field: string]: unknown }[]> {
  const items = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const page: ApiResponse = await ok(
      server.call('GET', `${path}${separator}limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`),
    );
    items.push(...page.body.data);
    cursor = page.body.next_cursor;
  } while (cursor !== null);
  return items;
}

describe('listHolds', () => {
  it('lists holds newest first with the grants each reserves, filtered by customer, asset and status', async () => {
    const first = await grant('acme', '10');
    const second = await grant('acme', '50');
    await grant('globex', '100');
    // Consumption order takes the older grant first: 10 from it, 5 from the next.
    const open = await hold('acme', '15');
    const released = await hold('acme', '1');
    await ok(server.call('POST', `/v1/holds/${released}/release`, {}));
    const captured = await hold('acme', '2');
    await ok(server.call('POST', `/v1/holds/${captured}/capture`, { amount: '2' }));
    const expiring = await hold('acme', '3', 60);
    const other = await hold('globex', '4');

    const all = await listAll('/v1/holds?customer=acme');
    assert.deepEqual(
      all.map((item) => item.id),
      [expiring, captured, released, open],
    );
    const pinned = all.find((item) => item.id === open);
    assert.deepEqual(pinned?.reservations, [
      { grant: first, amount: '10' },
      { grant: second, amount: '5' },
    ]);
    assert.deepEqual(
      (await listAll('/v1/holds?customer=acme&status=open')).map((item) => item.id),
      [expiring, open],
    );
    assert.deepEqual(
      (await listAll('/v1/holds?status=released')).map((item) => item.id),
      [released],
    );
    assert.deepEqual(
      (await listAll('/v1/holds?status=captured')).map((item) => item.id),
      [captured],
    );
    // Past its TTL a hold is expired at once, whether or not the sweeper has booked it.
    server.clock.advance(61_000);
    assert.deepEqual(
      (await listAll('/v1/holds?status=expired')).map((item) => item.id),
      [expiring],
    );
    assert.deepEqual(
      (await listAll('/v1/holds?customer=acme&status=open')).map((item) => item.id),
      [open],
    );
    assert.deepEqual(
      (await listAll('/v1/holds?customer=globex')).map((item) => item.id),
      [other],
    );
    assert.deepEqual(await listAll('/v1/holds?asset=usd'), []);
    const bad = await server.call('GET', '/v1/holds?status=pending');
    assert.equal(bad.status, 400);
    assert.ok(bad.body.errors.some((error: { field: string }) => error.field === 'status'));
  });
});

describe('listCustomers ?q', () => {
  it('matches an id prefix or a name substring, ignoring case; LIKE wildcards match only themselves', async () => {
    await ok(server.call('POST', '/v1/customers', { id: 'org_100', name: 'Initech Labs' }));
    await ok(server.call('POST', '/v1/customers', { id: 'org-200', name: 'Umbrella 100% Corp' }));
    await ok(server.call('POST', '/v1/customers', { id: 'team_300', name: 'Hooli' }));
    const ids = async (q: string) =>
      (await listAll(`/v1/customers?q=${encodeURIComponent(q)}`)).map((item) => item.id).sort();
    assert.deepEqual(await ids('ORG'), ['org-200', 'org_100']);
    assert.deepEqual(await ids('org_'), ['org_100'], '_ is not a wildcard');
    assert.deepEqual(await ids('initech'), ['org_100']);
    assert.deepEqual(await ids('LABS'), ['org_100']);
    assert.deepEqual(await ids('100%'), ['org-200'], '% is not a wildcard');
    assert.deepEqual(await ids('300'), [], 'an id matches by prefix only');
    assert.deepEqual(await ids('zzz'), []);
    assert.ok((await listAll('/v1/customers')).length >= 5, 'without q, every customer');
  });
});

describe('listAuditEvents filters', () => {
  it('filters by actor, action, target, customer and time', async () => {
    await seedCustomer(server, 'audited');
    const start = server.clock.now();
    const key = await ok(server.call('POST', '/v1/api-keys', { name: 'auditor', scopes: ['write'] }));
    server.clock.advance(1000);
    const granted = await ok(
      server.call(
        'POST',
        '/v1/grants',
        { customer: 'audited', asset: 'credits', amount: '5', category: 'paid', reason: 'promo' },
        { key: key.body.key },
      ),
    );
    await ok(
      server.call(
        'POST',
        '/v1/customers/audited/wallets/credits/policy',
        { overdraft_limit: '3', reason: 'trusted' },
        { key: key.body.key },
      ),
    );
    server.clock.advance(1000);
    const middle = server.clock.now();
    await ok(server.call('POST', '/v1/grants', { customer: 'acme', asset: 'credits', amount: '1', category: 'paid' }));
    const events = async (query: string) => (await listAll(`/v1/audit-events?${query}`, 50)) as never as AuditRow[];
    interface AuditRow {
      id: string;
      action: string;
      actor: string;
      target: string;
      reason: string | null;
    }
    const byActor = await events(`actor=api_key:${key.body.id}`);
    assert.deepEqual(
      byActor.map((event) => event.action),
      ['wallet.policy_updated', 'grant.created'],
    );
    // Each action's reason is in its row.
    assert.deepEqual(
      byActor.map((event) => event.reason),
      ['trusted', 'promo'],
    );
    const byCustomer = await events('customer=audited');
    assert.ok(byCustomer.some((event) => event.target === `grant:${granted.body.id}`));
    assert.ok(byCustomer.some((event) => event.target === 'wallet:audited/credits'));
    assert.ok(byCustomer.every((event) => !JSON.stringify(event).includes('"customer":"acme"')));
    const byTarget = await events(`target=grant:${granted.body.id}`);
    assert.equal(byTarget.length, 1);
    const created = await events(`action=grant.created&from=${new Date(start).toISOString()}`);
    assert.equal(created.length, 2);
    const early = await events(
      `action=grant.created&from=${new Date(start).toISOString()}&to=${new Date(middle).toISOString()}`,
    );
    assert.deepEqual(
      early.map((event) => event.target),
      [`grant:${granted.body.id}`],
    );
    assert.deepEqual(await events('customer=nobody_at_all'), []);
    const bad = await server.call('GET', '/v1/audit-events?from=yesterday');
    assert.equal(bad.status, 400);
  });
});

describe('listWebhookDeliveries ?customer', () => {
  it("shows only the deliveries of events about the customer's wallets", async () => {
    const endpoint = await ok(
      server.call('POST', '/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/hooks', event_types: ['grant.created'] }),
    );
    await grant('acme', '2');
    await grant('globex', '3');
    await server.server.dispatchWebhooks();
    const deliveries = `/v1/webhook-endpoints/${endpoint.body.id}/deliveries`;
    const all = await listAll(deliveries);
    // Whose event each delivery carries, from the outbox the deliveries were fanned out of.
    const owners = new Map<string, string>();
    for (const row of await server.server.database.reader.all('SELECT id, customer_id FROM outbox'))
      owners.set(String(row.id), String(row.customer_id));
    const of = (customer: string) =>
      all.filter((item) => owners.get(String(item.event)) === customer).map((item) => item.id);
    for (const customer of ['acme', 'globex']) {
      const filtered = (await listAll(`${deliveries}?customer=${customer}`)).map((item) => item.id);
      assert.ok(filtered.length > 0);
      assert.deepEqual(filtered, of(customer));
    }
    assert.ok(of('acme').length + of('globex').length <= all.length);
    assert.deepEqual(await listAll(`${deliveries}?customer=initech`), []);
  });
});

describe('listJobs', () => {
  it("shows the runner's jobs, a failing run's error, and the subscriptions due", async () => {
    await ok(
      server.call('POST', '/v1/plans', {
        id: 'starter',
        name: 'Starter',
        version: { period: { interval: 'month' }, allowances: [{ asset: 'credits', amount: '10' }] },
      }),
    );
    const subscription = await ok(server.call('POST', '/v1/subscriptions', { customer: 'globex', plan: 'starter' }));
    await server.server.runScheduler();
    const jobs = await ok(server.call('GET', '/v1/jobs'));
    const names = jobs.body.data.map((job: { name: string }) => job.name);
    assert.ok(names.includes('scheduler') && names.includes('webhook_delivery'), names.join());
    const scheduler = jobs.body.data.find((job: { name: string }) => job.name === 'scheduler');
    assert.equal(scheduler.last_error, null);
    assert.equal(scheduler.last_finished_at, new Date(server.clock.now()).toISOString());
    assert.equal(typeof scheduler.interval_ms, 'number');
    assert.deepEqual(scheduler.failures, []);
    const due = jobs.body.scheduled.find(
      (item: { target: string }) => item.target === `subscription:${subscription.body.id}`,
    );
    assert.equal(due?.kind, 'subscription_renewal');
    assert.equal(due?.due_at, subscription.body.next_due_at);
    // A failure recorded for a subscription of this environment shows under the scheduler.
    const [environment] = await server.server.database.reader.all("SELECT id FROM environments WHERE name = 'live'");
    await server.server.database.writeTransaction((session) =>
      session.insertMany('job_failures', [
        {
          environment_id: String(environment?.id),
          kind: 'subscription',
          target: subscription.body.id,
          attempts: 2n,
          last_error: 'plan missing',
          retry_at: BigInt(server.clock.now() + 5000),
          updated_at: BigInt(server.clock.now()),
        },
      ]),
    );
    const failing = await ok(server.call('GET', '/v1/jobs'));
    const failures = failing.body.data.find((job: { name: string }) => job.name === 'scheduler').failures;
    assert.deepEqual(failures, [
      {
        target: `subscription:${subscription.body.id}`,
        attempts: 2,
        at: new Date(server.clock.now()).toISOString(),
        error: 'plan missing',
        retry_at: new Date(server.clock.now() + 5000).toISOString(),
      },
    ]);
    const reader = await ok(server.call('POST', '/v1/api-keys', { name: 'jobs reader', scopes: ['write'] }));
    assert.equal((await server.call('GET', '/v1/jobs', undefined, { key: reader.body.key })).status, 403);
  });
});
