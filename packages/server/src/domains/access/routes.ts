/** The routes of environments, API keys, console sessions and the audit log, bound to their operations. */
import { operations } from '@bursar/api';
import type { Route } from '../../platform/http/router.ts';
import { route } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import type { ApiKeyAuthenticator } from './api-keys.ts';
import type { ConsoleSessions } from './console-sessions.ts';
import * as admin from './operations.ts';
import * as queries from './queries.ts';

/** Who authenticates requests: API keys and the console's sessions, whose caches a revocation clears. */
export interface Authenticators {
  readonly apiKeys: ApiKeyAuthenticator;
  readonly consoleSessions: ConsoleSessions;
}

export function accessRoutes(service: LedgerService, authenticators: Authenticators): Route[] {
  const { consoleSessions } = authenticators;
  const onApiKeyRevoked = () => {
    authenticators.apiKeys.forget();
    consoleSessions.forget();
  };
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
    route(operations.createConsoleSession, ({ caller, body, secure }) =>
      consoleSessions.create(service, caller.requestId, secure, body.api_key),
    ),
    route(operations.getConsoleSession, ({ caller }) => consoleSessions.current(service, caller)),
    route(operations.deleteConsoleSession, ({ caller, secure }) => consoleSessions.end(service, caller, secure)),
    route(operations.verifyAuditLog, ({ caller }) => queries.verifyAuditLog(service, caller)),
  ];
}
