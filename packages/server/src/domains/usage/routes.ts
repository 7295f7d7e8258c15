/** The routes of usage events, usage totals and pricing simulations, bound to their operations. */

import { operations } from '@bursar/api';
import type { Route } from '../../platform/http/router.ts';
import { route } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import * as events from './events.ts';
import * as usage from './queries.ts';
import * as simulation from './simulation.ts';

export function usageRoutes(service: LedgerService): Route[] {
  return [
    route(operations.ingestEvents, ({ caller, body }) => events.ingestEvents(service, caller, body)),
    route(operations.listEvents, ({ caller, query }) => events.listEvents(service, caller, query)),
    route(operations.simulatePricing, ({ caller, body }) => simulation.simulatePricing(service, caller, body)),
    route(operations.getUsage, ({ caller, params, query }) => usage.getUsage(service, caller, params.customer, query)),
  ];
}
