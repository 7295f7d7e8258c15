/** The routes of auto top-up rules and top-ups, bound to their operations. */

import * as api from '@bursar/api';
import type { Route } from '../../platform/http/router.ts';
import { route } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import * as topUps from './operations.ts';

export function topUpRoutes(service: LedgerService): Route[] {
  return [
    route<api.PutAutoTopUpRuleBody, unknown, api.WalletParams>(
      {
        method: 'POST',
        path: '/v1/customers/{customer}/wallets/{asset}/auto-top-up',
        operationId: 'putAutoTopUpRule',
        summary: "Set (replace) a wallet's auto top-up rule; resets its failure count",
        tag: 'Top-ups',
        scope: 'write',
        params: api.walletParams,
        body: api.putAutoTopUpRuleBody,
        responses: { 200: api.autoTopUpRuleResource },
      },
      ({ caller, params, body }) => topUps.putAutoTopUpRule(service, caller, params.customer, params.asset, body),
    ),
    route<unknown, unknown, api.WalletParams>(
      {
        method: 'GET',
        path: '/v1/customers/{customer}/wallets/{asset}/auto-top-up',
        operationId: 'getAutoTopUpRule',
        summary: "A wallet's auto top-up rule and where it stands",
        tag: 'Top-ups',
        scope: 'read',
        params: api.walletParams,
        responses: { 200: api.autoTopUpRuleResource },
      },
      ({ caller, params }) => topUps.getAutoTopUpRule(service, caller, params.customer, params.asset),
    ),
    route<unknown, api.ListTopUpsQuery, api.WalletParams>(
      {
        method: 'GET',
        path: '/v1/customers/{customer}/wallets/{asset}/top-ups',
        operationId: 'listTopUps',
        summary: "A wallet's top-ups, newest first",
        tag: 'Top-ups',
        scope: 'read',
        params: api.walletParams,
        query: api.listTopUpsQuery,
        responses: { 200: api.topUpPage },
      },
      ({ caller, params, query }) => topUps.listTopUps(service, caller, params.customer, params.asset, query),
    ),
    route<api.SettleTopUpBody, unknown, api.IdParams>(
      {
        method: 'POST',
        path: '/v1/top-ups/{id}/settle',
        operationId: 'settleTopUp',
        summary: 'Report the outcome of a top-up you charged yourself',
        tag: 'Top-ups',
        scope: 'write',
        params: api.idParams,
        body: api.settleTopUpBody,
        responses: { 200: api.topUpResource },
      },
      ({ caller, params, body }) => topUps.settleTopUp(service, caller, params.id, body),
    ),
  ];
}
