// Once per environment: the asset, the feature, the model prices and the price the wrappers charge by, and a funded customer.
import { Bursar } from '@bursar/sdk';

const admin = new Bursar({ baseUrl: process.env.BURSAR_URL ?? '', apiKey: process.env.BURSAR_ADMIN_KEY ?? '' });
await admin.createAsset({ code: 'credits', scale: 0 });
await admin.createFeature({
  key: 'chat',
  quantities: {
    input_tokens: { property: 'input_tokens' },
    output_tokens: { property: 'output_tokens' },
    cached_input_tokens: { property: 'cached_input_tokens' },
    cache_write_tokens: { property: 'cache_write_tokens' },
  },
});
await admin.upsertModelPrice({
  model: 'gpt-4o-mini',
  input_per_million: '0.15',
  output_per_million: '0.60',
  cached_input_per_million: '0.075',
});
await admin.upsertModelPrice({
  model: 'claude-sonnet-4-5',
  input_per_million: '3',
  output_per_million: '15',
  cached_input_per_million: '0.30',
  cache_write_per_million: '3.75',
});
await admin.createPriceBook({ key: 'standard', default: true });
// 1.5 times the provider's price, 1,000 credits per USD.
const rate = (quantity: string, provider_price: 'input' | 'output' | 'cached_input' | 'cache_write') => ({
  quantity,
  rates: [{ cost_plus: { provider_price, markup: '1.5', asset_per_usd: '1000' } }],
});
await admin.publishPriceVersion({
  key: 'standard',
  prices: [
    {
      feature: 'chat',
      options: [
        {
          asset: 'credits',
          components: [
            rate('input_tokens', 'input'),
            rate('output_tokens', 'output'),
            rate('cached_input_tokens', 'cached_input'),
            rate('cache_write_tokens', 'cache_write'),
          ],
        },
      ],
    },
  ],
});
await admin.createCustomer({ id: 'org_42' });
await admin.createGrant({ customer: 'org_42', asset: 'credits', amount: '5000', category: 'paid' });
