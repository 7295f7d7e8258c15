/**
 * The route table: every operation of the API with its operationId, scope and schemas, bound to
 * the ledger's operations. The OpenAPI document is generated from this table.
 */

import * as admin from '../ledger/admin-operations.ts';
import type { Reply } from '../ledger/contract.ts';
import * as queries from '../ledger/queries.ts';
import type { LedgerService } from '../ledger/service.ts';
import * as wallets from '../ledger/wallet-operations.ts';
import type { ParsedRequest, Route } from './router.ts';
import * as s from './schemas.ts';

type Handler<Body, Query, Params> = (request: ParsedRequest<Body, Query, Params>) => Promise<Reply>;

function route<Body = unknown, Query = unknown, Params = unknown>(
  spec: Omit<Route, 'handle'>,
  handle: Handler<Body, Query, Params>,
): Route {
  return { ...spec, handle: handle as Route['handle'] };
}

export function ledgerRoutes(service: LedgerService, onApiKeyRevoked: () => void): Route[] {
  return [
    route<s.CreateEnvironmentBody>(
      {
        method: 'POST',
        path: '/v1/environments',
        operationId: 'createEnvironment',
        summary: 'Create an environment and its first admin key',
        tag: 'Environments',
        scope: 'admin',
        body: s.createEnvironmentBody,
        responses: { 201: s.environmentCreatedResource },
      },
      ({ caller, body }) => admin.createEnvironment(service, caller, body),
    ),
    route(
      {
        method: 'GET',
        path: '/v1/environments',
        operationId: 'listEnvironments',
        summary: 'List environments',
        tag: 'Environments',
        scope: 'admin',
        responses: { 200: s.environmentPage },
      },
      () => queries.listEnvironments(service),
    ),
    route<s.CreateApiKeyBody>(
      {
        method: 'POST',
        path: '/v1/api-keys',
        operationId: 'createApiKey',
        summary: 'Create an API key (shown once)',
        tag: 'API keys',
        scope: 'admin',
        body: s.createApiKeyBody,
        responses: { 201: s.apiKeyResource },
      },
      ({ caller, body }) => admin.createApiKey(service, caller, body),
    ),
    route<unknown, s.PageQuery>(
      {
        method: 'GET',
        path: '/v1/api-keys',
        operationId: 'listApiKeys',
        summary: 'List API keys',
        tag: 'API keys',
        scope: 'admin',
        query: s.pageQuery,
        responses: { 200: s.apiKeyPage },
      },
      ({ caller, query }) => queries.listApiKeys(service, caller, query),
    ),
    route<unknown, unknown, s.IdParams>(
      {
        method: 'POST',
        path: '/v1/api-keys/{id}/revoke',
        operationId: 'revokeApiKey',
        summary: 'Revoke an API key',
        tag: 'API keys',
        scope: 'admin',
        params: s.idParams,
        body: s.emptyBody,
        responses: { 200: s.apiKeyResource },
      },
      ({ caller, params }) => admin.revokeApiKey(service, caller, params.id, onApiKeyRevoked),
    ),
    route<s.CreateAssetBody>(
      {
        method: 'POST',
        path: '/v1/assets',
        operationId: 'createAsset',
        summary: 'Create an asset',
        tag: 'Assets',
        scope: 'write',
        body: s.createAssetBody,
        responses: { 201: s.assetResource },
      },
      ({ caller, body }) => admin.createAsset(service, caller, body),
    ),
    route(
      {
        method: 'GET',
        path: '/v1/assets',
        operationId: 'listAssets',
        summary: 'List assets',
        tag: 'Assets',
        scope: 'read',
        responses: { 200: s.assetPage },
      },
      ({ caller }) => queries.listAssets(service, caller),
    ),
    route<s.CreateCustomerBody>(
      {
        method: 'POST',
        path: '/v1/customers',
        operationId: 'createCustomer',
        summary: 'Create a customer',
        tag: 'Customers',
        scope: 'write',
        body: s.createCustomerBody,
        responses: { 201: s.customerResource },
      },
      ({ caller, body }) => admin.createCustomer(service, caller, body),
    ),
    route<unknown, unknown, s.CustomerParams>(
      {
        method: 'GET',
        path: '/v1/customers/{customer}',
        operationId: 'getCustomer',
        summary: 'Get a customer',
        tag: 'Customers',
        scope: 'read',
        params: s.customerParams,
        responses: { 200: s.customerResource },
      },
      ({ caller, params }) => queries.getCustomer(service, caller, params.customer),
    ),
    route<unknown, s.PageQuery>(
      {
        method: 'GET',
        path: '/v1/customers',
        operationId: 'listCustomers',
        summary: 'List customers',
        tag: 'Customers',
        scope: 'read',
        query: s.pageQuery,
        responses: { 200: s.customerPage },
      },
      ({ caller, query }) => queries.listCustomers(service, caller, query),
    ),
    route<unknown, s.BalancesQuery, s.CustomerParams>(
      {
        method: 'GET',
        path: '/v1/customers/{customer}/balances',
        operationId: 'getBalances',
        summary: "A customer's live balances",
        tag: 'Balances',
        scope: 'read',
        params: s.customerParams,
        query: s.balancesQuery,
        responses: { 200: s.balancesResource },
      },
      ({ caller, params, query }) => queries.getBalances(service, caller, params.customer, query),
    ),
    route<s.UpdateWalletPolicyBody, unknown, s.WalletParams>(
      {
        method: 'POST',
        path: '/v1/customers/{customer}/wallets/{asset}/policy',
        operationId: 'updateWalletPolicy',
        summary: "Set a wallet's overdraft limit and consumption order",
        tag: 'Balances',
        scope: 'write',
        params: s.walletParams,
        body: s.updateWalletPolicyBody,
        responses: { 200: s.walletPolicyResource },
      },
      ({ caller, params, body }) => wallets.updateWalletPolicy(service, caller, params.customer, params.asset, body),
    ),
    route<s.CreateGrantBody>(
      {
        method: 'POST',
        path: '/v1/grants',
        operationId: 'createGrant',
        summary: 'Grant credits to a customer',
        tag: 'Grants',
        scope: 'write',
        body: s.createGrantBody,
        responses: { 201: s.grantCreatedResource },
      },
      ({ caller, body }) => wallets.createGrant(service, caller, body),
    ),
    route<unknown, unknown, s.IdParams>(
      {
        method: 'GET',
        path: '/v1/grants/{id}',
        operationId: 'getGrant',
        summary: 'Get a grant',
        tag: 'Grants',
        scope: 'read',
        params: s.idParams,
        responses: { 200: s.grantResource },
      },
      ({ caller, params }) => queries.getGrant(service, caller, params.id),
    ),
    route<unknown, s.ListGrantsQuery>(
      {
        method: 'GET',
        path: '/v1/grants',
        operationId: 'listGrants',
        summary: 'List grants',
        tag: 'Grants',
        scope: 'read',
        query: s.listGrantsQuery,
        responses: { 200: s.grantPage },
      },
      ({ caller, query }) => queries.listGrants(service, caller, query),
    ),
    route<s.VoidGrantBody, unknown, s.IdParams>(
      {
        method: 'POST',
        path: '/v1/grants/{id}/void',
        operationId: 'voidGrant',
        summary: "Void a grant's remaining credit",
        tag: 'Grants',
        scope: 'write',
        params: s.idParams,
        body: s.voidGrantBody,
        responses: { 200: s.grantVoidedResource },
      },
      ({ caller, params, body }) => wallets.voidGrant(service, caller, params.id, body),
    ),
    route<s.DebitBody>(
      {
        method: 'POST',
        path: '/v1/debits',
        operationId: 'createDebit',
        summary: 'Debit credits now, atomically',
        tag: 'Debits',
        scope: 'ingest',
        body: s.debitBody,
        responses: { 201: s.transactionResultResource },
      },
      ({ caller, body }) => wallets.createDebit(service, caller, body),
    ),
    route<s.DebitBody>(
      {
        method: 'POST',
        path: '/v1/debits/check',
        operationId: 'checkDebit',
        summary: 'Dry-run a debit and explain which grants it would draw',
        tag: 'Debits',
        scope: 'read',
        body: s.debitBody,
        responses: { 200: s.debitCheckResource },
      },
      ({ caller, body }) => queries.checkDebit(service, caller, body),
    ),
    route<s.CreateHoldBody>(
      {
        method: 'POST',
        path: '/v1/holds',
        operationId: 'createHold',
        summary: 'Reserve credits for work in progress',
        tag: 'Holds',
        scope: 'ingest',
        body: s.createHoldBody,
        responses: { 201: s.holdResultResource },
      },
      ({ caller, body }) => wallets.createHold(service, caller, body),
    ),
    route<unknown, unknown, s.IdParams>(
      {
        method: 'GET',
        path: '/v1/holds/{id}',
        operationId: 'getHold',
        summary: 'Get a hold',
        tag: 'Holds',
        scope: 'read',
        params: s.idParams,
        responses: { 200: s.holdResource },
      },
      ({ caller, params }) => queries.getHold(service, caller, params.id),
    ),
    route<s.CaptureHoldBody, unknown, s.IdParams>(
      {
        method: 'POST',
        path: '/v1/holds/{id}/capture',
        operationId: 'captureHold',
        summary: 'Capture all or part of a hold',
        tag: 'Holds',
        scope: 'ingest',
        params: s.idParams,
        body: s.captureHoldBody,
        responses: { 200: s.holdResultResource },
      },
      ({ caller, params, body }) => wallets.captureHold(service, caller, params.id, body),
    ),
    route<unknown, unknown, s.IdParams>(
      {
        method: 'POST',
        path: '/v1/holds/{id}/release',
        operationId: 'releaseHold',
        summary: 'Release a hold',
        tag: 'Holds',
        scope: 'ingest',
        params: s.idParams,
        body: s.emptyBody,
        responses: { 200: s.holdResultResource },
      },
      ({ caller, params }) => wallets.releaseHold(service, caller, params.id),
    ),
    route<s.ExtendHoldBody, unknown, s.IdParams>(
      {
        method: 'POST',
        path: '/v1/holds/{id}/extend',
        operationId: 'extendHold',
        summary: 'Extend a hold (more amount, later expiry)',
        tag: 'Holds',
        scope: 'ingest',
        params: s.idParams,
        body: s.extendHoldBody,
        responses: { 200: s.holdResultResource },
      },
      ({ caller, params, body }) => wallets.extendHold(service, caller, params.id, body),
    ),
    route<unknown, s.ListTransactionsQuery>(
      {
        method: 'GET',
        path: '/v1/transactions',
        operationId: 'listTransactions',
        summary: 'List ledger transactions',
        tag: 'Ledger',
        scope: 'read',
        query: s.listTransactionsQuery,
        responses: { 200: s.transactionPage },
      },
      ({ caller, query }) => queries.listTransactions(service, caller, query),
    ),
    route<unknown, unknown, s.IdParams>(
      {
        method: 'GET',
        path: '/v1/transactions/{id}',
        operationId: 'getTransaction',
        summary: 'Get a transaction with its entries',
        tag: 'Ledger',
        scope: 'read',
        params: s.idParams,
        responses: { 200: s.transactionResource },
      },
      ({ caller, params }) => queries.getTransaction(service, caller, params.id),
    ),
    route<s.ReverseTransactionBody, unknown, s.IdParams>(
      {
        method: 'POST',
        path: '/v1/transactions/{id}/reverse',
        operationId: 'reverseTransaction',
        summary: 'Reverse a debit, capture or negative adjustment, fully or partly',
        tag: 'Ledger',
        scope: 'write',
        params: s.idParams,
        body: s.reverseTransactionBody,
        responses: { 201: s.transactionResultResource },
      },
      ({ caller, params, body }) => wallets.reverseTransaction(service, caller, params.id, body),
    ),
    route<s.CreateAdjustmentBody>(
      {
        method: 'POST',
        path: '/v1/adjustments',
        operationId: 'createAdjustment',
        summary: 'A signed manual adjustment with a reason',
        tag: 'Ledger',
        scope: 'write',
        body: s.createAdjustmentBody,
        responses: { 201: s.adjustmentResultResource },
      },
      ({ caller, body }) => wallets.createAdjustment(service, caller, body),
    ),
    route<unknown, s.ListAuditEventsQuery>(
      {
        method: 'GET',
        path: '/v1/audit-events',
        operationId: 'listAuditEvents',
        summary: 'List audit events',
        tag: 'Audit',
        scope: 'admin',
        query: s.listAuditEventsQuery,
        responses: { 200: s.auditEventPage },
      },
      ({ caller, query }) => queries.listAuditEvents(service, caller, query),
    ),
    route(
      {
        method: 'GET',
        path: '/v1/audit-events/verify',
        operationId: 'verifyAuditLog',
        summary: "Verify the audit log's hash chain",
        tag: 'Audit',
        scope: 'admin',
        responses: { 200: s.auditVerificationResource },
      },
      ({ caller }) => queries.verifyAuditLog(service, caller),
    ),
  ];
}
