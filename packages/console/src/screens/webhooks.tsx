/** Webhooks: the endpoints, each one's delivery log with redelivery, a test send, secret rotation (the new secret shown once) and new endpoints. */
import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api, type Page, path, type Schemas } from '../api.ts';
import { DataTable, Empty, ErrorNotice, Field, PageHeading, QueryView, Section, Time, useApi, words } from '../ui.tsx';

export function WebhooksScreen() {
  const endpoints = useApi<Page<Schemas['WebhookEndpoint']>>('/v1/webhook-endpoints', { limit: 100 });
  const [selected, setSelected] = useState<string | null>(null);
  const [notice, setNotice] = useState<{ text: string; secret?: string } | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const queryClient = useQueryClient();

  async function act(run: () => Promise<{ text: string; secret?: string }>) {
    setProblem(null);
    setNotice(null);
    try {
      setNotice(await run());
      await queryClient.invalidateQueries();
    } catch (error) {
      setProblem(error);
    }
  }

  return (
    <>
      <PageHeading title="Webhooks" />
      <ErrorNotice error={problem} />
      {notice !== null && (
        <div role="status" className="notice notice-ok">
          <p>{notice.text}</p>
          {notice.secret !== undefined && (
            <p>
              Signing secret (shown once): <code data-testid="secret">{notice.secret}</code>
            </p>
          )}
        </div>
      )}
      <Section title="Endpoints">
        <QueryView query={endpoints} label="endpoints">
          {(page) =>
            page.data.length === 0 ? (
              <Empty>No endpoint.</Empty>
            ) : (
              <DataTable
                testId="endpoints"
                caption="Webhook endpoints"
                columns={['URL', 'Event types', 'Description', 'Created', 'Actions']}
              >
                {page.data.map((endpoint) => (
                  <tr key={endpoint.id} data-endpoint={endpoint.id}>
                    <th scope="row">
                      {endpoint.url}
                      {endpoint.disabled_at !== null && <span className="badge">disabled</span>}
                    </th>
                    <td>{endpoint.event_types?.join(', ') ?? 'all'}</td>
                    <td>{endpoint.description ?? '—'}</td>
                    <td>
                      <Time at={endpoint.created_at} />
                    </td>
                    <td>
                      <div className="buttons tight">
                        <button
                          type="button"
                          className="small"
                          aria-label={`Deliveries of ${endpoint.url}`}
                          onClick={() => setSelected(endpoint.id)}
                        >
                          Deliveries
                        </button>
                        <button
                          type="button"
                          className="small"
                          aria-label={`Send test to ${endpoint.url}`}
                          onClick={() =>
                            act(async () => {
                              await api.post(
                                path`/v1/webhook-endpoints/${endpoint.id}/test`,
                                {},
                                { idempotencyKey: crypto.randomUUID() },
                              );
                              return { text: `Test event sent to ${endpoint.url}.` };
                            })
                          }
                        >
                          Send test
                        </button>
                        <button
                          type="button"
                          className="small"
                          aria-label={`Rotate secret of ${endpoint.url}`}
                          onClick={() =>
                            act(async () => {
                              const rotated = await api.post<Schemas['WebhookEndpoint']>(
                                path`/v1/webhook-endpoints/${endpoint.id}/rotate-secret`,
                                {},
                                { idempotencyKey: crypto.randomUUID() },
                              );
                              return {
                                text: `Secret of ${endpoint.url} rotated; the previous one is accepted until ${rotated.previous_secret_valid_until ?? 'now'}.`,
                                ...(typeof rotated.secret === 'string' ? { secret: rotated.secret } : {}),
                              };
                            })
                          }
                        >
                          Rotate secret
                        </button>
                      </div>
                    </td>
                  </tr>
                ))}
              </DataTable>
            )
          }
        </QueryView>
      </Section>
      {selected !== null && <DeliveryLog endpoint={selected} onRedeliver={act} />}
      <NewEndpoint onCreate={act} />
    </>
  );
}

function DeliveryLog({
  endpoint,
  onRedeliver,
}: {
  readonly endpoint: string;
  readonly onRedeliver: (run: () => Promise<{ text: string }>) => void;
}) {
  const deliveries = useApi<Page<Schemas['WebhookDelivery']>>(path`/v1/webhook-endpoints/${endpoint}/deliveries`, {
    limit: 100,
  });
  return (
    <Section title="Delivery log">
      <QueryView query={deliveries} label="deliveries">
        {(page) =>
          page.data.length === 0 ? (
            <Empty>Nothing delivered yet.</Empty>
          ) : (
            <DataTable
              testId="deliveries"
              caption="Deliveries"
              columns={['Event type', 'Status', 'Attempts', 'Last answer', 'Created', 'Next attempt', 'Action']}
            >
              {page.data.map((delivery) => {
                const last = delivery.attempts.at(-1);
                return (
                  <tr key={delivery.id} data-delivery={delivery.id}>
                    <th scope="row">{delivery.event_type}</th>
                    <td>{delivery.status}</td>
                    <td>{delivery.attempts.length}</td>
                    <td>{last === undefined ? '—' : (last.error ?? `HTTP ${last.status_code ?? '?'}`)}</td>
                    <td>
                      <Time at={delivery.created_at} />
                    </td>
                    <td>
                      <Time at={delivery.next_attempt_at} />
                    </td>
                    <td>
                      <button
                        type="button"
                        className="small"
                        aria-label={`Redeliver ${delivery.event_type} ${delivery.id}`}
                        onClick={() =>
                          onRedeliver(async () => {
                            await api.post(
                              path`/v1/webhook-deliveries/${delivery.id}/redeliver`,
                              {},
                              { idempotencyKey: crypto.randomUUID() },
                            );
                            return { text: `Delivery ${delivery.id} queued again.` };
                          })
                        }
                      >
                        Redeliver
                      </button>
                    </td>
                  </tr>
                );
              })}
            </DataTable>
          )
        }
      </QueryView>
    </Section>
  );
}

function NewEndpoint({
  onCreate,
}: {
  readonly onCreate: (run: () => Promise<{ text: string; secret?: string }>) => void;
}) {
  const [url, setUrl] = useState('');
  const [types, setTypes] = useState('');
  const [description, setDescription] = useState('');
  function submit(event: FormEvent) {
    event.preventDefault();
    const eventTypes = words(types);
    onCreate(async () => {
      const created = await api.post<Schemas['WebhookEndpoint']>(
        '/v1/webhook-endpoints',
        {
          url: url.trim(),
          ...(eventTypes.length === 0 ? {} : { event_types: eventTypes }),
          ...(description.trim() === '' ? {} : { description: description.trim() }),
        },
        { idempotencyKey: crypto.randomUUID() },
      );
      setUrl('');
      return {
        text: `Endpoint ${created.url} created.`,
        ...(typeof created.secret === 'string' ? { secret: created.secret } : {}),
      };
    });
  }
  return (
    <Section title="New endpoint">
      <form onSubmit={submit} className="form-grid">
        <Field label="URL">
          {(id) => <input id={id} type="url" value={url} onChange={(event) => setUrl(event.target.value)} required />}
        </Field>
        <Field label="Event types (optional)" hint="Separated by commas; empty: every type.">
          {(id) => <input id={id} value={types} onChange={(event) => setTypes(event.target.value)} />}
        </Field>
        <Field label="Description (optional)">
          {(id) => <input id={id} value={description} onChange={(event) => setDescription(event.target.value)} />}
        </Field>
        <div className="buttons">
          <button type="submit">Create endpoint</button>
        </div>
      </form>
    </Section>
  );
}
