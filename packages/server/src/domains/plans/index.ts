/** The plans domain's surface for the rest of the server: plans, subscriptions, entitlements and renewals. */

export { simulatePricing } from './plan-replay.ts';
export { planRoutes } from './routes.ts';
export { commitSubscriptionDecision, liveSubscriptionsOf, loadSubscriptionContext } from './subscription-operations.ts';
