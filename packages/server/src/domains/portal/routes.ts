/** The portal's routes: minting sessions and the settings (API keys), the /v1/portal/ operations (portal sessions only), and the one-time link. */
import { operations } from '@bursar/api';
import type { PageRoute, Route } from '../../platform/http/router.ts';
import { route, streamRoute } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import type { StripeAccount } from '../payments/index.ts';
import type { PortalEvents } from './events.ts';
import {
  createPortalTopUp,
  getPortalAutoRecharge,
  getPortalBalances,
  getPortalUsage,
  listPortalGrants,
  listPortalHolds,
  listPortalTransactions,
  updatePortalAutoRecharge,
} from './operations.ts';
import type { PortalLinks } from './sessions.ts';
import { createPortalSession, exchangePortalCode, getPortalSession } from './sessions.ts';
import { getPortalSettings, updatePortalSettings } from './settings.ts';

export function portalRoutes(
  service: LedgerService,
  stripe: StripeAccount | null,
  links: PortalLinks,
  events: PortalEvents,
): Route[] {
  return [
    route(operations.createPortalSession, ({ caller, origin, body }) =>
      createPortalSession(service, links, caller, origin, body),
    ),
    route(operations.getPortalSettings, ({ caller }) => getPortalSettings(service, caller)),
    route(operations.updatePortalSettings, ({ caller, body }) => updatePortalSettings(service, caller, body)),
    route(operations.getPortalSession, ({ caller }) => getPortalSession(service, caller, stripe !== null)),
    route(operations.getPortalBalances, ({ caller }) => getPortalBalances(service, caller)),
    route(operations.listPortalGrants, ({ caller, query }) => listPortalGrants(service, caller, query)),
    route(operations.listPortalHolds, ({ caller, query }) => listPortalHolds(service, caller, query)),
    route(operations.getPortalUsage, ({ caller, query }) => getPortalUsage(service, caller, query)),
    route(operations.listPortalTransactions, ({ caller, query }) => listPortalTransactions(service, caller, query)),
    route(operations.getPortalAutoRecharge, ({ caller, query }) => getPortalAutoRecharge(service, caller, query.asset)),
    route(operations.updatePortalAutoRecharge, ({ caller, body }) => updatePortalAutoRecharge(service, caller, body)),
    route(operations.createPortalTopUp, ({ caller, body }) => createPortalTopUp(service, stripe, caller, body)),
    streamRoute(operations.streamPortalEvents, async ({ caller }) => events.balanceStream(caller)),
  ];
}

/** The browser route of the one-time link (not an API operation: it answers a redirect or a page). */
export function portalPageRoutes(service: LedgerService, links: PortalLinks): PageRoute[] {
  return [
    {
      name: 'exchangePortalCode',
      path: '/portal/session/:code',
      handle: (request) => exchangePortalCode(service, links, request),
    },
  ];
}
