/** The sign-in page: the operator pastes an API key once; the server answers with the session cookie and the key is forgotten. */
import { type FormEvent, useState } from 'react';
import { useSession } from '../session.tsx';
import { ErrorNotice, Field } from '../ui.tsx';

export function SignInScreen({ message }: { readonly message: string | null }) {
  const { signIn } = useSession();
  const [apiKey, setApiKey] = useState('');
  const [problem, setProblem] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      await signIn(apiKey.trim());
    } catch (error) {
      setProblem(error);
    } finally {
      // The key lives only in this field until the exchange; it is not kept anywhere after it.
      setApiKey('');
      setBusy(false);
    }
  }

  return (
    <main className="sign-in">
      <form onSubmit={submit} className="card" aria-labelledby="sign-in-title">
        <title>Sign in · Bursar console</title>
        <h1 id="sign-in-title">Sign in to the Bursar console</h1>
        {message !== null && (
          <p role="status" className="notice">
            {message}
          </p>
        )}
        <Field
          label="API key"
          hint="Exchanged once for a session cookie; the key is not stored in the browser. What its scopes do not allow is hidden."
        >
          {(id) => (
            <input
              id={id}
              type="password"
              autoComplete="off"
              spellCheck={false}
              value={apiKey}
              onChange={(event) => setApiKey(event.target.value)}
              required
            />
          )}
        </Field>
        <button type="submit" disabled={busy || apiKey.trim() === ''}>
          Sign in
        </button>
        <ErrorNotice error={problem} />
      </form>
    </main>
  );
}
