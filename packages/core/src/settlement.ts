/**
 * Booking what time has already decided: holds past their expiry end, and credit left on dead
 * grants (expired or voided, unreserved) moves to the `expired` or `voided` account, or, for an
 * expired plan allowance with a rollover plan, partly into a new rollover lot. Balances
 * never wait for this: viewBalance already excludes such credit. The shell runs it before and
 * after every decision on a wallet, and a sweeper runs it for wallets nobody touches.
 */
import { unreserve } from './draws.ts';
import { walletEvent } from './events.ts';
import { appendGrant, grantPosition, grantTotals, replaceGrants } from './grant-index.ts';
import { holdDeadline, withoutHold } from './hold-index.ts';
import type {
  Accepted,
  DecisionContext,
  HoldEnding,
  PlannedEntry,
  PlannedEvent,
  PlannedTransaction,
} from './ledger.ts';
import { makeTransaction } from './ledger.ts';
import type { Grant, Wallet } from './wallet.ts';
import { isGrantDead, rolledGrant, rolloverAmount } from './wallet.ts';

export function decideSettlement(wallet: Wallet, context: DecisionContext): Accepted<null> {
  // The common case in O(1): no hold has expired, and no dead grant has credit or a rollover to book.
  const totals = grantTotals(wallet.grants, context.now);
  if (holdDeadline(wallet.holds) > context.now && totals.deadFree === 0n && totals.rolloverDue === 0) {
    return { kind: 'accepted', wallet, transactions: [], events: [], holdsEnded: [], result: null };
  }
  const transactions: PlannedTransaction[] = [];
  const events: PlannedEvent[] = [];
  const holdsEnded: HoldEnding[] = [];
  let next = wallet;
  for (const hold of wallet.holds) {
    if (hold.expiresAt > context.now) continue;
    next = { ...unreserve(next, hold.reservations), holds: withoutHold(next.holds, hold.id) };
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
    events.push(walletEvent(wallet, 'hold.expired', { hold: hold.id, amount: hold.amount }));
  }
  // A work list, not the wallet's array: a rollover lot created here may itself be dead already
  // (long downtime) and then expires in this same settlement.
  const work = [...next.grants];
  for (let index = 0; index < work.length; index += 1) {
    const grant = work[index] as Grant;
    if (!isGrantDead(grant, context.now)) continue;
    const booked =
      grant.rollover !== undefined && grant.voidedAt === null
        ? bookRollover(next, grant, context)
        : bookDeadRemainder(next, grant, context);
    if (booked === null) continue;
    next = booked.wallet;
    transactions.push(...booked.transactions);
    events.push(...booked.events);
    if (booked.rolled !== null) work.push(booked.rolled);
  }
  return { kind: 'accepted', wallet: next, transactions, events, holdsEnded, result: null };
}

interface Booked {
  readonly wallet: Wallet;
  readonly transactions: readonly PlannedTransaction[];
  readonly events: readonly PlannedEvent[];
  readonly rolled: Grant | null;
}

function replaceGrant(wallet: Wallet, grant: Grant): Wallet {
  const position = grantPosition(wallet.grants, grant.id);
  return { ...wallet, grants: replaceGrants(wallet.grants, new Map([[position, grant]])) };
}

/** Moves a dead grant's unreserved credit to `expired` or `voided`; null when there is none. */
function bookDeadRemainder(wallet: Wallet, grant: Grant, context: DecisionContext): Booked | null {
  const unreserved = grant.remaining - grant.reserved;
  if (unreserved <= 0n) return null;
  const voided = grant.voidedAt !== null;
  const transaction = makeTransaction({
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
  });
  const events = voided ? [] : [walletEvent(wallet, 'grant.expired', { grant: grant.id, amount: unreserved })];
  return {
    wallet: replaceGrant(wallet, { ...grant, remaining: grant.reserved }),
    transactions: [transaction],
    events,
    rolled: null,
  };
}

/**
 * An expired grant with a rollover plan: the capped part of its unreserved credit moves to a new
 * rollover lot, the rest expires (breakage), in one transaction. The plan is then cleared, so credit
 * a hold releases onto the dead grant later simply expires: the rollover is decided once, at the
 * first settlement after expiry.
 */
function bookRollover(wallet: Wallet, grant: Grant, context: DecisionContext): Booked {
  const { rollover: _decided, ...withoutPlan } = grant;
  const rolledAmount = rolloverAmount(grant);
  if (rolledAmount === 0n) {
    const cleared = replaceGrant(wallet, withoutPlan);
    return (
      bookDeadRemainder(cleared, withoutPlan, context) ?? {
        wallet: cleared,
        transactions: [],
        events: [],
        rolled: null,
      }
    );
  }
  const unreserved = grant.remaining - grant.reserved;
  const breakage = unreserved - rolledAmount;
  const rolled = rolledGrant(grant, context.nextId('grt'), rolledAmount, context.now);
  const entries: PlannedEntry[] = [
    { account: 'grant', grantId: grant.id, amount: -unreserved },
    { account: 'grant', grantId: rolled.id, amount: rolledAmount },
  ];
  if (breakage > 0n) entries.push({ account: 'expired', grantId: null, amount: breakage });
  const transaction = makeTransaction({
    id: context.nextId('txn'),
    kind: 'rollover',
    customer: wallet.customer,
    asset: wallet.asset,
    amount: unreserved,
    grantId: grant.id,
    entries,
    createdAt: context.now,
  });
  const settled = replaceGrant(wallet, { ...withoutPlan, remaining: grant.reserved });
  const events = [
    walletEvent(wallet, 'grant.expired', {
      grant: grant.id,
      amount: breakage,
      rolled_over: rolledAmount,
      rollover_grant: rolled.id,
    }),
    walletEvent(wallet, 'grant.created', {
      grant: rolled.id,
      amount: rolledAmount,
      category: 'rollover',
      rolled_from: grant.id,
    }),
  ];
  return {
    wallet: { ...settled, grants: appendGrant(settled.grants, rolled, context.now) },
    transactions: [transaction],
    events,
    rolled,
  };
}
