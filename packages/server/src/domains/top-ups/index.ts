/** The top-ups domain's surface for the rest of the server: auto top-up rules, top-ups and the payment port. */

export { getAutoTopUpRule, putAutoTopUpRule } from './operations.ts';
export type { ChargeOutcome, PaymentProvider, TopUpCharge } from './payment-provider.ts';
export { topUpRequests } from './requests.ts';
export { topUpRoutes } from './routes.ts';
export { TopUpWorker } from './worker.ts';
