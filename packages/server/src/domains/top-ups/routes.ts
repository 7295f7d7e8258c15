/** The routes of auto top-up rules and top-ups, bound to their operations. */

import { operations } from '@bursar/api';
import type { Route } from '../../platform/http/router.ts';
import { route } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import * as topUps from './operations.ts';

export function topUpRoutes(service: LedgerService): Route[] {
  return [
    route(operations.putAutoTopUpRule, ({ caller, params, body }) =>
      topUps.putAutoTopUpRule(service, caller, params.customer, params.asset, body),
    ),
    route(operations.getAutoTopUpRule, ({ caller, params }) =>
      topUps.getAutoTopUpRule(service, caller, params.customer, params.asset),
    ),
    route(operations.listTopUps, ({ caller, params, query }) =>
      topUps.listTopUps(service, caller, params.customer, params.asset, query),
    ),
    route(operations.settleTopUp, ({ caller, params, body }) => topUps.settleTopUp(service, caller, params.id, body)),
  ];
}
