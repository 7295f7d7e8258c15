/** The plans domain's surface for the rest of the server: plans, subscriptions, entitlements and renewals. */
export { planRoutes } from './routes.ts';
export { commitSubscriptionDecision, loadSubscriptionContext } from './subscription-operations.ts';
