/** The operations of assets, customers, balances, grants, debits, holds, transactions and adjustments: each one's method, path, scope and schemas. */
import {
  adjustmentResultResource,
  assetPage,
  assetResource,
  balancesQuery,
  balancesResource,
  captureHoldBody,
  checkDebitBody,
  createAdjustmentBody,
  createAssetBody,
  createCustomerBody,
  createGrantBody,
  createHoldBody,
  customerPage,
  customerParams,
  customerResource,
  debitBody,
  debitCheckResource,
  emptyBody,
  extendHoldBody,
  grantCreatedResource,
  grantPage,
  grantResource,
  grantVoidedResource,
  holdResource,
  holdResultResource,
  idParams,
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
  walletPolicyResource,
} from '../schemas.ts';
import type { Operation } from './operation.ts';

export const createAsset = {
  method: 'POST',
  path: '/v1/assets',
  operationId: 'createAsset',
  summary: 'Create an asset',
  tag: 'Assets',
  scope: 'write',
  body: createAssetBody,
  responses: { 201: assetResource },
} as const satisfies Operation;

export const listAssets = {
  method: 'GET',
  path: '/v1/assets',
  operationId: 'listAssets',
  summary: 'List assets',
  tag: 'Assets',
  scope: 'read',
  query: pageQuery,
  responses: { 200: assetPage },
} as const satisfies Operation;

export const createCustomer = {
  method: 'POST',
  path: '/v1/customers',
  operationId: 'createCustomer',
  summary: 'Create a customer',
  tag: 'Customers',
  scope: 'write',
  body: createCustomerBody,
  responses: { 201: customerResource },
} as const satisfies Operation;

export const getCustomer = {
  method: 'GET',
  path: '/v1/customers/{customer}',
  operationId: 'getCustomer',
  summary: 'Get a customer',
  tag: 'Customers',
  scope: 'read',
  params: customerParams,
  responses: { 200: customerResource },
} as const satisfies Operation;

export const listCustomers = {
  method: 'GET',
  path: '/v1/customers',
  operationId: 'listCustomers',
  summary: 'List customers',
  tag: 'Customers',
  scope: 'read',
  query: pageQuery,
  responses: { 200: customerPage },
} as const satisfies Operation;

export const getBalances = {
  method: 'GET',
  path: '/v1/customers/{customer}/balances',
  operationId: 'getBalances',
  summary: "A customer's live balances",
  tag: 'Balances',
  scope: 'read',
  params: customerParams,
  query: balancesQuery,
  responses: { 200: balancesResource },
} as const satisfies Operation;

export const updateWalletPolicy = {
  method: 'POST',
  path: '/v1/customers/{customer}/wallets/{asset}/policy',
  operationId: 'updateWalletPolicy',
  summary: "Set a wallet's overdraft limit and consumption order",
  tag: 'Balances',
  scope: 'write',
  params: walletParams,
  body: updateWalletPolicyBody,
  responses: { 200: walletPolicyResource },
} as const satisfies Operation;

export const createGrant = {
  method: 'POST',
  path: '/v1/grants',
  operationId: 'createGrant',
  summary: 'Grant credits to a customer',
  tag: 'Grants',
  scope: 'write',
  body: createGrantBody,
  responses: { 201: grantCreatedResource },
} as const satisfies Operation;

export const getGrant = {
  method: 'GET',
  path: '/v1/grants/{id}',
  operationId: 'getGrant',
  summary: 'Get a grant',
  tag: 'Grants',
  scope: 'read',
  params: idParams,
  responses: { 200: grantResource },
} as const satisfies Operation;

export const listGrants = {
  method: 'GET',
  path: '/v1/grants',
  operationId: 'listGrants',
  summary: 'List grants',
  tag: 'Grants',
  scope: 'read',
  query: listGrantsQuery,
  responses: { 200: grantPage },
} as const satisfies Operation;

export const voidGrant = {
  method: 'POST',
  path: '/v1/grants/{id}/void',
  operationId: 'voidGrant',
  summary: "Void a grant's remaining credit",
  tag: 'Grants',
  scope: 'write',
  params: idParams,
  body: voidGrantBody,
  responses: { 200: grantVoidedResource },
} as const satisfies Operation;

export const createDebit = {
  method: 'POST',
  path: '/v1/debits',
  operationId: 'createDebit',
  summary: 'Debit credits now, atomically',
  tag: 'Debits',
  scope: 'ingest',
  body: debitBody,
  responses: { 201: transactionResultResource },
} as const satisfies Operation;

export const checkDebit = {
  method: 'POST',
  path: '/v1/debits/check',
  operationId: 'checkDebit',
  summary: 'Dry-run a debit and explain which grants it would draw',
  tag: 'Debits',
  scope: 'read',
  body: checkDebitBody,
  responses: { 200: debitCheckResource },
} as const satisfies Operation;

export const createHold = {
  method: 'POST',
  path: '/v1/holds',
  operationId: 'createHold',
  summary: 'Reserve credits for work in progress',
  tag: 'Holds',
  scope: 'ingest',
  body: createHoldBody,
  responses: { 201: holdResultResource },
} as const satisfies Operation;

export const getHold = {
  method: 'GET',
  path: '/v1/holds/{id}',
  operationId: 'getHold',
  summary: 'Get a hold',
  tag: 'Holds',
  scope: 'read',
  params: idParams,
  responses: { 200: holdResource },
} as const satisfies Operation;

export const captureHold = {
  method: 'POST',
  path: '/v1/holds/{id}/capture',
  operationId: 'captureHold',
  summary: 'Capture all or part of a hold',
  tag: 'Holds',
  scope: 'ingest',
  params: idParams,
  body: captureHoldBody,
  responses: { 200: holdResultResource },
} as const satisfies Operation;

export const releaseHold = {
  method: 'POST',
  path: '/v1/holds/{id}/release',
  operationId: 'releaseHold',
  summary: 'Release a hold',
  tag: 'Holds',
  scope: 'ingest',
  params: idParams,
  body: emptyBody,
  responses: { 200: holdResultResource },
} as const satisfies Operation;

export const extendHold = {
  method: 'POST',
  path: '/v1/holds/{id}/extend',
  operationId: 'extendHold',
  summary: 'Extend a hold (more amount, later expiry)',
  tag: 'Holds',
  scope: 'ingest',
  params: idParams,
  body: extendHoldBody,
  responses: { 200: holdResultResource },
} as const satisfies Operation;

export const listTransactions = {
  method: 'GET',
  path: '/v1/transactions',
  operationId: 'listTransactions',
  summary: 'List ledger transactions',
  tag: 'Ledger',
  scope: 'read',
  query: listTransactionsQuery,
  responses: { 200: transactionPage },
} as const satisfies Operation;

export const getTransaction = {
  method: 'GET',
  path: '/v1/transactions/{id}',
  operationId: 'getTransaction',
  summary: 'Get a transaction with its entries',
  tag: 'Ledger',
  scope: 'read',
  params: idParams,
  responses: { 200: transactionResource },
} as const satisfies Operation;

export const reverseTransaction = {
  method: 'POST',
  path: '/v1/transactions/{id}/reverse',
  operationId: 'reverseTransaction',
  summary: 'Reverse a debit, capture or negative adjustment, fully or partly',
  tag: 'Ledger',
  scope: 'write',
  params: idParams,
  body: reverseTransactionBody,
  responses: { 201: transactionResultResource },
} as const satisfies Operation;

export const createAdjustment = {
  method: 'POST',
  path: '/v1/adjustments',
  operationId: 'createAdjustment',
  summary: 'A signed manual adjustment with a reason',
  tag: 'Ledger',
  scope: 'write',
  body: createAdjustmentBody,
  responses: { 201: adjustmentResultResource },
} as const satisfies Operation;
