/** The pricing domain's surface for the rest of the server: features, price books, model prices and quotes. */
export { checkPrices } from './operations.ts';
export type { PriceInForce } from './price-catalog.ts';
export { PriceCatalog, toPriceOption } from './price-catalog.ts';
export type { PricedAmountInput } from './priced-amount.ts';
export { resolvePricedAmount } from './priced-amount.ts';
export { pricingRoutes } from './routes.ts';
