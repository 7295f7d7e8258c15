/** The routes of finance, bound to their operations. */
import { operations } from '@bursar/api';
import type { Route } from '../../platform/http/router.ts';
import { route } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import { exportJournal, getRevenueReport } from './revenue.ts';

export function financeRoutes(service: LedgerService): Route[] {
  return [
    route(operations.getRevenueReport, ({ caller, query }) => getRevenueReport(service, caller, query)),
    route(operations.exportJournal, ({ caller, query }) => exportJournal(service, caller, query)),
  ];
}
