/** The finance domain's surface: revenue recognition, the journal, margin and reconciliation. */
export { financeRoutes } from './routes.ts';
