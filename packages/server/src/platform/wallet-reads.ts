/**
 * The stored state of wallets for reads (balances, checks, the credit of an entitlement check),
 * answered from the committer's cache whenever it is known to equal what is stored, and otherwise
 * from the reader connection, loaded once and then kept in that cache. How stale such a read can
 * be is stated in docs/performance.md ("Reads"): 1 ms on SQLite; on PostgreSQL 201 ms while this
 * process is the sole writer, else `stalenessMs` (default 0).
 */
import type { Wallet } from '@bursar/core';
import { LRUCache } from 'lru-cache';
import type { CachedWallet, Committer, WalletCheck } from './commit/committer.ts';
import type { WalletKey } from './commit/wallet-key.ts';
import { walletKeyText } from './commit/wallet-key.ts';
import { loadWallet } from './commit/wallet-store.ts';
import { toBigint } from './storage/codecs.ts';
import type { Database, SqlRow } from './storage/database.ts';
import { queryBuilder } from './storage/kysely.ts';
import type { TableRow } from './storage/schema.ts';

type WalletRow = TableRow<'wallets'>;

interface Waiting {
  readonly key: WalletKey;
  readonly replies: { resolve: (wallet: Wallet | null) => void; reject: (error: unknown) => void }[];
}

/** The assets a customer has wallets in, as of a check, and the committer's wallet creations then. */
interface CustomerWallets {
  readonly assets: readonly string[];
  readonly checked: WalletCheck;
  readonly walletCreations: number;
}

const walletKeyColumns = ['environment_id', 'customer_id', 'asset'];

/** How long one reading of the foreign-commit mark serves reads (SQLite); the staleness bound there. */
const foreignMarkReuseMs = 1;

/** Loads of one wallet tried before a read gives up caching a wallet that keeps changing under it. */
const consistentLoadAttempts = 3;

export class WalletReads {
  readonly #database: Database;
  readonly #committer: Committer;
  readonly #stalenessMs: number;
  /** Wallets whose cached state must be checked against the database, checked together next turn. */
  #waiting = new Map<string, Waiting>();
  #checkScheduled = false;
  /** The foreign-commit mark last read, and when (performance.now()). */
  #mark: bigint | null = null;
  #markReadAt: number | undefined;
  readonly #customerWallets: LRUCache<string, CustomerWallets>;

  constructor(options: { database: Database; committer: Committer; stalenessMs: number; customersMax: number }) {
    this.#database = options.database;
    this.#committer = options.committer;
    this.#stalenessMs = options.stalenessMs;
    this.#customerWallets = new LRUCache({ max: options.customersMax });
  }

  /** A wallet as stored (before settlement), or null when it has no row yet. */
  current(key: WalletKey): Promise<Wallet | null> {
    const keyText = walletKeyText(key);
    const cached = this.#committer.cachedWallet(keyText);
    if (cached !== undefined && this.#isCurrent(cached.checked)) return Promise.resolve(cached.wallet);
    return this.#checkNextTurn(keyText, key);
  }

  /**
   * Every wallet of a customer, by asset. Which assets it has wallets in is kept like a wallet's state:
   * current while no other process committed (or checked within the staleness bound) and this
   * process created no wallet since; otherwise one statement lists them again.
   */
  async ofCustomer(environmentId: string, customer: string): Promise<Wallet[]> {
    const customerKey = `${environmentId}\u0000${customer}`;
    const known = this.#customerWallets.get(customerKey);
    if (
      known !== undefined &&
      known.walletCreations === this.#committer.walletCreations &&
      this.#isCurrent(known.checked)
    ) {
      const wallets = await Promise.all(known.assets.map((asset) => this.current({ environmentId, customer, asset })));
      return wallets.filter((wallet) => wallet !== null);
    }
    const walletCreations = this.#committer.walletCreations;
    const checked = this.#checkNow();
    const rows = await queryBuilder(this.#database.reader)
      .selectFrom('wallets')
      .selectAll()
      .where('environment_id', '=', environmentId)
      .where('customer_id', '=', customer)
      .orderBy('asset')
      .execute();
    this.#customerWallets.set(customerKey, { assets: rows.map((row) => row.asset), checked, walletCreations });
    const wallets = await Promise.all(
      rows.map((row) => this.#fromRow({ environmentId, customer, asset: row.asset }, row, checked)),
    );
    return wallets.filter((wallet) => wallet !== null);
  }

  /**
   * SQLite, and PostgreSQL while this process is the sole writer: current when no other process
   * has committed since the check (this process's own commits refresh the cache before they are
   * acknowledged). Otherwise on PostgreSQL: checked at most `stalenessMs` ago; with 0, every read is checked.
   */
  #isCurrent(checked: WalletCheck): boolean {
    const mark = this.#foreignCommitMark();
    if (mark !== null) return checked.mark === mark;
    return this.#stalenessMs > 0 && performance.now() - checked.at < this.#stalenessMs;
  }

  /** Taken before the statement that shows a wallet's version: that version is current as of here. */
  #checkNow(): WalletCheck {
    return { mark: this.#foreignCommitMark(), at: performance.now() };
  }

  /**
   * Read again after `foreignMarkReuseMs` at most: the pragma opens a read transaction (file locks,
   * system calls, about 9 µs here), and at full load thousands of reads a second can share one. So a
   * read sees every commit another process finished more than that long before it.
   */
  #foreignCommitMark(): bigint | null {
    const now = performance.now();
    if (this.#markReadAt === undefined || now - this.#markReadAt >= foreignMarkReuseMs) {
      this.#mark = this.#database.foreignCommitMark();
      this.#markReadAt = now;
    }
    return this.#mark;
  }

  #checkNextTurn(keyText: string, key: WalletKey): Promise<Wallet | null> {
    return new Promise((resolve, reject) => {
      const waiting = this.#waiting.get(keyText);
      if (waiting === undefined) this.#waiting.set(keyText, { key, replies: [{ resolve, reject }] });
      else waiting.replies.push({ resolve, reject });
      if (this.#checkScheduled) return;
      this.#checkScheduled = true;
      // The reads that arrive in this event-loop turn share one statement.
      setImmediate(() => {
        this.#checkScheduled = false;
        void this.#checkWaiting();
      });
    });
  }

  async #checkWaiting(): Promise<void> {
    const waiting = this.#waiting;
    this.#waiting = new Map();
    let rows: Map<string, WalletRow>;
    const checked = this.#checkNow();
    try {
      rows = await this.#rowsOf([...waiting.values()].map((item) => item.key));
    } catch (error) {
      for (const item of waiting.values()) for (const reply of item.replies) reply.reject(error);
      return;
    }
    await Promise.all(
      [...waiting].map(async ([keyText, item]) => {
        try {
          const wallet = await this.#fromRow(item.key, rows.get(keyText), checked);
          for (const reply of item.replies) reply.resolve(wallet);
        } catch (error) {
          for (const reply of item.replies) reply.reject(error);
        }
      }),
    );
  }

  async #rowsOf(keys: readonly WalletKey[]): Promise<Map<string, WalletRow>> {
    const rows = await this.#database.reader.selectByKeys(
      'wallets',
      walletKeyColumns,
      keys.map((key) => [key.environmentId, key.customer, key.asset]),
    );
    return new Map(rows.map((row) => [walletKeyText(keyOfRow(row)), row as WalletRow]));
  }

  /** The wallet whose stored row is `row`: the cached state when it has that version, else loaded and kept. */
  async #fromRow(key: WalletKey, row: WalletRow | undefined, checked: WalletCheck): Promise<Wallet | null> {
    if (row === undefined) return null;
    const keyText = walletKeyText(key);
    let stored = row;
    for (let attempt = 1; ; attempt += 1) {
      const version = toBigint(stored.version);
      const cached = this.#committer.cachedWallet(keyText);
      if (cached !== undefined && cached.version === version) {
        cached.checked = checked;
        return cached.wallet;
      }
      // This process committed a newer state after the statement read the row: that state is stored too.
      if (cached !== undefined && cached.version > version) return cached.wallet;
      const wallet = await loadWallet(this.#database.reader, stored);
      // The load is several statements; the version read again after them shows they saw one state
      // (every change of a wallet's grants, holds or policy raises its version in the same commit).
      const again = (await this.#rowsOf([key])).get(keyText);
      if (again === undefined) throw new Error('assertion failed: wallet rows are never deleted');
      if (toBigint(again.version) === version) {
        const entry: CachedWallet = { wallet, version, checked };
        this.#committer.keepWallet(keyText, entry);
        return wallet;
      }
      if (attempt >= consistentLoadAttempts) return loadWallet(this.#database.reader, again);
      stored = again;
    }
  }
}

function keyOfRow(row: SqlRow): WalletKey {
  return { environmentId: String(row.environment_id), customer: String(row.customer_id), asset: String(row.asset) };
}
