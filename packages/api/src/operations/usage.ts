/** The operations of usage events, usage totals and pricing simulations: each one's method, path, scope and schemas. */
import {
  eventPage,
  ingestEventsBody,
  ingestResultResource,
  listEventsQuery,
  simulatePricingBody,
  simulationResource,
  usageQuery,
  usageResource,
} from '../pricing.ts';
import { customerParams } from '../schemas.ts';
import type { Operation } from './operation.ts';

export const usageOperations = {
  ingestEvents: {
    method: 'POST',
    path: '/v1/events',
    operationId: 'ingestEvents',
    summary: 'Report usage events: each is deduplicated, rated and debited',
    tag: 'Usage',
    scope: 'ingest',
    body: ingestEventsBody,
    responses: { 200: ingestResultResource },
  },

  listEvents: {
    method: 'GET',
    path: '/v1/events',
    operationId: 'listEvents',
    summary: 'List recorded usage events',
    tag: 'Usage',
    scope: 'read',
    query: listEventsQuery,
    responses: { 200: eventPage },
  },

  simulatePricing: {
    method: 'POST',
    path: '/v1/simulations',
    operationId: 'simulatePricing',
    summary: 'Replay stored events through draft prices; changes nothing',
    tag: 'Pricing',
    scope: 'read',
    body: simulatePricingBody,
    responses: { 200: simulationResource },
  },

  getUsage: {
    method: 'GET',
    path: '/v1/customers/{customer}/usage',
    operationId: 'getUsage',
    summary: "A customer's usage and cost by feature, time bucket and dimension",
    tag: 'Usage',
    scope: 'read',
    params: customerParams,
    query: usageQuery,
    responses: { 200: usageResource },
  },
} as const satisfies Readonly<Record<string, Operation>>;
