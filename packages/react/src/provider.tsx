/** BursarProvider: the portal session, locale and strings that every widget under it reads, and the hooks they read them with. */
import type { ReactNode } from 'react';
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
} from 'react';
import type { MessageKey, Messages } from './messages.ts';
import { defaultMessages, formatMessage } from './messages.ts';
import type { LiveBalances, LoadState, PortalStore } from './portal-store.ts';
import { asRequestError, portalStoreFor } from './portal-store.ts';
import type { PortalSession } from './types.ts';

export interface BursarProviderProps {
  /**
   * A portal session token (`bps_…`, the `token` of createPortalSession) for widgets on your own pages.
   * Leave it out inside the hosted portal, where the session cookie is used instead.
   */
  readonly token?: string | undefined;
  /** The Bursar server's origin, e.g. `https://billing.example.com`; default: this page's origin. */
  readonly baseUrl?: string | undefined;
  /** A BCP 47 tag for numbers and dates; default: the browser's. */
  readonly locale?: string | undefined;
  /** Replacements for any of the English strings (see `defaultMessages`). */
  readonly messages?: Partial<Messages> | undefined;
  readonly children?: ReactNode;
}

interface BursarContextValue {
  readonly store: PortalStore;
  readonly locale: string | undefined;
  readonly messages: Messages;
}

const BursarContext = createContext<BursarContextValue | null>(null);

export function BursarProvider({ token, baseUrl, locale, messages, children }: BursarProviderProps) {
  const store = useMemo(
    () => portalStoreFor({ ...(baseUrl ? { baseUrl } : {}), ...(token ? { token } : {}) }),
    [baseUrl, token],
  );
  const merged = useMemo(() => ({ ...defaultMessages, ...messages }), [messages]);
  const value = useMemo(() => ({ store, locale, messages: merged }), [store, locale, merged]);
  useEffect(() => {
    void store.loadSession();
  }, [store]);
  return <BursarContext.Provider value={value}>{children}</BursarContext.Provider>;
}

function useBursarContext(): BursarContextValue {
  const value = useContext(BursarContext);
  if (!value) throw new Error('Bursar widgets must be rendered inside <BursarProvider>');
  return value;
}

/** The locale, and `t(key, values)` for the provider's strings. */
export function useTranslation() {
  const { locale, messages } = useBursarContext();
  const t = useCallback(
    (key: MessageKey, values?: Record<string, string | number>) => formatMessage(messages, key, values),
    [messages],
  );
  return { locale, t };
}

export function usePortalStore(): PortalStore {
  return useBursarContext().store;
}

export function usePortalSession(): LoadState<PortalSession> & { reload: () => void } {
  const store = usePortalStore();
  const state = useSyncExternalStore(store.subscribe, store.session, store.session);
  return { ...state, reload: () => void store.loadSession() };
}

/** The live balances from the event stream, kept open while the calling widget is mounted. */
export function useLiveBalances(): LiveBalances {
  const store = usePortalStore();
  useEffect(() => store.holdLiveStream(), [store]);
  return useSyncExternalStore(store.subscribe, store.live, store.live);
}

/**
 * Loads `load()` and loads it again when `dependencies` change, on `reload()`, and on every live balance
 * change: a debit anywhere changes the grants, holds, usage and transactions a widget lists.
 */
export function usePortalResource<T>(
  load: (store: PortalStore) => Promise<T>,
  dependencies: readonly unknown[],
): LoadState<T> & { reload: () => void } {
  const store = usePortalStore();
  const { version } = useLiveBalances();
  const [state, setState] = useState<LoadState<T>>({ status: 'loading' });
  const [attempt, setAttempt] = useState(0);
  // What was loaded last: new dependencies show the loading state, a live change keeps the old data meanwhile.
  const loadedFor = useRef<string | null>(null);
  const dependencyKey = JSON.stringify(dependencies);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `load` is rebuilt on each render; `dependencyKey` says when it changes
  useEffect(() => {
    let current = true;
    if (loadedFor.current !== null && loadedFor.current !== dependencyKey) setState({ status: 'loading' });
    loadedFor.current = dependencyKey;
    load(store).then(
      (data) => current && setState({ status: 'ready', data }),
      (error: unknown) => current && setState({ status: 'error', error: asRequestError(error) }),
    );
    return () => {
      current = false;
    };
  }, [store, version, attempt, dependencyKey]);
  return {
    ...state,
    reload: () => {
      setState({ status: 'loading' });
      setAttempt((value) => value + 1);
    },
  };
}
