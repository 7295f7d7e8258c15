/**
 * What every widget on a page shares for one portal session: the client, the session (loaded once) and the
 * live balances of one event stream, however many widgets (or custom elements) show them — a browser allows
 * only six connections to an origin, so each widget opening its own stream would starve the rest.
 */
import { openBalanceStream } from './balance-stream.ts';
import type { PortalClientOptions } from './client.ts';
import { PortalClient, PortalRequestError } from './client.ts';
import type { Balances, PortalSession } from './types.ts';

export type LoadState<T> =
  | { readonly status: 'loading' }
  | { readonly status: 'ready'; readonly data: T }
  | { readonly status: 'error'; readonly error: PortalRequestError };

export interface LiveBalances {
  readonly balances: LoadState<Balances>;
  /** False while the stream is reconnecting. */
  readonly connected: boolean;
  /** Counts the balance changes seen since the stream opened: widgets reload their lists when it moves. */
  readonly version: number;
}

export function asRequestError(error: unknown): PortalRequestError {
  return error instanceof PortalRequestError
    ? error
    : new PortalRequestError(0, null, error instanceof Error ? error.message : String(error), null);
}

export class PortalStore {
  readonly client: PortalClient;
  #session: LoadState<PortalSession> = { status: 'loading' };
  #sessionPromise: Promise<void> | null = null;
  #live: LiveBalances = { balances: { status: 'loading' }, connected: false, version: 0 };
  #listeners = new Set<() => void>();
  #liveUsers = 0;
  #closeStream: (() => void) | null = null;

  constructor(options: PortalClientOptions) {
    this.client = new PortalClient(options);
  }

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  #emit() {
    for (const listener of this.#listeners) listener();
  }

  session = (): LoadState<PortalSession> => this.#session;
  live = (): LiveBalances => this.#live;

  /** Loads the session once (again after an error); the cookie mode's CSRF token comes with it. */
  loadSession(): Promise<void> {
    if (this.#sessionPromise && this.#session.status !== 'error') return this.#sessionPromise;
    this.#session = { status: 'loading' };
    this.#sessionPromise = this.client.getSession().then(
      (data) => {
        this.#session = { status: 'ready', data };
        this.#emit();
      },
      (error: unknown) => {
        this.#session = { status: 'error', error: asRequestError(error) };
        this.#emit();
      },
    );
    return this.#sessionPromise;
  }

  /** A widget that shows live balances holds the stream open while it is mounted. */
  holdLiveStream(): () => void {
    this.#liveUsers += 1;
    if (!this.#closeStream) this.#openStream();
    return () => {
      this.#liveUsers -= 1;
      // Deferred, so a widget that remounts at once (React's strict mode does) keeps the same stream.
      setTimeout(() => {
        if (this.#liveUsers === 0 && this.#closeStream) {
          this.#closeStream();
          this.#closeStream = null;
        }
      }, 0);
    };
  }

  #openStream() {
    this.#closeStream = openBalanceStream(this.client, {
      onBalances: (balances) => {
        const previous = this.#live;
        const changed = previous.balances.status === 'ready';
        this.#live = {
          balances: { status: 'ready', data: balances },
          connected: true,
          version: changed ? previous.version + 1 : previous.version,
        };
        this.#emit();
      },
      onError: (error, final) => {
        const previous = this.#live;
        // Balances already shown stay on screen while the stream reconnects; only a first failure is an error.
        const balances =
          previous.balances.status === 'ready' && !final ? previous.balances : { status: 'error' as const, error };
        this.#live = { ...previous, balances, connected: false };
        this.#emit();
      },
    });
  }
}

const stores = new Map<string, PortalStore>();

/** The one store of a (server, session) pair on this page. */
export function portalStoreFor(options: PortalClientOptions): PortalStore {
  const key = `${options.baseUrl ?? ''}\n${options.token ?? ''}`;
  let store = stores.get(key);
  if (!store) {
    store = new PortalStore(options);
    stores.set(key, store);
  }
  return store;
}
