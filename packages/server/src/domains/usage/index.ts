/** The usage domain's surface for the rest of the server: usage events: ingestion, rating, totals, rollups and simulations. */

export { readChargedUsage } from './charged-usage.ts';
export type { EventInput } from './events.ts';
export {
  costInBatch,
  decimalTextToRational,
  eventAgeMaxMs,
  eventFutureMaxMs,
  eventPreloads,
  isRepeated,
  rateEvent,
  recordEvent,
  usageBatchPart,
} from './events.ts';
export { getUsage } from './queries.ts';
export { usageRoutes } from './routes.ts';
export { simulatePricing } from './simulation.ts';
