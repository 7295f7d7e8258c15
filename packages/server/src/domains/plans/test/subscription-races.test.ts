/**
 * A subscription command built on a plan the subscription no longer follows is an expected race:
 * the plan changes between the moment the command loads the subscription's plans and the moment
 * its batch decides on the locked row, and that one command is refused `subscription_changed`
 * while the rest of its batch commits; retried, it is built again and succeeds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiResponse, TestServer } from '../../../../test/harness.ts';
import { seedCustomer, startTestServer } from '../../../../test/harness.ts';
import { batchTotals, holdWriter, untilWaiting } from '../../../platform/commit/test/writer-gate.ts';
import type { SqlSession } from '../../../platform/storage/database.ts';

let server: TestServer;

async function ok(reply: Promise<ApiResponse>, status = 200): Promise<ApiResponse> {
  const response = await reply;
  assert.equal(response.status, status, response.text);
  return response;
}

function allowancePlan(id: string, amount: string) {
  return { id, version: { period: { interval: 'month' }, allowances: [{ asset: 'credits', amount }] } };
}

before(async () => {
  // One writer on PostgreSQL too, so the commands queued behind the gate form one batch after it.
  server = await startTestServer({ postgresWritersMax: 1 });
  await ok(server.call('POST', '/v1/assets', { code: 'credits', scale: 0 }), 201);
  await ok(server.call('POST', '/v1/plans', allowancePlan('pro', '100')), 201);
  await ok(server.call('POST', '/v1/plans', allowancePlan('max', '500')), 201);
  await seedCustomer(server, 'subscriber');
  await seedCustomer(server, 'payer');
  await ok(
    server.call('POST', '/v1/grants', { customer: 'payer', asset: 'credits', amount: '10', category: 'paid' }),
    201,
  );
});

after(async () => {
  await server.close();
});

describe('races: the plan changes after a subscription command was built', () => {
  it('refuses that command subscription_changed, commits the rest of its batch, and a retry succeeds', async () => {
    const created = await ok(server.call('POST', '/v1/subscriptions', { customer: 'subscriber', plan: 'pro' }), 201);
    const subscriptionId: string = created.body.id;
    const { committer } = server.server.service;
    let gateSession: SqlSession | undefined;
    const gate = holdWriter(committer, async ({ session }) => {
      gateSession = session;
    });
    await gate.holding;
    const before = await batchTotals(server.url);
    // Built now, on `pro@1`: the cancel loads the plans of the subscription as it is before the gate commits.
    const replies = [
      server.call('POST', `/v1/subscriptions/${subscriptionId}/cancel`, { timing: 'period_end' }),
      server.call('POST', '/v1/debits', { customer: 'payer', asset: 'credits', amount: '1' }),
    ];
    await untilWaiting(committer, replies.length);
    // Another writer moves the subscription to `max@1` and commits before the cancel's batch decides.
    if (gateSession === undefined) throw new Error('the gate runs in the writer');
    const moved = await gateSession.run("UPDATE subscriptions SET plan_id = 'max', plan_version = 1 WHERE id = ?", [
      subscriptionId,
    ]);
    assert.equal(moved, 1);
    gate.open();
    await gate.done;
    const [canceled, debited] = await Promise.all(replies);
    assert.equal(canceled?.status, 409, canceled?.text);
    assert.equal(canceled?.body.code, 'subscription_changed');
    assert.equal(canceled?.body.retryable, true);
    assert.equal(debited?.status, 201, debited?.text);
    const totals = await batchTotals(server.url);
    // The gate's batch and one batch of both commands: a failed batch would have been run again command by command.
    assert.deepEqual(
      { batches: totals.batches - before.batches, commands: totals.commands - before.commands },
      { batches: 2, commands: 1 + replies.length },
    );
    const unchanged = await ok(server.call('GET', `/v1/subscriptions/${subscriptionId}`));
    assert.equal(unchanged.body.plan, 'max');
    assert.equal(unchanged.body.cancel_at_period_end, false);
    // The retry is built on the plan the subscription follows now.
    const retried = await ok(
      server.call('POST', `/v1/subscriptions/${subscriptionId}/cancel`, { timing: 'period_end' }),
    );
    assert.equal(retried.body.plan, 'max');
    assert.equal(retried.body.cancel_at_period_end, true);
  });
});
