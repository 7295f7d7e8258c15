/**
 * Wallet policy changes: overdraft limit, consumption order and debt repayment. A limit below
 * what the wallet already owes or reserves on overdraft would break the floor, so it is refused.
 */
import type { Refusal } from './outcomes.ts';
import { refuse } from './outcomes.ts';
import type { OrderKey, Wallet, WalletPolicy } from './wallet.ts';

export interface PolicyChange {
  readonly overdraftLimit?: bigint;
  readonly consumptionOrder?: readonly OrderKey[];
  readonly repayDebtFirst?: boolean;
  readonly lowBalanceThreshold?: bigint | null;
}

export function decidePolicy(
  wallet: Wallet,
  change: PolicyChange,
): { kind: 'accepted'; wallet: Wallet; policy: WalletPolicy } | Refusal {
  const policy: WalletPolicy = { ...wallet.policy, ...change };
  if (policy.overdraftLimit < wallet.debt + wallet.debtReserved) {
    return refuse(
      'overdraft_limit_below_debt',
      'The overdraft limit cannot be lower than the debt plus overdraft reserved by holds.',
      {
        debt: wallet.debt,
        reserved: wallet.debtReserved,
      },
    );
  }
  return { kind: 'accepted', wallet: { ...wallet, policy }, policy };
}
