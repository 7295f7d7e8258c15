/**
 * Provider cost, margin and reconciliation on a real server and both backends: a seeded month of
 * three customers and two models gives exactly the hand-computed revenue, cost and margin;
 * `margin.low` fires once, on the crossing; a provider import with a known gap reports it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestServer } from '../../../../test/harness.ts';
import { startTestServer } from '../../../../test/harness.ts';
import { seedMonth } from './seeded-month.ts';

describe('margin over a seeded month', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await seedMonth(server, { marginLowThreshold: '0' });
  });
  after(() => server.close());

  test('revenue, provider cost and margin per day, customer and model, to the cent', async () => {
    const reply = await server.call('GET', '/v1/finance/margin?from=2026-01-01&to=2026-02-01&top=2');
    assert.equal(reply.status, 200, reply.text);
    const rows = reply.body.rows.map((row: Record<string, string>) => [
      row.day,
      row.customer,
      row.model,
      row.revenue,
      row.provider_cost,
      row.gross_margin,
      row.margin_percent,
    ]);
    assert.deepEqual(rows, [
      // 300 credits at 1¢; 0.2M × $2.50 + 0.02M × $10
      ['2026-01-02', 'alpha', 'claude-sonnet', '1.5', '0.54', '0.96', '64'],
      ['2026-01-02', 'alpha', 'gpt-4o', '3', '0.7', '2.3', '76.67'],
      // batch: (0.4M × $2.50 + 0.04M × $10) × 0.5; reasoning tokens billed as output
      ['2026-01-03', 'beta', 'claude-sonnet', '1.5', '1.05', '0.45', '30'],
      ['2026-01-03', 'beta', 'gpt-4o', '3', '0.7', '2.3', '76.67'],
      ['2026-01-04', 'gamma', 'claude-sonnet', '0.15', '0.45', '-0.3', '-200'],
      ['2026-01-04', 'gamma', 'gpt-4o', '1.5', '3.5', '-2', '-133.33'],
    ]);
    assert.deepEqual(
      reply.body.customers.map((row: Record<string, string>) => [
        row.customer,
        row.revenue,
        row.provider_cost,
        row.gross_margin,
        row.margin_percent,
      ]),
      [
        ['alpha', '4.5', '1.24', '3.26', '72.44'],
        ['beta', '4.5', '1.75', '2.75', '61.11'],
        ['gamma', '1.65', '3.95', '-2.3', '-139.39'],
      ],
    );
    assert.deepEqual(reply.body.distribution, { customers: 3, p50: '61.11', p75: '72.44', p90: '72.44' });
    assert.deepEqual(
      reply.body.top_by_cost.map((row: Record<string, string>) => [row.customer, row.provider_cost]),
      [
        ['gamma', '3.95'],
        ['beta', '1.75'],
      ],
    );
    const filtered = await server.call(
      'GET',
      '/v1/finance/margin?from=2026-01-01&to=2026-02-01&model=gpt-4o&customer=gamma',
    );
    assert.deepEqual(
      filtered.body.customers.map((row: Record<string, string>) => row.provider_cost),
      ['3.5'],
    );
  });

  test('margin.low fires once, when gamma crosses below the threshold', async () => {
    const reply = await server.call('GET', '/v1/notifications?type=margin.low');
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.data.length, 1, reply.text);
    const [event] = reply.body.data;
    assert.equal(event.type, 'margin.low');
    assert.deepEqual(event.data, {
      customer: 'gamma',
      asset: 'credits',
      currency: 'usd',
      revenue: '1.5',
      provider_cost: '3.5',
      margin_percent: '-133.33',
      threshold: '0',
      window_days: 7,
    });
  });

  test('a reconciliation import with a known gap reports it', async () => {
    const csv = 'day,model,cost\n2026-01-02,gpt-4o,0.70\n2026-01-02,claude-sonnet,0.60\n2026-01-02,gpt-4o-mini,0.05\n';
    const imported = await server.call('POST', '/v1/finance/provider-costs', {
      provider: 'ops',
      format: 'csv',
      content: csv,
    });
    assert.equal(imported.status, 200, imported.text);
    assert.deepEqual(imported.body, { provider: 'ops', rows: 3, days: ['2026-01-02'], total: '1.35' });
    const openai = {
      object: 'page',
      data: [
        {
          object: 'bucket',
          start_time: Date.UTC(2026, 0, 3) / 1000,
          end_time: Date.UTC(2026, 0, 4) / 1000,
          results: [
            {
              object: 'organization.costs.result',
              amount: { value: 0.5, currency: 'usd' },
              line_item: 'gpt-4o, input',
            },
            {
              object: 'organization.costs.result',
              amount: { value: 0.2, currency: 'usd' },
              line_item: 'gpt-4o, output',
            },
          ],
        },
      ],
      has_more: false,
      next_page: null,
    };
    assert.equal(
      (
        await server.call('POST', '/v1/finance/provider-costs', {
          provider: 'openai',
          format: 'openai',
          content: JSON.stringify(openai),
        })
      ).status,
      200,
    );
    const anthropic = {
      data: [
        {
          starting_at: '2026-01-03T00:00:00Z',
          ending_at: '2026-01-04T00:00:00Z',
          results: [{ currency: 'USD', amount: '104.9', model: 'claude-sonnet', cost_type: 'tokens' }],
        },
      ],
      has_more: false,
      next_page: null,
    };
    assert.equal(
      (
        await server.call('POST', '/v1/finance/provider-costs', {
          provider: 'anthropic',
          format: 'anthropic',
          content: JSON.stringify(anthropic),
        })
      ).status,
      200,
    );
    const reply = await server.call('GET', '/v1/finance/reconciliation?from=2026-01-01&to=2026-02-01');
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(
      reply.body.rows.map((row: Record<string, unknown>) => [
        row.day,
        row.model,
        row.attributed,
        row.provider,
        row.gap,
        row.within_tolerance,
      ]),
      [
        ['2026-01-02', 'claude-sonnet', '0.54', '0.6', '-0.06', false],
        ['2026-01-02', 'gpt-4o', '0.7', '0.7', '0', true],
        ['2026-01-02', 'gpt-4o-mini', '0', '0.05', '-0.05', false],
        // $1.049 by Anthropic against $1.05: a tenth of a cent, within 1¢
        ['2026-01-03', 'claude-sonnet', '1.05', '1.049', '0.001', true],
        ['2026-01-03', 'gpt-4o', '0.7', '0.7', '0', true],
        ['2026-01-04', 'claude-sonnet', '0.45', null, null, false],
        ['2026-01-04', 'gpt-4o', '3.5', null, null, false],
      ],
    );
    // Re-importing a day replaces it; a bad export names `content` and stores nothing.
    await server.call('POST', '/v1/finance/provider-costs', {
      provider: 'ops',
      format: 'csv',
      content: 'day,model,cost\n2026-01-02,claude-sonnet,0.54\n',
    });
    const again = await server.call('GET', '/v1/finance/reconciliation?from=2026-01-02&to=2026-01-03&provider=ops');
    assert.deepEqual(
      again.body.rows.map((row: Record<string, unknown>) => [row.model, row.gap, row.within_tolerance]),
      [
        ['claude-sonnet', '0', true],
        ['gpt-4o', '0', true],
        ['gpt-4o-mini', '-0.05', false],
      ],
    );
    for (const [format, content] of [
      ['csv', 'day,model\n2026-01-02,gpt-4o\n'],
      ['csv', 'day,model,cost\n2026-01-02,gpt-4o,-1\n'],
      ['openai', '{"data": 3}'],
      ['anthropic', 'not json'],
    ] as const) {
      const bad = await server.call('POST', '/v1/finance/provider-costs', { provider: 'bad', format, content });
      assert.equal(bad.status, 400, `${format}: ${content}`);
      assert.equal(bad.body.errors[0].field, 'content');
    }
    const none = await server.call('GET', '/v1/finance/reconciliation?from=2026-01-01&to=2026-02-01&provider=bad');
    assert.equal(
      none.body.rows.every((row: { provider: string | null }) => row.provider === null),
      true,
    );
  });
});
