/**
 * Usage events through the API: each is deduplicated by id, rated by the price in force at its
 * timestamp, and debited in the batch's transaction; rejected events record nothing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ApiResponse, TestServer } from '../../../../test/harness.ts';
import { clockStart, seedCustomer, startTestServer } from '../../../../test/harness.ts';

let server: TestServer;
const day = 86_400_000;
let switchAt = 0;

async function ok(reply: Promise<ApiResponse>, status = 201): Promise<ApiResponse> {
  const response = await reply;
  assert.equal(response.status, status, response.text);
  return response;
}

const at = (ms: number) => new Date(ms).toISOString();
const ingest = async (events: unknown[]) => (await ok(server.call('POST', '/v1/events', { events }), 200)).body;
const balance = async (customer: string, asset = 'credits') =>
  (await ok(server.call('GET', `/v1/customers/${customer}/balances?asset=${asset}`), 200)).body.balances[0]?.balance ??
  '0';

before(async () => {
  server = await startTestServer();
  for (const customer of ['alpha', 'beta', 'gamma', 'tiered']) await seedCustomer(server, customer);
  await ok(server.call('POST', '/v1/assets', { code: 'usd', scale: 2 }));
  await ok(server.call('POST', '/v1/features', { key: 'chat', quantities: { tokens: { property: 'tokens' } } }));
  await ok(server.call('POST', '/v1/features', { key: 'image' }));
  await ok(server.call('POST', '/v1/features', { key: 'search', quantities: { queries: { count: true } } }));
  await ok(server.call('POST', '/v1/price-books', { key: 'standard', default: true }));
  const version = (imagePrice: string) => ({
    prices: [
      {
        feature: 'chat',
        options: [
          {
            asset: 'credits',
            components: [{ quantity: 'tokens', rates: [{ per_unit: { unit_price: '1', per: 100 } }] }],
          },
        ],
      },
      {
        feature: 'image',
        options: [
          { asset: 'credits', components: [{ quantity: 'units', rates: [{ per_unit: { unit_price: imagePrice } }] }] },
          { asset: 'usd', components: [{ quantity: 'units', rates: [{ per_unit: { unit_price: '0.04' } }] }] },
        ],
      },
      {
        feature: 'search',
        options: [
          {
            asset: 'credits',
            components: [
              {
                quantity: 'queries',
                rates: [
                  {
                    graduated: {
                      tiers: [
                        { up_to: '3', unit_price: '10' },
                        { up_to: null, unit_price: '1' },
                      ],
                    },
                  },
                ],
              },
            ],
          },
        ],
      },
    ],
  });
  await ok(server.call('POST', '/v1/price-books/standard/versions', version('5')));
  switchAt = server.clock.now() + day;
  await ok(server.call('POST', '/v1/price-books/standard/versions', { effective_from: at(switchAt), ...version('7') }));
  for (const customer of ['alpha', 'beta', 'tiered']) {
    await ok(server.call('POST', '/v1/grants', { customer, asset: 'credits', amount: '1000', category: 'paid' }));
  }
});

after(async () => {
  await server.close();
});

describe('ingestion', () => {
  it('rates and debits each event, and a repeated id returns the same charge without a second debit', async () => {
    const id = randomUUID();
    const first = await ingest([
      { id, customer: 'alpha', feature: 'chat', timestamp: at(server.clock.now()), properties: { tokens: 250 } },
    ]);
    assert.equal(first.accepted, 1);
    assert.deepEqual(
      { ...first.results[0], transaction: undefined },
      { id, status: 'accepted', asset: 'credits', cost: '3', transaction: undefined },
    );
    assert.equal(await balance('alpha'), '997', '250 tokens at 1 credit per 100, rounded up');
    const again = await ingest([
      { id, customer: 'alpha', feature: 'chat', timestamp: at(server.clock.now()), properties: { tokens: 250 } },
    ]);
    assert.equal(again.duplicates, 1);
    assert.equal(again.results[0].transaction, first.results[0].transaction);
    assert.equal(await balance('alpha'), '997');
    const twice = randomUUID();
    const inBatch = await ingest([
      { id: twice, customer: 'alpha', feature: 'chat', timestamp: at(server.clock.now()), properties: { tokens: 100 } },
      { id: twice, customer: 'alpha', feature: 'chat', timestamp: at(server.clock.now()), properties: { tokens: 100 } },
    ]);
    assert.deepEqual(
      inBatch.results.map((result: { status: string }) => result.status),
      ['accepted', 'duplicate'],
    );
    assert.equal(await balance('alpha'), '996');
  });

  it('a retry is a duplicate before it is priced: an earlier timestamp with no price in force, other properties', async () => {
    const id = randomUUID();
    const event = {
      id,
      customer: 'alpha',
      feature: 'chat',
      timestamp: at(server.clock.now()),
      properties: { tokens: 100 },
    };
    const first = await ingest([event]);
    assert.equal(first.results[0].status, 'accepted', JSON.stringify(first));
    const before = await balance('alpha');
    // No price version is in force an hour before the server's first one.
    const early = { ...event, timestamp: at(clockStart - 3_600_000) };
    const unpriced = await ingest([{ ...early, id: randomUUID() }]);
    assert.equal(unpriced.results[0].code, 'price_not_found', 'the earlier timestamp has no price of its own');
    const retries = await ingest([early, { ...event, properties: { tokens: 'many' } }]);
    assert.deepEqual(
      retries.results.map((result: { status: string; transaction?: string }) => [result.status, result.transaction]),
      [
        ['duplicate', first.results[0].transaction],
        ['duplicate', first.results[0].transaction],
      ],
    );
    assert.equal(await balance('alpha'), before, 'nothing is debited again');
    // Within one request too: the later copy answers as a duplicate of the first, however it is priced.
    const fresh = randomUUID();
    const inRequest = await ingest([
      { ...event, id: fresh },
      { ...early, id: fresh },
    ]);
    assert.deepEqual(
      inRequest.results.map((result: { status: string }) => result.status),
      ['accepted', 'duplicate'],
    );
    assert.equal(inRequest.results[1].transaction, inRequest.results[0].transaction);
  });

  it('rejects, per event and with a reason, what it cannot charge; rejected events change nothing', async () => {
    const now = server.clock.now();
    const before = await balance('alpha');
    const reply = await ingest([
      { id: randomUUID(), customer: 'nobody', feature: 'chat', timestamp: at(now) },
      { id: randomUUID(), customer: 'alpha', feature: 'nothing', timestamp: at(now) },
      { id: randomUUID(), customer: 'alpha', feature: 'chat', timestamp: at(now), properties: { tokens: -1 } },
      { id: randomUUID(), customer: 'alpha', feature: 'chat', timestamp: at(now - 36 * day) },
      { id: randomUUID(), customer: 'alpha', feature: 'chat', timestamp: at(now + 10 * 60_000) },
      { id: randomUUID(), customer: 'alpha', feature: 'chat', timestamp: at(now), properties: { tokens: 10_000_000 } },
    ]);
    assert.deepEqual(
      reply.results.map((result: { code: string }) => result.code),
      [
        'customer_not_found',
        'feature_not_found',
        'invalid_quantity',
        'event_out_of_window',
        'event_out_of_window',
        'insufficient_balance',
      ],
    );
    assert.equal(reply.rejected, 6);
    assert.equal(await balance('alpha'), before);
  });

  it('falls back to the next asset when the first does not cover the event', async () => {
    await ok(server.call('POST', '/v1/grants', { customer: 'gamma', asset: 'usd', amount: '1', category: 'paid' }));
    await ok(server.call('POST', '/v1/grants', { customer: 'gamma', asset: 'credits', amount: '5', category: 'paid' }));
    const reply = await ingest([
      { id: randomUUID(), customer: 'gamma', feature: 'image', timestamp: at(server.clock.now()) },
      { id: randomUUID(), customer: 'gamma', feature: 'image', timestamp: at(server.clock.now()) },
    ]);
    assert.deepEqual(
      reply.results.map((result: { asset: string; cost: string }) => [result.asset, result.cost]),
      [
        ['credits', '5'],
        ['usd', '0.04'],
      ],
    );
    assert.equal(await balance('gamma', 'usd'), '0.96');
  });

  it('prices each event by the version in force at its own timestamp', async () => {
    server.clock.set(switchAt + 1000);
    const reply = await ingest([
      { id: randomUUID(), customer: 'beta', feature: 'image', timestamp: at(switchAt - 1) },
      { id: randomUUID(), customer: 'beta', feature: 'image', timestamp: at(switchAt) },
    ]);
    assert.deepEqual(
      reply.results.map((result: { cost: string }) => result.cost),
      ['5', '7'],
    );
    const listed = await ok(server.call('GET', '/v1/events?customer=beta'), 200);
    assert.deepEqual(
      listed.body.data.map((event: { price_version: number }) => event.price_version),
      [2, 1],
    );
  });

  it('graduated tiers count the customer’s usage of the period across events and batches', async () => {
    const event = () => ({
      id: randomUUID(),
      customer: 'tiered',
      feature: 'search',
      timestamp: at(server.clock.now()),
    });
    const first = await ingest([event(), event()]);
    const second = await ingest([event(), event(), event()]);
    assert.deepEqual(
      [...first.results, ...second.results].map((result: { cost: string }) => result.cost),
      ['10', '10', '10', '1', '1'],
    );
    assert.equal(await balance('tiered'), '968');
  });

  it('concurrent batches with overlapping ids debit each event once', async () => {
    const ids = Array.from({ length: 40 }, () => randomUUID());
    const batch = (offset: number) =>
      ids.slice(offset, offset + 30).map((id) => ({
        id,
        customer: 'beta',
        feature: 'chat',
        timestamp: at(server.clock.now()),
        properties: { tokens: 100 },
      }));
    const before = Number(await balance('beta'));
    const replies = await Promise.all(
      [0, 5, 10, 0, 10].map((offset) => server.call('POST', '/v1/events', { events: batch(offset) })),
    );
    for (const reply of replies) assert.equal(reply.status, 200, reply.text);
    const accepted = replies
      .flatMap((reply) => reply.body.results)
      .filter((result: { status: string }) => result.status === 'accepted');
    assert.equal(accepted.length, 40, 'each distinct event is accepted exactly once');
    assert.equal(Number(await balance('beta')), before - 40);
    const transactions = new Set(
      replies.flatMap((reply) => reply.body.results.map((result: { transaction: string }) => result.transaction)),
    );
    assert.equal(transactions.size, 40, 'duplicates point at the one transaction of their event');
  });
});

describe('authorize by feature and estimated quantities', () => {
  it('checks and holds the priced cost, in the first asset the wallets cover, then captures the real usage', async () => {
    await seedCustomer(server, 'delta');
    await ok(
      server.call('POST', '/v1/grants', { customer: 'delta', asset: 'credits', amount: '50', category: 'paid' }),
    );
    const check = await ok(
      server.call('POST', '/v1/debits/check', { customer: 'delta', feature: 'chat', quantities: { tokens: 4096 } }),
      200,
    );
    assert.deepEqual(
      [check.body.allowed, check.body.asset, check.body.amount],
      [true, 'credits', '41'],
      '4,096 tokens at 1 per 100, rounded up',
    );
    const hold = await ok(
      server.call('POST', '/v1/holds', { customer: 'delta', feature: 'chat', quantities: { tokens: 4096 } }),
    );
    assert.deepEqual([hold.body.hold.asset, hold.body.hold.amount], ['credits', '41']);
    const captured = await ok(server.call('POST', `/v1/holds/${hold.body.hold.id}/capture`, { amount: '12' }), 200);
    assert.equal(captured.body.balance.balance, '38');
    const tooMuch = await server.call('POST', '/v1/holds', {
      customer: 'delta',
      feature: 'chat',
      quantities: { tokens: 100_000 },
    });
    assert.equal(tooMuch.status, 402, 'no option covers it: refused in the preferred asset');
    assert.equal(tooMuch.body.code, 'insufficient_balance');
  });

  it('captures with the event carrying the real usage: priced, recorded, and never charged twice', async () => {
    await seedCustomer(server, 'zeta');
    await ok(
      server.call('POST', '/v1/grants', { customer: 'zeta', asset: 'credits', amount: '100', category: 'paid' }),
    );
    const hold = await ok(
      server.call('POST', '/v1/holds', { customer: 'zeta', feature: 'chat', quantities: { tokens: 4096 } }),
    );
    const id = randomUUID();
    const captured = await ok(
      server.call('POST', `/v1/holds/${hold.body.hold.id}/capture`, { event: { id, properties: { tokens: 1234 } } }),
      200,
    );
    assert.equal(
      captured.body.hold.captured,
      '13',
      '1,234 tokens at 1 per 100, rounded up; the rest of the 41 held is released',
    );
    assert.equal(captured.body.balance.balance, '87');
    assert.equal(captured.body.balance.held, '0');
    const listed = await ok(server.call('GET', '/v1/events?customer=zeta'), 200);
    assert.deepEqual(
      listed.body.data.map((event: { id: string; cost: string }) => [event.id, event.cost]),
      [[id, '13']],
    );
    const again = await ok(
      server.call('POST', '/v1/holds', { customer: 'zeta', feature: 'chat', quantities: { tokens: 100 } }),
    );
    const twice = await server.call('POST', `/v1/holds/${again.body.hold.id}/capture`, {
      event: { id, properties: { tokens: 1234 } },
    });
    assert.equal(twice.status, 409);
    assert.equal(twice.body.code, 'event_exists');
    const repeated = await ingest([
      { id, customer: 'zeta', feature: 'chat', timestamp: at(server.clock.now()), properties: { tokens: 1234 } },
    ]);
    assert.equal(repeated.results[0].status, 'duplicate', 'ingesting the captured event again charges nothing');
    assert.equal(await balance('zeta'), '87');
  });

  it('names what is wrong with an estimate', async () => {
    const negative = await server.call('POST', '/v1/holds', {
      customer: 'delta',
      feature: 'chat',
      quantities: { tokens: -1 },
    });
    assert.equal(negative.status, 422);
    assert.equal(negative.body.field, 'quantities.tokens');
    const both = await server.call('POST', '/v1/holds', {
      customer: 'delta',
      feature: 'chat',
      amount: '1',
      quantities: { tokens: 1 },
    });
    assert.equal(both.status, 400);
    assert.equal(both.body.errors[0].field, 'amount');
  });
});

describe('simulation', () => {
  const chatPrice = (unitPrice: string) => [
    {
      feature: 'chat',
      options: [
        {
          asset: 'credits',
          components: [{ quantity: 'tokens', rates: [{ per_unit: { unit_price: unitPrice, per: 100 } }] }],
        },
      ],
    },
  ];
  const window = () => ({ from: at(server.clock.now() - 30 * day), to: at(server.clock.now() + 60_000) });

  it('replaying events through the live prices charges exactly what was charged', async () => {
    const reply = await ok(
      server.call('POST', '/v1/simulations', { ...window(), feature: 'chat', prices: chatPrice('1') }),
      200,
    );
    assert.ok(reply.body.events > 40, `replayed ${reply.body.events} events`);
    for (const line of reply.body.lines)
      assert.equal(line.simulated, line.charged, `${line.customer}: ${line.charged} vs ${line.simulated}`);
    assert.equal(reply.body.unpriced, 0);
  });

  it('a draft price shows what each customer would have paid, and changes nothing', async () => {
    const before = await balance('beta');
    const reply = await ok(
      server.call('POST', '/v1/simulations', {
        ...window(),
        customer: 'beta',
        feature: 'chat',
        prices: chatPrice('2'),
      }),
      200,
    );
    const [line] = reply.body.lines;
    assert.equal(line.customer, 'beta');
    assert.equal(line.simulated, String(2 * Number(line.charged)), '100-token events: every charge doubles');
    assert.equal(await balance('beta'), before);
  });

  it('graduated tiers replay the period from its start, even when the window starts later', async () => {
    const search = [
      {
        feature: 'search',
        options: [
          {
            asset: 'credits',
            components: [
              {
                quantity: 'queries',
                rates: [
                  {
                    graduated: {
                      tiers: [
                        { up_to: '3', unit_price: '10' },
                        { up_to: null, unit_price: '1' },
                      ],
                    },
                  },
                ],
              },
            ],
          },
        ],
      },
    ];
    const reply = await ok(
      server.call('POST', '/v1/simulations', { ...window(), customer: 'tiered', prices: search }),
      200,
    );
    assert.deepEqual(
      reply.body.lines.map((line: { charged: string; simulated: string }) => [line.charged, line.simulated]),
      [['32', '32']],
    );
  });
});

describe('usage', () => {
  it('sums quantities and cost by feature, time bucket and a dimension', async () => {
    await seedCustomer(server, 'echo');
    await ok(
      server.call('POST', '/v1/grants', { customer: 'echo', asset: 'credits', amount: '1000', category: 'paid' }),
    );
    const hour = 3_600_000;
    // Whole hours in the past, so every event is inside the accepted window.
    const base = Math.floor((server.clock.now() - 3 * hour) / hour) * hour;
    const event = (offset: number, model: string, tokens: number) => ({
      id: randomUUID(),
      customer: 'echo',
      feature: 'chat',
      timestamp: at(base + offset),
      properties: { model, tokens },
    });
    const reply = await ingest([event(0, 'a', 150), event(10 * 60_000, 'b', 250), event(hour, 'a', 99)]);
    assert.equal(reply.accepted, 3, JSON.stringify(reply.results));
    const range = `from=${encodeURIComponent(at(base - hour))}&to=${encodeURIComponent(at(base + 2 * hour))}`;
    const byHour = await ok(server.call('GET', `/v1/customers/echo/usage?${range}&granularity=hour`), 200);
    assert.deepEqual(
      byHour.body.buckets.map(
        (bucket: { start: string; events: number; quantities: { tokens: string }; cost: { credits: string } }) => [
          bucket.start,
          bucket.events,
          bucket.quantities.tokens,
          bucket.cost.credits,
        ],
      ),
      [
        [at(base), 2, '400', '5'],
        [at(base + hour), 1, '99', '1'],
      ],
      '150 tokens cost 2, 250 cost 3, 99 cost 1: each event rounds on its own',
    );
    // A range that is not whole hours is summed from the events themselves: the rollups must agree.
    const unaligned = `from=${encodeURIComponent(at(base - hour + 1))}&to=${encodeURIComponent(at(base + 2 * hour))}`;
    const fromEvents = await ok(server.call('GET', `/v1/customers/echo/usage?${unaligned}&granularity=hour`), 200);
    assert.deepEqual(fromEvents.body.buckets, byHour.body.buckets);
    const byModel = await ok(
      server.call('GET', `/v1/customers/echo/usage?${range}&granularity=period&group_by=model`),
      200,
    );
    assert.deepEqual(
      byModel.body.buckets
        .map((bucket: { group: string; events: number; quantities: { tokens: string } }) => [
          bucket.group,
          bucket.events,
          bucket.quantities.tokens,
        ])
        .sort(),
      [
        ['a', 2, '249'],
        ['b', 1, '250'],
      ],
    );
  });
});
