/** @bursar/sdk: the typed client of Bursar's HTTP API, its errors and its webhook check. */
export type {
  BursarOptions,
  ListInput,
  ListItem,
  ListMethod,
  OperationArguments,
  OperationInput,
  OperationMethod,
  OperationMethods,
  OperationOutput,
  StreamMethod,
} from './client.ts';
export { Bursar } from './client.ts';
export type { ProblemOf } from './errors.ts';
export {
  BursarAbortError,
  BursarConnectionError,
  BursarError,
  BursarRequestError,
  BursarTimeoutError,
} from './errors.ts';
export type { StreamEvent, StreamOptions } from './events.ts';
export type {
  ListOperationId,
  OperationId,
  OperationTypes,
  Problem,
  ProblemCode,
  StreamOperationId,
  WebhookEvent,
} from './generated/contract.ts';
export { operationTable, problemCatalogue, webhookEventTypes } from './generated/contract.ts';
export type { components, operations } from './generated/openapi.ts';
export type { CallOptions } from './request.ts';
export type { RetryPolicy } from './retry.ts';
export { defaultRetryPolicy } from './retry.ts';
export type { VerifyWebhookOptions, WebhookHeaders } from './webhooks.ts';
export { verifyWebhook, WebhookVerificationError } from './webhooks.ts';
