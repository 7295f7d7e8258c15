/** The routes of webhook endpoints, deliveries and the notification feed, bound to their operations. */

import { operations } from '@bursar/api';
import type { Route } from '../../platform/http/router.ts';
import { route } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import * as webhooks from './operations.ts';

export function webhookRoutes(service: LedgerService): Route[] {
  return [
    route(operations.createWebhookEndpoint, ({ caller, body }) =>
      webhooks.createWebhookEndpoint(service, caller, body),
    ),
    route(operations.listWebhookEndpoints, ({ caller, query }) =>
      webhooks.listWebhookEndpoints(service, caller, query),
    ),
    route(operations.deleteWebhookEndpoint, ({ caller, params }) =>
      webhooks.deleteWebhookEndpoint(service, caller, params.id),
    ),
    route(operations.rotateWebhookSecret, ({ caller, params }) =>
      webhooks.rotateWebhookSecret(service, caller, params.id),
    ),
    route(operations.sendTestWebhook, ({ caller, params }) => webhooks.sendTestWebhook(service, caller, params.id)),
    route(operations.listWebhookDeliveries, ({ caller, params, query }) =>
      webhooks.listWebhookDeliveries(service, caller, params.id, query),
    ),
    route(operations.redeliverWebhook, ({ caller, params }) => webhooks.redeliverWebhook(service, caller, params.id)),
    route(operations.listNotifications, ({ caller, query }) => webhooks.listNotifications(service, caller, query)),
  ];
}
