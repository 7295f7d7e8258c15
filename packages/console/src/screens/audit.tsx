/** The audit log, filtered by actor, action, target, customer and time, with the hash chain's verify status. */
import { type FormEvent, useState } from 'react';
import { useSearchParams } from 'react-router';
import type { Schemas } from '../api.ts';
import {
  DataTable,
  Empty,
  Field,
  localToInstant,
  MoreButton,
  PageHeading,
  QueryView,
  Section,
  Time,
  useApi,
  usePagedApi,
} from '../ui.tsx';

const filterNames = ['actor', 'action', 'target', 'customer', 'from', 'to'] as const;
type FilterName = (typeof filterNames)[number];
const filterLabels: Record<FilterName, string> = {
  actor: 'Actor',
  action: 'Action',
  target: 'Target',
  customer: 'Customer',
  from: 'From',
  to: 'To',
};

export function AuditScreen() {
  const [params, setParams] = useSearchParams();
  const applied = Object.fromEntries(filterNames.map((name) => [name, params.get(name) ?? ''])) as Record<
    FilterName,
    string
  >;
  const [draft, setDraft] = useState(applied);
  const verify = useApi<Schemas['AuditVerification']>('/v1/audit-events/verify');
  const events = usePagedApi<Schemas['AuditEvent']>('/v1/audit-events', { ...applied, limit: 100 });

  function submit(event: FormEvent) {
    event.preventDefault();
    const next: Record<string, string> = {};
    for (const name of filterNames) {
      const value = draft[name].trim();
      if (value === '') continue;
      next[name] = name === 'from' || name === 'to' ? (localToInstant(value) ?? value) : value;
    }
    setParams(next);
  }

  return (
    <>
      <PageHeading title="Audit log" />
      <QueryView query={verify} label="verification">
        {(result) => (
          <p role="status" className={result.valid ? 'notice notice-ok' : 'notice notice-error'} data-testid="verify">
            {result.valid
              ? `Hash chain verified: ${result.events_checked} events intact.`
              : `Hash chain broken at event ${result.first_invalid_seq ?? '?'}: ${result.problem ?? 'unknown'}.`}
          </p>
        )}
      </QueryView>
      <form onSubmit={submit} className="form-grid filters" aria-label="Filters">
        {filterNames.map((name) => (
          <Field key={name} label={filterLabels[name]}>
            {(id) => (
              <input
                id={id}
                type={name === 'from' || name === 'to' ? 'datetime-local' : 'text'}
                value={name === 'from' || name === 'to' ? draft[name].slice(0, 16) : draft[name]}
                onChange={(event) => setDraft({ ...draft, [name]: event.target.value })}
              />
            )}
          </Field>
        ))}
        <div className="buttons">
          <button type="submit">Filter</button>
        </div>
      </form>
      <Section title="Events">
        <QueryView query={events} label="audit events">
          {(found) =>
            found.length === 0 ? (
              <Empty>No event matches.</Empty>
            ) : (
              <DataTable
                testId="audit"
                caption="Audit events, newest first"
                scroll
                columns={['#', 'At', 'Actor', 'Action', 'Target', 'Reason', 'Change']}
              >
                {found.map((event) => (
                  <tr key={event.id} data-action={event.action}>
                    <th scope="row">{event.seq}</th>
                    <td>
                      <Time at={event.created_at} />
                    </td>
                    <td>
                      <code>{event.actor}</code>
                    </td>
                    <td>{event.action}</td>
                    <td>
                      <code>{event.target}</code>
                    </td>
                    <td data-field="reason">{event.reason ?? <span className="muted">—</span>}</td>
                    <td>
                      <details>
                        <summary>before / after</summary>
                        <pre>{JSON.stringify({ before: event.before, after: event.after }, null, 2)}</pre>
                      </details>
                    </td>
                  </tr>
                ))}
              </DataTable>
            )
          }
        </QueryView>
        <MoreButton pages={events} label="events" />
      </Section>
    </>
  );
}
