/**
 * The route table: every operation of the API with its operationId, scope and schemas, bound to
 * the ledger's operations. The OpenAPI document is generated from this table.
 */

import { operations } from '@bursar/api';
import type { Authenticators } from './domains/access/index.ts';
import { accessRoutes } from './domains/access/index.ts';
import { financeRoutes } from './domains/finance/index.ts';
import type { StripeAccount } from './domains/payments/index.ts';
import { paymentRoutes } from './domains/payments/index.ts';
import { planRoutes, simulatePricing } from './domains/plans/index.ts';
import { pricingRoutes } from './domains/pricing/index.ts';
import { topUpRoutes } from './domains/top-ups/index.ts';
import { usageRoutes } from './domains/usage/index.ts';
import { walletRoutes } from './domains/wallets/index.ts';
import { webhookRoutes } from './domains/webhooks/index.ts';
import { listJobs } from './jobs-report.ts';
import type { Route } from './platform/http/router.ts';
import { route } from './platform/http/router.ts';
import type { JobRunner } from './platform/jobs/runner.ts';
import type { LedgerService } from './platform/service.ts';

export function ledgerRoutes(
  service: LedgerService,
  authenticators: Authenticators,
  jobs: JobRunner,
  stripe: StripeAccount | null = null,
): Route[] {
  return [
    ...accessRoutes(service, authenticators),
    route(operations.listJobs, ({ caller }) => listJobs(service, caller, jobs)),
    ...walletRoutes(service),
    ...topUpRoutes(service),
    ...pricingRoutes(service),
    ...usageRoutes(service, simulatePricing),
    ...webhookRoutes(service),
    ...planRoutes(service),
    ...paymentRoutes(service, stripe),
    ...financeRoutes(service),
  ];
}
