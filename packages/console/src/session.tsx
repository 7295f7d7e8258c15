/**
 * The console session: signs in by exchanging a pasted API key for the server's HttpOnly cookie, knows
 * the key's scopes (to hide what they do not allow), and falls back to the sign-in page with a message
 * when the session expires or is ended elsewhere.
 */
import { useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { ApiError, request, type Schemas, setCsrfToken, whenSessionLost } from './api.ts';

export type Scope = Schemas['ApiKey']['scopes'][number];

/** Widest first; each includes the ones after it (as in @bursar/api's scopes.ts, which the browser does not load). */
const scopes: readonly Scope[] = ['owner', 'admin', 'write', 'ingest', 'read'];

/** What createConsoleSession and getConsoleSession answer. */
export interface ConsoleSession {
  readonly environment: { readonly id: string; readonly name: string };
  readonly api_key: { readonly id: string; readonly name: string; readonly scopes: readonly Scope[] };
  readonly expires_at: string;
  readonly csrf_token: string;
}

type SessionState =
  | { readonly status: 'loading' }
  | { readonly status: 'signed-out'; readonly message: string | null }
  | { readonly status: 'signed-in'; readonly session: ConsoleSession };

interface SessionContextValue {
  readonly state: SessionState;
  signIn(apiKey: string): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionContextValue | null>(null);

const sessionPath = '/v1/console/sessions';
export const expiredMessage = 'Your session has expired. Sign in again.';

/** Whether a key with `held` may call an operation that needs `needed`: scopes are listed widest first, each including the ones after it. */
export function scopeAllows(held: readonly Scope[], needed: Scope): boolean {
  const neededRank = scopes.indexOf(needed);
  return held.some((scope) => scopes.indexOf(scope) <= neededRank);
}

export function SessionProvider({ children }: { readonly children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ status: 'loading' });
  const queryClient = useQueryClient();

  const signedOut = useCallback(
    (message: string | null) => {
      setCsrfToken(null);
      queryClient.clear();
      setState({ status: 'signed-out', message });
    },
    [queryClient],
  );

  const signedIn = useCallback((session: ConsoleSession) => {
    setCsrfToken(session.csrf_token);
    setState({ status: 'signed-in', session });
  }, []);

  useEffect(() => {
    whenSessionLost((code) =>
      signedOut(code === 'session_expired' ? expiredMessage : 'You were signed out. Sign in again.'),
    );
    request<ConsoleSession>('GET', `${sessionPath}/current`, { sessionProbe: true }).then(signedIn, (error) =>
      signedOut(error instanceof ApiError && error.code === 'session_expired' ? expiredMessage : null),
    );
  }, [signedIn, signedOut]);

  // The cookie's Max-Age ends it in the browser too; show the sign-in page then rather than at the next failed call.
  const expiresAt = state.status === 'signed-in' ? state.session.expires_at : null;
  useEffect(() => {
    if (expiresAt === null) return;
    const timer = setTimeout(() => signedOut(expiredMessage), Math.max(0, Date.parse(expiresAt) - Date.now()));
    return () => clearTimeout(timer);
  }, [expiresAt, signedOut]);

  const value = useMemo<SessionContextValue>(
    () => ({
      state,
      async signIn(apiKey) {
        const session = await request<ConsoleSession>('POST', sessionPath, {
          body: { api_key: apiKey },
          sessionProbe: true,
        });
        queryClient.clear();
        signedIn(session);
      },
      async signOut() {
        try {
          await request<undefined>('DELETE', `${sessionPath}/current`, { sessionProbe: true });
        } finally {
          signedOut('You are signed out.');
        }
      },
    }),
    [state, queryClient, signedIn, signedOut],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (value === null) throw new Error('useSession outside SessionProvider');
  return value;
}

/** The signed-in session; only for screens rendered inside the signed-in layout. */
export function useSignedIn(): ConsoleSession {
  const { state } = useSession();
  if (state.status !== 'signed-in') throw new Error('useSignedIn while not signed in');
  return state.session;
}

/** Whether the signed-in key's scopes allow an operation that needs `needed`. */
export function useCan(needed: Scope): boolean {
  return scopeAllows(useSignedIn().api_key.scopes, needed);
}
