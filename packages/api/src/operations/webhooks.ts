/** The operations of webhook endpoints, deliveries and the notification feed: each one's method, path, scope and schemas. */
import {
  createWebhookEndpointBody,
  notificationPage,
  notificationsQuery,
  webhookDeliveryPage,
  webhookDeliveryResource,
  webhookEndpointPage,
  webhookEndpointResource,
} from '../pricing.ts';
import { emptyBody, idParams, listWebhookDeliveriesQuery, pageQuery } from '../schemas.ts';
import type { Operation } from './operation.ts';

export const webhookOperations = {
  createWebhookEndpoint: {
    method: 'POST',
    path: '/v1/webhook-endpoints',
    operationId: 'createWebhookEndpoint',
    summary: 'Register a webhook endpoint (its secret is shown once)',
    tag: 'Webhooks',
    scope: 'admin',
    body: createWebhookEndpointBody,
    responses: { 201: webhookEndpointResource },
  },

  listWebhookEndpoints: {
    method: 'GET',
    path: '/v1/webhook-endpoints',
    operationId: 'listWebhookEndpoints',
    summary: 'List webhook endpoints',
    tag: 'Webhooks',
    scope: 'admin',
    query: pageQuery,
    responses: { 200: webhookEndpointPage },
  },

  deleteWebhookEndpoint: {
    method: 'POST',
    path: '/v1/webhook-endpoints/{id}/delete',
    operationId: 'deleteWebhookEndpoint',
    summary: 'Delete a webhook endpoint',
    tag: 'Webhooks',
    scope: 'admin',
    params: idParams,
    body: emptyBody,
    responses: { 200: webhookEndpointResource },
  },

  rotateWebhookSecret: {
    method: 'POST',
    path: '/v1/webhook-endpoints/{id}/rotate-secret',
    operationId: 'rotateWebhookSecret',
    summary: 'Rotate the signing secret; the old one signs too for 24 hours',
    tag: 'Webhooks',
    scope: 'admin',
    params: idParams,
    body: emptyBody,
    responses: { 200: webhookEndpointResource },
  },

  sendTestWebhook: {
    method: 'POST',
    path: '/v1/webhook-endpoints/{id}/test',
    operationId: 'sendTestWebhook',
    summary: 'Queue a webhook.test event for this endpoint only (sent at the next dispatcher tick)',
    tag: 'Webhooks',
    scope: 'admin',
    params: idParams,
    body: emptyBody,
    responses: { 201: webhookDeliveryResource },
  },

  listWebhookDeliveries: {
    method: 'GET',
    path: '/v1/webhook-endpoints/{id}/deliveries',
    operationId: 'listWebhookDeliveries',
    summary: "An endpoint's delivery log, with every attempt",
    tag: 'Webhooks',
    scope: 'admin',
    params: idParams,
    query: listWebhookDeliveriesQuery,
    responses: { 200: webhookDeliveryPage },
  },

  redeliverWebhook: {
    method: 'POST',
    path: '/v1/webhook-deliveries/{id}/redeliver',
    operationId: 'redeliverWebhook',
    summary: 'Send a delivery again',
    tag: 'Webhooks',
    scope: 'admin',
    params: idParams,
    body: emptyBody,
    responses: { 202: webhookDeliveryResource },
  },

  listNotifications: {
    method: 'GET',
    path: '/v1/notifications',
    operationId: 'listNotifications',
    summary: 'The feed of lifecycle events (grant.expired, debt.created, …)',
    tag: 'Webhooks',
    scope: 'read',
    query: notificationsQuery,
    responses: { 200: notificationPage },
  },
} as const satisfies Readonly<Record<string, Operation>>;
