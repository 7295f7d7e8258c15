/** The portal domain's surface for the rest of the server: portal sessions, the portal's routes, its live events and authentication. */
export { PortalAuthenticator } from './authenticator.ts';
export { PortalEvents } from './events.ts';
export { portalPageRoutes, portalRoutes } from './routes.ts';
