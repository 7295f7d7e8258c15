/**
 * previewSubscriptionChange against the change it previews, on the real server: over random
 * customers (spending, overdraft debt, the time in the period, upgrade or downgrade, now or at the
 * period end) the balance the preview announces is the one the change then leaves, and a negative
 * one is always announced; a token is refused once the subscription or a wallet moved, or for
 * another request; a change can require one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiResponse, TestServer } from '../../../../test/harness.ts';
import { seedCustomer, startTestServer, testSeed } from '../../../../test/harness.ts';

const day = 86_400_000;
const start = Date.UTC(2026, 0, 1);
let server: TestServer;

async function ok(reply: Promise<ApiResponse>, status = 200): Promise<ApiResponse> {
  const response = await reply;
  assert.equal(response.status, status, response.text);
  return response;
}

async function balanceOf(customer: string): Promise<bigint> {
  const reply = await ok(server.call('GET', `/v1/customers/${customer}/balances?asset=credits`));
  return BigInt(reply.body.balances[0]?.balance ?? '0');
}

async function subscribe(customer: string, plan: string): Promise<string> {
  await seedCustomer(server, customer);
  const created = await ok(server.call('POST', '/v1/subscriptions', { customer, plan }), 201);
  return created.body.id;
}

function preview(id: string, body: Record<string, unknown>): Promise<ApiResponse> {
  return server.call('POST', `/v1/subscriptions/${id}/change/preview`, { action: 'change_plan', ...body });
}

before(async () => {
  server = await startTestServer();
  await ok(server.call('POST', '/v1/assets', { code: 'credits', scale: 0 }), 201);
  const plan = (id: string, amount: string, rollover: Record<string, unknown>) =>
    ok(
      server.call('POST', '/v1/plans', {
        id,
        version: { period: { interval: 'month' }, allowances: [{ asset: 'credits', amount, rollover }] },
      }),
      201,
    );
  await plan('pro', '10000', { kind: 'amount', amount_max: '5000', expires_after: null });
  await plan('basic', '1000', { kind: 'none' });
});

after(async () => {
  await server.close();
});

describe('previewSubscriptionChange', () => {
  it('announces exactly the balance the change leaves, and every negative one (random customers)', async () => {
    let random = testSeed('plan change preview');
    const next = (below: number) => {
      random = (random * 1103515245 + 12345) % 2 ** 31;
      return random % below;
    };
    for (let round = 0; round < 12; round += 1) {
      const customer = `random_${round}`;
      server.clock.set(start + round * 40 * day);
      const from = next(2) === 0 ? 'pro' : 'basic';
      const to = from === 'pro' ? 'basic' : 'pro';
      const id = await subscribe(customer, from);
      await ok(server.call('POST', `/v1/customers/${customer}/wallets/credits/policy`, { overdraft_limit: '20000' }));
      server.clock.set(start + round * 40 * day + next(28) * day + 1);
      const spend = next(from === 'pro' ? 14_000 : 3_000);
      if (spend > 0)
        await ok(server.call('POST', '/v1/debits', { customer, asset: 'credits', amount: String(spend) }), 201);
      const timing = next(2) === 0 ? 'immediate' : 'period_end';
      const shown = await ok(preview(id, { plan: to, timing }));
      const [effect] = shown.body.assets;
      assert.equal(effect.asset, 'credits');
      assert.equal(BigInt(effect.balance_before), await balanceOf(customer), `round ${round}: balance before`);
      await ok(
        server.call('POST', `/v1/subscriptions/${id}/change`, {
          action: 'change_plan',
          plan: to,
          timing,
          preview_token: shown.body.preview_token,
        }),
      );
      // Nothing else happens until the change takes effect: the balance then is the preview's.
      server.clock.set(Date.parse(shown.body.effective_at));
      await server.server.runScheduler();
      const balance = await balanceOf(customer);
      assert.equal(BigInt(effect.balance_after), balance, `round ${round} (${from}→${to}, ${timing}, spent ${spend})`);
      const warned = shown.body.warnings.some((warning: { asset: string }) => warning.asset === 'credits');
      assert.equal(warned, balance < 0n, `round ${round}: a negative balance is announced, and only then`);
      const subscription = await ok(server.call('GET', `/v1/subscriptions/${id}`));
      assert.equal(subscription.body.plan, to);
    }
  });

  it('shows the new allowance, the kept credit and its rollover, and the voided credit issued ahead', async () => {
    server.clock.set(Date.UTC(2027, 0, 1));
    const id = await subscribe('fates', 'pro');
    server.clock.set(Date.UTC(2027, 0, 10));
    await ok(server.call('POST', '/v1/debits', { customer: 'fates', asset: 'credits', amount: '4000' }), 201);
    const down = await ok(preview(id, { plan: 'basic', timing: 'period_end' }));
    assert.equal(down.body.effective_at, '2027-02-01T00:00:00.000Z');
    assert.deepEqual(down.body.period, { starts_at: '2027-02-01T00:00:00.000Z', ends_at: '2027-03-01T00:00:00.000Z' });
    assert.equal(down.body.proration, 'none');
    const [credits] = down.body.assets;
    assert.equal(credits.new_allowance, '1000');
    assert.equal(credits.remaining_credit.kept, '6000');
    assert.equal(credits.remaining_credit.rolls_over, '5000');
    // February's pro allowance, issued ahead, will not come.
    assert.equal(credits.remaining_credit.voided, '10000');
    assert.equal(credits.balance_before, '6000');
    assert.equal(credits.balance_after, '6000'); // 5,000 rolled + basic's 1,000
    assert.deepEqual(down.body.warnings, []);
    const up = await ok(preview(id, { plan: 'basic', timing: 'immediate' }));
    assert.equal(up.body.assets[0].balance_after, '7000');
    assert.equal(up.body.period.starts_at, '2027-01-10T00:00:00.000Z');
  });

  it('warns when a downgrade leaves the customer owing more than the new plan grants', async () => {
    server.clock.set(Date.UTC(2027, 5, 1));
    const id = await subscribe('owing', 'pro');
    await ok(server.call('POST', '/v1/customers/owing/wallets/credits/policy', { overdraft_limit: '5000' }));
    await ok(server.call('POST', '/v1/debits', { customer: 'owing', asset: 'credits', amount: '13000' }), 201);
    const shown = await ok(preview(id, { plan: 'basic', timing: 'period_end' }));
    assert.equal(shown.body.assets[0].balance_after, '-2000');
    assert.equal(shown.body.warnings[0].code, 'negative_balance');
    assert.equal(shown.body.warnings[0].balance, '-2000');
  });

  it('refuses a stale token, a token for another request, and a missing one when required', async () => {
    server.clock.set(Date.UTC(2028, 0, 1));
    const id = await subscribe('stale', 'pro');
    const change = (body: Record<string, unknown>) =>
      server.call('POST', `/v1/subscriptions/${id}/change`, { action: 'change_plan', plan: 'basic', ...body });
    const required = await change({ require_preview: true });
    assert.equal(required.status, 409);
    assert.equal(required.body.code, 'subscription_preview_required');
    const shown = await ok(preview(id, { plan: 'basic', timing: 'period_end' }));
    const token = shown.body.preview_token;
    assert.match(token, /^pvt_[A-Za-z0-9_-]{43}$/);
    // Another timing than previewed.
    const other = await change({ timing: 'immediate', preview_token: token });
    assert.equal(other.body.code, 'subscription_preview_stale');
    // The wallet moved since.
    await ok(server.call('POST', '/v1/debits', { customer: 'stale', asset: 'credits', amount: '1' }), 201);
    const moved = await change({ timing: 'period_end', preview_token: token });
    assert.equal(moved.status, 409);
    assert.equal(moved.body.code, 'subscription_preview_stale');
    const unchanged = await ok(server.call('GET', `/v1/subscriptions/${id}`));
    assert.equal(unchanged.body.pending_change, null);
    // A fresh preview's token is accepted, once: the change itself moves the subscription.
    const fresh = await ok(preview(id, { plan: 'basic', timing: 'period_end' }));
    await ok(change({ timing: 'period_end', preview_token: fresh.body.preview_token, require_preview: true }));
    const again = await change({ timing: 'period_end', preview_token: fresh.body.preview_token });
    assert.equal(again.body.code, 'subscription_preview_stale');
    // A renewal passed since the preview (the scheduler has not run yet) makes it stale too.
    const renewing = await subscribe('renewing', 'pro');
    const renewalAhead = await ok(preview(renewing, { plan: 'basic', timing: 'immediate' }));
    server.clock.set(Date.UTC(2028, 1, 1, 1));
    const late = await server.call('POST', `/v1/subscriptions/${renewing}/change`, {
      action: 'change_plan',
      plan: 'basic',
      preview_token: renewalAhead.body.preview_token,
    });
    assert.equal(late.body.code, 'subscription_preview_stale');
  });

  it('answers 404 for an unknown subscription and names a bad field', async () => {
    const missing = await preview('sub_missing', { plan: 'basic' });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'subscription_not_found');
    const id = await subscribe('fields', 'pro');
    const bad = await preview(id, { plan: 'basic', timing: 'tomorrow' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].field, 'timing');
  });
});
