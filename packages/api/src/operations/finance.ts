/** The operations of finance: revenue recognition, the journal, margin and reconciliation. */
import {
  exportJournalQuery,
  financeSettingsResource,
  importProviderCostsBody,
  journalResource,
  marginReportQuery,
  marginReportResource,
  providerCostImportResource,
  reconciliationQuery,
  reconciliationResource,
  revenueReportQuery,
  revenueReportResource,
  updateFinanceSettingsBody,
} from '../finance.ts';
import type { Operation } from './operation.ts';

export const financeOperations = {
  getRevenueReport: {
    method: 'GET',
    path: '/v1/finance/revenue',
    operationId: 'getRevenueReport',
    summary: 'Deferred, recognized, breakage and refunded revenue of paid credit, by period',
    tag: 'Finance',
    scope: 'read',
    query: revenueReportQuery,
    responses: { 200: revenueReportResource },
  },

  exportJournal: {
    method: 'GET',
    path: '/v1/finance/journal',
    operationId: 'exportJournal',
    summary: 'Double-entry journal lines of revenue recognition, for an accounting system',
    tag: 'Finance',
    scope: 'read',
    query: exportJournalQuery,
    responses: { 200: journalResource },
  },

  getMarginReport: {
    method: 'GET',
    path: '/v1/finance/margin',
    operationId: 'getMarginReport',
    summary: 'Revenue, provider cost and gross margin by customer, feature, model and day',
    tag: 'Finance',
    scope: 'read',
    query: marginReportQuery,
    responses: { 200: marginReportResource },
  },

  getFinanceSettings: {
    method: 'GET',
    path: '/v1/finance/settings',
    operationId: 'getFinanceSettings',
    summary: "The environment's margin alert policy",
    tag: 'Finance',
    scope: 'read',
    responses: { 200: financeSettingsResource },
  },

  updateFinanceSettings: {
    method: 'POST',
    path: '/v1/finance/settings',
    operationId: 'updateFinanceSettings',
    summary: "Set the environment's margin alert policy (threshold, window, currency)",
    tag: 'Finance',
    scope: 'admin',
    body: updateFinanceSettingsBody,
    responses: { 200: financeSettingsResource },
  },

  importProviderCosts: {
    method: 'POST',
    path: '/v1/finance/provider-costs',
    operationId: 'importProviderCosts',
    summary: "Import a model provider's cost export (OpenAI, Anthropic or CSV of day, model, cost)",
    tag: 'Finance',
    scope: 'write',
    body: importProviderCostsBody,
    responses: { 200: providerCostImportResource },
  },

  getReconciliation: {
    method: 'GET',
    path: '/v1/finance/reconciliation',
    operationId: 'getReconciliation',
    summary: "Bursar's attributed provider cost against the provider's own, per day and model",
    tag: 'Finance',
    scope: 'read',
    query: reconciliationQuery,
    responses: { 200: reconciliationResource },
  },
} as const satisfies Record<string, Operation>;
