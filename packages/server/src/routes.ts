/**
 * The route table: every operation of the API with its operationId, scope and schemas, bound to
 * the ledger's operations. The OpenAPI document is generated from this table.
 */

import { accessRoutes } from './domains/access/index.ts';
import { financeRoutes } from './domains/finance/index.ts';
import type { StripeAccount } from './domains/payments/index.ts';
import { paymentRoutes } from './domains/payments/index.ts';
import { planRoutes, simulatePricing } from './domains/plans/index.ts';
import { PortalEvents, portalRoutes } from './domains/portal/index.ts';
import { pricingRoutes } from './domains/pricing/index.ts';
import { topUpRoutes } from './domains/top-ups/index.ts';
import { usageRoutes } from './domains/usage/index.ts';
import { walletRoutes } from './domains/wallets/index.ts';
import { webhookRoutes } from './domains/webhooks/index.ts';
import type { Route } from './platform/http/router.ts';
import type { LedgerService } from './platform/service.ts';

export function ledgerRoutes(
  service: LedgerService,
  onApiKeyRevoked: () => void,
  stripe: StripeAccount | null = null,
  portal: { readonly publicUrl: string | null; readonly events: PortalEvents } = {
    publicUrl: null,
    events: new PortalEvents(service),
  },
): Route[] {
  return [
    ...accessRoutes(service, onApiKeyRevoked),
    ...walletRoutes(service),
    ...topUpRoutes(service),
    ...pricingRoutes(service),
    ...usageRoutes(service, simulatePricing),
    ...webhookRoutes(service),
    ...planRoutes(service),
    ...paymentRoutes(service, stripe),
    ...financeRoutes(service),
    ...portalRoutes(service, stripe, { publicUrl: portal.publicUrl }, portal.events),
  ];
}
