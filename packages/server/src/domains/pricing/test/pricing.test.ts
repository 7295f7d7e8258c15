/**
 * The pricing catalog through the API, with worked examples a reader can check by hand: per-1k
 * token prices, cost-plus over a model's provider price, graduated tiers, dimensions, fallback
 * assets, and versions that switch at their effective instant without touching earlier ones.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiResponse, TestServer } from '../../../../test/harness.ts';
import { seedCustomer, startTestServer } from '../../../../test/harness.ts';

let server: TestServer;
const day = 86_400_000;

async function ok(reply: Promise<ApiResponse>, status = 201): Promise<ApiResponse> {
  const response = await reply;
  assert.equal(response.status, status, response.text);
  return response;
}

const quote = (body: unknown) => server.call('POST', '/v1/quotes', body);

before(async () => {
  server = await startTestServer();
  await seedCustomer(server, 'acme', { asset: 'credits', scale: 0 });
  await ok(server.call('POST', '/v1/assets', { code: 'usd', scale: 2 }));
  await ok(server.call('POST', '/v1/assets', { code: 'image_credits', scale: 0 }));
  await ok(
    server.call('POST', '/v1/features', {
      key: 'chat.completion',
      quantities: { input_tokens: { property: 'input_tokens' }, output_tokens: { property: 'output_tokens' } },
    }),
  );
  await ok(server.call('POST', '/v1/features', { key: 'image.generate' }));
  await ok(server.call('POST', '/v1/features', { key: 'embedding', quantities: { tokens: { property: 'tokens' } } }));
  await ok(
    server.call('POST', '/v1/model-prices', {
      model: 'gpt-4o',
      input_per_million: '2.50',
      output_per_million: '10',
      batch_discount: '0.5',
    }),
  );
  await ok(server.call('POST', '/v1/price-books', { key: 'standard', default: true }));
  await ok(
    server.call('POST', '/v1/price-books/standard/versions', {
      prices: [
        {
          feature: 'chat.completion',
          options: [
            {
              asset: 'credits',
              components: [
                {
                  quantity: 'input_tokens',
                  rates: [
                    { per_unit: { unit_price: '2', per: 1000 } },
                    {
                      when: { model: 'gpt-4o' },
                      cost_plus: { provider_price: 'input', markup: '1.5', asset_per_usd: '1000' },
                    },
                  ],
                },
                {
                  quantity: 'output_tokens',
                  rates: [
                    { per_unit: { unit_price: '8', per: 1000 } },
                    {
                      when: { model: 'gpt-4o' },
                      cost_plus: { provider_price: 'output', markup: '1.5', asset_per_usd: '1000' },
                    },
                  ],
                },
              ],
            },
          ],
        },
        {
          feature: 'embedding',
          options: [
            {
              asset: 'credits',
              components: [
                {
                  quantity: 'tokens',
                  rates: [{ cost_plus: { provider_price: 'input', markup: '2', asset_per_usd: '1000' } }],
                },
              ],
            },
          ],
        },
        {
          feature: 'image.generate',
          options: [
            { asset: 'image_credits', components: [{ quantity: 'units', rates: [{ per_unit: { unit_price: '1' } }] }] },
            { asset: 'usd', components: [{ quantity: 'units', rates: [{ per_unit: { unit_price: '0.04' } }] }] },
          ],
        },
      ],
    }),
  );
});

after(async () => {
  await server.close();
});

describe('quotes', () => {
  it('per 1,000 tokens: 1,500 input + 500 output = 3 + 4 = 7 credits; 1,501 input rounds up', async () => {
    const plain = await ok(
      quote({ feature: 'chat.completion', properties: { model: 'other', input_tokens: 1500, output_tokens: 500 } }),
      200,
    );
    assert.equal(plain.body.options[0].cost, '7');
    const odd = await ok(
      quote({ feature: 'chat.completion', properties: { model: 'other', input_tokens: 1501, output_tokens: 500 } }),
      200,
    );
    assert.equal(odd.body.options[0].exact, '7.002');
    assert.equal(odd.body.options[0].cost, '8', 'rounded up once, on the total');
  });

  it('cost-plus: 10,000 input + 2,000 output tokens of gpt-4o at $2.50/$10 per million × 1.5 × 1,000 credits/$ = 67.5 → 68', async () => {
    const reply = await ok(
      quote({ feature: 'chat.completion', properties: { model: 'gpt-4o', input_tokens: 10_000, output_tokens: 2000 } }),
      200,
    );
    assert.equal(reply.body.options[0].exact, '67.5');
    assert.equal(reply.body.options[0].cost, '68');
    assert.deepEqual(
      reply.body.options[0].lines.map((line: { quantity: string; cost: string; model: string }) => [
        line.quantity,
        line.model,
        line.cost,
      ]),
      [
        ['input_tokens', 'cost_plus', '37.5'],
        ['output_tokens', 'cost_plus', '30'],
      ],
    );
    const batch = await ok(
      quote({
        feature: 'chat.completion',
        properties: { model: 'gpt-4o', input_tokens: 10_000, output_tokens: 2000, batch: true },
      }),
      200,
    );
    assert.equal(batch.body.options[0].cost, '34', 'the batch discount halves the provider cost: 33.75 → 34');
  });

  it('fallback assets: the first option the wallets cover pays', async () => {
    const none = await ok(quote({ feature: 'image.generate', customer: 'acme' }), 200);
    assert.deepEqual(
      none.body.options.map((option: { asset: string; cost: string }) => [option.asset, option.cost]),
      [
        ['image_credits', '1'],
        ['usd', '0.04'],
      ],
    );
    assert.equal(none.body.pays_with, null);
    await ok(server.call('POST', '/v1/grants', { customer: 'acme', asset: 'usd', amount: '1', category: 'paid' }));
    assert.equal((await ok(quote({ feature: 'image.generate', customer: 'acme' }), 200)).body.pays_with, 'usd');
    await ok(
      server.call('POST', '/v1/grants', { customer: 'acme', asset: 'image_credits', amount: '5', category: 'paid' }),
    );
    assert.equal(
      (await ok(quote({ feature: 'image.generate', customer: 'acme' }), 200)).body.pays_with,
      'image_credits',
    );
  });

  it('refuses what it cannot price, naming why', async () => {
    const early = await quote({
      feature: 'chat.completion',
      properties: { input_tokens: 1 },
      timestamp: new Date(server.clock.now() - day).toISOString(),
    });
    assert.equal(early.status, 422);
    assert.equal(early.body.code, 'price_not_found', 'no version was in force a day ago');
    const noModel = await quote({ feature: 'embedding', properties: { model: 'unknown-model', tokens: 1000 } });
    assert.equal(noModel.status, 422);
    assert.equal(noModel.body.code, 'model_price_not_found', noModel.text);
    const embedded = await ok(quote({ feature: 'embedding', properties: { model: 'gpt-4o', tokens: 1000 } }), 200);
    assert.equal(embedded.body.options[0].exact, '5', '1,000 × $2.50/M × 2 × 1,000 credits/$');
    const bad = await quote({ feature: 'chat.completion', properties: { input_tokens: -5 } });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.code, 'invalid_quantity');
    assert.equal((await quote({ feature: 'nope' })).body.code, 'feature_not_found');
  });
});

describe('versions', () => {
  it('a version takes over at its effective instant; events before it keep the old price', async () => {
    const switchAt = server.clock.now() + day;
    await ok(
      server.call('POST', '/v1/price-books/standard/versions', {
        effective_from: new Date(switchAt).toISOString(),
        prices: [
          {
            feature: 'image.generate',
            options: [
              {
                asset: 'image_credits',
                components: [{ quantity: 'units', rates: [{ per_unit: { unit_price: '3' } }] }],
              },
            ],
          },
        ],
      }),
    );
    const before = await ok(quote({ feature: 'image.generate', timestamp: new Date(switchAt - 1).toISOString() }), 200);
    assert.equal(before.body.version, 1);
    assert.equal(before.body.options[0].cost, '1');
    const at = await ok(quote({ feature: 'image.generate', timestamp: new Date(switchAt).toISOString() }), 200);
    assert.equal(at.body.version, 2);
    assert.equal(at.body.options[0].cost, '3');
  });

  it('refuses a version in the past or pricing an unknown quantity, naming the field', async () => {
    const past = await server.call('POST', '/v1/price-books/standard/versions', {
      effective_from: new Date(server.clock.now() - 1000).toISOString(),
      prices: [
        {
          feature: 'image.generate',
          options: [
            { asset: 'image_credits', components: [{ quantity: 'units', rates: [{ per_unit: { unit_price: '1' } }] }] },
          ],
        },
      ],
    });
    assert.equal(past.status, 400);
    assert.equal(past.body.errors[0].field, 'effective_from');
    const unknown = await server.call('POST', '/v1/price-books/standard/versions', {
      prices: [
        {
          feature: 'image.generate',
          options: [
            {
              asset: 'image_credits',
              components: [{ quantity: 'tokens', rates: [{ per_unit: { unit_price: '1' } }] }],
            },
          ],
        },
      ],
    });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.errors[0].field, 'prices[0].options[0].components[0].quantity');
    const tiers = await server.call('POST', '/v1/price-books/standard/versions', {
      prices: [
        {
          feature: 'image.generate',
          options: [
            {
              asset: 'image_credits',
              components: [
                {
                  quantity: 'units',
                  rates: [
                    {
                      graduated: {
                        tiers: [
                          { up_to: '10', unit_price: '1' },
                          { up_to: '5', unit_price: '1' },
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
    assert.equal(tiers.status, 400);
    assert.match(tiers.body.errors[0].field, /graduated\.tiers$/);
  });

  it('only one default price book per environment', async () => {
    const second = await server.call('POST', '/v1/price-books', { key: 'other', default: true });
    assert.equal(second.status, 409);
    assert.equal(second.body.code, 'default_price_book_exists');
  });
});
