/**
 * Auto top-up end to end (issue 4): a crossing below the threshold requests exactly one top-up
 * even under 200 concurrent debits; the provider is charged once per top-up, by one worker of
 * one server among several; success grants paid credit with its cost basis, failures stop the
 * rule after failures_max and putting it again re-arms it; the monthly cap holds; the manual
 * settle flow is idempotent. Runs on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Decimal } from '@bursar/core';
import type { ApiResponse, TestServer } from '../../../../test/harness.ts';
import { seedCustomer, startTestServer, testConfig, testSeed } from '../../../../test/harness.ts';
import type { RunningServer } from '../../../app.ts';
import { startServer } from '../../../app.ts';
import { createLogger } from '../../../platform/http/logger.ts';
import type { ChargeOutcome, PaymentProvider, TopUpCharge } from '../payment-provider.ts';

/** A payment provider whose answers the test scripts; it records every charge it is handed. */
class ScriptedProvider implements PaymentProvider {
  readonly calls: TopUpCharge[] = [];
  answer: (charge: TopUpCharge) => Promise<ChargeOutcome> = succeed(null);

  charge(charge: TopUpCharge): Promise<ChargeOutcome> {
    this.calls.push(charge);
    return this.answer(charge);
  }
}

function succeed(costBasis: { currency: string; total: Decimal } | null, delayMs = 0) {
  return async (charge: TopUpCharge): Promise<ChargeOutcome> => {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    return { outcome: 'succeeded', reference: `pay_${charge.topUpId}`, costBasis };
  };
}

async function ok(reply: Promise<ApiResponse>, status = 200): Promise<ApiResponse> {
  const answer = await reply;
  assert.equal(answer.status, status, answer.text);
  return answer;
}

let server: TestServer;
const provider = new ScriptedProvider();

before(async () => {
  server = await startTestServer({}, { paymentProvider: provider });
  await ok(server.call('POST', '/v1/assets', { code: 'usd', scale: 2 }), 201);
});

after(async () => {
  await server.close();
});

/** A customer with a credits wallet of `granted` and an auto top-up rule. */
async function customerWithRule(customer: string, granted: number, rule: Record<string, unknown>): Promise<void> {
  await seedCustomer(server, customer);
  await ok(
    server.call('POST', '/v1/grants', { customer, asset: 'credits', amount: String(granted), category: 'paid' }),
    201,
  );
  await ok(server.call('POST', `/v1/customers/${customer}/wallets/credits/auto-top-up`, { enabled: true, ...rule }));
}

function debit(customer: string, amount: number): Promise<ApiResponse> {
  return ok(server.call('POST', '/v1/debits', { customer, asset: 'credits', amount: String(amount) }), 201);
}

function grant(customer: string, amount: number): Promise<ApiResponse> {
  return ok(
    server.call('POST', '/v1/grants', { customer, asset: 'credits', amount: String(amount), category: 'promotional' }),
    201,
  );
}

async function topUps(customer: string): Promise<Array<Record<string, unknown> & { id: string; status: string }>> {
  return (await ok(server.call('GET', `/v1/customers/${customer}/wallets/credits/top-ups`))).body.data;
}

async function events(customer: string, type: string): Promise<Array<{ data: Record<string, unknown> }>> {
  return (await ok(server.call('GET', `/v1/notifications?customer=${customer}&type=${type}`))).body.data;
}

async function available(customer: string): Promise<string> {
  return (await ok(server.call('GET', `/v1/customers/${customer}/balances`))).body.balances[0].available;
}

async function rule(customer: string): Promise<Record<string, unknown>> {
  return (await ok(server.call('GET', `/v1/customers/${customer}/wallets/credits/auto-top-up`))).body;
}

describe('auto top-up', () => {
  it('200 concurrent debits across the threshold request one top-up, charged once, granted with its cost basis', async () => {
    const seed = testSeed('topups concurrent debits');
    const customer = `crowd-${seed}`;
    await customerWithRule(customer, 1000, {
      threshold: '500',
      amount: '1000',
      cost: { currency: 'usd', total: '10' },
    });
    const replies = await Promise.all(Array.from({ length: 200 }, () => debit(customer, 5)));
    assert.equal(replies.length, 200);
    const requested = await topUps(customer);
    assert.equal(requested.length, 1, 'one top-up for one crossing');
    assert.equal(requested[0]?.status, 'requested');
    assert.equal((await events(customer, 'topup.requested')).length, 1);
    assert.equal((await rule(customer)).pending_top_up, requested[0]?.id);
    provider.calls.length = 0;
    provider.answer = succeed(null, 20);
    // Two ticks at once: the lease hands the top-up to one of them.
    const handed = await Promise.all([server.server.runTopUps(), server.server.runTopUps()]);
    assert.equal(handed[0] + handed[1], 1);
    assert.deepEqual(
      provider.calls.map((call) => call.topUpId),
      [requested[0]?.id],
    );
    assert.equal(provider.calls[0]?.amount, 1000n);
    const [settled] = await topUps(customer);
    assert.equal(settled?.status, 'succeeded');
    assert.equal(settled?.provider_reference, `pay_${settled?.id}`);
    assert.deepEqual(settled?.cost, { currency: 'usd', total: '10' }, "the rule's cost when the provider has none");
    const paid = await ok(server.call('GET', `/v1/grants/${settled?.grant}`));
    assert.equal(paid.body.category, 'paid');
    assert.equal(paid.body.amount, '1000');
    assert.equal(paid.body.reason, 'auto top-up');
    assert.deepEqual(paid.body.cost_basis, { currency: 'usd', total: '10', unit_price: '0.01' });
    assert.equal(await available(customer), '1000');
    const succeeded = await events(customer, 'topup.succeeded');
    assert.equal(succeeded.length, 1);
    assert.equal(succeeded[0]?.data.grant, settled?.grant);
    assert.equal((await rule(customer)).pending_top_up, null);
    assert.equal(await server.server.runTopUps(), 0, 'nothing left to charge');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /bursar_top_ups_total\{outcome="succeeded"\} 1/);
  });

  it('requests nothing more while one is pending, and only on a crossing', async () => {
    const customer = 'pending-1';
    provider.answer = succeed(null);
    await customerWithRule(customer, 100, { threshold: '50', amount: '100' });
    await debit(customer, 60);
    await grant(customer, 100);
    await debit(customer, 100);
    await debit(customer, 10);
    assert.equal((await topUps(customer)).length, 1);
    assert.equal((await events(customer, 'topup.requested')).length, 1);
    assert.equal(await server.server.runTopUps(), 1);
  });

  it('the provider cost basis wins over the rule; a provider error leaves the top-up to be charged again after its lease', async () => {
    const customer = 'lease-1';
    await customerWithRule(customer, 100, { threshold: '50', amount: '100', cost: { currency: 'usd', total: '1' } });
    await debit(customer, 60);
    provider.calls.length = 0;
    provider.answer = async () => {
      throw new Error('provider timed out');
    };
    assert.equal(await server.server.runTopUps(), 1);
    provider.answer = succeed({ currency: 'usd', total: { units: 250n, scale: 2 } });
    assert.equal(await server.server.runTopUps(), 0, 'leased: not charged again before the lease ends');
    server.clock.advance(60_001);
    assert.equal(await server.server.runTopUps(), 1);
    assert.equal(provider.calls.length, 2);
    assert.equal(provider.calls[0]?.topUpId, provider.calls[1]?.topUpId, 'the same idempotency key');
    const [settled] = await topUps(customer);
    assert.equal(settled?.status, 'succeeded');
    assert.equal(settled?.attempts, 2);
    assert.deepEqual(settled?.cost, { currency: 'usd', total: '2.5' });
  });

  it('failures_max failures in a row stop the rule; putting it again re-arms it', async () => {
    const customer = 'failing-1';
    const ruleBody = { enabled: true, threshold: '50', amount: '100', failures_max: 2 };
    await customerWithRule(customer, 100, ruleBody);
    provider.answer = async () => ({ outcome: 'failed', reason: 'card declined' });
    let spent = 60;
    for (let failure = 1; failure <= 2; failure += 1) {
      await debit(customer, spent);
      assert.equal(await server.server.runTopUps(), 1);
      const failed = await events(customer, 'topup.failed');
      assert.equal(failed.length, failure);
      assert.equal(failed[0]?.data.failures, failure);
      assert.equal(failed[0]?.data.reason, 'card declined');
      await grant(customer, 100);
      spent = 100;
    }
    const stopped = await rule(customer);
    assert.equal(stopped.status, 'stopped_after_failures');
    assert.equal(stopped.failures, 2);
    assert.equal(stopped.spent_this_month, '0', 'a failed top-up gives its allowance back');
    await debit(customer, 100);
    assert.equal((await topUps(customer)).length, 2, 'a stopped rule requests nothing');
    const rearmed = await ok(server.call('POST', `/v1/customers/${customer}/wallets/credits/auto-top-up`, ruleBody));
    assert.equal(rearmed.body.status, 'active');
    assert.equal(rearmed.body.failures, 0);
    await grant(customer, 100);
    await debit(customer, 100);
    const all = await topUps(customer);
    assert.deepEqual(
      all.map((topUp) => topUp.status),
      ['requested', 'failed', 'failed'],
    );
    provider.answer = succeed(null);
    assert.equal(await server.server.runTopUps(), 1);
    const audit = await ok(
      server.call('GET', `/v1/audit-events?target=${encodeURIComponent(`wallet:${customer}/credits`)}`),
    );
    assert.equal(audit.body.data.length, 2, 'one audit row per rule change');
    assert.equal(audit.body.data[0].action, 'wallet.auto_top_up_updated');
  });

  it('the monthly cap holds within a month and starts again the next', async () => {
    const customer = 'capped-1';
    provider.answer = succeed(null);
    await customerWithRule(customer, 100, { threshold: '50', amount: '100', monthly_cap: '150' });
    await debit(customer, 60);
    assert.equal(await server.server.runTopUps(), 1);
    await debit(customer, 100);
    assert.equal((await topUps(customer)).length, 1, '100 + 100 would pass the cap of 150');
    assert.equal((await rule(customer)).spent_this_month, '100');
    await grant(customer, 100);
    server.clock.set(Date.UTC(2026, 1, 1));
    assert.equal((await rule(customer)).spent_this_month, '0');
    await debit(customer, 100);
    assert.equal((await topUps(customer)).length, 2);
    assert.equal(await server.server.runTopUps(), 1);
  });

  it('settleTopUp: the manual flow, idempotent, top_up_settled once settled, 404 for an unknown id', async () => {
    const customer = 'manual-1';
    await customerWithRule(customer, 100, { threshold: '50', amount: '100' });
    await debit(customer, 60);
    const [requested] = await topUps(customer);
    assert.ok(requested !== undefined);
    const body = { outcome: 'succeeded', reference: 'ch_42', cost: { currency: 'usd', total: '12' } };
    const settle = (idempotencyKey?: string) =>
      server.call(
        'POST',
        `/v1/top-ups/${requested.id}/settle`,
        body,
        idempotencyKey === undefined ? {} : { idempotencyKey },
      );
    const first = await ok(settle('settle-1'));
    assert.equal(first.body.status, 'succeeded');
    assert.deepEqual(first.body.cost, { currency: 'usd', total: '12' });
    const replay = await ok(settle('settle-1'));
    assert.equal(replay.text, first.text);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    const again = await settle();
    assert.equal(again.status, 409, again.text);
    assert.equal(again.body.code, 'top_up_settled');
    const failedLate = await server.call('POST', `/v1/top-ups/${requested.id}/settle`, { outcome: 'failed' });
    assert.equal(failedLate.body.code, 'top_up_settled');
    assert.equal(await available(customer), '140');
    assert.equal((await events(customer, 'topup.succeeded')).length, 1);
    const missing = await server.call('POST', '/v1/top-ups/tup_nothing/settle', { outcome: 'failed' });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'top_up_not_found');
  });

  it('refuses bad rules by field', async () => {
    await seedCustomer(server, 'bad-rules');
    const put = (body: unknown) => server.call('POST', '/v1/customers/bad-rules/wallets/credits/auto-top-up', body);
    const cases: Array<[unknown, string]> = [
      [{ enabled: true, threshold: '5', amount: '0' }, 'amount'],
      [{ enabled: true, threshold: '5', amount: '1.5' }, 'amount'],
      [{ enabled: true, threshold: '5', amount: '10', monthly_cap: '5' }, 'monthly_cap'],
      [{ enabled: true, threshold: '5', amount: '10', failures_max: 0 }, 'failures_max'],
      [{ enabled: true, threshold: '5', amount: '10', cost: { currency: 'eur', total: '1' } }, 'cost.currency'],
      [{ enabled: true, threshold: '5', amount: '10', status: 'active' }, 'status'],
    ];
    for (const [body, field] of cases) {
      const reply = await put(body);
      assert.equal(reply.status, 400, reply.text);
      assert.ok(
        reply.body.errors.some((error: { field: string }) => error.field === field),
        `${field}: ${reply.text}`,
      );
    }
    const none = await server.call('GET', '/v1/customers/bad-rules/wallets/credits/auto-top-up');
    assert.equal(none.status, 404);
    assert.equal(none.body.code, 'auto_top_up_rule_not_found');
  });
});

describe('two servers on one database', () => {
  let second: RunningServer;
  before(async () => {
    second = await startServer(testConfig(server.database.url), {
      clock: server.clock,
      logger: createLogger({ level: 'silent' }),
      paymentProvider: provider,
    });
  });
  after(async () => {
    await second.close();
  });

  it('their workers charge each top-up once and settle it once', async () => {
    const customers = ['shared-1', 'shared-2', 'shared-3'];
    for (const customer of customers) {
      await customerWithRule(customer, 100, { threshold: '50', amount: '100' });
      await debit(customer, 60);
    }
    provider.calls.length = 0;
    provider.answer = succeed(null, 30);
    await Promise.all([server.server.runTopUps(), second.runTopUps(), server.server.runTopUps(), second.runTopUps()]);
    assert.equal(provider.calls.length, 3, 'one charge per top-up');
    assert.equal(new Set(provider.calls.map((call) => call.topUpId)).size, 3);
    for (const customer of customers) {
      const [settled] = await topUps(customer);
      assert.equal(settled?.status, 'succeeded');
      assert.equal(await available(customer), '140');
    }
  });
});
