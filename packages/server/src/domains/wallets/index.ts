/** The wallets domain's surface for the rest of the server: assets, customers, grants, debits, holds, reversals, policy, balances and transactions. */
export { costBasisOf } from './operations.ts';
export { getBalances, getHold, listGrants, listTransactions } from './queries.ts';
export { walletRoutes } from './routes.ts';
export { Sweeper } from './sweeper.ts';
