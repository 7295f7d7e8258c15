/** The finance domain's surface: revenue recognition, the journal, margin and reconciliation. */

export { providerCostPreloads, recordProviderCost } from './provider-cost.ts';
export { addReportCommand } from './report-command.ts';
export { financeRoutes } from './routes.ts';
