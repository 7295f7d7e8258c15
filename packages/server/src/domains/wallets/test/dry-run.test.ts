/**
 * `?dry_run=true` on every previewable write: the database is byte for byte what it was (every row
 * of every table, so a ledger, audit, idempotency or outbox row, or an updated wallet, would show),
 * and the real call made next answers what the preview said it would, with the balances it showed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiResponse, TestServer } from '../../../../test/harness.ts';
import { seedCustomer, startTestServer } from '../../../../test/harness.ts';
import { tables } from '../../../platform/storage/schema.ts';

let server: TestServer;
let previews = 0;

before(async () => {
  server = await startTestServer();
  await seedCustomer(server, 'acme');
  await ok(server.call('POST', '/v1/grants', { customer: 'acme', asset: 'credits', amount: '100', category: 'paid' }));
  await ok(
    server.call('POST', '/v1/plans', {
      id: 'pro',
      name: 'Pro',
      version: { period: { interval: 'month' }, allowances: [{ asset: 'credits', amount: '1000' }] },
    }),
  );
  await ok(
    server.call('POST', '/v1/plans/pro/versions', {
      period: { interval: 'month' },
      allowances: [{ asset: 'credits', amount: '2000' }],
    }),
  );
});
after(async () => {
  await server.close();
});

async function ok(call: Promise<ApiResponse>): Promise<ApiResponse> {
  const reply = await call;
  assert.ok(reply.status < 300, `${reply.status} ${reply.text}`);
  return reply;
}

/** Every row of every table, as text, in a stable order. */
async function snapshot(): Promise<Record<string, string[]>> {
  const all: Record<string, string[]> = {};
  for (const table of Object.keys(tables)) {
    const rows = await server.server.database.reader.all(`SELECT * FROM ${table}`);
    all[table] = rows
      .map((row) => JSON.stringify(Object.entries(row).map(([column, value]) => [column, String(value)])))
      .sort();
  }
  return all;
}

/** Ids differ between two runs of the same decision; everything else must not. */
function withoutIds(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value).replace(/"(txn|grt|hold|aud|evt|sub)_[0-9A-Za-z]+"/g, '"$1_…"')) as unknown;
}

async function balancesOf(customer: string): Promise<unknown[]> {
  const reply = await ok(server.call('GET', `/v1/customers/${customer}/balances`));
  return reply.body.balances.map((balance: object) => ({ customer, ...balance }));
}

/**
 * Previews `path` with `body`, checks nothing changed, then makes the real call and checks it
 * answers what the preview's `result` said, and leaves the balances the preview showed.
 */
async function previewThenCall(path: string, body: unknown, customer = 'acme'): Promise<ApiResponse> {
  const before = await snapshot();
  const balancesBefore = await balancesOf(customer);
  previews += 1;
  const idempotencyKey = `preview ${previews}`;
  const preview = await server.call('POST', `${path}?dry_run=true`, body, { idempotencyKey });
  assert.equal(preview.status, 200, preview.text);
  assert.equal(preview.body.dry_run, true);
  assert.deepEqual(await snapshot(), before, 'a dry run writes nothing');
  assert.deepEqual(preview.body.balances_before, balancesBefore);
  // The same Idempotency-Key on the real call runs it: the preview stored nothing under it.
  const real = await server.call('POST', path, body, { idempotencyKey });
  assert.ok(real.status < 300, real.text);
  assert.equal(real.headers.get('idempotent-replayed'), null);
  assert.deepEqual(withoutIds(preview.body.result), withoutIds(real.body));
  assert.deepEqual(preview.body.balances_after, await balancesOf(customer));
  return real;
}

describe('dry runs', () => {
  it('createGrant', async () => {
    await previewThenCall('/v1/grants', {
      customer: 'acme',
      asset: 'credits',
      amount: '25',
      category: 'promotional',
      reason: 'welcome',
    });
  });

  it('createAdjustment, positive and negative', async () => {
    await previewThenCall('/v1/adjustments', { customer: 'acme', asset: 'credits', amount: '5', reason: 'goodwill' });
    await previewThenCall('/v1/adjustments', { customer: 'acme', asset: 'credits', amount: '-3', reason: 'fix' });
  });

  it('voidGrant', async () => {
    const grant = await ok(
      server.call('POST', '/v1/grants', { customer: 'acme', asset: 'credits', amount: '7', category: 'paid' }),
    );
    await previewThenCall(`/v1/grants/${grant.body.id}/void`, { reason: 'chargeback' });
  });

  it('reverseTransaction', async () => {
    const debit = await ok(server.call('POST', '/v1/debits', { customer: 'acme', asset: 'credits', amount: '9' }));
    await previewThenCall(`/v1/transactions/${debit.body.transaction.id}/reverse`, { amount: '4', reason: 'refund' });
  });

  it('updateWalletPolicy (an update of the wallet row only)', async () => {
    await previewThenCall('/v1/customers/acme/wallets/credits/policy', {
      overdraft_limit: '15',
      consumption_order: ['expires_at', 'priority', 'created_at'],
      reason: 'trusted',
    });
  });

  it('changeSubscription and cancelSubscription', async () => {
    await seedCustomer(server, 'globex');
    const subscription = await ok(
      server.call('POST', '/v1/subscriptions', { customer: 'globex', plan: 'pro', version: 1 }),
    );
    const id = subscription.body.id;
    const change = { action: 'change_plan', plan: 'pro', version: 2, reason: 'upgrade asked' };
    await previewThenCall(`/v1/subscriptions/${id}/change`, change, 'globex');
    await previewThenCall(`/v1/subscriptions/${id}/cancel`, { timing: 'immediate', reason: 'churned' }, 'globex');
    // The operator's reasons are in the audit events, as every console action's is.
    const events = await ok(server.call('GET', `/v1/audit-events?target=subscription:${id}`));
    assert.deepEqual(
      events.body.data.map((event: { action: string; reason: string | null }) => [event.action, event.reason]),
      [
        ['subscription.canceled', 'churned'],
        ['subscription.changed', 'upgrade asked'],
        ['subscription.created', null],
      ],
    );
  });

  it('a refused preview answers the refusal the real call would, and writes nothing', async () => {
    const before = await snapshot();
    const refused = await server.call('POST', '/v1/adjustments?dry_run=true', {
      customer: 'acme',
      asset: 'credits',
      amount: '-100000',
      reason: 'too much',
    });
    assert.equal(refused.status, 402, refused.text);
    assert.equal(refused.body.code, 'insufficient_balance');
    const unknown = await server.call('POST', '/v1/grants?dry_run=true', {
      customer: 'nobody',
      asset: 'credits',
      amount: '1',
      category: 'paid',
    });
    assert.equal(unknown.status, 404);
    assert.deepEqual(await snapshot(), before);
  });

  it('dry_run=false is the real call, and another value is a 400 naming dry_run', async () => {
    const real = await server.call('POST', '/v1/grants?dry_run=false', {
      customer: 'acme',
      asset: 'credits',
      amount: '1',
      category: 'paid',
    });
    assert.equal(real.status, 201);
    const bad = await server.call('POST', '/v1/grants?dry_run=yes', {
      customer: 'acme',
      asset: 'credits',
      amount: '1',
      category: 'paid',
    });
    assert.equal(bad.status, 400);
    assert.ok(bad.body.errors.some((error: { field: string }) => error.field === 'dry_run'));
  });

  it('previews interleaved with real writes in one event-loop turn leave the real ones whole', async () => {
    const grant = { customer: 'acme', asset: 'credits', amount: '1', category: 'paid' };
    const before = (await balancesOf('acme')) as { balance: string }[];
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        server.call('POST', index % 2 === 0 ? '/v1/grants?dry_run=true' : '/v1/grants', grant),
      ),
    );
    assert.deepEqual(
      replies.map((reply) => reply.status),
      [200, 201, 200, 201, 200, 201, 200, 201, 200, 201],
    );
    const after = (await balancesOf('acme')) as { balance: string }[];
    assert.equal(BigInt(after[0]?.balance ?? '0') - BigInt(before[0]?.balance ?? '0'), 5n);
  });
});
