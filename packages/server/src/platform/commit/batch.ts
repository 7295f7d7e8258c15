/**
 * One group-commit batch: the working state of every wallet it touches, and the buffer of rows
 * its decisions produce, written at the end with one bulk statement per table. Commands see
 * each other's effects in order, exactly as if they had committed one by one. Domains register
 * what they add: a part of the batch they flush, and observers of wallet changes.
 */
import type {
  Accepted,
  DecisionContext,
  Hold,
  HoldEnding,
  PlannedEvent,
  PlannedTransaction,
  Wallet,
} from '@bursar/core';
import { assertChangeInvariants, changedItems, decideSettlement, thresholdEvents } from '@bursar/core';
import { newId } from '../ids.ts';
import type { SqlRow, SqlSession } from '../storage/database.ts';
import type { TableName, TableRow } from '../storage/schema.ts';
import type { AuditRecord } from './audit-chain.ts';
import type { WalletKey } from './wallet-key.ts';
import { walletKeyText } from './wallet-key.ts';

/**
 * A domain's own part of every batch: working state its commands share (read with `Batch.part`),
 * written by `flush` inside the batch's transaction after the ledger rows.
 */
export interface BatchPart<State> {
  readonly name: string;
  start(): State;
  flush(state: State, session: SqlSession): Promise<void>;
}

/** A change a command recorded on a wallet: the wallet before and after it. */
export interface WalletChange {
  readonly key: WalletKey;
  readonly before: Wallet;
  readonly after: Wallet;
}

/**
 * Hears every change recorded on a wallet, inside the batch, and returns the wallet to keep
 * (`change.after`, or a further state such as one with a top-up requested); it may add rows and
 * events to the batch.
 */
export interface WalletObserver {
  walletChanged(change: WalletChange, batch: Batch): Wallet;
}

interface WalletSlot {
  readonly key: WalletKey;
  readonly initial: Wallet;
  readonly version: bigint;
  current: Wallet;
  policyChanged: boolean;
}

export interface ApplyOptions {
  readonly requestId: string | null;
  readonly metadata: string | null;
}

export interface HoldVersion {
  readonly environmentId: string;
  readonly customer: string;
  readonly asset: string;
  readonly hold: Hold;
}

export class Batch {
  readonly now: number;
  readonly #slots = new Map<string, WalletSlot>();
  readonly transactions: { environmentId: string; transaction: PlannedTransaction; options: ApplyOptions }[] = [];
  readonly events: { environmentId: string; event: PlannedEvent }[] = [];
  readonly holdsEnded: { environmentId: string; ending: HoldEnding }[] = [];
  readonly audits: AuditRecord[] = [];
  readonly holdMetadata = new Map<string, string | null>();
  /** The latest version of every hold this batch created or changed, including ones that ended. */
  readonly holdVersions = new Map<string, HoldVersion>();
  readonly grantExtras = new Map<string, { reason: string | null; metadata: string | null }>();
  /** Rows of tables outside the ledger a command adds (a domain's own rows), inserted with the batch's ledger rows. */
  readonly insertsByTable = new Map<TableName, SqlRow[]>();
  /** Rows of other tables a command changes (a settled top-up), updated after the batch's inserts. */
  readonly updates: { table: TableName; keyColumns: readonly string[]; row: SqlRow }[] = [];
  readonly context: DecisionContext;
  /** The state of each registered domain part this batch's commands used, in registration order once flushed. */
  readonly #partStates = new Map<BatchPart<unknown>, unknown>();
  readonly #parts: ReadonlySet<BatchPart<unknown>>;
  readonly #observers: readonly WalletObserver[];

  constructor(now: number, parts: ReadonlySet<BatchPart<unknown>>, observers: readonly WalletObserver[]) {
    this.now = now;
    this.#parts = parts;
    this.#observers = observers;
    this.context = { now, nextId: (prefix) => newId(prefix, now) };
  }

  /** The batch's state of a domain part, started on first use; the part must be registered with the committer. */
  part<State>(part: BatchPart<State>): State {
    if (!this.#parts.has(part as BatchPart<unknown>))
      throw new Error(`assertion failed: batch part ${part.name} is registered with the committer`);
    if (!this.#partStates.has(part as BatchPart<unknown>))
      this.#partStates.set(part as BatchPart<unknown>, part.start());
    return this.#partStates.get(part as BatchPart<unknown>) as State;
  }

  /** The parts this batch used with their state, for the flush. */
  usedParts(): Iterable<[BatchPart<unknown>, unknown]> {
    return this.#partStates.entries();
  }

  readonly #preloaded = new Map<string, SqlRow>();

  addPreloaded(table: TableName, key: readonly string[], row: SqlRow): void {
    this.#preloaded.set(`${table}\u0000${key.join('\u0000')}`, row);
  }

  /**
   * A row a command declared in `preload`, read for the whole batch; undefined when it does not
   * exist. Typed by the schema: it is a whole row of `table`, as the drivers return it.
   */
  preloaded<Table extends TableName>(table: Table, key: readonly string[]): TableRow<Table> | undefined {
    return this.#preloaded.get(`${table}\u0000${key.join('\u0000')}`) as TableRow<Table> | undefined;
  }

  insert(table: TableName, row: SqlRow): void {
    const rows = this.insertsByTable.get(table) ?? [];
    rows.push(row);
    this.insertsByTable.set(table, rows);
  }

  update(table: TableName, keyColumns: readonly string[], row: SqlRow): void {
    this.updates.push({ table, keyColumns, row });
  }

  addWallet(key: WalletKey, wallet: Wallet, version: bigint): void {
    this.#slots.set(walletKeyText(key), { key, initial: wallet, version, current: wallet, policyChanged: false });
  }

  hasWallet(key: WalletKey): boolean {
    return this.#slots.has(walletKeyText(key));
  }

  /** The wallet as this batch has left it, with everything time has already decided booked first. */
  wallet(key: WalletKey): Wallet {
    const slot = this.#slot(key);
    this.#record(slot, decideSettlement(slot.current, this.context), { requestId: null, metadata: null });
    return slot.current;
  }

  /** Records an accepted decision on a wallet, then books what it left to settle (e.g. released credit of dead grants). */
  apply<Result>(key: WalletKey, accepted: Accepted<Result>, options: ApplyOptions): Result {
    const slot = this.#slot(key);
    this.#record(slot, accepted, options);
    this.#record(slot, decideSettlement(slot.current, this.context), { requestId: null, metadata: null });
    return accepted.result;
  }

  replacePolicy(key: WalletKey, wallet: Wallet): void {
    const slot = this.#slot(key);
    slot.current = wallet;
    slot.policyChanged = true;
  }

  /** Adds grants the wallet state does not carry (depleted ones a reversal returns credit to). */
  addGrants(key: WalletKey, grants: Wallet['grants']): void {
    const slot = this.#slot(key);
    const known = new Set(slot.current.grants.map((grant) => grant.id));
    const missing = grants.filter((grant) => !known.has(grant.id));
    if (missing.length === 0) return;
    const initial = { ...slot.initial, grants: [...slot.initial.grants, ...missing] };
    this.#slots.set(walletKeyText(key), {
      ...slot,
      initial,
      current: { ...slot.current, grants: [...slot.current.grants, ...missing] },
    });
  }

  plannedTransaction(environmentId: string, id: string): PlannedTransaction | undefined {
    return this.transactions.find((planned) => planned.environmentId === environmentId && planned.transaction.id === id)
      ?.transaction;
  }

  slots(): Iterable<WalletSlot> {
    return this.#slots.values();
  }

  #slot(key: WalletKey): WalletSlot {
    const slot = this.#slots.get(walletKeyText(key));
    if (slot === undefined) throw new Error('assertion failed: commands only touch the wallets they declared');
    return slot;
  }

  #record(slot: WalletSlot, accepted: Accepted<unknown>, options: ApplyOptions): void {
    if (accepted.wallet === slot.current && accepted.transactions.length === 0) return;
    const before = slot.current;
    assertChangeInvariants(before, accepted.wallet);
    slot.current = accepted.wallet;
    const environmentId = slot.key.environmentId;
    // Only the holds this decision made or changed: a debit on a wallet with thousands open touches none.
    for (const { after: hold } of changedItems(before.holds, accepted.wallet.holds))
      this.holdVersions.set(hold.id, { environmentId, customer: slot.key.customer, asset: slot.key.asset, hold });
    for (const transaction of accepted.transactions) this.transactions.push({ environmentId, transaction, options });
    for (const event of [...accepted.events, ...thresholdEvents(before, accepted.wallet, this.now)]) {
      this.events.push({ environmentId, event });
    }
    for (const ending of accepted.holdsEnded) this.holdsEnded.push({ environmentId, ending });
    for (const observer of this.#observers)
      slot.current = observer.walletChanged({ key: slot.key, before, after: slot.current }, this);
  }
}
