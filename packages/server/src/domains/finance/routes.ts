/** The routes of finance, bound to their operations. */
import { operations } from '@bursar/api';
import type { Route } from '../../platform/http/router.ts';
import { route } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import { getMarginReport } from './margin.ts';
import { getReconciliation, importProviderCosts } from './reconciliation.ts';
import { exportJournal, getRevenueReport } from './revenue.ts';
import { getFinanceSettings, updateFinanceSettings } from './settings.ts';

export function financeRoutes(service: LedgerService): Route[] {
  return [
    route(operations.getRevenueReport, ({ caller, query }) => getRevenueReport(service, caller, query)),
    route(operations.exportJournal, ({ caller, query }) => exportJournal(service, caller, query)),
    route(operations.getMarginReport, ({ caller, query }) => getMarginReport(service, caller, query)),
    route(operations.getFinanceSettings, ({ caller }) => getFinanceSettings(service, caller)),
    route(operations.updateFinanceSettings, ({ caller, body }) => updateFinanceSettings(service, caller, body)),
    route(operations.importProviderCosts, ({ caller, body }) => importProviderCosts(service, caller, body)),
    route(operations.getReconciliation, ({ caller, query }) => getReconciliation(service, caller, query)),
  ];
}
