/**
 * What a debit would draw: `checkDebit` (read scope, writes nothing) run on the customer's wallet,
 * showing the grants in consumption order, the amount each would give, and why each skipped one is skipped.
 */
import { type FormEvent, useState } from 'react';
import { api, type Schemas } from '../api.ts';
import { DataTable, ErrorNotice, Field, Section } from '../ui.tsx';

export function DrawInspector({ customer, assets }: { readonly customer: string; readonly assets: readonly string[] }) {
  const [asset, setAsset] = useState(assets[0] ?? '');
  const [amount, setAmount] = useState('');
  const [feature, setFeature] = useState('');
  const [check, setCheck] = useState<Schemas['DebitCheck'] | null>(null);
  const [problem, setProblem] = useState<unknown>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    try {
      setCheck(
        await api.post<Schemas['DebitCheck']>('/v1/debits/check', {
          customer,
          asset: asset === '' ? assets[0] : asset,
          amount: amount.trim(),
          ...(feature.trim() === '' ? {} : { feature: feature.trim() }),
        }),
      );
    } catch (error) {
      setCheck(null);
      setProblem(error);
    }
  }

  const drawnBy = new Map((check?.draws ?? []).map((draw) => [draw.grant, draw.amount]));
  return (
    <Section title="What would a debit draw?">
      <form className="form-grid" onSubmit={submit} aria-label="Debit check">
        <Field label="Check asset">
          {(id) => (
            <select id={id} value={asset} onChange={(event) => setAsset(event.target.value)}>
              {assets.map((code) => (
                <option key={code} value={code}>
                  {code}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Check amount">
          {(id) => (
            <input
              id={id}
              inputMode="decimal"
              value={amount}
              onChange={(event) => setAmount(event.target.value)}
              required
            />
          )}
        </Field>
        <Field label="For feature (optional)">
          {(id) => <input id={id} value={feature} onChange={(event) => setFeature(event.target.value)} />}
        </Field>
        <div className="buttons">
          <button type="submit">Check</button>
        </div>
      </form>
      <ErrorNotice error={problem} />
      {check !== null && (
        <div data-testid="debit-check">
          <p role="status" className={check.allowed ? 'notice notice-ok' : 'notice notice-error'}>
            {check.allowed
              ? `Allowed: ${check.amount} ${check.asset} of ${check.available} available.`
              : `Refused: short by ${check.shortfall} ${check.asset} (${check.available} available).`}{' '}
            Order: {check.consumption_order.join(' → ')}.
          </p>
          <DataTable caption="Grants in consumption order" columns={['Rank', 'Grant', 'Would draw', 'Skipped because']}>
            {check.explanation.map((line) => (
              <tr key={line.grant} data-grant={line.grant}>
                <th scope="row">{line.rank ?? '—'}</th>
                <td>
                  <code>{line.grant}</code>
                </td>
                <td className="amount" data-field="draw">
                  {drawnBy.get(line.grant) ?? '—'}
                </td>
                <td>{line.skipped_because ?? '—'}</td>
              </tr>
            ))}
            {drawnBy.has(null) && (
              <tr>
                <th scope="row">—</th>
                <td>overdraft</td>
                <td className="amount">{drawnBy.get(null)}</td>
                <td>—</td>
              </tr>
            )}
          </DataTable>
        </div>
      )}
    </Section>
  );
}
