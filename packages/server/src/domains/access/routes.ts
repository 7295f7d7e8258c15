/** The routes of environments, API keys and the audit log, bound to their operations. */

import * as api from '@bursar/api';
import type { Route } from '../../platform/http/router.ts';
import { route } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import * as admin from './operations.ts';
import * as queries from './queries.ts';

export function accessRoutes(service: LedgerService, onApiKeyRevoked: () => void): Route[] {
  return [
    route<api.CreateEnvironmentBody>(
      {
        method: 'POST',
        path: '/v1/environments',
        operationId: 'createEnvironment',
        summary: 'Create an environment and its first admin key',
        tag: 'Environments',
        scope: 'owner',
        body: api.createEnvironmentBody,
        responses: { 201: api.environmentCreatedResource },
      },
      ({ caller, body }) => admin.createEnvironment(service, caller, body),
    ),
    route<unknown, api.PageQuery>(
      {
        method: 'GET',
        path: '/v1/environments',
        operationId: 'listEnvironments',
        summary: "List environments: all of them for an owner key, the key's own for an admin key",
        tag: 'Environments',
        scope: 'admin',
        query: api.pageQuery,
        responses: { 200: api.environmentPage },
      },
      ({ caller, query }) => queries.listEnvironments(service, caller, query),
    ),
    route<api.CreateApiKeyBody>(
      {
        method: 'POST',
        path: '/v1/api-keys',
        operationId: 'createApiKey',
        summary: 'Create an API key (shown once)',
        tag: 'API keys',
        scope: 'admin',
        body: api.createApiKeyBody,
        responses: { 201: api.apiKeyResource },
      },
      ({ caller, body }) => admin.createApiKey(service, caller, body),
    ),
    route<unknown, api.PageQuery>(
      {
        method: 'GET',
        path: '/v1/api-keys',
        operationId: 'listApiKeys',
        summary: 'List API keys',
        tag: 'API keys',
        scope: 'admin',
        query: api.pageQuery,
        responses: { 200: api.apiKeyPage },
      },
      ({ caller, query }) => queries.listApiKeys(service, caller, query),
    ),
    route<unknown, unknown, api.IdParams>(
      {
        method: 'POST',
        path: '/v1/api-keys/{id}/revoke',
        operationId: 'revokeApiKey',
        summary: 'Revoke an API key',
        tag: 'API keys',
        scope: 'admin',
        params: api.idParams,
        body: api.emptyBody,
        responses: { 200: api.apiKeyResource },
      },
      ({ caller, params }) => admin.revokeApiKey(service, caller, params.id, onApiKeyRevoked),
    ),
    route<unknown, api.ListAuditEventsQuery>(
      {
        method: 'GET',
        path: '/v1/audit-events',
        operationId: 'listAuditEvents',
        summary: 'List audit events',
        tag: 'Audit',
        scope: 'admin',
        query: api.listAuditEventsQuery,
        responses: { 200: api.auditEventPage },
      },
      ({ caller, query }) => queries.listAuditEvents(service, caller, query),
    ),
    route(
      {
        method: 'GET',
        path: '/v1/audit-events/verify',
        operationId: 'verifyAuditLog',
        summary: "Verify the audit log's hash chain",
        tag: 'Audit',
        scope: 'admin',
        responses: { 200: api.auditVerificationResource },
      },
      ({ caller }) => queries.verifyAuditLog(service, caller),
    ),
  ];
}
