/**
 * The routes of plans, subscriptions and entitlement checks, bound to their operations; the
 * route table spreads them in, and the OpenAPI document is generated from them like any other.
 */

import * as api from '@bursar/api';
import type { Route } from '../../platform/http/router.ts';
import { route } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import * as entitlements from './entitlement-operations.ts';
import * as plans from './plan-operations.ts';
import * as subscriptions from './subscription-operations.ts';

export function planRoutes(service: LedgerService): Route[] {
  return [
    route<api.CreatePlanBody>(
      {
        method: 'POST',
        path: '/v1/plans',
        operationId: 'createPlan',
        summary: 'Create a plan with its first version',
        tag: 'Plans',
        scope: 'write',
        body: api.createPlanBody,
        responses: { 201: api.planResource },
      },
      ({ caller, body }) => plans.createPlan(service, caller, body),
    ),
    route<unknown, api.PageQuery>(
      {
        method: 'GET',
        path: '/v1/plans',
        operationId: 'listPlans',
        summary: 'List plans with their versions',
        tag: 'Plans',
        scope: 'read',
        query: api.pageQuery,
        responses: { 200: api.pageOf(api.planResource) },
      },
      ({ caller, query }) => plans.listPlans(service, caller, query),
    ),
    route<unknown, unknown, api.PlanParams>(
      {
        method: 'GET',
        path: '/v1/plans/{plan}',
        operationId: 'getPlan',
        summary: 'Get a plan with every version',
        tag: 'Plans',
        scope: 'read',
        params: api.planParams,
        responses: { 200: api.planResource },
      },
      ({ caller, params }) => plans.getPlan(service, caller, params.plan),
    ),
    route<api.PlanVersionBody, unknown, api.PlanParams>(
      {
        method: 'POST',
        path: '/v1/plans/{plan}/versions',
        operationId: 'publishPlanVersion',
        summary: 'Publish a new version of a plan (existing subscriptions keep theirs)',
        tag: 'Plans',
        scope: 'write',
        params: api.planParams,
        body: api.planVersionBody,
        responses: { 201: api.planVersionResource },
      },
      ({ caller, params, body }) => plans.publishPlanVersion(service, caller, params.plan, body),
    ),
    route<api.CreateSubscriptionBody>(
      {
        method: 'POST',
        path: '/v1/subscriptions',
        operationId: 'createSubscription',
        summary: 'Subscribe a customer to a plan version',
        tag: 'Subscriptions',
        scope: 'write',
        body: api.createSubscriptionBody,
        responses: { 201: api.subscriptionResource },
      },
      ({ caller, body }) => subscriptions.createSubscription(service, caller, body),
    ),
    route<unknown, api.ListSubscriptionsQuery>(
      {
        method: 'GET',
        path: '/v1/subscriptions',
        operationId: 'listSubscriptions',
        summary: "List subscriptions (a customer's, by status) with their periods",
        tag: 'Subscriptions',
        scope: 'read',
        query: api.listSubscriptionsQuery,
        responses: { 200: api.pageOf(api.subscriptionResource) },
      },
      ({ caller, query }) => subscriptions.listSubscriptions(service, caller, query),
    ),
    route<unknown, unknown, api.IdParams>(
      {
        method: 'GET',
        path: '/v1/subscriptions/{id}',
        operationId: 'getSubscription',
        summary: 'Get a subscription with its periods',
        tag: 'Subscriptions',
        scope: 'read',
        params: api.idParams,
        responses: { 200: api.subscriptionResource },
      },
      ({ caller, params }) => subscriptions.getSubscription(service, caller, params.id),
    ),
    route<api.ChangeSubscriptionBody, unknown, api.IdParams>(
      {
        method: 'POST',
        path: '/v1/subscriptions/{id}/change',
        operationId: 'changeSubscription',
        summary: 'Change plan (now or at period end), pause or resume',
        tag: 'Subscriptions',
        scope: 'write',
        params: api.idParams,
        body: api.changeSubscriptionBody,
        responses: { 200: api.subscriptionResource },
      },
      ({ caller, params, body }) => subscriptions.changeSubscription(service, caller, params.id, body),
    ),
    route<api.CancelSubscriptionBody, unknown, api.IdParams>(
      {
        method: 'POST',
        path: '/v1/subscriptions/{id}/cancel',
        operationId: 'cancelSubscription',
        summary: 'Cancel now or at the end of the period',
        tag: 'Subscriptions',
        scope: 'write',
        params: api.idParams,
        body: api.cancelSubscriptionBody,
        responses: { 200: api.subscriptionResource },
      },
      ({ caller, params, body }) => subscriptions.cancelSubscription(service, caller, params.id, body),
    ),
    route<api.CheckEntitlementBody, unknown, api.CustomerParams>(
      {
        method: 'POST',
        path: '/v1/customers/{customer}/entitlements/check',
        operationId: 'checkEntitlement',
        summary: 'May the customer use this feature (this much)? Plan entitlements and credit, with the reason',
        tag: 'Subscriptions',
        scope: 'read',
        params: api.customerParams,
        body: api.checkEntitlementBody,
        responses: { 200: api.entitlementCheckResource },
      },
      ({ caller, params, body }) => entitlements.checkEntitlement(service, caller, params.customer, body),
    ),
  ];
}
