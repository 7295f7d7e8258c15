/** The routes of features, price books, model prices and quotes, bound to their operations. */

import { operations } from '@bursar/api';
import type { Route } from '../../platform/http/router.ts';
import { route } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import * as pricing from './operations.ts';

export function pricingRoutes(service: LedgerService): Route[] {
  return [
    route(operations.createFeature, ({ caller, body }) => pricing.createFeature(service, caller, body)),
    route(operations.listFeatures, ({ caller, query }) => pricing.listFeatures(service, caller, query)),
    route(operations.getFeature, ({ caller, params }) => pricing.getFeature(service, caller, params.key)),
    route(operations.createPriceBook, ({ caller, body }) => pricing.createPriceBook(service, caller, body)),
    route(operations.listPriceBooks, ({ caller, query }) => pricing.listPriceBooks(service, caller, query)),
    route(operations.getPriceBook, ({ caller, params }) => pricing.getPriceBook(service, caller, params.key)),
    route(operations.publishPriceVersion, ({ caller, params, body }) =>
      pricing.publishPriceVersion(service, caller, params.key, body),
    ),
    route(operations.upsertModelPrice, ({ caller, body }) => pricing.upsertModelPrice(service, caller, body)),
    route(operations.listModelPrices, ({ caller, query }) => pricing.listModelPrices(service, caller, query)),
    route(operations.quoteCost, ({ caller, body }) => pricing.quoteCost(service, caller, body)),
  ];
}
