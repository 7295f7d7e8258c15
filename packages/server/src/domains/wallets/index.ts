/** The wallets domain's surface for the rest of the server: assets, customers, grants, debits, holds, reversals, policy, balances and transactions. */
export { answerOrDryRun } from './dry-run.ts';
export { costBasisOf } from './operations.ts';
export { walletRoutes } from './routes.ts';
export { Sweeper } from './sweeper.ts';
