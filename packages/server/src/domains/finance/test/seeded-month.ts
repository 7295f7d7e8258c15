/**
 * A seeded month of model usage for the finance tests: three customers with paid credit at three
 * prices, two models, six events (one a batch request, one with cache reads and writes, one with
 * reasoning tokens). The hand-computed figures are in margin.test.ts and docs/finance.md.
 */
import assert from 'node:assert/strict';
import type { TestServer } from '../../../../test/harness.ts';
import { seedCustomer } from '../../../../test/harness.ts';

const day = 86_400_000;

async function ok(reply: Promise<{ status: number; text: string }>, status = 201): Promise<void> {
  const answered = await reply;
  assert.equal(answered.status, status, answered.text);
}

/** Credits are 1 per 1,000 input tokens and 5 per 1,000 output tokens, for either model. */
export async function seedMonth(server: TestServer, options: { marginLowThreshold?: string } = {}): Promise<void> {
  await ok(server.call('POST', '/v1/assets', { code: 'usd', scale: 2 }));
  for (const customer of ['alpha', 'beta', 'gamma']) await seedCustomer(server, customer);
  if (options.marginLowThreshold !== undefined) {
    await ok(
      server.call('POST', '/v1/finance/settings', {
        margin_low_threshold: options.marginLowThreshold,
        margin_window_days: 7,
      }),
      200,
    );
  }
  await ok(
    server.call('POST', '/v1/model-prices', {
      model: 'gpt-4o',
      input_per_million: '2.50',
      output_per_million: '10',
      cached_input_per_million: '1.25',
      batch_discount: '0.5',
    }),
  );
  await ok(
    server.call('POST', '/v1/model-prices', {
      model: 'claude-sonnet',
      input_per_million: '3',
      output_per_million: '15',
      cached_input_per_million: '0.30',
      cache_write_per_million: '3.75',
    }),
  );
  await ok(
    server.call('POST', '/v1/features', {
      key: 'chat',
      quantities: { input_tokens: { property: 'input_tokens' }, output_tokens: { property: 'output_tokens' } },
    }),
  );
  await ok(server.call('POST', '/v1/price-books', { key: 'standard', default: true }));
  await ok(
    server.call('POST', '/v1/price-books/standard/versions', {
      prices: [
        {
          feature: 'chat',
          options: [
            {
              asset: 'credits',
              components: [
                { quantity: 'input_tokens', rates: [{ per_unit: { unit_price: '1', per: 1000 } }] },
                { quantity: 'output_tokens', rates: [{ per_unit: { unit_price: '5', per: 1000 } }] },
              ],
            },
          ],
        },
      ],
    }),
  );
  // 100,000 credits each: alpha pays $1,000 (1¢ a credit), beta $500 (½¢), gamma $100 (⅒¢).
  for (const [customer, total] of [
    ['alpha', '1000'],
    ['beta', '500'],
    ['gamma', '100'],
  ] as const) {
    await ok(
      server.call('POST', '/v1/grants', {
        customer,
        asset: 'credits',
        amount: '100000',
        category: 'paid',
        cost_basis: { currency: 'usd', total },
      }),
    );
  }
  const events: [number, string, string, Record<string, string | number | boolean>][] = [
    [1, 'alpha', 'gpt-4o', { input_tokens: 200_000, output_tokens: 20_000 }],
    [
      1,
      'alpha',
      'claude-sonnet',
      { input_tokens: 100_000, output_tokens: 10_000, cached_input_tokens: 50_000, cache_write_tokens: 20_000 },
    ],
    [2, 'beta', 'gpt-4o', { input_tokens: 400_000, output_tokens: 40_000, batch: true }],
    [2, 'beta', 'claude-sonnet', { input_tokens: 200_000, output_tokens: 20_000, reasoning_tokens: 10_000 }],
    [3, 'gamma', 'gpt-4o', { input_tokens: 1_000_000, output_tokens: 100_000 }],
    [3, 'gamma', 'claude-sonnet', { input_tokens: 100_000, output_tokens: 10_000 }],
  ];
  const start = Date.UTC(2026, 0, 1, 12);
  for (const [index, [dayNumber, customer, model, properties]] of events.entries()) {
    server.clock.set(start + dayNumber * day + index * 60_000);
    const reply = await server.call('POST', '/v1/events', {
      events: [
        {
          id: `evt_${index}`,
          customer,
          feature: 'chat',
          timestamp: new Date(server.clock.now()).toISOString(),
          properties: { model, ...properties },
        },
      ],
    });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.accepted, 1, reply.text);
  }
}
