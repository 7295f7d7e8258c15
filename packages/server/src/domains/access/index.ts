/** The access domain's surface for the rest of the server: environments, API keys, console sessions, bootstrap and the audit log. */
export { ApiKeyAuthenticator } from './api-keys.ts';
export { loadAuditKey } from './audit-key.ts';
export { bootstrap } from './bootstrap.ts';
export { ConsoleSessions } from './console-sessions.ts';
export { toWireApiKey, toWireEnvironment } from './operations.ts';
export type { Authenticators } from './routes.ts';
export { accessRoutes } from './routes.ts';
export { verifyDatabase } from './verify.ts';
