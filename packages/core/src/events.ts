/**
 * Lifecycle events that follow from comparing a wallet before and after a change: a grant that
 * ran out, debt that appeared, a balance that crossed to nothing. Crossings, not levels.
 */
import { viewBalance } from './balance.ts';
import { changedItems } from './changes.ts';
import type { PlannedEvent } from './ledger.ts';
import type { Wallet } from './wallet.ts';

export function consumptionEvents(before: Wallet, after: Wallet, now: number): PlannedEvent[] {
  const events: PlannedEvent[] = [];
  for (const { before: was, after: grant } of changedItems(before.grants, after.grants)) {
    if ((was?.remaining ?? 0n) > 0n && grant.remaining === 0n) {
      events.push(walletEvent(after, 'grant.depleted', { grant: grant.id }));
    }
  }
  if (before.debt === 0n && after.debt > 0n) {
    events.push(walletEvent(after, 'debt.created', { debt: after.debt }));
  }
  if (viewBalance(before, now).available > 0n && viewBalance(after, now).available <= 0n) {
    events.push(walletEvent(after, 'balance.depleted', {}));
  }
  return events;
}

/**
 * `balance.low` when available credit crosses below the wallet's threshold, `balance.recovered`
 * when it crosses back to or above it: crossings only, not every change on one side.
 */
export function thresholdEvents(before: Wallet, after: Wallet, now: number): PlannedEvent[] {
  const threshold = after.policy.lowBalanceThreshold;
  if (threshold === null) return [];
  const was = viewBalance(before, now).available;
  const is = viewBalance(after, now).available;
  if (was >= threshold && is < threshold) return [walletEvent(after, 'balance.low', { available: is, threshold })];
  if (was < threshold && is >= threshold)
    return [walletEvent(after, 'balance.recovered', { available: is, threshold })];
  return [];
}

export function walletEvent(wallet: Wallet, type: PlannedEvent['type'], data: PlannedEvent['data']): PlannedEvent {
  return { type, customer: wallet.customer, asset: wallet.asset, data };
}
