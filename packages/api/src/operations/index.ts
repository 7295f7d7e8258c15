/**
 * Every operation of the API, keyed by operationId, in the order the reference lists them. The
 * server binds a handler to each; the OpenAPI document, the SDK and the MCP server are generated
 * from them without a server.
 */
import * as access from './access.ts';
import type { Operation } from './operation.ts';
import * as plans from './plans.ts';
import * as pricing from './pricing.ts';
import * as topUps from './top-ups.ts';
import * as usage from './usage.ts';
import * as wallets from './wallets.ts';
import * as webhooks from './webhooks.ts';

export type { Operation };

export const operations = {
  ...access,
  ...wallets,
  ...topUps,
  ...pricing,
  ...usage,
  ...webhooks,
  ...plans,
} as const;

export type OperationId = keyof typeof operations;

/** The operations as a list, for whatever walks all of them (the document, a client generator). */
export const operationList: readonly Operation[] = Object.values(operations);
