/**
 * Booking what time has already decided: holds past their expiry end, and credit left on dead
 * grants (expired or voided, unreserved) moves to the `expired` or `voided` account. Balances
 * never wait for this: viewBalance already excludes such credit. The shell runs it before and
 * after every decision on a wallet, and a sweeper runs it for wallets nobody touches.
 */
import { unreserve } from './draws.ts';
import { walletEvent } from './events.ts';
import type { Accepted, DecisionContext, HoldEnding, PlannedEvent, PlannedTransaction } from './ledger.ts';
import { makeTransaction } from './ledger.ts';
import type { Wallet } from './wallet.ts';
import { isGrantDead } from './wallet.ts';

export function decideSettlement(wallet: Wallet, context: DecisionContext): Accepted<null> {
  const transactions: PlannedTransaction[] = [];
  const events: PlannedEvent[] = [];
  const holdsEnded: HoldEnding[] = [];
  let next = wallet;
  for (const hold of wallet.holds) {
    if (hold.expiresAt > context.now) continue;
    next = { ...unreserve(next, hold.reservations), holds: next.holds.filter((open) => open.id !== hold.id) };
    holdsEnded.push({ holdId: hold.id, status: 'expired', capturedAmount: 0n, endedAt: context.now });
    transactions.push(
      makeTransaction({
        id: context.nextId('txn'),
        kind: 'hold_expire',
        customer: wallet.customer,
        asset: wallet.asset,
        amount: hold.amount,
        holdId: hold.id,
        feature: hold.feature,
        entries: [],
        createdAt: context.now,
      }),
    );
    events.push(walletEvent(wallet, 'hold.expired', { hold: hold.id, amount: hold.amount.toString() }));
  }
  for (const grant of next.grants) {
    const unreserved = grant.remaining - grant.reserved;
    if (unreserved <= 0n || !isGrantDead(grant, context.now)) continue;
    const voided = grant.voidedAt !== null;
    next = {
      ...next,
      grants: next.grants.map((lot) => (lot.id === grant.id ? { ...lot, remaining: lot.reserved } : lot)),
    };
    transactions.push(
      makeTransaction({
        id: context.nextId('txn'),
        kind: voided ? 'void' : 'expire',
        customer: wallet.customer,
        asset: wallet.asset,
        amount: unreserved,
        grantId: grant.id,
        entries: [
          { account: 'grant', grantId: grant.id, amount: -unreserved },
          { account: voided ? 'voided' : 'expired', grantId: null, amount: unreserved },
        ],
        createdAt: context.now,
      }),
    );
    if (!voided) events.push(walletEvent(wallet, 'grant.expired', { grant: grant.id, amount: unreserved.toString() }));
  }
  return { kind: 'accepted', wallet: next, transactions, events, holdsEnded, result: null };
}
