/**
 * The routes of usage events, usage totals and pricing simulations, bound to their operations. The
 * simulation handler is handed in: the plans domain's, which adds the plan replay (docs/pricing.md).
 */

import type { SimulatePricingBody } from '@bursar/api';
import { operations } from '@bursar/api';
import type { Caller, Reply } from '../../platform/contract.ts';
import type { Route } from '../../platform/http/router.ts';
import { route } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import * as events from './events.ts';
import * as usage from './queries.ts';

type SimulatePricing = (service: LedgerService, caller: Caller, input: SimulatePricingBody) => Promise<Reply>;

export function usageRoutes(service: LedgerService, simulatePricing: SimulatePricing): Route[] {
  return [
    route(operations.ingestEvents, ({ caller, body }) => events.ingestEvents(service, caller, body)),
    route(operations.listEvents, ({ caller, query }) => events.listEvents(service, caller, query)),
    route(operations.simulatePricing, ({ caller, body }) => simulatePricing(service, caller, body)),
    route(operations.getUsage, ({ caller, params, query }) => usage.getUsage(service, caller, params.customer, query)),
  ];
}
