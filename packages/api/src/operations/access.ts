/** The operations of environments, API keys and the audit log: each one's method, path, scope and schemas. */
import {
  apiKeyPage,
  apiKeyResource,
  auditEventPage,
  auditVerificationResource,
  createApiKeyBody,
  createEnvironmentBody,
  currentApiKeyResource,
  emptyBody,
  environmentCreatedResource,
  environmentPage,
  idParams,
  listAuditEventsQuery,
  pageQuery,
} from '../schemas.ts';
import type { Operation } from './operation.ts';

export const accessOperations = {
  createEnvironment: {
    method: 'POST',
    path: '/v1/environments',
    operationId: 'createEnvironment',
    summary: 'Create an environment and its first admin key',
    tag: 'Environments',
    scope: 'owner',
    body: createEnvironmentBody,
    responses: { 201: environmentCreatedResource },
  },

  listEnvironments: {
    method: 'GET',
    path: '/v1/environments',
    operationId: 'listEnvironments',
    summary: "List environments: all of them for an owner key, the key's own for an admin key",
    tag: 'Environments',
    scope: 'admin',
    query: pageQuery,
    responses: { 200: environmentPage },
  },

  createApiKey: {
    method: 'POST',
    path: '/v1/api-keys',
    operationId: 'createApiKey',
    summary: 'Create an API key (shown once)',
    tag: 'API keys',
    scope: 'admin',
    body: createApiKeyBody,
    responses: { 201: apiKeyResource },
  },

  listApiKeys: {
    method: 'GET',
    path: '/v1/api-keys',
    operationId: 'listApiKeys',
    summary: 'List API keys',
    tag: 'API keys',
    scope: 'admin',
    query: pageQuery,
    responses: { 200: apiKeyPage },
  },

  getCurrentApiKey: {
    method: 'GET',
    path: '/v1/api-keys/current',
    operationId: 'getCurrentApiKey',
    summary: 'The calling API key: its scopes and environment',
    tag: 'API keys',
    scope: 'read',
    responses: { 200: currentApiKeyResource },
  },

  revokeApiKey: {
    method: 'POST',
    path: '/v1/api-keys/{id}/revoke',
    operationId: 'revokeApiKey',
    summary: 'Revoke an API key',
    tag: 'API keys',
    scope: 'admin',
    params: idParams,
    body: emptyBody,
    responses: { 200: apiKeyResource },
  },

  listAuditEvents: {
    method: 'GET',
    path: '/v1/audit-events',
    operationId: 'listAuditEvents',
    summary: 'List audit events',
    tag: 'Audit',
    scope: 'admin',
    query: listAuditEventsQuery,
    responses: { 200: auditEventPage },
  },

  verifyAuditLog: {
    method: 'GET',
    path: '/v1/audit-events/verify',
    operationId: 'verifyAuditLog',
    summary: "Verify the audit log's hash chain",
    tag: 'Audit',
    scope: 'admin',
    responses: { 200: auditVerificationResource },
  },
} as const satisfies Readonly<Record<string, Operation>>;
