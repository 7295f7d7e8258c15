/** The operations of finance: revenue recognition, the journal, margin and reconciliation. */
import { exportJournalQuery, journalResource, revenueReportQuery, revenueReportResource } from '../finance.ts';
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
} as const satisfies Record<string, Operation>;
