/**
 * The routes of plans, subscriptions and entitlement checks, bound to their operations; the
 * route table spreads them in, and the OpenAPI document is generated from them like any other.
 */

import { operations } from '@bursar/api';
import type { Route } from '../../platform/http/router.ts';
import { route } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import { answerOrDryRun } from '../wallets/index.ts';
import * as entitlements from './entitlement-operations.ts';
import { previewSubscriptionChange } from './plan-change-preview.ts';
import * as plans from './plan-operations.ts';
import * as subscriptions from './subscription-operations.ts';

export function planRoutes(service: LedgerService): Route[] {
  return [
    route(operations.createPlan, ({ caller, body }) => plans.createPlan(service, caller, body)),
    route(operations.listPlans, ({ caller, query }) => plans.listPlans(service, caller, query)),
    route(operations.getPlan, ({ caller, params }) => plans.getPlan(service, caller, params.plan)),
    route(operations.publishPlanVersion, ({ caller, params, body }) =>
      plans.publishPlanVersion(service, caller, params.plan, body),
    ),
    route(operations.createSubscription, ({ caller, body }) => subscriptions.createSubscription(service, caller, body)),
    route(operations.listSubscriptions, ({ caller, query }) => subscriptions.listSubscriptions(service, caller, query)),
    route(operations.getSubscription, ({ caller, params }) =>
      subscriptions.getSubscription(service, caller, params.id),
    ),
    route(operations.changeSubscription, ({ caller, params, query, body }) =>
      answerOrDryRun(service, caller, query, (as) => subscriptions.changeSubscription(service, as, params.id, body)),
    ),
    route(operations.previewSubscriptionChange, ({ caller, params, body }) =>
      previewSubscriptionChange(service, caller, params.id, body),
    ),
    route(operations.cancelSubscription, ({ caller, params, query, body }) =>
      answerOrDryRun(service, caller, query, (as) => subscriptions.cancelSubscription(service, as, params.id, body)),
    ),
    route(operations.checkEntitlement, ({ caller, params, body }) =>
      entitlements.checkEntitlement(service, caller, params.customer, body),
    ),
  ];
}
