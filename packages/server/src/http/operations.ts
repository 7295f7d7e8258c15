/**
 * The catalogue of /v1 operations: method, path, scope and schemas, keyed by operationId. The
 * ledger service supplies one handler per operation through toRoutes, typed from these schemas,
 * so a handler and its documentation cannot drift apart.
 */
import type { z } from 'zod';
import type { Reply } from '../ledger/contract.ts';
import type { ParsedRequest, Route, RouteSpec } from './router.ts';
import {
  apiKeyPage,
  apiKeyResource,
  assetPage,
  assetResource,
  auditEventPage,
  auditVerificationResource,
  balanceResource,
  balancesQuery,
  balancesResource,
  captureHoldBody,
  createAdjustmentBody,
  createApiKeyBody,
  createAssetBody,
  createCustomerBody,
  createEnvironmentBody,
  createGrantBody,
  createHoldBody,
  customerPage,
  customerParams,
  customerResource,
  debitBody,
  debitCheckResource,
  emptyBody,
  environmentPage,
  environmentResource,
  extendHoldBody,
  grantPage,
  grantResource,
  holdResource,
  holdResultResource,
  idParams,
  listAuditEventsQuery,
  listGrantsQuery,
  listTransactionsQuery,
  pageQuery,
  reverseTransactionBody,
  transactionPage,
  transactionResource,
  transactionResultResource,
  updateWalletPolicyBody,
  voidGrantBody,
  walletParams,
} from './schemas.ts';

export const operations = {
  createEnvironment: {
    method: 'POST', path: '/v1/environments', tag: 'Environments', scope: 'admin',
    summary: 'Create an environment, an isolated data space such as `test`.',
    body: createEnvironmentBody, responses: { 201: environmentResource },
  },
  listEnvironments: {
    method: 'GET', path: '/v1/environments', tag: 'Environments', scope: 'admin',
    summary: 'List environments.',
    query: pageQuery, responses: { 200: environmentPage },
  },
  createApiKey: {
    method: 'POST', path: '/v1/api-keys', tag: 'API keys', scope: 'admin',
    summary: "Create an API key in the caller's environment; the secret is in this response only.",
    body: createApiKeyBody, responses: { 201: apiKeyResource },
  },
  listApiKeys: {
    method: 'GET', path: '/v1/api-keys', tag: 'API keys', scope: 'admin',
    summary: 'List API keys, without their secrets.',
    query: pageQuery, responses: { 200: apiKeyPage },
  },
  revokeApiKey: {
    method: 'POST', path: '/v1/api-keys/{id}/revoke', tag: 'API keys', scope: 'admin',
    summary: 'Revoke an API key; it is refused from the next request on.',
    params: idParams, body: emptyBody, responses: { 200: apiKeyResource },
  },
  createAsset: {
    method: 'POST', path: '/v1/assets', tag: 'Assets', scope: 'write',
    summary: 'Create an asset with a fixed scale (decimal places).',
    body: createAssetBody, responses: { 201: assetResource },
  },
  listAssets: {
    method: 'GET', path: '/v1/assets', tag: 'Assets', scope: 'read',
    summary: 'List assets.',
    query: pageQuery, responses: { 200: assetPage },
  },
  createCustomer: {
    method: 'POST', path: '/v1/customers', tag: 'Customers', scope: 'write',
    summary: "Create a customer under the integrator's own id.",
    body: createCustomerBody, responses: { 201: customerResource },
  },
  getCustomer: {
    method: 'GET', path: '/v1/customers/{customer}', tag: 'Customers', scope: 'read',
    summary: 'Get a customer.',
    params: customerParams, responses: { 200: customerResource },
  },
  listCustomers: {
    method: 'GET', path: '/v1/customers', tag: 'Customers', scope: 'read',
    summary: 'List customers.',
    query: pageQuery, responses: { 200: customerPage },
  },
  getBalances: {
    method: 'GET', path: '/v1/customers/{customer}/balances', tag: 'Wallets', scope: 'read',
    summary: "Get a customer's balances, per asset, optionally for one feature.",
    params: customerParams, query: balancesQuery, responses: { 200: balancesResource },
  },
  updateWalletPolicy: {
    method: 'POST', path: '/v1/customers/{customer}/wallets/{asset}/policy', tag: 'Wallets', scope: 'write',
    summary: "Change a wallet's overdraft limit, consumption order or debt repayment.",
    params: walletParams, body: updateWalletPolicyBody, responses: { 200: balanceResource },
  },
  createGrant: {
    method: 'POST', path: '/v1/grants', tag: 'Grants', scope: 'write',
    summary: "Add a lot of credits to a customer's wallet.",
    body: createGrantBody, responses: { 201: grantResource },
  },
  getGrant: {
    method: 'GET', path: '/v1/grants/{id}', tag: 'Grants', scope: 'read',
    summary: 'Get a grant.',
    params: idParams, responses: { 200: grantResource },
  },
  listGrants: {
    method: 'GET', path: '/v1/grants', tag: 'Grants', scope: 'read',
    summary: 'List grants, newest first.',
    query: listGrantsQuery, responses: { 200: grantPage },
  },
  voidGrant: {
    method: 'POST', path: '/v1/grants/{id}/void', tag: 'Grants', scope: 'write',
    summary: "Void a grant, moving out what remains of it.",
    params: idParams, body: voidGrantBody, responses: { 200: grantResource },
  },
  createDebit: {
    method: 'POST', path: '/v1/debits', tag: 'Debits', scope: 'ingest',
    summary: 'Consume credits now, atomically, in the wallet\'s consumption order.',
    body: debitBody, responses: { 201: transactionResultResource },
  },
  checkDebit: {
    method: 'POST', path: '/v1/debits/check', tag: 'Debits', scope: 'ingest',
    summary: 'Dry-run a debit: whether it would pass, and which grants it would draw from, and why.',
    body: debitBody, responses: { 200: debitCheckResource },
  },
  createHold: {
    method: 'POST', path: '/v1/holds', tag: 'Holds', scope: 'ingest',
    summary: 'Reserve credits for work whose final cost is not known yet.',
    body: createHoldBody, responses: { 201: holdResultResource },
  },
  getHold: {
    method: 'GET', path: '/v1/holds/{id}', tag: 'Holds', scope: 'read',
    summary: 'Get a hold.',
    params: idParams, responses: { 200: holdResource },
  },
  captureHold: {
    method: 'POST', path: '/v1/holds/{id}/capture', tag: 'Holds', scope: 'ingest',
    summary: 'Consume all or part of a hold and release the rest.',
    params: idParams, body: captureHoldBody, responses: { 200: holdResultResource },
  },
  releaseHold: {
    method: 'POST', path: '/v1/holds/{id}/release', tag: 'Holds', scope: 'ingest',
    summary: 'Release a hold without consuming anything.',
    params: idParams, body: emptyBody, responses: { 200: holdResultResource },
  },
  extendHold: {
    method: 'POST', path: '/v1/holds/{id}/extend', tag: 'Holds', scope: 'ingest',
    summary: 'Reserve more on an open hold, or move its expiry later.',
    params: idParams, body: extendHoldBody, responses: { 200: holdResultResource },
  },
  listTransactions: {
    method: 'GET', path: '/v1/transactions', tag: 'Transactions', scope: 'read',
    summary: 'List ledger transactions, newest first.',
    query: listTransactionsQuery, responses: { 200: transactionPage },
  },
  getTransaction: {
    method: 'GET', path: '/v1/transactions/{id}', tag: 'Transactions', scope: 'read',
    summary: 'Get a transaction with its entries and draws.',
    params: idParams, responses: { 200: transactionResource },
  },
  reverseTransaction: {
    method: 'POST', path: '/v1/transactions/{id}/reverse', tag: 'Transactions', scope: 'write',
    summary: 'Reverse a debit or capture, fully or partly, returning credits to the grants it drew.',
    params: idParams, body: reverseTransactionBody, responses: { 201: transactionResultResource },
  },
  createAdjustment: {
    method: 'POST', path: '/v1/adjustments', tag: 'Transactions', scope: 'write',
    summary: 'Add or remove credits by hand, with a reason.',
    body: createAdjustmentBody, responses: { 201: transactionResultResource },
  },
  listAuditEvents: {
    method: 'GET', path: '/v1/audit-events', tag: 'Audit', scope: 'admin',
    summary: 'List audit events, newest first.',
    query: listAuditEventsQuery, responses: { 200: auditEventPage },
  },
  verifyAuditLog: {
    method: 'GET', path: '/v1/audit-events/verify', tag: 'Audit', scope: 'admin',
    summary: "Check the audit log's hash chain from its first event to its last.",
    responses: { 200: auditVerificationResource },
  },
} as const satisfies Record<string, Omit<RouteSpec, 'operationId'>>;

export type OperationId = keyof typeof operations;

type Spec<K extends OperationId> = (typeof operations)[K];
type BodyOf<S> = S extends { readonly body: infer B extends z.ZodType } ? z.output<B> : undefined;
type QueryOf<S> = S extends { readonly query: infer Q extends z.ZodType } ? z.output<Q> : Readonly<Record<string, never>>;
type ParamsOf<S> = S extends { readonly params: infer P extends z.ZodType } ? z.output<P> : Readonly<Record<string, never>>;

/** The parsed request of one operation, e.g. `RequestOf<'createDebit'>['body']['amount']` is a string. */
export type RequestOf<K extends OperationId> = ParsedRequest<BodyOf<Spec<K>>, QueryOf<Spec<K>>, ParamsOf<Spec<K>>>;

export type Handlers = { readonly [K in OperationId]: (request: RequestOf<K>) => Promise<Reply> };

/** Binds one handler to each operation, giving the route table the server serves. */
export function toRoutes(handlers: Handlers): Route[] {
  return (Object.keys(operations) as OperationId[]).map((operationId) => ({
    ...(operations[operationId] as Omit<RouteSpec, 'operationId'>),
    operationId,
    // Each handler was type-checked against its own operation's RequestOf in Handlers above.
    handle: handlers[operationId] as Route['handle'],
  }));
}
