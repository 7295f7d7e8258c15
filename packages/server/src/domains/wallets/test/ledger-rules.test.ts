/**
 * Ledger rules through the API, one scenario each: consumption order (default and custom),
 * feature restrictions, future grants, holds across grant expiry, overdraft and debt, voids,
 * reversals onto expired grants, adjustments, the audit log, and hold expiry at TTL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiResponse, TestServer } from '../../../../test/harness.ts';
import { seedCustomer, startTestServer } from '../../../../test/harness.ts';

const hour = 3_600_000;
const day = 24 * hour;
let server: TestServer;
let counter = 0;

before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

async function customer(): Promise<string> {
  counter += 1;
  const id = `rules-${counter}`;
  await seedCustomer(server, id);
  return id;
}

const at = (ms: number) => new Date(server.clock.now() + ms).toISOString();

async function grant(c: string, amount: number, extra: Record<string, unknown> = {}): Promise<ApiResponse> {
  const reply = await server.call('POST', '/v1/grants', {
    customer: c,
    asset: 'credits',
    amount: String(amount),
    category: 'paid',
    ...extra,
  });
  assert.equal(reply.status, 201, reply.text);
  server.clock.advance(1); // distinct creation times
  return reply;
}

async function debit(c: string, amount: number, extra: Record<string, unknown> = {}): Promise<ApiResponse> {
  return server.call('POST', '/v1/debits', { customer: c, asset: 'credits', amount: String(amount), ...extra });
}

async function balance(c: string, feature?: string) {
  const reply = await server.call(
    'GET',
    `/v1/customers/${c}/balances?asset=credits${feature === undefined ? '' : `&feature=${feature}`}`,
  );
  assert.equal(reply.status, 200, reply.text);
  return reply.body.balances[0];
}

async function transactions(c: string, kind: string): Promise<{ id: string; amount: string; grant: string | null }[]> {
  const reply = await server.call('GET', `/v1/transactions?customer=${c}&kind=${kind}&limit=200`);
  assert.equal(reply.status, 200, reply.text);
  return reply.body.data;
}

const total = (rows: { amount: string }[]) => rows.reduce((sum, row) => sum + Number(row.amount), 0);

describe('ledger rules', () => {
  it('default consumption order: priority, soonest expiry, never-expiring last, oldest first', async () => {
    const c = await customer();
    const late = (await grant(c, 10, { priority: 1 })).body.id;
    const neverOld = (await grant(c, 10)).body.id;
    const expires5 = (await grant(c, 10, { expires_at: at(5 * day) })).body.id;
    const neverNew = (await grant(c, 10)).body.id;
    const expires2 = (await grant(c, 10, { expires_at: at(2 * day) })).body.id;
    const reply = await debit(c, 45);
    assert.equal(reply.status, 201, reply.text);
    assert.deepEqual(reply.body.transaction.draws, [
      { grant: expires2, amount: '10' },
      { grant: expires5, amount: '10' },
      { grant: neverOld, amount: '10' },
      { grant: neverNew, amount: '10' },
      { grant: late, amount: '5' },
    ]);
    assert.equal((await balance(c)).balance, '5');
  });

  it('a custom consumption order set by updateWalletPolicy', async () => {
    const c = await customer();
    const paid = (await grant(c, 10, { expires_at: at(1 * day) })).body.id;
    const promo = (await grant(c, 10, { category: 'promotional', priority: 5 })).body.id;
    const policy = await server.call('POST', `/v1/customers/${c}/wallets/credits/policy`, {
      consumption_order: ['promotional_first', 'created_at'],
    });
    assert.equal(policy.status, 200, policy.text);
    assert.deepEqual(policy.body.consumption_order, ['promotional_first', 'created_at']);
    const reply = await debit(c, 15);
    assert.equal(reply.status, 201, reply.text);
    assert.deepEqual(reply.body.transaction.draws, [
      { grant: promo, amount: '10' },
      { grant: paid, amount: '5' },
    ]);
  });

  it('promotional credit first, then plan credit: promotional_first means category promotional only', async () => {
    const c = await customer();
    const plan = (await grant(c, 10, { category: 'plan' })).body.id;
    const trial = (await grant(c, 10, { category: 'trial' })).body.id;
    const promo = (await grant(c, 10, { category: 'promotional' })).body.id;
    const policy = await server.call('POST', `/v1/customers/${c}/wallets/credits/policy`, {
      consumption_order: ['promotional_first', 'plan_first', 'created_at'],
    });
    assert.equal(policy.status, 200, policy.text);
    const reply = await debit(c, 25);
    assert.equal(reply.status, 201, reply.text);
    assert.deepEqual(reply.body.transaction.draws, [
      { grant: promo, amount: '10' },
      { grant: plan, amount: '10' },
      { grant: trial, amount: '5' },
    ]);
    const unknown = await server.call('POST', `/v1/customers/${c}/wallets/credits/policy`, {
      consumption_order: ['free_first'],
    });
    assert.equal(unknown.status, 400, unknown.text);
    assert.equal(unknown.body.errors[0].field, 'consumption_order[0]');
  });

  it('feature-restricted grants only pay for their features', async () => {
    const c = await customer();
    const chat = (await grant(c, 10, { features: ['chat'] })).body.id;
    assert.equal((await debit(c, 5)).body.code, 'insufficient_balance');
    assert.equal((await debit(c, 5, { feature: 'image' })).body.code, 'insufficient_balance');
    assert.equal((await balance(c)).available, '0');
    assert.equal((await balance(c, 'chat')).available, '10');
    assert.equal((await balance(c)).balance, '10');
    const ok = await debit(c, 4, { feature: 'chat' });
    assert.equal(ok.status, 201, ok.text);
    assert.deepEqual(ok.body.transaction.draws, [{ grant: chat, amount: '4' }]);
    assert.equal((await balance(c, 'chat')).available, '6');
  });

  it('a grant with a future effective_at does not count until effective', async () => {
    const c = await customer();
    await grant(c, 20, { effective_at: at(day) });
    let view = await balance(c);
    assert.equal(view.balance, '0');
    assert.equal(view.available, '0');
    assert.equal(view.scheduled, '20');
    assert.equal((await debit(c, 1)).body.code, 'insufficient_balance');
    server.clock.advance(day);
    view = await balance(c);
    assert.equal(view.balance, '20');
    assert.equal(view.scheduled, '0');
    assert.equal((await debit(c, 20)).status, 201);
  });

  it('a hold keeps reserved credit capturable after its grant expires; what it releases is booked as expired', async () => {
    const c = await customer();
    const g = (await grant(c, 100, { expires_at: at(hour) })).body.id;
    const hold = await server.call('POST', '/v1/holds', {
      customer: c,
      asset: 'credits',
      amount: '40',
      ttl_seconds: 7200,
    });
    assert.equal(hold.status, 201, hold.text);
    const holdId = hold.body.hold.id;
    server.clock.advance(hour + 1000);
    let view = await balance(c);
    assert.equal(view.balance, '40', 'only the reserved part still counts');
    assert.equal(view.held, '40');
    assert.equal(view.available, '0');
    const capture = await server.call('POST', `/v1/holds/${holdId}/capture`, { amount: '25' });
    assert.equal(capture.status, 200, capture.text);
    view = await balance(c);
    assert.equal(view.balance, '0');
    assert.equal(view.held, '0');
    const expired = await transactions(c, 'expire');
    assert.ok(expired.every((row) => row.grant === g));
    assert.equal(total(expired), 75, `60 unreserved at expiry + 15 released after it: ${JSON.stringify(expired)}`);
    const grantView = await server.call('GET', `/v1/grants/${g}`);
    assert.equal(grantView.body.remaining, '0');
    assert.equal(grantView.body.status, 'expired');
  });

  it('overdraft: debt within the limit, shown in balances, repaid first by the next grant; limit below debt refused', async () => {
    const c = await customer();
    const policy = await server.call('POST', `/v1/customers/${c}/wallets/credits/policy`, { overdraft_limit: '30' });
    assert.equal(policy.status, 200, policy.text);
    const first = await debit(c, 20);
    assert.equal(first.status, 201, first.text);
    assert.deepEqual(first.body.transaction.draws, [{ grant: null, amount: '20' }]);
    let view = await balance(c);
    assert.deepEqual([view.balance, view.debt, view.available], ['-20', '20', '10']);
    assert.equal((await debit(c, 11)).body.code, 'insufficient_balance');
    const topUp = await grant(c, 50);
    assert.equal(topUp.body.debt_repaid, '20');
    assert.equal(topUp.body.remaining, '30');
    view = await balance(c);
    assert.deepEqual([view.balance, view.debt, view.available], ['30', '0', '60']);
    assert.equal((await debit(c, 45)).status, 201);
    view = await balance(c);
    assert.deepEqual([view.balance, view.debt], ['-15', '15']);
    const lower = await server.call('POST', `/v1/customers/${c}/wallets/credits/policy`, { overdraft_limit: '10' });
    assert.equal(lower.status, 422, lower.text);
    assert.equal(lower.body.code, 'overdraft_limit_below_debt');
    assert.equal((await balance(c)).overdraft_limit, '30');
  });

  it('voiding a grant moves its remaining out; later debits cannot use it', async () => {
    const c = await customer();
    const g = (await grant(c, 50)).body.id;
    assert.equal((await debit(c, 10)).status, 201);
    const voided = await server.call('POST', `/v1/grants/${g}/void`, { reason: 'fraud' });
    assert.equal(voided.status, 200, voided.text);
    assert.equal(voided.body.status, 'voided');
    assert.equal((await debit(c, 1)).body.code, 'insufficient_balance');
    assert.equal((await balance(c)).balance, '0');
    assert.equal(total(await transactions(c, 'void')), 40);
  });

  it('reversing a debit whose grant expired since returns credit that is immediately expired', async () => {
    const c = await customer();
    await grant(c, 10, { expires_at: at(hour) });
    const spent = await debit(c, 6);
    assert.equal(spent.status, 201);
    server.clock.advance(2 * hour);
    const reversal = await server.call('POST', `/v1/transactions/${spent.body.transaction.id}/reverse`, {
      reason: 'refund',
    });
    assert.equal(reversal.status, 201, reversal.text);
    const view = await balance(c);
    assert.equal(view.balance, '0');
    assert.equal(view.available, '0');
    assert.equal(total(await transactions(c, 'expire')), 10, '4 at expiry + 6 returned after it');
  });

  it('a reversal beyond what is left names the amount asked and the amount left to reverse', async () => {
    counter += 1;
    const c = `rules-${counter}`;
    await seedCustomer(server, c, { asset: 'points', scale: 2 });
    const call = (path: string, body: Record<string, unknown>) => server.call('POST', path, body);
    assert.equal(
      (await call('/v1/grants', { customer: c, asset: 'points', amount: '50.5', category: 'paid' })).status,
      201,
    );
    const spent = await call('/v1/debits', { customer: c, asset: 'points', amount: '20.25' });
    assert.equal(spent.status, 201, spent.text);
    const reverse = (body: Record<string, unknown>) =>
      call(`/v1/transactions/${spent.body.transaction.id}/reverse`, { reason: 'refund', ...body });
    assert.equal((await reverse({ amount: '4' })).status, 201);
    const tooMuch = await reverse({ amount: '16.5' });
    assert.equal(tooMuch.status, 409, tooMuch.text);
    assert.deepEqual(
      [tooMuch.body.code, tooMuch.body.requested, tooMuch.body.remaining],
      ['reversal_exceeds_remaining', '16.5', '16.25'],
    );
    assert.equal((await reverse({})).status, 201, 'the rest: 16.25');
    // A second full reversal asks for the whole transaction again; nothing is left.
    const again = await reverse({});
    assert.equal(again.status, 409, again.text);
    assert.deepEqual([again.body.requested, again.body.remaining], ['20.25', '0']);
    assert.match(again.body.detail, /already fully reversed/);
    const partial = await reverse({ amount: '1' });
    assert.deepEqual([partial.body.requested, partial.body.remaining], ['1', '0']);
  });

  it('adjustments need a reason and move the balance both ways', async () => {
    const c = await customer();
    const up = await server.call('POST', '/v1/adjustments', {
      customer: c,
      asset: 'credits',
      amount: '25',
      reason: 'goodwill',
    });
    assert.equal(up.status, 201, up.text);
    assert.equal(up.body.transaction.reason, 'goodwill');
    assert.equal((await balance(c)).balance, '25');
    const down = await server.call('POST', '/v1/adjustments', {
      customer: c,
      asset: 'credits',
      amount: '-10',
      reason: 'correction',
    });
    assert.equal(down.status, 201, down.text);
    assert.equal((await balance(c)).balance, '15');
    const missing = await server.call('POST', '/v1/adjustments', { customer: c, asset: 'credits', amount: '5' });
    assert.ok(missing.status === 400 || missing.status === 422, missing.text);
    assert.equal((await balance(c)).balance, '15');
    const tooMuch = await server.call('POST', '/v1/adjustments', {
      customer: c,
      asset: 'credits',
      amount: '-16',
      reason: 'too much',
    });
    assert.equal(tooMuch.body.code, 'insufficient_balance');
  });

  it('every transaction says whether it added to the balance or took from it: direction', async () => {
    const c = await customer();
    const post = async (path: string, body: Record<string, unknown>) => {
      const reply = await server.call('POST', path, { customer: c, asset: 'credits', ...body });
      assert.equal(reply.status, 201, reply.text);
      return reply.body;
    };
    await grant(c, 100);
    const up = await post('/v1/adjustments', { amount: '25', reason: 'goodwill' });
    const down = await post('/v1/adjustments', { amount: '-50', reason: 'correction' });
    assert.deepEqual([up.transaction.direction, up.transaction.amount], ['credit', '25']);
    assert.deepEqual([down.transaction.direction, down.transaction.amount], ['debit', '50']);
    const spent = await post('/v1/debits', { amount: '10' });
    assert.equal(spent.transaction.direction, 'debit');
    const reversal = await server.call('POST', `/v1/transactions/${spent.transaction.id}/reverse`, {
      reason: 'refund',
    });
    assert.equal(reversal.body.transaction.direction, 'credit', reversal.text);
    await post('/v1/holds', { amount: '5' });
    const listed = await server.call('GET', `/v1/transactions?customer=${c}&limit=200`);
    assert.equal(listed.status, 200, listed.text);
    const directions = new Map<string, Set<string>>();
    for (const transaction of listed.body.data as { kind: string; direction: string }[])
      directions.set(transaction.kind, new Set([...(directions.get(transaction.kind) ?? []), transaction.direction]));
    assert.deepEqual(Object.fromEntries([...directions].map(([kind, set]) => [kind, [...set].sort()])), {
      grant: ['credit'],
      adjust: ['credit', 'debit'],
      debit: ['debit'],
      reverse: ['credit'],
      hold: ['none'],
    });
    const fetched = await server.call('GET', `/v1/transactions/${down.transaction.id}`);
    assert.equal(fetched.body.direction, 'debit');
  });

  it('a cost basis in a currency that is not an asset is refused at cost_basis.currency, saying it must be one', async () => {
    const c = await customer();
    const refused = await server.call('POST', '/v1/grants', {
      customer: c,
      asset: 'credits',
      amount: '10',
      category: 'paid',
      cost_basis: { currency: 'eur', total: '9' },
    });
    assert.equal(refused.status, 400, refused.text);
    assert.match(refused.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(refused.body.errors[0].field, 'cost_basis.currency');
    assert.match(refused.body.detail, /^cost_basis\.currency: must be the code of an asset of this environment/);
    assert.match(refused.body.detail, /"eur"/);
    assert.deepEqual(await transactions(c, 'grant'), [], 'nothing was granted');
    const rule = await server.call('POST', `/v1/customers/${c}/wallets/credits/auto-top-up`, {
      enabled: true,
      threshold: '1',
      amount: '5',
      cost: { currency: 'eur', total: '5' },
    });
    assert.equal(rule.status, 400, rule.text);
    assert.equal(rule.body.errors[0].field, 'cost.currency');
    assert.match(rule.body.detail, /^cost\.currency: must be the code of an asset of this environment/);
  });

  it('the audit log has one row per privileged change and verifies', async () => {
    const count = async () => {
      let rows = 0;
      let cursor: string | null = null;
      do {
        const page: ApiResponse = await server.call(
          'GET',
          `/v1/audit-events?limit=200${cursor === null ? '' : `&cursor=${cursor}`}`,
        );
        assert.equal(page.status, 200, page.text);
        rows += page.body.data.length;
        cursor = page.body.next_cursor;
      } while (cursor !== null);
      return rows;
    };
    const c = await customer();
    let expected = await count();
    const g = (await grant(c, 100)).body.id;
    expected += 1;
    assert.equal(await count(), expected, 'grant');
    const spent = await debit(c, 10);
    assert.equal(await count(), expected, 'a debit is not a privileged change');
    await server.call('POST', '/v1/adjustments', { customer: c, asset: 'credits', amount: '5', reason: 'audit' });
    expected += 1;
    assert.equal(await count(), expected, 'adjustment');
    await server.call('POST', `/v1/transactions/${spent.body.transaction.id}/reverse`, { reason: 'audit' });
    expected += 1;
    assert.equal(await count(), expected, 'reversal');
    await server.call('POST', `/v1/grants/${g}/void`, { reason: 'audit' });
    expected += 1;
    assert.equal(await count(), expected, 'void');
    await server.call('POST', `/v1/customers/${c}/wallets/credits/policy`, { overdraft_limit: '5', reason: 'audit' });
    expected += 1;
    assert.equal(await count(), expected, 'policy');
    const refused = await server.call('POST', `/v1/grants/${g}/void`, { reason: 'audit again' });
    assert.equal(refused.body.code, 'grant_voided');
    assert.equal(await count(), expected, 'a refused change writes no audit row');
    const verify = await server.call('GET', '/v1/audit-events/verify');
    assert.equal(verify.status, 200, verify.text);
    assert.equal(verify.body.valid, true);
    assert.equal(verify.body.events_checked, expected);
  });

  it('a hold expires at its TTL: the credit is available again and the hold shows expired', async () => {
    const c = await customer();
    await grant(c, 100);
    const hold = await server.call('POST', '/v1/holds', {
      customer: c,
      asset: 'credits',
      amount: '30',
      ttl_seconds: 60,
    });
    assert.equal(hold.status, 201, hold.text);
    const holdId = hold.body.hold.id;
    assert.equal((await balance(c)).available, '70');
    server.clock.advance(60_000);
    const shown = await server.call('GET', `/v1/holds/${holdId}`);
    assert.equal(shown.status, 200, shown.text);
    assert.equal(shown.body.status, 'expired');
    const view = await balance(c);
    assert.deepEqual([view.balance, view.held, view.available], ['100', '0', '100'], 'expiry is decided at read time');
    assert.equal((await server.call('POST', `/v1/holds/${holdId}/capture`, {})).body.code, 'hold_not_open');
    assert.equal((await debit(c, 100)).status, 201);
  });

  it('the ledger filtered by grant lists the transactions that touched that grant, and only those', async () => {
    const c = await customer();
    const first = await grant(c, 10, { priority: 0 });
    const second = await grant(c, 100, { priority: 1 });
    const small = await server.call('POST', '/v1/debits', { customer: c, asset: 'credits', amount: '4' });
    const spanning = await server.call('POST', '/v1/debits', { customer: c, asset: 'credits', amount: '20' });
    const other = await customer();
    await grant(other, 5);
    const byFirst = await server.call('GET', `/v1/transactions?grant=${first.body.id}`);
    const ids = (reply: ApiResponse) => reply.body.data.map((t: { id: string }) => t.id).sort();
    assert.deepEqual(
      ids(byFirst),
      [first.body.transaction_id, small.body.transaction.id, spanning.body.transaction.id].sort(),
    );
    const bySecond = await server.call('GET', `/v1/transactions?grant=${second.body.id}`);
    assert.deepEqual(ids(bySecond), [second.body.transaction_id, spanning.body.transaction.id].sort());
    const mismatched = await server.call('GET', `/v1/transactions?grant=${first.body.id}&customer=${other}`);
    assert.deepEqual(mismatched.body.data, []);
  });
});
