/** The operations of environments, API keys and the audit log: each one's method, path, scope and schemas. */
import {
  apiKeyPage,
  apiKeyResource,
  auditEventPage,
  auditVerificationResource,
  consoleSessionResource,
  createApiKeyBody,
  createConsoleSessionBody,
  createEnvironmentBody,
  currentApiKeyResource,
  emptyBody,
  environmentCreatedResource,
  environmentPage,
  idParams,
  jobsResource,
  listAuditEventsQuery,
  noContent,
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

  createConsoleSession: {
    method: 'POST',
    path: '/v1/console/sessions',
    operationId: 'createConsoleSession',
    summary: 'Sign in to the console: exchange an API key for an HttpOnly session cookie',
    tag: 'Console sessions',
    scope: 'read',
    unauthenticated: true,
    body: createConsoleSessionBody,
    responses: { 201: consoleSessionResource },
  },

  getConsoleSession: {
    method: 'GET',
    path: '/v1/console/sessions/current',
    operationId: 'getConsoleSession',
    summary: 'The console session of the bursar_console cookie',
    tag: 'Console sessions',
    scope: 'read',
    responses: { 200: consoleSessionResource },
  },

  deleteConsoleSession: {
    method: 'DELETE',
    path: '/v1/console/sessions/current',
    operationId: 'deleteConsoleSession',
    summary: 'Sign out: end the console session and clear its cookie',
    tag: 'Console sessions',
    scope: 'read',
    responses: { 204: noContent },
  },

  listJobs: {
    method: 'GET',
    path: '/v1/jobs',
    operationId: 'listJobs',
    summary: "The answering process's background jobs, their failures, and the scheduled work due",
    tag: 'Jobs',
    scope: 'admin',
    responses: { 200: jobsResource },
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
