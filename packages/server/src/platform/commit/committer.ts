/**
 * Group commit: every write command that arrives while a batch is being written waits for the
 * next batch; one batch is one database transaction and one fsync for all of its commands.
 * A single writer per process owns the cached wallet state; the wallet row's version, checked
 * under the row lock, tells when another process changed a wallet so it is loaded again.
 */
import type { Wallet } from '@bursar/core';
import { withoutSpentGrants } from '@bursar/core';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.ts';
import type { Reply } from '../contract.ts';
import { toProblem } from '../http/problem.ts';
import type { Database, SqlRow, SqlSession } from '../storage/database.ts';
import type { BatchPart, WalletObserver } from './batch.ts';
import { Batch } from './batch.ts';
import type { Command, Preload, WalletCommand, Writer } from './command.ts';
import { flushBatch } from './flush.ts';
import type { WalletKey } from './wallet-key.ts';
import { walletKeyText } from './wallet-key.ts';
import { loadWallet, lockWallets, walletRowsOf } from './wallet-store.ts';

interface Pending {
  readonly command: Command;
  readonly resolve: (reply: Reply) => void;
  readonly reject: (error: unknown) => void;
}

export interface CommitterOptions {
  readonly database: Database;
  readonly clock: Clock;
  readonly batchSizeMax: number;
  /** Commands that may wait; more are refused at once with 503 overloaded. */
  readonly queueMax: number;
  /** Wallets whose state is kept between batches; the least recently used leave first. */
  readonly walletCacheMax: number;
  /** Keys the audit chain's HMAC; kept outside the database. */
  readonly auditKey: Buffer;
  readonly onBatch?: (size: number, durationMs: number) => void;
  /** A batch failed: its commands run again one by one (`size` > 1), or the one command fails. */
  readonly onError?: (error: unknown, size: number) => void;
}

/** Thrown inside a dry run's transaction so that it rolls back; carries what the command answered. */
class DryRunRollback extends Error {
  readonly reply: Reply;
  constructor(reply: Reply) {
    super('a dry run is rolled back');
    this.reply = reply;
  }
}

/**
 * When a cached wallet was last known to equal the stored one: `mark` is the database's
 * foreign-commit mark then (SQLite), `at` the monotonic time (`performance.now()`) before the
 * lock or the read that showed it. Reads decide from these whether they may answer from memory.
 */
export interface WalletCheck {
  readonly mark: bigint | null;
  readonly at: number;
}

/** A wallet's state as of its stored `version`, and when that version was last known current. */
export interface CachedWallet {
  readonly wallet: Wallet;
  readonly version: bigint;
  checked: WalletCheck;
}

/** Batches whose completion times the Retry-After estimate looks back over. */
const recentBatchesMax = 32;

export class Committer {
  readonly #options: CommitterOptions;
  readonly #cache: LRUCache<string, CachedWallet>;
  readonly #parts = new Set<BatchPart<unknown>>();
  readonly #observers: WalletObserver[] = [];
  readonly #commitListeners: ((changed: readonly WalletKey[]) => void)[] = [];
  /** When recent batches finished and how many commands each held, newest last. */
  readonly #recentBatches: { at: number; size: number }[] = [];
  /** Raised after each commit that created wallet rows: reads know a customer's list of wallets may have grown. */
  #walletCreations = 0;
  #queue: Pending[] = [];
  #pumpScheduled = false;
  #batchesInFlight = 0;
  #closed = false;

  constructor(options: CommitterOptions) {
    this.#options = options;
    this.#cache = new LRUCache({ max: options.walletCacheMax });
  }

  /** A domain's part of every batch, flushed after the ledger rows in the order registered. */
  registerPart<State>(part: BatchPart<State>): void {
    this.#parts.add(part as BatchPart<unknown>);
  }

  /** A domain's observer of every wallet change, called in the order registered. */
  registerObserver(observer: WalletObserver): void {
    this.#observers.push(observer);
  }

  /** Told, after each commit, which wallets it changed (live views such as the portal's stream). */
  onCommitted(listener: (changed: readonly WalletKey[]) => void): void {
    this.#commitListeners.push(listener);
  }

  /** Commands waiting for a batch (at most queueMax). */
  get commandsWaiting(): number {
    return this.#queue.length;
  }

  /** The most wallets whose state is cached. */
  get walletCacheMax(): number {
    return this.#options.walletCacheMax;
  }

  /** Wallets whose state is cached now (at most walletCacheMax). */
  get walletsCached(): number {
    return this.#cache.size;
  }

  /** The cached state of a wallet (by `walletKeyText`), for reads that may answer from memory. */
  cachedWallet(keyText: string): CachedWallet | undefined {
    return this.#cache.get(keyText);
  }

  /** Commits of this process so far that created a wallet (compared, never counted on). */
  get walletCreations(): number {
    return this.#walletCreations;
  }

  /** Keeps a wallet a read loaded consistently, unless the cache already holds that version or a newer one. */
  keepWallet(keyText: string, entry: CachedWallet): void {
    const cached = this.#cache.peek(keyText);
    if (cached === undefined || cached.version < entry.version) this.#cache.set(keyText, entry);
  }

  submit(command: Command): Promise<Reply> {
    if (this.#closed) return Promise.resolve(unavailable(command));
    if (this.#queue.length >= this.#options.queueMax) return Promise.resolve(this.#overloaded(command));
    return new Promise((resolve, reject) => {
      this.#queue.push({ command, resolve, reject });
      this.#schedulePump();
    });
  }

  /**
   * Runs `work` inside the writer's next transaction and returns what it returns: the
   * bookkeeping of background jobs, which keep no reply. Throws when the committer refuses it
   * (shutting down, overloaded); the job runs again at its next turn.
   */
  async runInWriter<Result>(name: string, work: (writer: Writer) => Promise<Result>): Promise<Result> {
    let outcome: { result: Result } | undefined;
    const reply = await this.submit({
      kind: 'task',
      environmentId: '',
      requestId: name,
      idempotency: null,
      async run(writer) {
        outcome = { result: await work(writer) };
        return { status: 200, bodyText: '{}', problem: false, replayed: false };
      },
    });
    if (outcome === undefined || reply.problem)
      throw new Error(`${name}: the committer refused its work (${reply.status})`);
    return outcome.result;
  }

  /** 503 overloaded, with a Retry-After of the seconds the recent batch rate needs to work off the queue. */
  #overloaded(command: Command): Reply {
    const problem = toProblem('overloaded', 'Too many writes are waiting; nothing was changed. Retry after a moment.', {
      requestId: command.requestId,
    });
    return {
      ...problem,
      problem: true,
      replayed: false,
      headers: { 'retry-after': String(this.#retryAfterSeconds()) },
    };
  }

  #retryAfterSeconds(): number {
    const first = this.#recentBatches[0];
    const last = this.#recentBatches[this.#recentBatches.length - 1];
    if (first === undefined || last === undefined || last.at <= first.at) return 1;
    // Commands finished per second over the recent batches (the first one's size is before the window).
    const finished = this.#recentBatches.slice(1).reduce((sum, batch) => sum + batch.size, 0);
    const perSecond = (finished * 1000) / (last.at - first.at);
    return Math.min(60, Math.max(1, Math.ceil(this.#queue.length / perSecond)));
  }

  /** Stops taking commands and waits for those already queued. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#queue.length > 0 || this.#batchesInFlight > 0 || this.#pumpScheduled) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    // Wait for the rest of this event-loop turn so its requests share a batch.
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /**
   * Starts batches while the storage has a free writer: one at a time on SQLite, several on
   * PostgreSQL, where a batch spends most of its time waiting on round trips. Commands that
   * arrive while every writer is busy wait and form the next, larger batch.
   */
  #pump(): void {
    while (this.#queue.length > 0 && this.#batchesInFlight < this.#options.database.writersMax) {
      // A dry run is rolled back, so it gets a batch of its own; the others batch up to it.
      const firstDryRun = this.#queue.findIndex((item) => item.command.dryRun === true);
      const size = firstDryRun === 0 ? 1 : firstDryRun === -1 ? this.#options.batchSizeMax : firstDryRun;
      const pending = this.#queue.slice(0, Math.min(size, this.#options.batchSizeMax));
      this.#queue = this.#queue.slice(pending.length);
      this.#batchesInFlight += 1;
      void this.#run(pending).finally(() => {
        this.#batchesInFlight -= 1;
        if (this.#queue.length > 0) this.#schedulePump();
      });
    }
  }

  async #run(pending: readonly Pending[]): Promise<void> {
    const started = performance.now();
    try {
      const replies = await this.#commit(pending.map((item) => item.command));
      pending.forEach((item, index) => {
        item.resolve(replies[index] as Reply);
      });
      const finished = performance.now();
      this.#recentBatches.push({ at: finished, size: pending.length });
      if (this.#recentBatches.length > recentBatchesMax) this.#recentBatches.shift();
      this.#options.onBatch?.(pending.length, finished - started);
    } catch (error) {
      // Expected races are refusals of their command, so this is unexpected: say so, whatever follows.
      this.#options.onError?.(error, pending.length);
      if (pending.length > 1) {
        // One command's failure must not fail the others: run each alone.
        for (const item of pending) await this.#run([item]);
        return;
      }
      for (const item of pending) item.reject(error);
    }
  }

  async #commit(commands: readonly Command[]): Promise<Reply[]> {
    const [first] = commands;
    if (commands.length === 1 && first?.dryRun === true) return [await this.#dryRun(first)];
    const touched: string[] = [];
    try {
      const { replies, wallets, changed, createdWallets } = await this.#options.database.writeTransaction((session) =>
        this.#execute(session, commands, touched),
      );
      if (createdWallets) this.#walletCreations += 1;
      for (const [keyText, entry] of wallets) {
        // Batches commit concurrently on PostgreSQL: never let an older state replace a newer one.
        const cached = this.#cache.get(keyText);
        if (cached === undefined || cached.version <= entry.version) this.#cache.set(keyText, entry);
      }
      if (changed.length > 0) for (const listener of this.#commitListeners) listener(changed);
      return replies;
    } catch (error) {
      for (const keyText of touched) this.#cache.delete(keyText);
      throw error;
    }
  }

  /**
   * Decides one command exactly as a batch would (the same locks, loads, reads and decision) and
   * rolls the transaction back before anything is flushed; the cache keeps what it had.
   */
  async #dryRun(command: Command): Promise<Reply> {
    try {
      await this.#options.database.writeTransaction(async (session) => {
        const batch = new Batch(this.#options.clock.now(), this.#parts, this.#observers);
        const wallets = command.kind === 'task' ? [] : command.wallets;
        await this.#loadWallets(session, batch, wallets, []);
        if (command.kind !== 'task') await preloadRows(session, batch, command.preload ?? []);
        const reply =
          command.kind === 'task'
            ? await runTask(session, batch, command.run)
            : await decideOn(session, batch, command);
        const decided = [...batch.slots()].map((slot) => ({
          key: slot.key,
          before: slot.initial,
          after: slot.current,
        }));
        throw new DryRunRollback({ ...reply, dryRun: { now: batch.now, wallets: decided } });
      });
    } catch (error) {
      if (error instanceof DryRunRollback) return error.reply;
      throw error;
    }
    throw new Error('assertion failed: a dry run ends by rolling back');
  }

  async #execute(
    session: SqlSession,
    commands: readonly Command[],
    touched: string[],
  ): Promise<{
    replies: Reply[];
    wallets: Map<string, CachedWallet>;
    changed: WalletKey[];
    createdWallets: boolean;
  }> {
    // Taken inside the transaction, before the locks: nothing another process commits after this
    // can be in the state this batch reads, so the cached states it leaves are current as of here.
    const checked = { mark: this.#options.database.foreignCommitMark(), at: performance.now() };
    const batch = new Batch(this.#options.clock.now(), this.#parts, this.#observers);
    const replies: (Reply | undefined)[] = new Array(commands.length);
    const followers = await this.#resolveIdempotency(session, commands, replies);
    const active = commands.flatMap((_command, index) =>
      replies[index] === undefined && !followers.has(index) ? [index] : [],
    );
    const walletCommands = active.flatMap((index) => {
      const command = commands[index] as Command;
      return command.kind === 'task' ? [] : [command];
    });
    const createdWallets = await this.#loadWallets(
      session,
      batch,
      walletCommands.flatMap((command) => command.wallets),
      touched,
    );
    await preloadRows(
      session,
      batch,
      walletCommands.flatMap((command) => command.preload ?? []),
    );
    for (const index of active) {
      const command = commands[index] as Command;
      replies[index] =
        command.kind === 'task' ? await runTask(session, batch, command.run) : await decideOn(session, batch, command);
    }
    for (const [index, leaderIndex] of followers) {
      replies[index] = followerReply(
        commands[index] as Command,
        commands[leaderIndex] as Command,
        replies[leaderIndex] as Reply,
      );
    }
    await flushBatch(session, batch, this.#options.auditKey);
    await saveIdempotency(
      session,
      active.map((index) => ({ command: commands[index] as Command, reply: replies[index] as Reply })),
      batch.now,
    );
    const wallets = new Map<string, CachedWallet>();
    const changedKeys: WalletKey[] = [];
    for (const slot of batch.slots()) {
      const changed = slot.current !== slot.initial || slot.policyChanged;
      if (changed) changedKeys.push(slot.key);
      wallets.set(walletKeyText(slot.key), {
        wallet: pruneSpentGrants(slot.current, batch.now),
        version: changed ? slot.version + 1n : slot.version,
        checked,
      });
    }
    return { replies: replies as Reply[], wallets, changed: changedKeys, createdWallets };
  }

  /**
   * Fills the replies of commands whose key is stored: each is compared with the stored
   * fingerprint, never with another command of the batch, so an exact retry always gets the stored
   * reply. Of the commands sharing a key nobody stored yet, the first runs; the others are returned
   * mapped to it, and follow its reply once it is decided.
   */
  async #resolveIdempotency(
    session: SqlSession,
    commands: readonly Command[],
    replies: (Reply | undefined)[],
  ): Promise<Map<number, number>> {
    const indexesByKey = new Map<string, number[]>();
    commands.forEach((command, index) => {
      if (command.idempotency === null) return;
      const scopedKey = `${command.environmentId}\u0000${command.idempotency.key}`;
      const indexes = indexesByKey.get(scopedKey);
      if (indexes === undefined) indexesByKey.set(scopedKey, [index]);
      else indexes.push(index);
    });
    const followers = new Map<number, number>();
    if (indexesByKey.size === 0) return followers;
    const existing = await findStoredReplies(session, [...indexesByKey.keys()]);
    for (const [scopedKey, indexes] of indexesByKey) {
      const stored = existing.get(scopedKey);
      const [leader, ...others] = indexes as [number, ...number[]];
      if (stored === undefined) {
        for (const index of others) followers.set(index, leader);
        continue;
      }
      for (const index of indexes) replies[index] = storedReply(commands[index] as Command, stored);
    }
    return followers;
  }

  /** Locks and loads the batch's wallets; true when it created any. */
  async #loadWallets(
    session: SqlSession,
    batch: Batch,
    keys: readonly WalletKey[],
    touched: string[],
  ): Promise<boolean> {
    const unique = new Map(keys.map((key) => [walletKeyText(key), key]));
    if (unique.size === 0) return false;
    const create = [...unique]
      .filter(([keyText]) => !this.#cache.has(keyText))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, key]) => key);
    const { versions, created } = await lockWallets(session, [...unique.values()], create, batch.now);
    const stale = [...unique].filter(([keyText]) => this.#cache.get(keyText)?.version !== versions.get(keyText));
    const rows =
      stale.length === 0
        ? new Map<string, never>()
        : await walletRowsOf(
            session,
            stale.map(([, key]) => key),
          );
    for (const [keyText, key] of unique) {
      touched.push(keyText);
      const version = versions.get(keyText);
      if (version === undefined) throw new Error('assertion failed: every declared wallet exists once locked');
      const cached = this.#cache.get(keyText);
      let wallet: Wallet;
      if (cached !== undefined && cached.version === version) wallet = cached.wallet;
      else {
        const row = rows.get(keyText);
        if (row === undefined || row.version !== version)
          throw new Error('assertion failed: a locked wallet row keeps its version');
        wallet = await loadWallet(session, row);
      }
      batch.addWallet(key, wallet, version);
    }
    return created > 0;
  }
}

/** A wallet command: its reads under the batch's locks, then its decision. */
async function decideOn(session: SqlSession, batch: Batch, command: WalletCommand): Promise<Reply> {
  await command.read?.(batch, session);
  return command.decide(batch);
}

/** A writer task: its SQL in the batch's transaction; the audit records and events it adds join the batch's. */
async function runTask(session: SqlSession, batch: Batch, run: (writer: Writer) => Promise<Reply>): Promise<Reply> {
  const writer: Writer = { session, now: batch.now, audits: [], events: [] };
  const reply = await run(writer);
  batch.audits.push(...writer.audits);
  batch.events.push(...writer.events);
  return reply;
}

/**
 * Reads every command's preloads with one statement per table. Rows with a `defaultRow` are
 * created first when missing, so they can be locked (PostgreSQL) before anyone reads them.
 */
async function preloadRows(session: SqlSession, batch: Batch, preloads: readonly Preload[]): Promise<void> {
  const groups = new Map<string, Preload[]>();
  for (const preload of preloads) {
    const group = `${preload.table}\u0000${preload.keyColumns.join(',')}`;
    groups.set(group, [...(groups.get(group) ?? []), preload]);
  }
  for (const group of groups.values()) {
    const first = group[0] as Preload;
    const unique = new Map(group.map((preload) => [preload.key.join('\u0000'), preload]));
    const sorted = [...unique.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, preload]) => preload);
    const defaults = sorted.flatMap((preload) => (preload.defaultRow === undefined ? [] : [preload.defaultRow]));
    await session.insertMany(first.table, defaults, { onConflictDoNothing: true });
    const rows = await session.selectByKeys(
      first.table,
      first.keyColumns,
      sorted.map((preload) => preload.key),
      { lock: first.lock === true },
    );
    for (const row of rows)
      batch.addPreloaded(
        first.table,
        first.keyColumns.map((column) => String(row[column])),
        row,
      );
  }
}

/** Stored replies by scoped key (`environment\u0000key`), in one statement. */
async function findStoredReplies(session: SqlSession, scopedKeys: readonly string[]): Promise<Map<string, SqlRow>> {
  const rows = await session.selectByKeys(
    'idempotency_keys',
    ['environment_id', 'key'],
    scopedKeys.map((scopedKey) => scopedKey.split('\u0000')),
  );
  return new Map(rows.map((row) => [`${row.environment_id}\u0000${row.key}`, row]));
}

async function saveIdempotency(
  session: SqlSession,
  done: readonly { command: Command; reply: Reply }[],
  now: number,
): Promise<void> {
  const rows = done
    .filter(({ command }) => command.idempotency !== null)
    .map(({ command, reply }) => ({
      environment_id: command.environmentId,
      key: command.idempotency?.key ?? '',
      fingerprint: command.idempotency?.fingerprint ?? '',
      status: BigInt(reply.status),
      body: reply.storedBodyText ?? reply.bodyText,
      problem: reply.problem ? 1n : 0n,
      created_at: BigInt(now),
    }));
  // In key order, so two writers storing overlapping keys wait on each other rather than deadlock.
  rows.sort((a, b) => (`${a.environment_id}\u0000${a.key}` < `${b.environment_id}\u0000${b.key}` ? -1 : 1));
  const inserted = await session.insertMany('idempotency_keys', rows, { onConflictDoNothing: true });
  if (inserted.length !== rows.length) {
    // Another writer stored one of these keys after this batch looked them up (on PostgreSQL the
    // insert waited for its commit). Nothing of this batch may commit: run it again, and the
    // lookup will find the stored reply.
    throw Object.assign(new Error('an idempotency key was stored concurrently'), { code: '40001' });
  }
}

function storedReply(command: Command, stored: SqlRow): Reply {
  if (stored.fingerprint !== command.idempotency?.fingerprint) return keyReused(command);
  return {
    status: Number(stored.status),
    bodyText: String(stored.body),
    problem: stored.problem === 1n || stored.problem === 1,
    replayed: true,
  };
}

/** A follower gets what a replay of its leader answers later, byte for byte: the stored body. */
function followerReply(command: Command, leader: Command, reply: Reply): Reply {
  if (command.idempotency?.fingerprint !== leader.idempotency?.fingerprint) return keyReused(command);
  return {
    status: reply.status,
    bodyText: reply.storedBodyText ?? reply.bodyText,
    problem: reply.problem,
    replayed: true,
  };
}

function keyReused(command: Command): Reply {
  const problem = toProblem(
    'idempotency_key_reused',
    'This Idempotency-Key was already used with a different request; nothing was changed.',
    {
      requestId: command.requestId,
    },
  );
  return { ...problem, problem: true, replayed: false };
}

function unavailable(command: Command): Reply {
  const problem = toProblem('unavailable', 'The server is shutting down.', { requestId: command.requestId });
  return { ...problem, problem: true, replayed: false };
}

/** Spent lots (nothing remaining, nothing reserved) leave the cached state; reversals load them again. */
function pruneSpentGrants(wallet: Wallet, now: number): Wallet {
  const grants = withoutSpentGrants(wallet.grants, now);
  return grants === wallet.grants ? wallet : { ...wallet, grants };
}
