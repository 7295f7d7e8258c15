/** The operations of plans, subscriptions and entitlement checks: each one's method, path, scope and schemas. */
import {
  cancelSubscriptionBody,
  changeSubscriptionBody,
  checkEntitlementBody,
  createPlanBody,
  createSubscriptionBody,
  entitlementCheckResource,
  listSubscriptionsQuery,
  planPage,
  planParams,
  planResource,
  planVersionBody,
  planVersionResource,
  subscriptionPage,
  subscriptionResource,
} from '../plans.ts';
import { customerParams, dryRunOf, dryRunQuery, idParams, pageQuery } from '../schemas.ts';
import type { Operation } from './operation.ts';

export const planOperations = {
  createPlan: {
    method: 'POST',
    path: '/v1/plans',
    operationId: 'createPlan',
    summary: 'Create a plan with its first version',
    tag: 'Plans',
    scope: 'write',
    body: createPlanBody,
    responses: { 201: planResource },
  },

  listPlans: {
    method: 'GET',
    path: '/v1/plans',
    operationId: 'listPlans',
    summary: 'List plans with their versions',
    tag: 'Plans',
    scope: 'read',
    query: pageQuery,
    responses: { 200: planPage },
  },

  getPlan: {
    method: 'GET',
    path: '/v1/plans/{plan}',
    operationId: 'getPlan',
    summary: 'Get a plan with every version',
    tag: 'Plans',
    scope: 'read',
    params: planParams,
    responses: { 200: planResource },
  },

  publishPlanVersion: {
    method: 'POST',
    path: '/v1/plans/{plan}/versions',
    operationId: 'publishPlanVersion',
    summary: 'Publish a new version of a plan (existing subscriptions keep theirs)',
    tag: 'Plans',
    scope: 'write',
    params: planParams,
    body: planVersionBody,
    responses: { 201: planVersionResource },
  },

  createSubscription: {
    method: 'POST',
    path: '/v1/subscriptions',
    operationId: 'createSubscription',
    summary: 'Subscribe a customer to a plan version',
    tag: 'Subscriptions',
    scope: 'write',
    body: createSubscriptionBody,
    responses: { 201: subscriptionResource },
  },

  listSubscriptions: {
    method: 'GET',
    path: '/v1/subscriptions',
    operationId: 'listSubscriptions',
    summary: "List subscriptions (a customer's, by status) with their periods",
    tag: 'Subscriptions',
    scope: 'read',
    query: listSubscriptionsQuery,
    responses: { 200: subscriptionPage },
  },

  getSubscription: {
    method: 'GET',
    path: '/v1/subscriptions/{id}',
    operationId: 'getSubscription',
    summary: 'Get a subscription with its periods',
    tag: 'Subscriptions',
    scope: 'read',
    params: idParams,
    responses: { 200: subscriptionResource },
  },

  changeSubscription: {
    method: 'POST',
    path: '/v1/subscriptions/{id}/change',
    operationId: 'changeSubscription',
    summary: 'Change plan (now or at period end), pause or resume',
    tag: 'Subscriptions',
    scope: 'write',
    params: idParams,
    query: dryRunQuery,
    body: changeSubscriptionBody,
    responses: { 200: subscriptionResource },
    dryRun: dryRunOf(subscriptionResource, 'SubscriptionDryRun'),
  },

  cancelSubscription: {
    method: 'POST',
    path: '/v1/subscriptions/{id}/cancel',
    operationId: 'cancelSubscription',
    summary: 'Cancel now or at the end of the period',
    tag: 'Subscriptions',
    scope: 'write',
    params: idParams,
    query: dryRunQuery,
    body: cancelSubscriptionBody,
    responses: { 200: subscriptionResource },
    dryRun: dryRunOf(subscriptionResource, 'SubscriptionCanceledDryRun'),
  },

  checkEntitlement: {
    method: 'POST',
    path: '/v1/customers/{customer}/entitlements/check',
    operationId: 'checkEntitlement',
    summary: 'May the customer use this feature (this much)? Plan entitlements and credit, with the reason',
    tag: 'Subscriptions',
    scope: 'read',
    params: customerParams,
    body: checkEntitlementBody,
    responses: { 200: entitlementCheckResource },
  },
} as const satisfies Readonly<Record<string, Operation>>;
