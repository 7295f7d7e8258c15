/**
 * The routes of plans, subscriptions and entitlement checks, bound to their operations; the
 * route table spreads them in, and the OpenAPI document is generated from them like any other.
 */
import * as entitlements from '../ledger/entitlement-operations.ts';
import * as plans from '../ledger/plan-operations.ts';
import type { LedgerService } from '../ledger/service.ts';
import * as subscriptions from '../ledger/subscription-operations.ts';
import * as q from './plan-schemas.ts';
import type { Route } from './router.ts';
import { route } from './router.ts';
import * as s from './schemas.ts';

export function planRoutes(service: LedgerService): Route[] {
  return [
    route<q.CreatePlanBody>(
      {
        method: 'POST',
        path: '/v1/plans',
        operationId: 'createPlan',
        summary: 'Create a plan with its first version',
        tag: 'Plans',
        scope: 'write',
        body: q.createPlanBody,
        responses: { 201: q.planResource },
      },
      ({ caller, body }) => plans.createPlan(service, caller, body),
    ),
    route<unknown, s.PageQuery>(
      {
        method: 'GET',
        path: '/v1/plans',
        operationId: 'listPlans',
        summary: 'List plans with their versions',
        tag: 'Plans',
        scope: 'read',
        query: s.pageQuery,
        responses: { 200: s.pageOf(q.planResource) },
      },
      ({ caller, query }) => plans.listPlans(service, caller, query),
    ),
    route<unknown, unknown, q.PlanParams>(
      {
        method: 'GET',
        path: '/v1/plans/{plan}',
        operationId: 'getPlan',
        summary: 'Get a plan with every version',
        tag: 'Plans',
        scope: 'read',
        params: q.planParams,
        responses: { 200: q.planResource },
      },
      ({ caller, params }) => plans.getPlan(service, caller, params.plan),
    ),
    route<q.PlanVersionBody, unknown, q.PlanParams>(
      {
        method: 'POST',
        path: '/v1/plans/{plan}/versions',
        operationId: 'publishPlanVersion',
        summary: 'Publish a new version of a plan (existing subscriptions keep theirs)',
        tag: 'Plans',
        scope: 'write',
        params: q.planParams,
        body: q.planVersionBody,
        responses: { 201: q.planVersionResource },
      },
      ({ caller, params, body }) => plans.publishPlanVersion(service, caller, params.plan, body),
    ),
    route<q.CreateSubscriptionBody>(
      {
        method: 'POST',
        path: '/v1/subscriptions',
        operationId: 'createSubscription',
        summary: 'Subscribe a customer to a plan version',
        tag: 'Subscriptions',
        scope: 'write',
        body: q.createSubscriptionBody,
        responses: { 201: q.subscriptionResource },
      },
      ({ caller, body }) => subscriptions.createSubscription(service, caller, body),
    ),
    route<unknown, q.ListSubscriptionsQuery>(
      {
        method: 'GET',
        path: '/v1/subscriptions',
        operationId: 'listSubscriptions',
        summary: "List subscriptions (a customer's, by status) with their periods",
        tag: 'Subscriptions',
        scope: 'read',
        query: q.listSubscriptionsQuery,
        responses: { 200: s.pageOf(q.subscriptionResource) },
      },
      ({ caller, query }) => subscriptions.listSubscriptions(service, caller, query),
    ),
    route<unknown, unknown, s.IdParams>(
      {
        method: 'GET',
        path: '/v1/subscriptions/{id}',
        operationId: 'getSubscription',
        summary: 'Get a subscription with its periods',
        tag: 'Subscriptions',
        scope: 'read',
        params: s.idParams,
        responses: { 200: q.subscriptionResource },
      },
      ({ caller, params }) => subscriptions.getSubscription(service, caller, params.id),
    ),
    route<q.ChangeSubscriptionBody, unknown, s.IdParams>(
      {
        method: 'POST',
        path: '/v1/subscriptions/{id}/change',
        operationId: 'changeSubscription',
        summary: 'Change plan (now or at period end), pause or resume',
        tag: 'Subscriptions',
        scope: 'write',
        params: s.idParams,
        body: q.changeSubscriptionBody,
        responses: { 200: q.subscriptionResource },
      },
      ({ caller, params, body }) => subscriptions.changeSubscription(service, caller, params.id, body),
    ),
    route<q.CancelSubscriptionBody, unknown, s.IdParams>(
      {
        method: 'POST',
        path: '/v1/subscriptions/{id}/cancel',
        operationId: 'cancelSubscription',
        summary: 'Cancel now or at the end of the period',
        tag: 'Subscriptions',
        scope: 'write',
        params: s.idParams,
        body: q.cancelSubscriptionBody,
        responses: { 200: q.subscriptionResource },
      },
      ({ caller, params, body }) => subscriptions.cancelSubscription(service, caller, params.id, body),
    ),
    route<q.CheckEntitlementBody, unknown, s.CustomerParams>(
      {
        method: 'POST',
        path: '/v1/customers/{customer}/entitlements/check',
        operationId: 'checkEntitlement',
        summary: 'May the customer use this feature (this much)? Plan entitlements and credit, with the reason',
        tag: 'Subscriptions',
        scope: 'read',
        params: s.customerParams,
        body: q.checkEntitlementBody,
        responses: { 200: q.entitlementCheckResource },
      },
      ({ caller, params, body }) => entitlements.checkEntitlement(service, caller, params.customer, body),
    ),
  ];
}
