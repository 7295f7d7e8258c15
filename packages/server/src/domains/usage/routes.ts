/** The routes of usage events, usage totals and pricing simulations, bound to their operations. */

import * as api from '@bursar/api';
import type { Route } from '../../platform/http/router.ts';
import { route } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import * as events from './events.ts';
import * as usage from './queries.ts';
import * as simulation from './simulation.ts';

export function usageRoutes(service: LedgerService): Route[] {
  return [
    route<api.IngestEventsBody>(
      {
        method: 'POST',
        path: '/v1/events',
        operationId: 'ingestEvents',
        summary: 'Report usage events: each is deduplicated, rated and debited',
        tag: 'Usage',
        scope: 'ingest',
        body: api.ingestEventsBody,
        responses: { 200: api.ingestResultResource },
      },
      ({ caller, body }) => events.ingestEvents(service, caller, body),
    ),
    route<unknown, api.ListEventsQuery>(
      {
        method: 'GET',
        path: '/v1/events',
        operationId: 'listEvents',
        summary: 'List recorded usage events',
        tag: 'Usage',
        scope: 'read',
        query: api.listEventsQuery,
        responses: { 200: api.pageOf(api.eventResource) },
      },
      ({ caller, query }) => events.listEvents(service, caller, query),
    ),
    route<api.SimulatePricingBody>(
      {
        method: 'POST',
        path: '/v1/simulations',
        operationId: 'simulatePricing',
        summary: 'Replay stored events through draft prices; changes nothing',
        tag: 'Pricing',
        scope: 'read',
        body: api.simulatePricingBody,
        responses: { 200: api.simulationResource },
      },
      ({ caller, body }) => simulation.simulatePricing(service, caller, body),
    ),
    route<unknown, api.UsageQuery, api.CustomerParams>(
      {
        method: 'GET',
        path: '/v1/customers/{customer}/usage',
        operationId: 'getUsage',
        summary: "A customer's usage and cost by feature, time bucket and dimension",
        tag: 'Usage',
        scope: 'read',
        params: api.customerParams,
        query: api.usageQuery,
        responses: { 200: api.usageResource },
      },
      ({ caller, params, query }) => usage.getUsage(service, caller, params.customer, query),
    ),
  ];
}
