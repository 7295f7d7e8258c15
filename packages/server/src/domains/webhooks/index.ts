/** The webhooks domain's surface for the rest of the server: webhook endpoints, signed delivery and the notification feed. */
export type { WebhookTiming } from './dispatcher.ts';
export { defaultWebhookTiming, WebhookDispatcher } from './dispatcher.ts';
export { sealStoredWebhookSecrets } from './operations.ts';
export { webhookRoutes } from './routes.ts';
export type { HostResolver } from './targets.ts';
