/**
 * The operations of the customer portal: minting a portal session (an API key's), what a portal
 * session may call under /v1/portal/ (no customer id anywhere: the session's customer is implied),
 * and the operator's portal settings.
 */
import {
  createPortalSessionBody,
  createPortalTopUpBody,
  listPortalGrantsQuery,
  portalAutoRechargeQuery,
  portalAutoRechargeResource,
  portalHoldPage,
  portalPageQuery,
  portalSessionCreatedResource,
  portalSessionResource,
  portalSettingsBody,
  portalSettingsResource,
  portalTopUpResource,
  portalUsageQuery,
  updatePortalAutoRechargeBody,
} from '../portal.ts';
import { usageResource } from '../pricing.ts';
import { balancesResource, grantPage, transactionPage } from '../schemas.ts';
import type { Operation } from './operation.ts';

/** A portal operation: called with a portal session only, so the API key scope does not apply. */
const portal = { tag: 'Portal', scope: 'read', principal: 'portal' } as const;

export const portalOperations = {
  createPortalSession: {
    method: 'POST',
    path: '/v1/portal_sessions',
    operationId: 'createPortalSession',
    summary: "Mint a customer's portal session: a one-time URL for the browser and a bearer token for widgets",
    tag: 'Portal',
    scope: 'write',
    body: createPortalSessionBody,
    responses: { 201: portalSessionCreatedResource },
  },

  getPortalSettings: {
    method: 'GET',
    path: '/v1/portal_settings',
    operationId: 'getPortalSettings',
    summary: "The portal's branding, the bounds of customers' auto-recharge settings, and top-up prices",
    tag: 'Portal',
    scope: 'admin',
    responses: { 200: portalSettingsResource },
  },

  updatePortalSettings: {
    method: 'PUT',
    path: '/v1/portal_settings',
    operationId: 'updatePortalSettings',
    summary: "Replace the portal's settings",
    tag: 'Portal',
    scope: 'admin',
    body: portalSettingsBody,
    responses: { 200: portalSettingsResource },
  },

  getPortalSession: {
    ...portal,
    method: 'GET',
    path: '/v1/portal/session',
    operationId: 'getPortalSession',
    summary:
      'The portal session: its customer, expiry, CSRF token, branding, top-up, auto-recharge limits and live subscriptions',
    responses: { 200: portalSessionResource },
  },

  getPortalBalances: {
    ...portal,
    method: 'GET',
    path: '/v1/portal/balances',
    operationId: 'getPortalBalances',
    summary: "The session customer's live balances",
    responses: { 200: balancesResource },
  },

  listPortalGrants: {
    ...portal,
    method: 'GET',
    path: '/v1/portal/grants',
    operationId: 'listPortalGrants',
    summary: "The session customer's grants, newest first",
    query: listPortalGrantsQuery,
    responses: { 200: grantPage },
  },

  listPortalHolds: {
    ...portal,
    method: 'GET',
    path: '/v1/portal/holds',
    operationId: 'listPortalHolds',
    summary: "The session customer's open holds, each with the grants it is pinned to, oldest first",
    query: portalPageQuery,
    responses: { 200: portalHoldPage },
  },

  getPortalUsage: {
    ...portal,
    method: 'GET',
    path: '/v1/portal/usage',
    operationId: 'getPortalUsage',
    summary: "The session customer's usage and cost by feature and day or hour",
    query: portalUsageQuery,
    responses: { 200: usageResource },
  },

  listPortalTransactions: {
    ...portal,
    method: 'GET',
    path: '/v1/portal/transactions',
    operationId: 'listPortalTransactions',
    summary: "The session customer's ledger transactions, newest first",
    query: portalPageQuery,
    responses: { 200: transactionPage },
  },

  getPortalAutoRecharge: {
    ...portal,
    method: 'GET',
    path: '/v1/portal/auto_recharge',
    operationId: 'getPortalAutoRecharge',
    summary: "The session customer's auto-recharge settings for one asset",
    query: portalAutoRechargeQuery,
    responses: { 200: portalAutoRechargeResource },
  },

  updatePortalAutoRecharge: {
    ...portal,
    method: 'PUT',
    path: '/v1/portal/auto_recharge',
    operationId: 'updatePortalAutoRecharge',
    summary: "Change the session customer's auto-recharge settings, within the operator's limits",
    body: updatePortalAutoRechargeBody,
    responses: { 200: portalAutoRechargeResource },
  },

  createPortalTopUp: {
    ...portal,
    method: 'POST',
    path: '/v1/portal/top_ups',
    operationId: 'createPortalTopUp',
    summary: 'Start a top-up through the payment provider, at the price the operator set',
    body: createPortalTopUpBody,
    responses: { 201: portalTopUpResource },
  },

  streamPortalEvents: {
    ...portal,
    method: 'GET',
    path: '/v1/portal/events',
    operationId: 'streamPortalEvents',
    summary: 'Server-sent events: `balance` (the getPortalBalances body) on connect and within 1 s of each change',
    eventStream: true,
    responses: { 200: balancesResource },
  },
} as const satisfies Readonly<Record<string, Operation>>;
