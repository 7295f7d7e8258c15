/**
 * Auto top-up decisions: a wallet requests one top-up when its available credit crosses below its
 * rule's threshold, while none is pending, the monthly cap allows it and the rule has not failed too
 * often; the outcome clears the pending request. Exactly once follows from deciding on the locked
 * wallet: the pending id is part of the wallet's state.
 */

import { viewBalance } from './balance.ts';
import type { Wallet } from './wallet.ts';

export interface TopUpRequest {
  readonly wallet: Wallet;
  readonly amount: bigint;
}

export function decideTopUpRequest(
  before: Wallet,
  after: Wallet,
  now: number,
  id: string,
  month: string,
): TopUpRequest | null {
  const state = after.topUp;
  if (state === undefined || !state.rule.enabled || state.pending !== null || state.failures >= state.rule.failuresMax)
    return null;
  const threshold = state.rule.threshold;
  if (!(viewBalance(before, now).available >= threshold && viewBalance(after, now).available < threshold)) return null;
  const spent = state.month === month ? state.monthAmount : 0n;
  if (state.rule.monthlyCap !== null && spent + state.rule.amount > state.rule.monthlyCap) return null;
  return {
    wallet: { ...after, topUp: { ...state, pending: id, month, monthAmount: spent + state.rule.amount } },
    amount: state.rule.amount,
  };
}

/** Settles the pending top-up: success resets the failure count; a failure gives the month's allowance back. */
export function decideTopUpOutcome(wallet: Wallet, id: string, amount: bigint, succeeded: boolean): Wallet {
  const state = wallet.topUp;
  if (state === undefined || state.pending !== id) return wallet;
  return {
    ...wallet,
    topUp: {
      ...state,
      pending: null,
      failures: succeeded ? 0 : state.failures + 1,
      monthAmount: succeeded ? state.monthAmount : state.monthAmount - amount,
    },
  };
}
