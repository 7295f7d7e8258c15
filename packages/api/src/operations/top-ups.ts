/** The operations of auto top-up rules and top-ups: each one's method, path, scope and schemas. */
import { idParams, walletParams } from '../schemas.ts';
import {
  autoTopUpRuleResource,
  listTopUpsQuery,
  putAutoTopUpRuleBody,
  settleTopUpBody,
  topUpPage,
  topUpResource,
} from '../top-ups.ts';
import type { Operation } from './operation.ts';

export const topUpOperations = {
  putAutoTopUpRule: {
    method: 'POST',
    path: '/v1/customers/{customer}/wallets/{asset}/auto-top-up',
    operationId: 'putAutoTopUpRule',
    summary: "Set (replace) a wallet's auto top-up rule; resets its failure count",
    tag: 'Top-ups',
    scope: 'write',
    params: walletParams,
    body: putAutoTopUpRuleBody,
    responses: { 200: autoTopUpRuleResource },
  },

  getAutoTopUpRule: {
    method: 'GET',
    path: '/v1/customers/{customer}/wallets/{asset}/auto-top-up',
    operationId: 'getAutoTopUpRule',
    summary: "A wallet's auto top-up rule and where it stands",
    tag: 'Top-ups',
    scope: 'read',
    params: walletParams,
    responses: { 200: autoTopUpRuleResource },
  },

  listTopUps: {
    method: 'GET',
    path: '/v1/customers/{customer}/wallets/{asset}/top-ups',
    operationId: 'listTopUps',
    summary: "A wallet's top-ups, newest first",
    tag: 'Top-ups',
    scope: 'read',
    params: walletParams,
    query: listTopUpsQuery,
    responses: { 200: topUpPage },
  },

  settleTopUp: {
    method: 'POST',
    path: '/v1/top-ups/{id}/settle',
    operationId: 'settleTopUp',
    summary: 'Report the outcome of a top-up you charged yourself',
    tag: 'Top-ups',
    scope: 'write',
    params: idParams,
    body: settleTopUpBody,
    responses: { 200: topUpResource },
  },
} as const satisfies Readonly<Record<string, Operation>>;
