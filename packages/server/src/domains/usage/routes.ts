/**
 * The routes of usage events and usage totals, bound to their operations. simulatePricing is bound
 * by the plans domain, which adds the plan replay (docs/pricing.md).
 */

import { operations } from '@bursar/api';
import type { Route } from '../../platform/http/router.ts';
import { route } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import * as events from './events.ts';
import * as usage from './queries.ts';

export function usageRoutes(service: LedgerService): Route[] {
  return [
    route(operations.ingestEvents, ({ caller, body }) => events.ingestEvents(service, caller, body)),
    route(operations.listEvents, ({ caller, query }) => events.listEvents(service, caller, query)),
    route(operations.getUsage, ({ caller, params, query }) => usage.getUsage(service, caller, params.customer, query)),
  ];
}
