/** Sets up a real test server for the wrapper tests: a `credits` wallet, a `chat` feature rated cost-plus over a model's catalog price. */
import assert from 'node:assert/strict';
import { Bursar } from '@bursar/sdk';
import type { TestServer } from '../../server/test/harness.ts';
import { adminKey, startTestServer } from '../../server/test/harness.ts';

/** The model the tests price: $2 / $8 / $1 / $2.50 per million input / output / cached / cache-write tokens. */
export const testModel = 'gpt-test';

export interface BursarFixture {
  readonly server: TestServer;
  readonly bursar: Bursar;
  /** Creates a customer with `credits` credits (1 credit = $0.000001, so an input token is 2 credits, an output token 8). */
  fund(customer: string, credits: string): Promise<void>;
  available(customer: string): Promise<string>;
  /** The exact price of an event's properties, as the server quotes it. */
  cost(properties: Record<string, string | number>): Promise<string>;
}

export async function startBursar(): Promise<BursarFixture> {
  const server = await startTestServer();
  const bursar = new Bursar({ baseUrl: server.url, apiKey: adminKey });
  await bursar.createAsset({ code: 'credits', scale: 0 });
  await bursar.createFeature({
    key: 'chat',
    quantities: {
      input_tokens: { property: 'input_tokens' },
      output_tokens: { property: 'output_tokens' },
      cached_input_tokens: { property: 'cached_input_tokens' },
      cache_write_tokens: { property: 'cache_write_tokens' },
    },
  });
  await bursar.upsertModelPrice({
    model: testModel,
    input_per_million: '2',
    output_per_million: '8',
    cached_input_per_million: '1',
    cache_write_per_million: '2.5',
  });
  await bursar.createPriceBook({ key: 'standard', default: true });
  const costPlus = (quantity: string, providerPrice: 'input' | 'output' | 'cached_input' | 'cache_write') => ({
    quantity,
    rates: [{ cost_plus: { provider_price: providerPrice, markup: '1', asset_per_usd: '1000000' } }],
  });
  await bursar.publishPriceVersion({
    key: 'standard',
    prices: [
      {
        feature: 'chat',
        options: [
          {
            asset: 'credits',
            components: [
              costPlus('input_tokens', 'input'),
              costPlus('output_tokens', 'output'),
              costPlus('cached_input_tokens', 'cached_input'),
              costPlus('cache_write_tokens', 'cache_write'),
            ],
          },
        ],
      },
    ],
  });
  return {
    server,
    bursar,
    async fund(customer, credits) {
      await bursar.createCustomer({ id: customer });
      await bursar.createGrant({ customer, asset: 'credits', amount: credits, category: 'paid' });
    },
    async available(customer) {
      const balances = await bursar.getBalances({ customer, asset: 'credits' });
      const balance = balances.balances[0];
      assert.ok(balance);
      return balance.available;
    },
    async cost(properties) {
      const quote = await bursar.quoteCost({ feature: 'chat', properties });
      const option = quote.options[0];
      assert.ok(option);
      return option.cost;
    },
  };
}
