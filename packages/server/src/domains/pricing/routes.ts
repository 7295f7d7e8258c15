/** The routes of features, price books, model prices and quotes, bound to their operations. */

import * as api from '@bursar/api';
import type { Route } from '../../platform/http/router.ts';
import { route } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import * as pricing from './operations.ts';

export function pricingRoutes(service: LedgerService): Route[] {
  return [
    route<api.CreateFeatureBody>(
      {
        method: 'POST',
        path: '/v1/features',
        operationId: 'createFeature',
        summary: 'Define a feature and how its events become quantities',
        tag: 'Pricing',
        scope: 'write',
        body: api.createFeatureBody,
        responses: { 201: api.featureResource },
      },
      ({ caller, body }) => pricing.createFeature(service, caller, body),
    ),
    route<unknown, api.PageQuery>(
      {
        method: 'GET',
        path: '/v1/features',
        operationId: 'listFeatures',
        summary: 'List features',
        tag: 'Pricing',
        scope: 'read',
        query: api.pageQuery,
        responses: { 200: api.pageOf(api.featureResource) },
      },
      ({ caller, query }) => pricing.listFeatures(service, caller, query),
    ),
    route<unknown, unknown, { key: string }>(
      {
        method: 'GET',
        path: '/v1/features/{key}',
        operationId: 'getFeature',
        summary: 'Get a feature',
        tag: 'Pricing',
        scope: 'read',
        params: api.featureKeyParams,
        responses: { 200: api.featureResource },
      },
      ({ caller, params }) => pricing.getFeature(service, caller, params.key),
    ),
    route<api.CreatePriceBookBody>(
      {
        method: 'POST',
        path: '/v1/price-books',
        operationId: 'createPriceBook',
        summary: 'Create a price book',
        tag: 'Pricing',
        scope: 'write',
        body: api.createPriceBookBody,
        responses: { 201: api.priceBookResource },
      },
      ({ caller, body }) => pricing.createPriceBook(service, caller, body),
    ),
    route<unknown, api.PageQuery>(
      {
        method: 'GET',
        path: '/v1/price-books',
        operationId: 'listPriceBooks',
        summary: 'List price books with their versions',
        tag: 'Pricing',
        scope: 'read',
        query: api.pageQuery,
        responses: { 200: api.pageOf(api.priceBookResource) },
      },
      ({ caller, query }) => pricing.listPriceBooks(service, caller, query),
    ),
    route<unknown, unknown, { key: string }>(
      {
        method: 'GET',
        path: '/v1/price-books/{key}',
        operationId: 'getPriceBook',
        summary: 'Get a price book with its versions',
        tag: 'Pricing',
        scope: 'read',
        params: api.priceBookParams,
        responses: { 200: api.priceBookResource },
      },
      ({ caller, params }) => pricing.getPriceBook(service, caller, params.key),
    ),
    route<api.PublishPriceVersionBody, unknown, { key: string }>(
      {
        method: 'POST',
        path: '/v1/price-books/{key}/versions',
        operationId: 'publishPriceVersion',
        summary: 'Publish a price version effective from now or later',
        tag: 'Pricing',
        scope: 'write',
        params: api.priceBookParams,
        body: api.publishPriceVersionBody,
        responses: { 201: api.priceBookResource },
      },
      ({ caller, params, body }) => pricing.publishPriceVersion(service, caller, params.key, body),
    ),
    route<api.UpsertModelPriceBody>(
      {
        method: 'POST',
        path: '/v1/model-prices',
        operationId: 'upsertModelPrice',
        summary: "Set a model's provider token prices from a date",
        tag: 'Pricing',
        scope: 'write',
        body: api.upsertModelPriceBody,
        responses: { 201: api.modelPriceResource },
      },
      ({ caller, body }) => pricing.upsertModelPrice(service, caller, body),
    ),
    route<unknown, api.PageQuery>(
      {
        method: 'GET',
        path: '/v1/model-prices',
        operationId: 'listModelPrices',
        summary: 'List the model price catalog',
        tag: 'Pricing',
        scope: 'read',
        query: api.pageQuery,
        responses: { 200: api.pageOf(api.modelPriceResource) },
      },
      ({ caller, query }) => pricing.listModelPrices(service, caller, query),
    ),
    route<api.QuoteCostBody>(
      {
        method: 'POST',
        path: '/v1/quotes',
        operationId: 'quoteCost',
        summary: 'Price an event without recording it',
        tag: 'Pricing',
        scope: 'read',
        body: api.quoteCostBody,
        responses: { 200: api.quoteResource },
      },
      ({ caller, body }) => pricing.quoteCost(service, caller, body),
    ),
  ];
}
