/**
 * The portal's live balance: each open stream is told when its customer's wallets change, by a
 * write of this process (the committer's commit listener, at once) or of any other process (a poll
 * of the watched customers' wallet versions, one statement per environment every pollMs), and then
 * sends the getPortalBalances body again when it differs from the last one sent.
 */
import type { WalletKey } from '../../platform/commit/wallet-key.ts';
import type { Caller } from '../../platform/contract.ts';
import type { EventStream } from '../../platform/http/router.ts';
import type { LedgerService } from '../../platform/service.ts';
import { getPortalBalances, portalCustomer } from './operations.ts';
import { walletVersions } from './store.ts';

/** Well inside the promised second, and cheap: one statement per environment with watched customers (docs/web.md). */
export const portalPollMsDefault = 250;

interface Watcher {
  readonly owner: { readonly environmentId: string; readonly customer: string };
  readonly listeners: Set<() => void>;
  versions: string | null;
}

const watcherKey = (environmentId: string, customer: string) => `${environmentId}\n${customer}`;

export class PortalEvents {
  readonly #service: LedgerService;
  readonly #pollMs: number;
  readonly #watchers = new Map<string, Watcher>();
  #timer: NodeJS.Timeout | null = null;
  #polling = false;
  #closed = false;

  constructor(service: LedgerService, pollMs: number = portalPollMsDefault) {
    this.#service = service;
    this.#pollMs = pollMs;
  }

  /** The committer's commit listener: wallets this process just changed. */
  walletsCommitted(changed: readonly WalletKey[]): void {
    for (const key of changed) {
      const watcher = this.#watchers.get(watcherKey(key.environmentId, key.customer));
      if (watcher !== undefined) for (const listener of watcher.listeners) listener();
    }
  }

  /** The balance stream of the session's customer: its body on connect, then on every change. */
  balanceStream(caller: Caller): EventStream {
    const owner = { environmentId: caller.environmentId, customer: portalCustomer(caller) };
    return {
      start: (send) => {
        let lastSent: string | null = null;
        let rendering = false;
        let again = false;
        let stopped = false;
        const render = async (): Promise<void> => {
          if (rendering) {
            again = true;
            return;
          }
          rendering = true;
          try {
            do {
              again = false;
              const reply = await getPortalBalances(this.#service, caller);
              if (!stopped && !reply.problem && reply.bodyText !== lastSent) {
                lastSent = reply.bodyText;
                send('balance', reply.bodyText);
              }
            } while (again && !stopped);
          } catch {
            // The database closed under a render at shutdown; the stream is being stopped anyway.
          } finally {
            rendering = false;
          }
        };
        const unwatch = this.#watch(owner, () => void render());
        void render();
        return () => {
          stopped = true;
          unwatch();
        };
      },
    };
  }

  #watch(owner: Watcher['owner'], listener: () => void): () => void {
    const key = watcherKey(owner.environmentId, owner.customer);
    let watcher = this.#watchers.get(key);
    if (watcher === undefined) {
      watcher = { owner, listeners: new Set(), versions: null };
      this.#watchers.set(key, watcher);
    }
    watcher.listeners.add(listener);
    this.#schedule();
    return () => {
      watcher.listeners.delete(listener);
      if (watcher.listeners.size === 0) this.#watchers.delete(key);
    };
  }

  #schedule(): void {
    if (this.#timer !== null || this.#closed || this.#watchers.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#poll().finally(() => this.#schedule());
    }, this.#pollMs);
    // An open stream must not keep a process alive that is otherwise done.
    this.#timer.unref();
  }

  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const byEnvironment = new Map<string, Watcher[]>();
      for (const watcher of this.#watchers.values()) {
        const group = byEnvironment.get(watcher.owner.environmentId) ?? [];
        group.push(watcher);
        byEnvironment.set(watcher.owner.environmentId, group);
      }
      for (const [environmentId, group] of byEnvironment) {
        const customers = group.map((watcher) => watcher.owner.customer);
        const versions = await walletVersions(this.#service, environmentId, customers);
        if (this.#closed) return;
        for (const watcher of group) {
          const now = versions.get(watcher.owner.customer) ?? '';
          // The first poll has nothing to compare with: a change between the stream's first render
          // and this read would be missed, so it renders again (an unchanged body is not sent twice).
          const changed = watcher.versions !== now;
          watcher.versions = now;
          if (changed) for (const listener of watcher.listeners) listener();
        }
      }
    } catch {
      // A failed poll (the database closing) is retried at the next tick, or ends with close().
    } finally {
      this.#polling = false;
    }
  }

  /** Stops polling; streams themselves are ended by the HTTP server's close. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
