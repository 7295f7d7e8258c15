/** The routes of webhook endpoints, deliveries and the notification feed, bound to their operations. */

import * as api from '@bursar/api';
import type { Route } from '../../platform/http/router.ts';
import { route } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import * as webhooks from './operations.ts';

export function webhookRoutes(service: LedgerService): Route[] {
  return [
    route<api.CreateWebhookEndpointBody>(
      {
        method: 'POST',
        path: '/v1/webhook-endpoints',
        operationId: 'createWebhookEndpoint',
        summary: 'Register a webhook endpoint (its secret is shown once)',
        tag: 'Webhooks',
        scope: 'admin',
        body: api.createWebhookEndpointBody,
        responses: { 201: api.webhookEndpointResource },
      },
      ({ caller, body }) => webhooks.createWebhookEndpoint(service, caller, body),
    ),
    route<unknown, api.PageQuery>(
      {
        method: 'GET',
        path: '/v1/webhook-endpoints',
        operationId: 'listWebhookEndpoints',
        summary: 'List webhook endpoints',
        tag: 'Webhooks',
        scope: 'admin',
        query: api.pageQuery,
        responses: { 200: api.pageOf(api.webhookEndpointResource) },
      },
      ({ caller, query }) => webhooks.listWebhookEndpoints(service, caller, query),
    ),
    route<unknown, unknown, api.IdParams>(
      {
        method: 'POST',
        path: '/v1/webhook-endpoints/{id}/delete',
        operationId: 'deleteWebhookEndpoint',
        summary: 'Delete a webhook endpoint',
        tag: 'Webhooks',
        scope: 'admin',
        params: api.idParams,
        body: api.emptyBody,
        responses: { 200: api.webhookEndpointResource },
      },
      ({ caller, params }) => webhooks.deleteWebhookEndpoint(service, caller, params.id),
    ),
    route<unknown, unknown, api.IdParams>(
      {
        method: 'POST',
        path: '/v1/webhook-endpoints/{id}/rotate-secret',
        operationId: 'rotateWebhookSecret',
        summary: 'Rotate the signing secret; the old one signs too for 24 hours',
        tag: 'Webhooks',
        scope: 'admin',
        params: api.idParams,
        body: api.emptyBody,
        responses: { 200: api.webhookEndpointResource },
      },
      ({ caller, params }) => webhooks.rotateWebhookSecret(service, caller, params.id),
    ),
    route<unknown, unknown, api.IdParams>(
      {
        method: 'POST',
        path: '/v1/webhook-endpoints/{id}/test',
        operationId: 'sendTestWebhook',
        summary: 'Queue a webhook.test event for this endpoint only (sent at the next dispatcher tick)',
        tag: 'Webhooks',
        scope: 'admin',
        params: api.idParams,
        body: api.emptyBody,
        responses: { 201: api.webhookDeliveryResource },
      },
      ({ caller, params }) => webhooks.sendTestWebhook(service, caller, params.id),
    ),
    route<unknown, api.PageQuery, api.IdParams>(
      {
        method: 'GET',
        path: '/v1/webhook-endpoints/{id}/deliveries',
        operationId: 'listWebhookDeliveries',
        summary: "An endpoint's delivery log, with every attempt",
        tag: 'Webhooks',
        scope: 'admin',
        params: api.idParams,
        query: api.pageQuery,
        responses: { 200: api.pageOf(api.webhookDeliveryResource) },
      },
      ({ caller, params, query }) => webhooks.listWebhookDeliveries(service, caller, params.id, query),
    ),
    route<unknown, unknown, api.IdParams>(
      {
        method: 'POST',
        path: '/v1/webhook-deliveries/{id}/redeliver',
        operationId: 'redeliverWebhook',
        summary: 'Send a delivery again',
        tag: 'Webhooks',
        scope: 'admin',
        params: api.idParams,
        body: api.emptyBody,
        responses: { 202: api.webhookDeliveryResource },
      },
      ({ caller, params }) => webhooks.redeliverWebhook(service, caller, params.id),
    ),
    route<unknown, api.NotificationsQuery>(
      {
        method: 'GET',
        path: '/v1/notifications',
        operationId: 'listNotifications',
        summary: 'The feed of lifecycle events (grant.expired, debt.created, …)',
        tag: 'Webhooks',
        scope: 'read',
        query: api.notificationsQuery,
        responses: { 200: api.pageOf(api.notificationResource) },
      },
      ({ caller, query }) => webhooks.listNotifications(service, caller, query),
    ),
  ];
}
