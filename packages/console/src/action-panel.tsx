/**
 * Every console write goes through this panel: the operator gives a reason, sees the server's dry run
 * (`?dry_run=true`: the wallet before and after, nothing written), and only then commits the same
 * request, under one Idempotency-Key so a double click has one effect.
 */
import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useId, useState } from 'react';
import { api, type DryRun } from './api.ts';
import { DataTable, ErrorNotice, Field } from './ui.tsx';

export interface ActionRequest {
  readonly path: string;
  readonly body: unknown;
}

interface Preview {
  readonly requestText: string;
  readonly idempotencyKey: string;
  readonly dryRun: DryRun;
}

export function ActionPanel({
  title,
  build,
  onClose,
  onDone,
  children,
}: {
  readonly title: string;
  /** The request for the form's values and this reason, or what is missing from the form. */
  readonly build: (reason: string) => ActionRequest | string;
  readonly onClose: () => void;
  readonly onDone: (message: string) => void;
  readonly children?: ReactNode;
}) {
  const headingId = useId();
  const queryClient = useQueryClient();
  const [reason, setReason] = useState('');
  const [preview, setPreview] = useState<Preview | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const current = reason.trim() === '' ? 'A reason is required.' : build(reason.trim());
  const currentText = typeof current === 'string' ? null : JSON.stringify(current);
  const previewIsCurrent = preview !== null && preview.requestText === currentText;

  async function runPreview(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    if (typeof current === 'string') {
      setProblem(new Error(current));
      return;
    }
    setBusy(true);
    try {
      const dryRun = await api.post<DryRun>(current.path, current.body, { query: { dry_run: 'true' } });
      setPreview({ requestText: JSON.stringify(current), idempotencyKey: crypto.randomUUID(), dryRun });
    } catch (error) {
      setPreview(null);
      setProblem(error);
    } finally {
      setBusy(false);
    }
  }

  async function commit() {
    if (preview === null || typeof current === 'string') return;
    setProblem(null);
    setBusy(true);
    try {
      await api.post(current.path, current.body, { idempotencyKey: preview.idempotencyKey });
      await queryClient.invalidateQueries();
      onDone(`${title}: done.`);
    } catch (error) {
      setProblem(error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby={headingId} className="card action-panel">
      <div className="card-head">
        <h2 id={headingId}>{title}</h2>
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </div>
      <form onSubmit={runPreview}>
        <div className="form-grid">
          {children}
          <Field label="Reason (required)" hint="Stored in the audit log with this change.">
            {(id) => <input id={id} value={reason} onChange={(event) => setReason(event.target.value)} required />}
          </Field>
        </div>
        <div className="buttons">
          <button type="submit" disabled={busy}>
            Preview
          </button>
          <button type="button" disabled={busy || !previewIsCurrent} onClick={commit}>
            Confirm
          </button>
        </div>
      </form>
      <ErrorNotice error={problem} />
      {preview !== null && !previewIsCurrent && (
        <p className="notice">The form changed after the preview: preview again before confirming.</p>
      )}
      {preview !== null && previewIsCurrent && <PreviewView dryRun={preview.dryRun} />}
    </section>
  );
}

function PreviewView({ dryRun }: { readonly dryRun: DryRun }) {
  const assets = [...new Set([...dryRun.balances_before, ...dryRun.balances_after].map((balance) => balance.asset))];
  return (
    <section className="preview" aria-label="Preview">
      <h3>Preview (nothing written yet)</h3>
      <DataTable
        caption="Wallet before and after"
        columns={['Asset', 'Balance before', 'Balance after', 'Available before', 'Available after', 'Debt after']}
      >
        {assets.map((asset) => {
          const before = dryRun.balances_before.find((balance) => balance.asset === asset);
          const after = dryRun.balances_after.find((balance) => balance.asset === asset);
          return (
            <tr key={asset}>
              <th scope="row">{asset}</th>
              <td className="amount">{before?.balance ?? '—'}</td>
              <td className="amount">{after?.balance ?? '—'}</td>
              <td className="amount">{before?.available ?? '—'}</td>
              <td className="amount">{after?.available ?? '—'}</td>
              <td className="amount">{after?.debt ?? '—'}</td>
            </tr>
          );
        })}
      </DataTable>
      <details>
        <summary>What the call would return</summary>
        <pre>{JSON.stringify(dryRun.result, null, 2)}</pre>
      </details>
    </section>
  );
}
