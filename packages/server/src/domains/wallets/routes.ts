/** The routes of assets, customers, balances, grants, debits, holds, transactions and adjustments, bound to their operations. */

import { operations } from '@bursar/api';
import type { Route } from '../../platform/http/router.ts';
import { route } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import * as catalog from './catalog.ts';
import { answerOrDryRun } from './dry-run.ts';
import * as wallets from './operations.ts';
import * as queries from './queries.ts';

export function walletRoutes(service: LedgerService): Route[] {
  return [
    route(operations.createAsset, ({ caller, body }) => catalog.createAsset(service, caller, body)),
    route(operations.listAssets, ({ caller, query }) => queries.listAssets(service, caller, query)),
    route(operations.createCustomer, ({ caller, body }) => catalog.createCustomer(service, caller, body)),
    route(operations.getCustomer, ({ caller, params }) => queries.getCustomer(service, caller, params.customer)),
    route(operations.listCustomers, ({ caller, query }) => queries.listCustomers(service, caller, query)),
    route(operations.getBalances, ({ caller, params, query }) =>
      queries.getBalances(service, caller, params.customer, query),
    ),
    route(operations.updateWalletPolicy, ({ caller, params, query, body }) =>
      answerOrDryRun(service, caller, query, (as) =>
        wallets.updateWalletPolicy(service, as, params.customer, params.asset, body),
      ),
    ),
    route(operations.createGrant, ({ caller, query, body }) =>
      answerOrDryRun(service, caller, query, (as) => wallets.createGrant(service, as, body)),
    ),
    route(operations.getGrant, ({ caller, params }) => queries.getGrant(service, caller, params.id)),
    route(operations.listGrants, ({ caller, query }) => queries.listGrants(service, caller, query)),
    route(operations.voidGrant, ({ caller, params, query, body }) =>
      answerOrDryRun(service, caller, query, (as) => wallets.voidGrant(service, as, params.id, body)),
    ),
    route(operations.createDebit, ({ caller, body }) => wallets.createDebit(service, caller, body)),
    route(operations.checkDebit, ({ caller, body }) => queries.checkDebit(service, caller, body)),
    route(operations.createHold, ({ caller, body }) => wallets.createHold(service, caller, body)),
    route(operations.listHolds, ({ caller, query }) => queries.listHolds(service, caller, query)),
    route(operations.getHold, ({ caller, params }) => queries.getHold(service, caller, params.id)),
    route(operations.captureHold, ({ caller, params, body }) => wallets.captureHold(service, caller, params.id, body)),
    route(operations.releaseHold, ({ caller, params }) => wallets.releaseHold(service, caller, params.id)),
    route(operations.extendHold, ({ caller, params, body }) => wallets.extendHold(service, caller, params.id, body)),
    route(operations.listTransactions, ({ caller, query }) => queries.listTransactions(service, caller, query)),
    route(operations.getTransaction, ({ caller, params }) => queries.getTransaction(service, caller, params.id)),
    route(operations.reverseTransaction, ({ caller, params, query, body }) =>
      answerOrDryRun(service, caller, query, (as) => wallets.reverseTransaction(service, as, params.id, body)),
    ),
    route(operations.createAdjustment, ({ caller, query, body }) =>
      answerOrDryRun(service, caller, query, (as) => wallets.createAdjustment(service, as, body)),
    ),
  ];
}
