/** API keys (a new key's secret shown once, revocation) and environments (an owner key creates them, with their first admin key). */
import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api, type Page, path, type Schemas } from '../api.ts';
import { type Scope, useCan, useSignedIn } from '../session.tsx';
import { DataTable, Empty, ErrorNotice, Field, PageHeading, QueryView, Section, Time, useApi } from '../ui.tsx';

const grantableScopes: readonly Scope[] = ['admin', 'write', 'ingest', 'read'];

export function KeysScreen() {
  const session = useSignedIn();
  const canOwn = useCan('owner');
  const keys = useApi<Page<Schemas['ApiKey']>>('/v1/api-keys', { limit: 100 });
  const environments = useApi<Page<Schemas['Environment']>>('/v1/environments', { limit: 100 });
  const queryClient = useQueryClient();
  const [secret, setSecret] = useState<{ label: string; key: string } | null>(null);
  const [problem, setProblem] = useState<unknown>(null);

  async function act(run: () => Promise<{ label: string; key: string } | null>) {
    setProblem(null);
    setSecret(null);
    try {
      setSecret(await run());
      await queryClient.invalidateQueries();
    } catch (error) {
      setProblem(error);
    }
  }

  return (
    <>
      <PageHeading title="API keys and environments" />
      <ErrorNotice error={problem} />
      {secret !== null && (
        <div role="status" className="notice notice-ok">
          <p>{secret.label}: copy the secret now, it is not shown again.</p>
          <p>
            <code data-testid="new-secret">{secret.key}</code>
          </p>
        </div>
      )}
      <Section title={`API keys of ${session.environment.name}`}>
        <QueryView query={keys} label="API keys">
          {(page) =>
            page.data.length === 0 ? (
              <Empty>No key.</Empty>
            ) : (
              <DataTable
                testId="api-keys"
                caption="API keys"
                columns={['Name', 'Prefix', 'Scopes', 'Created', 'Revoked', 'Action']}
              >
                {page.data.map((key) => (
                  <tr key={key.id} data-key={key.id}>
                    <th scope="row">{key.name}</th>
                    <td>
                      <code>{key.prefix}</code>
                    </td>
                    <td>{key.scopes.join(', ')}</td>
                    <td>
                      <Time at={key.created_at} />
                    </td>
                    <td>
                      <Time at={key.revoked_at} />
                    </td>
                    <td>
                      {key.revoked_at === null && key.id !== session.api_key.id && (
                        <button
                          type="button"
                          className="small"
                          onClick={() =>
                            act(async () => {
                              await api.post(
                                path`/v1/api-keys/${key.id}/revoke`,
                                {},
                                { idempotencyKey: crypto.randomUUID() },
                              );
                              return null;
                            })
                          }
                        >
                          Revoke {key.name}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </DataTable>
            )
          }
        </QueryView>
        <NewKey onCreate={act} />
      </Section>
      <Section title="Environments">
        <QueryView query={environments} label="environments">
          {(page) => (
            <DataTable testId="environments" caption="Environments" columns={['Name', 'Id', 'Created']}>
              {page.data.map((environment) => (
                <tr key={environment.id}>
                  <th scope="row">
                    {environment.name}
                    {environment.id === session.environment.id && <span className="badge">this one</span>}
                  </th>
                  <td>
                    <code>{environment.id}</code>
                  </td>
                  <td>
                    <Time at={environment.created_at} />
                  </td>
                </tr>
              ))}
            </DataTable>
          )}
        </QueryView>
        {canOwn && <NewEnvironment onCreate={act} />}
      </Section>
    </>
  );
}

type Create = (run: () => Promise<{ label: string; key: string } | null>) => void;

function NewKey({ onCreate }: { readonly onCreate: Create }) {
  const [name, setName] = useState('');
  const [chosen, setChosen] = useState<readonly Scope[]>(['read']);
  function submit(event: FormEvent) {
    event.preventDefault();
    onCreate(async () => {
      const created = await api.post<Schemas['ApiKey']>(
        '/v1/api-keys',
        { name: name.trim(), scopes: chosen },
        { idempotencyKey: crypto.randomUUID() },
      );
      setName('');
      return created.key === null || created.key === undefined
        ? null
        : { label: `Key ${created.name}`, key: created.key };
    });
  }
  return (
    <form onSubmit={submit} className="form-grid" aria-label="New API key">
      <Field label="New key name">
        {(id) => <input id={id} value={name} onChange={(event) => setName(event.target.value)} required />}
      </Field>
      <fieldset>
        <legend>Scopes</legend>
        {grantableScopes.map((scope) => (
          <label key={scope} className="check">
            <input
              type="checkbox"
              checked={chosen.includes(scope)}
              onChange={(event) =>
                setChosen(event.target.checked ? [...chosen, scope] : chosen.filter((held) => held !== scope))
              }
            />{' '}
            {scope}
          </label>
        ))}
      </fieldset>
      <div className="buttons">
        <button type="submit" disabled={chosen.length === 0}>
          Create key
        </button>
      </div>
    </form>
  );
}

function NewEnvironment({ onCreate }: { readonly onCreate: Create }) {
  const [name, setName] = useState('');
  function submit(event: FormEvent) {
    event.preventDefault();
    onCreate(async () => {
      const created = await api.post<Schemas['EnvironmentCreated']>(
        '/v1/environments',
        { name: name.trim() },
        { idempotencyKey: crypto.randomUUID() },
      );
      setName('');
      const key = created.admin_key.key;
      return typeof key === 'string' ? { label: `Admin key of ${created.name}`, key } : null;
    });
  }
  return (
    <form onSubmit={submit} className="form-grid" aria-label="New environment">
      <Field label="New environment name">
        {(id) => <input id={id} value={name} onChange={(event) => setName(event.target.value)} required />}
      </Field>
      <div className="buttons">
        <button type="submit">Create environment</button>
      </div>
    </form>
  );
}
