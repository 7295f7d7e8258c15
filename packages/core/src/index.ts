/** The public surface of Bursar's pure core. */
export * from './consumption.ts';
export * from './debits.ts';
export { thresholdEvents } from './events.ts';
export * from './grants.ts';
export * from './holds.ts';
export * from './ledger.ts';
export * from './money.ts';
export * from './outcomes.ts';
export * from './plans.ts';
export * from './policy.ts';
export * from './pricing.ts';
export type { Rational, RoundingMode } from './rational.ts';
export * as rational from './rational.ts';
export { roundingModes } from './rational.ts';
export * from './reversals.ts';
export * from './settlement.ts';
export * from './topups.ts';
export * from './wallet.ts';
