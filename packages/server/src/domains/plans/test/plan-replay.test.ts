/**
 * simulatePricing with a plan: three months of one customer's recorded charges replayed against a
 * capped-rollover plan, to the unit; a draft version replayed unstored, equal to its replay once
 * published; and the bad inputs (unknown plan or version, plan without customer, a bad draft).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ApiResponse, TestServer } from '../../../../test/harness.ts';
import { clockStart, seedCustomer, startTestServer } from '../../../../test/harness.ts';

let server: TestServer;
const iso = (ms: number) => new Date(ms).toISOString();
const from = iso(clockStart);
const to = iso(Date.UTC(2026, 3, 1));
const workPrice = [
  {
    feature: 'work',
    options: [{ asset: 'credits', components: [{ quantity: 'units', rates: [{ per_unit: { unit_price: '1' } }] }] }],
  },
];

async function ok(reply: Promise<ApiResponse>, status = 201): Promise<ApiResponse> {
  const response = await reply;
  assert.equal(response.status, status, response.text);
  return response;
}

before(async () => {
  server = await startTestServer();
  await seedCustomer(server, 'replayed');
  await seedCustomer(server, 'bystander');
  await ok(server.call('POST', '/v1/features', { key: 'work', quantities: { units: { property: 'units' } } }));
  await ok(server.call('POST', '/v1/price-books', { key: 'standard', default: true }));
  await ok(server.call('POST', '/v1/price-books/standard/versions', { prices: workPrice }));
  await ok(
    server.call('POST', '/v1/plans', {
      id: 'capped',
      name: 'Capped',
      version: {
        period: { interval: 'month' },
        allowances: [
          {
            asset: 'credits',
            amount: '1000',
            rollover: { kind: 'amount', amount_max: '300', expires_after: { interval: 'month' } },
          },
        ],
      },
    }),
  );
  // Version 2 grants more; the replay of version 1 must not see it.
  await ok(
    server.call('POST', '/v1/plans/capped/versions', {
      period: { interval: 'month' },
      allowances: [{ asset: 'credits', amount: '5000' }],
    }),
  );
  for (const customer of ['replayed', 'bystander'])
    await ok(server.call('POST', '/v1/grants', { customer, asset: 'credits', amount: '100000', category: 'paid' }));
  // Less than the allowance in January, more in February and March; the bystander's charges stay out.
  const history: [string, string, number][] = [
    ['replayed', '2026-01-10T00:00:00Z', 600],
    ['bystander', '2026-01-11T00:00:00Z', 999],
    ['replayed', '2026-02-03T00:00:00Z', 700],
    ['replayed', '2026-02-20T00:00:00Z', 500],
    ['replayed', '2026-03-15T00:00:00Z', 1500],
    ['replayed', '2026-04-02T00:00:00Z', 50],
  ];
  for (const [customer, timestamp, units] of history) {
    server.clock.set(Date.parse(timestamp));
    const reply = await ok(
      server.call('POST', '/v1/events', {
        events: [{ id: randomUUID(), customer, feature: 'work', timestamp, properties: { units } }],
      }),
      200,
    );
    assert.equal(reply.body.results[0].cost, String(units), reply.text);
  }
});

after(async () => {
  await server?.close();
});

describe('simulatePricing with a plan', () => {
  it('replays three months against 1,000 a month with up to 300 rolled over for a month', async () => {
    const reply = await ok(
      server.call('POST', '/v1/simulations', {
        from,
        to,
        customer: 'replayed',
        prices: workPrice,
        plan: { id: 'capped', version: 1 },
      }),
      200,
    );
    const { plan } = reply.body;
    assert.equal(plan.id, 'capped');
    assert.equal(plan.version, 1);
    const rows = plan.periods.map(
      (period: { starts_at: string; ends_at: string; assets: Record<string, string>[] }) => [
        period.starts_at,
        period.ends_at,
        ...period.assets.map((line) =>
          [
            line.asset,
            line.granted,
            line.carried_in,
            line.usage,
            line.consumed,
            line.overage,
            line.rolled_over,
            line.expired,
            line.carried_out,
          ].join(' '),
        ),
      ],
    );
    //                                                                   granted in usage consumed overage rolled expired out
    assert.deepEqual(rows, [
      ['2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', 'credits 1000 0 600 600 0 300 100 300'],
      ['2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z', 'credits 1000 300 1200 1200 0 100 0 100'],
      ['2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z', 'credits 1000 100 1500 1100 400 0 0 0'],
    ]);
    assert.deepEqual(plan.totals, [
      {
        asset: 'credits',
        granted: '3000',
        usage: '3300',
        consumed: '2900',
        overage: '400',
        rolled_over: '400',
        expired: '100',
        carried_out: '0',
      },
    ]);
    // The draft-price lines are still there beside the plan section: the live price charges what was charged.
    assert.deepEqual(
      reply.body.lines.map((line: Record<string, string>) => [line.customer, line.charged, line.simulated]),
      [['replayed', '3300', '3300']],
    );
  });

  it('defaults to the latest version', async () => {
    const reply = await ok(
      server.call('POST', '/v1/simulations', {
        from,
        to,
        customer: 'replayed',
        prices: workPrice,
        plan: { id: 'capped' },
      }),
      200,
    );
    assert.equal(reply.body.plan.version, 2);
    assert.deepEqual(
      reply.body.plan.totals.map((line: Record<string, string>) => [line.granted, line.consumed, line.expired]),
      [['15000', '3300', '11700']],
    );
  });

  it('answers 404 plan_not_found for an unknown plan or version, 400 naming plan.id for an allowance on its own cadence, and 400 naming customer without one', async () => {
    for (const plan of [{ id: 'nope' }, { id: 'capped', version: 9 }]) {
      const reply = await server.call('POST', '/v1/simulations', {
        from,
        to,
        customer: 'replayed',
        prices: workPrice,
        plan,
      });
      assert.equal(reply.status, 404, reply.text);
      assert.equal(reply.body.code, 'plan_not_found');
    }
    await ok(
      server.call('POST', '/v1/plans', {
        id: 'weekly_bonus',
        name: 'Weekly bonus',
        version: {
          period: { interval: 'month' },
          allowances: [{ asset: 'credits', amount: '10', cadence: { interval: 'week' } }],
        },
      }),
    );
    const ownCadence = await server.call('POST', '/v1/simulations', {
      from,
      to,
      customer: 'replayed',
      prices: workPrice,
      plan: { id: 'weekly_bonus' },
    });
    assert.equal(ownCadence.status, 400, ownCadence.text);
    assert.equal(ownCadence.body.errors[0].field, 'plan.id');
    const missing = await server.call('POST', '/v1/simulations', {
      from,
      to,
      prices: workPrice,
      plan: { id: 'capped' },
    });
    assert.equal(missing.status, 400, missing.text);
    assert.equal(missing.body.code, 'validation_failed');
    assert.deepEqual(
      missing.body.errors.map((error: { field: string }) => error.field),
      ['customer'],
    );
  });

  it('replays a draft without storing it, exactly as the version it becomes once published', async () => {
    const draft = {
      period: { interval: 'month' },
      allowances: [{ asset: 'credits', amount: '1200.0', rollover: { kind: 'all' } }],
    };
    const simulate = (plan: Record<string, unknown>) =>
      ok(server.call('POST', '/v1/simulations', { from, to, customer: 'replayed', prices: workPrice, plan }), 200);
    const versionsOf = async () => (await ok(server.call('GET', '/v1/plans/capped'), 200)).body.versions.length;
    const before = await versionsOf();
    const drafted = await simulate({ id: 'capped', draft });
    assert.equal(await versionsOf(), before, 'a draft replay stores no version');
    assert.equal(drafted.body.plan.draft, true);
    assert.equal(drafted.body.plan.version, before + 1);
    assert.deepEqual(
      drafted.body.plan.totals.map((line: Record<string, string>) => [line.granted, line.consumed, line.overage]),
      [['3600', '3300', '0']],
    );
    const published = await ok(server.call('POST', '/v1/plans/capped/versions', draft));
    assert.equal(published.body.version, before + 1);
    const replayed = await simulate({ id: 'capped', version: before + 1 });
    assert.equal(replayed.body.plan.draft, false);
    assert.deepEqual({ ...drafted.body.plan, draft: false }, replayed.body.plan);
    assert.deepEqual(drafted.body.lines, replayed.body.lines);
  });

  it('answers 400 naming the draft field a bad draft gets wrong, and stores nothing', async () => {
    const versions = async () => (await ok(server.call('GET', '/v1/plans/capped'), 200)).body.versions.length;
    const before = await versions();
    const cases: [Record<string, unknown>, string][] = [
      [
        { id: 'capped', draft: { period: { interval: 'month' }, allowances: [{ asset: 'credits', amount: '-5' }] } },
        'plan.draft.allowances[0].amount',
      ],
      [
        {
          id: 'capped',
          draft: {
            period: { interval: 'month' },
            allowances: [{ asset: 'credits', amount: '1.123456789012345678901' }],
          },
        },
        'plan.draft.allowances[0].amount',
      ],
      [
        { id: 'capped', draft: { period: { interval: 'month' }, allowances: [{ asset: 'gold', amount: '5' }] } },
        'plan.draft.allowances[0].asset',
      ],
      [
        {
          id: 'capped',
          draft: {
            period: { interval: 'month' },
            allowances: [{ asset: 'credits', amount: '5', cadence: { interval: 'week' } }],
          },
        },
        'plan.draft.allowances[0].cadence',
      ],
      [{ id: 'capped', version: 1, draft: { period: { interval: 'month' } } }, 'plan.draft'],
    ];
    for (const [plan, field] of cases) {
      const reply = await server.call('POST', '/v1/simulations', {
        from,
        to,
        customer: 'replayed',
        prices: workPrice,
        plan,
      });
      assert.equal(reply.status, 400, reply.text);
      assert.equal(reply.body.code, 'validation_failed');
      assert.deepEqual(
        reply.body.errors.map((error: { field: string }) => error.field),
        [field],
        reply.text,
      );
    }
    const unknown = await server.call('POST', '/v1/simulations', {
      from,
      to,
      customer: 'replayed',
      prices: workPrice,
      plan: { id: 'nope', draft: { period: { interval: 'month' } } },
    });
    assert.equal(unknown.status, 404, unknown.text);
    assert.equal(unknown.body.code, 'plan_not_found');
    assert.equal(await versions(), before);
  });
});
