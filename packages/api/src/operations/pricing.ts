/** The operations of features, price books, model prices and quotes: each one's method, path, scope and schemas. */
import {
  createFeatureBody,
  createPriceBookBody,
  featureKeyParams,
  featurePage,
  featureResource,
  modelPricePage,
  modelPriceResource,
  priceBookPage,
  priceBookParams,
  priceBookResource,
  publishPriceVersionBody,
  quoteCostBody,
  quoteResource,
  upsertModelPriceBody,
} from '../pricing.ts';
import { pageQuery } from '../schemas.ts';
import type { Operation } from './operation.ts';

export const pricingOperations = {
  createFeature: {
    method: 'POST',
    path: '/v1/features',
    operationId: 'createFeature',
    summary: 'Define a feature and how its events become quantities',
    tag: 'Pricing',
    scope: 'write',
    body: createFeatureBody,
    responses: { 201: featureResource },
  },

  listFeatures: {
    method: 'GET',
    path: '/v1/features',
    operationId: 'listFeatures',
    summary: 'List features',
    tag: 'Pricing',
    scope: 'read',
    query: pageQuery,
    responses: { 200: featurePage },
  },

  getFeature: {
    method: 'GET',
    path: '/v1/features/{key}',
    operationId: 'getFeature',
    summary: 'Get a feature',
    tag: 'Pricing',
    scope: 'read',
    params: featureKeyParams,
    responses: { 200: featureResource },
  },

  createPriceBook: {
    method: 'POST',
    path: '/v1/price-books',
    operationId: 'createPriceBook',
    summary: 'Create a price book',
    tag: 'Pricing',
    scope: 'write',
    body: createPriceBookBody,
    responses: { 201: priceBookResource },
  },

  listPriceBooks: {
    method: 'GET',
    path: '/v1/price-books',
    operationId: 'listPriceBooks',
    summary: 'List price books with their versions',
    tag: 'Pricing',
    scope: 'read',
    query: pageQuery,
    responses: { 200: priceBookPage },
  },

  getPriceBook: {
    method: 'GET',
    path: '/v1/price-books/{key}',
    operationId: 'getPriceBook',
    summary: 'Get a price book with its versions',
    tag: 'Pricing',
    scope: 'read',
    params: priceBookParams,
    responses: { 200: priceBookResource },
  },

  publishPriceVersion: {
    method: 'POST',
    path: '/v1/price-books/{key}/versions',
    operationId: 'publishPriceVersion',
    summary: 'Publish a price version effective from now or later',
    tag: 'Pricing',
    scope: 'write',
    params: priceBookParams,
    body: publishPriceVersionBody,
    responses: { 201: priceBookResource },
  },

  upsertModelPrice: {
    method: 'POST',
    path: '/v1/model-prices',
    operationId: 'upsertModelPrice',
    summary: "Set a model's provider token prices from a date",
    tag: 'Pricing',
    scope: 'write',
    body: upsertModelPriceBody,
    responses: { 201: modelPriceResource },
  },

  listModelPrices: {
    method: 'GET',
    path: '/v1/model-prices',
    operationId: 'listModelPrices',
    summary: 'List the model price catalog',
    tag: 'Pricing',
    scope: 'read',
    query: pageQuery,
    responses: { 200: modelPricePage },
  },

  quoteCost: {
    method: 'POST',
    path: '/v1/quotes',
    operationId: 'quoteCost',
    summary: 'Price an event without recording it',
    tag: 'Pricing',
    scope: 'read',
    body: quoteCostBody,
    responses: { 200: quoteResource },
  },
} as const satisfies Readonly<Record<string, Operation>>;
