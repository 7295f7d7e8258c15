/**
 * Every operation of the API, keyed by operationId, in the order the reference lists them. The
 * server binds a handler to each; the OpenAPI document, the SDK and the MCP server are generated
 * from them without a server.
 */
import { accessOperations } from './access.ts';
import { financeOperations } from './finance.ts';
import type { Operation } from './operation.ts';
import { paymentOperations } from './payments.ts';
import { planOperations } from './plans.ts';
import { portalOperations } from './portal.ts';
import { pricingOperations } from './pricing.ts';
import { topUpOperations } from './top-ups.ts';
import { usageOperations } from './usage.ts';
import { walletOperations } from './wallets.ts';
import { webhookOperations } from './webhooks.ts';

export type { Operation };

export const operations = {
  ...accessOperations,
  ...walletOperations,
  ...topUpOperations,
  ...pricingOperations,
  ...usageOperations,
  ...webhookOperations,
  ...planOperations,
  ...paymentOperations,
  ...financeOperations,
  ...portalOperations,
} as const;

export type OperationId = keyof typeof operations;

/** The operations as a list, for whatever walks all of them (the document, a client generator). */
export const operationList: readonly Operation[] = Object.values(operations);
