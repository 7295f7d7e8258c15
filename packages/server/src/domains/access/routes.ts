/** The routes of environments, API keys and the audit log, bound to their operations. */

import { operations } from '@bursar/api';
import type { Route } from '../../platform/http/router.ts';
import { route } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import * as admin from './operations.ts';
import * as queries from './queries.ts';

export function accessRoutes(service: LedgerService, onApiKeyRevoked: () => void): Route[] {
  return [
    route(operations.createEnvironment, ({ caller, body }) => admin.createEnvironment(service, caller, body)),
    route(operations.listEnvironments, ({ caller, query }) => queries.listEnvironments(service, caller, query)),
    route(operations.createApiKey, ({ caller, body }) => admin.createApiKey(service, caller, body)),
    route(operations.listApiKeys, ({ caller, query }) => queries.listApiKeys(service, caller, query)),
    route(operations.getCurrentApiKey, ({ caller }) => queries.getCurrentApiKey(service, caller)),
    route(operations.revokeApiKey, ({ caller, params }) =>
      admin.revokeApiKey(service, caller, params.id, onApiKeyRevoked),
    ),
    route(operations.listAuditEvents, ({ caller, query }) => queries.listAuditEvents(service, caller, query)),
    route(operations.verifyAuditLog, ({ caller }) => queries.verifyAuditLog(service, caller)),
  ];
}
