/**
 * What a decision asks the shell to record: ledger transactions with their entries, and
 * lifecycle events for the outbox. Entries of a transaction always sum to zero.
 */
import { changedItems } from './changes.ts';
import { assert } from './outcomes.ts';
import type { Hold, Wallet } from './wallet.ts';

export const transactionKinds = [
  'grant',
  'debit',
  'hold',
  'extend',
  'capture',
  'release',
  'hold_expire',
  'expire',
  /** An expired grant's unused credit moving to a rollover lot (the part over the cap expires). */
  'rollover',
  'void',
  'reverse',
  'adjust',
] as const;
export type TransactionKind = (typeof transactionKinds)[number];

/** Accounts: a wallet's grant lots and its debt account, and per-asset system accounts. */
export type AccountName = 'grant' | 'debt' | 'issuance' | 'consumption' | 'expired' | 'voided' | 'adjustment';

export interface PlannedEntry {
  readonly account: AccountName;
  /** Set for `grant` entries: which lot. */
  readonly grantId: string | null;
  /** Signed: positive adds to the account, negative takes from it. */
  readonly amount: bigint;
}

export interface PlannedTransaction {
  readonly id: string;
  readonly kind: TransactionKind;
  readonly customer: string;
  readonly asset: string;
  /** The headline amount, ≥ 0: what was granted, drawn, held, captured, expired or reversed. */
  readonly amount: bigint;
  readonly feature: string | null;
  readonly holdId: string | null;
  readonly grantId: string | null;
  readonly reversesId: string | null;
  readonly reason: string | null;
  readonly entries: readonly PlannedEntry[];
  readonly createdAt: number;
}

export const transactionDirections = ['credit', 'debit', 'none'] as const;
export type TransactionDirection = (typeof transactionDirections)[number];

/**
 * What a transaction did to the wallet's balance, read from its entries on the wallet's own accounts
 * (its grant lots and its debt): `credit` added to it, `debit` took from it, `none` left it as it was
 * (a hold, a release, a rollover within its cap). The headline `amount` is never signed; this says which way.
 */
export function transactionDirection(transaction: PlannedTransaction): TransactionDirection {
  let change = 0n;
  for (const entry of transaction.entries)
    if (entry.account === 'grant' || entry.account === 'debt') change += entry.amount;
  return change > 0n ? 'credit' : change < 0n ? 'debit' : 'none';
}

export const eventTypes = [
  'grant.created',
  'grant.depleted',
  'grant.expired',
  'grant.voided',
  'hold.expired',
  'debt.created',
  'balance.depleted',
  'balance.low',
  'balance.recovered',
  'grant.expiring_soon',
  'subscription.created',
  'subscription.renewed',
  'subscription.changed',
  'subscription.paused',
  'subscription.resumed',
  'subscription.canceled',
  'subscription.ended',
  'subscription.trial_ending',
  'subscription.trial_ended',
  'topup.requested',
  'topup.succeeded',
  'topup.failed',
  'margin.low',
] as const;
export type EventType = (typeof eventTypes)[number];

export interface PlannedEvent {
  readonly type: EventType;
  readonly customer: string;
  readonly asset: string;
  /** A bigint is an amount of `asset` in its smallest unit; the shell writes it as a decimal string in the asset's unit. */
  readonly data: Readonly<Record<string, string | number | bigint | null>>;
}

export interface HoldEnding {
  readonly holdId: string;
  readonly status: 'captured' | 'released' | 'expired';
  readonly capturedAmount: bigint;
  readonly endedAt: number;
}

/** An accepted decision: the wallet after it, and what to record. `wallet` is the input object when nothing changed. */
export interface Accepted<Result> {
  readonly kind: 'accepted';
  readonly wallet: Wallet;
  readonly transactions: readonly PlannedTransaction[];
  readonly events: readonly PlannedEvent[];
  readonly holdsEnded: readonly HoldEnding[];
  readonly result: Result;
}

/** Ids and the time are handed to the core; it makes neither. */
export interface DecisionContext {
  readonly now: number;
  readonly nextId: (prefix: 'txn' | 'grt' | 'hold') => string;
}

export function makeTransaction(
  fields: Pick<PlannedTransaction, 'id' | 'kind' | 'customer' | 'asset' | 'amount' | 'entries' | 'createdAt'> &
    Partial<Pick<PlannedTransaction, 'feature' | 'holdId' | 'grantId' | 'reversesId' | 'reason'>>,
): PlannedTransaction {
  let sum = 0n;
  for (const entry of fields.entries) sum += entry.amount;
  assert(sum === 0n, `entries of a ${fields.kind} transaction must sum to zero`);
  return {
    feature: null,
    holdId: null,
    grantId: null,
    reversesId: null,
    reason: null,
    ...fields,
  };
}

/** Checks a wallet's internal consistency; a failure is a bug in a decision. */
export function assertWalletInvariants(wallet: Wallet): void {
  const reservedByGrant = new Map<string, bigint>();
  let debtReserved = 0n;
  for (const hold of wallet.holds) assertHold(hold, reservedByGrant, (amount) => (debtReserved += amount));
  for (const grant of wallet.grants) {
    assert(grant.reserved >= 0n && grant.reserved <= grant.remaining, `grant ${grant.id}: 0 ≤ reserved ≤ remaining`);
    assert(grant.remaining <= grant.amount, `grant ${grant.id}: remaining ≤ amount`);
    assert((reservedByGrant.get(grant.id) ?? 0n) === grant.reserved, `grant ${grant.id}: reserved equals its holds`);
    reservedByGrant.delete(grant.id);
  }
  assert(reservedByGrant.size === 0, 'every reservation names a loaded grant');
  assert(debtReserved === wallet.debtReserved, 'overdraft reservations equal debtReserved');
  assert(wallet.debt >= 0n && wallet.debtReserved >= 0n, 'debt and debtReserved are not negative');
  assert(
    wallet.debt + wallet.debtReserved <= wallet.policy.overdraftLimit,
    'debt plus overdraft reservations stay within the limit',
  );
}

/** Wallets up to this many grants and holds are checked whole after every change. */
const wholeCheckSizeMax = 512;

/**
 * Checks a change of wallet: the whole wallet when it is small (every test's wallets are), and
 * beyond that what the change touched (its grants' bounds, its holds' reservations, the debt),
 * so a wallet with thousands of grants or holds does not pay for all of them on every debit.
 */
export function assertChangeInvariants(before: Wallet, after: Wallet): void {
  if (after.grants.length + after.holds.length <= wholeCheckSizeMax) {
    assertWalletInvariants(after);
    return;
  }
  for (const { after: grant } of changedItems(before.grants, after.grants)) {
    assert(grant.reserved >= 0n && grant.reserved <= grant.remaining, `grant ${grant.id}: 0 ≤ reserved ≤ remaining`);
    assert(grant.remaining <= grant.amount, `grant ${grant.id}: remaining ≤ amount`);
  }
  for (const { after: hold } of changedItems(before.holds, after.holds)) assertHold(hold, new Map(), () => {});
  assert(after.debt >= 0n && after.debtReserved >= 0n, 'debt and debtReserved are not negative');
  assert(
    after.debt + after.debtReserved <= after.policy.overdraftLimit,
    'debt plus overdraft reservations stay within the limit',
  );
}

function assertHold(hold: Hold, reservedByGrant: Map<string, bigint>, addDebtReserved: (amount: bigint) => void): void {
  let total = 0n;
  for (const reservation of hold.reservations) {
    assert(reservation.amount > 0n, `hold ${hold.id}: reservations are positive`);
    total += reservation.amount;
    if (reservation.grantId === null) addDebtReserved(reservation.amount);
    else
      reservedByGrant.set(reservation.grantId, (reservedByGrant.get(reservation.grantId) ?? 0n) + reservation.amount);
  }
  assert(total === hold.amount, `hold ${hold.id}: amount equals its reservations`);
}
