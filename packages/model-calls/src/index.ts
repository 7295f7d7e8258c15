/** @bursar/model-calls: the lifecycle every model-call wrapper shares (estimate, hold, extend, settle) and its pure decisions. */
export type {
  Affordability,
  CallEnding,
  Estimate,
  ExtensionDecision,
  HoldDecision,
  SettlementDecision,
  SettlePolicy,
} from './decisions.ts';
export { decideExtension, decideHoldAmount, decideSettlement } from './decisions.ts';
export { InsufficientCreditError, SettlementError } from './errors.ts';
export type { ProviderStream, Reading } from './metering.ts';
export { meterAnswer, meterStream, openMeteredStream, overlay } from './metering.ts';
export type { ModelRequest } from './model-call.ts';
export { ModelCall } from './model-call.ts';
export type { BursarCallOptions, CallOverrides, Settlement } from './options.ts';
export { resolveOptions } from './options.ts';
export { countPromptTokens, countTokens } from './tokens.ts';
export type { Attribution, InputUsage, TokenUsage } from './usage.ts';
export { providerUserId, toEventProperties } from './usage.ts';
