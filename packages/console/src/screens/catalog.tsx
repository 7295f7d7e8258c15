/**
 * The catalog: features, price books with their version history, model prices and plans with their
 * versions. A new price version is replayed over real usage (`simulatePricing`) before it can be
 * published; a plan version, published or still a draft, can be replayed against a customer's recorded charges.
 */
import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api, type Page, path, type Schemas } from '../api.ts';
import { useCan } from '../session.tsx';
import {
  DataTable,
  Empty,
  ErrorNotice,
  Field,
  localToInstant,
  PageHeading,
  QueryView,
  Section,
  Time,
  useApi,
} from '../ui.tsx';

export function CatalogScreen() {
  return (
    <>
      <PageHeading title="Catalog" />
      <FeaturesSection />
      <PriceBooksSection />
      <ModelPricesSection />
      <PlansSection />
    </>
  );
}

function FeaturesSection() {
  const features = useApi<Page<Schemas['Feature']>>('/v1/features', { limit: 100 });
  return (
    <Section title="Features">
      <QueryView query={features} label="features">
        {(page) =>
          page.data.length === 0 ? (
            <Empty>No feature.</Empty>
          ) : (
            <DataTable testId="features" caption="Features" columns={['Key', 'Name', 'Quantities', 'Created']}>
              {page.data.map((feature) => (
                <tr key={feature.key}>
                  <th scope="row">
                    <code>{feature.key}</code>
                  </th>
                  <td>{feature.name ?? '—'}</td>
                  <td>
                    {Object.entries(feature.quantities)
                      .map(([name, source]) =>
                        'property' in source ? `${name} (from ${source.property})` : `${name} (count)`,
                      )
                      .join(', ')}
                  </td>
                  <td>
                    <Time at={feature.created_at} />
                  </td>
                </tr>
              ))}
            </DataTable>
          )
        }
      </QueryView>
    </Section>
  );
}

function PriceBooksSection() {
  const books = useApi<Page<Schemas['PriceBook']>>('/v1/price-books', { limit: 100 });
  const canWrite = useCan('write');
  return (
    <Section title="Price books">
      <QueryView query={books} label="price books">
        {(page) =>
          page.data.length === 0 ? (
            <Empty>No price book.</Empty>
          ) : (
            page.data.map((book) => <PriceBookView key={book.key} book={book} canWrite={canWrite} />)
          )
        }
      </QueryView>
    </Section>
  );
}

function PriceBookView({ book, canWrite }: { readonly book: Schemas['PriceBook']; readonly canWrite: boolean }) {
  const [drafting, setDrafting] = useState(false);
  const versions = [...book.versions].sort((left, right) => right.version - left.version);
  const latest = versions[0];
  return (
    <article className="sub" data-price-book={book.key}>
      <h3>
        <code>{book.key}</code> {book.name ?? ''} {book.default && <span className="badge">default</span>}
      </h3>
      <DataTable
        caption={<>Version history of {book.key}</>}
        captionShown
        columns={['Version', 'Effective from', 'Prices', 'Published']}
      >
        {versions.map((version) => (
          <tr key={version.version}>
            <th scope="row">v{version.version}</th>
            <td>
              <Time at={version.effective_from} />
            </td>
            <td>
              <details>
                <summary>{version.prices.map((price) => price.feature).join(', ')}</summary>
                <pre>{JSON.stringify(version.prices, null, 2)}</pre>
              </details>
            </td>
            <td>
              <Time at={version.created_at} />
            </td>
          </tr>
        ))}
      </DataTable>
      {canWrite && !drafting && (
        <button type="button" onClick={() => setDrafting(true)}>
          Draft version of {book.key}
        </button>
      )}
      {drafting && (
        <PriceDraft
          book={book.key}
          initial={JSON.stringify(latest?.prices ?? [], null, 2)}
          onClose={() => setDrafting(false)}
        />
      )}
    </article>
  );
}

function thirtyDaysAgo(): string {
  return new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 16);
}

/** A draft price version: replayed over the stored events first, publishable only as simulated. */
function PriceDraft({
  book,
  initial,
  onClose,
}: {
  readonly book: string;
  readonly initial: string;
  readonly onClose: () => void;
}) {
  const queryClient = useQueryClient();
  const [pricesText, setPricesText] = useState(initial);
  const [from, setFrom] = useState(thirtyDaysAgo);
  const [simulated, setSimulated] = useState<{ text: string; simulation: Schemas['Simulation'] } | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [published, setPublished] = useState<string | null>(null);

  function parsePrices(): unknown {
    try {
      return JSON.parse(pricesText);
    } catch (error) {
      throw new Error(`The prices are not JSON: ${(error as Error).message}`);
    }
  }

  async function simulate(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    try {
      const simulation = await api.post<Schemas['Simulation']>('/v1/simulations', {
        from: localToInstant(from) ?? new Date(0).toISOString(),
        to: new Date().toISOString(),
        prices: parsePrices(),
      });
      setSimulated({ text: pricesText, simulation });
    } catch (error) {
      setProblem(error);
    }
  }

  async function publish() {
    setProblem(null);
    try {
      const result = await api.post<Schemas['PriceBook']>(
        path`/v1/price-books/${book}/versions`,
        { prices: parsePrices() },
        { idempotencyKey: crypto.randomUUID() },
      );
      await queryClient.invalidateQueries();
      setPublished(`Published version ${Math.max(...result.versions.map((version) => version.version))} of ${book}.`);
    } catch (error) {
      setProblem(error);
    }
  }

  return (
    <form className="card action-panel" onSubmit={simulate} aria-label={`Draft version of ${book}`}>
      <Field label={`Prices of the new ${book} version (JSON)`}>
        {(id) => (
          <textarea
            id={id}
            rows={12}
            value={pricesText}
            onChange={(event) => setPricesText(event.target.value)}
            spellCheck={false}
          />
        )}
      </Field>
      <Field label="Replay usage since">
        {(id) => <input id={id} type="datetime-local" value={from} onChange={(event) => setFrom(event.target.value)} />}
      </Field>
      <div className="buttons">
        <button type="submit">Simulate</button>
        <button type="button" disabled={simulated === null || simulated.text !== pricesText} onClick={publish}>
          Publish version
        </button>
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </div>
      <ErrorNotice error={problem} />
      {published !== null && (
        <p role="status" className="notice notice-ok">
          {published}
        </p>
      )}
      {simulated !== null && <SimulationView simulation={simulated.simulation} />}
    </form>
  );
}

function SimulationView({ simulation }: { readonly simulation: Schemas['Simulation'] }) {
  return (
    <section aria-label="Simulation" className="preview">
      <h4>
        What-if over {simulation.events} events ({simulation.unpriced} the draft cannot price)
      </h4>
      {simulation.lines.length === 0 ? (
        <Empty>No usage in the range.</Empty>
      ) : (
        <DataTable
          testId="simulation"
          caption="Charged and simulated per customer and feature"
          columns={['Customer', 'Feature', 'Events', 'Charged', 'With the draft', 'Difference']}
        >
          {simulation.lines.map((line) => (
            <tr key={`${line.customer}|${line.feature}|${line.asset}`}>
              <th scope="row">{line.customer}</th>
              <td>{line.feature}</td>
              <td className="amount">{line.events}</td>
              <td className="amount">
                {line.charged} {line.asset}
              </td>
              <td className="amount">
                {line.simulated} {line.asset}
              </td>
              <td className="amount">
                {line.difference} {line.asset}
              </td>
            </tr>
          ))}
        </DataTable>
      )}
    </section>
  );
}

function ModelPricesSection() {
  const prices = useApi<Page<Schemas['ModelPrice']>>('/v1/model-prices', { limit: 100 });
  return (
    <Section title="Model prices">
      <QueryView query={prices} label="model prices">
        {(page) =>
          page.data.length === 0 ? (
            <Empty>No model price.</Empty>
          ) : (
            <DataTable
              testId="model-prices"
              caption="Model prices per million tokens, in USD"
              columns={[
                'Model',
                'Provider',
                'Input / M',
                'Output / M',
                'Cached input / M',
                'Cache write / M',
                'Batch discount',
                'Effective from',
              ]}
            >
              {page.data.map((price) => (
                <tr key={`${price.model}|${price.effective_from}`} data-model={price.model}>
                  <th scope="row">{price.model}</th>
                  <td>{price.provider ?? '—'}</td>
                  <td className="amount">{price.input_per_million}</td>
                  <td className="amount">{price.output_per_million}</td>
                  <td className="amount">{price.cached_input_per_million}</td>
                  <td className="amount">{price.cache_write_per_million}</td>
                  <td className="amount">{price.batch_discount}</td>
                  <td>
                    <Time at={price.effective_from} />
                  </td>
                </tr>
              ))}
            </DataTable>
          )
        }
      </QueryView>
    </Section>
  );
}

function PlansSection() {
  const plans = useApi<Page<Schemas['Plan']>>('/v1/plans', { limit: 100 });
  return (
    <Section title="Plans">
      <QueryView query={plans} label="plans">
        {(page) =>
          page.data.length === 0 ? (
            <Empty>No plan.</Empty>
          ) : (
            page.data.map((plan) => <PlanView key={plan.id} plan={plan} />)
          )
        }
      </QueryView>
    </Section>
  );
}

function PlanView({ plan }: { readonly plan: Schemas['Plan'] }) {
  const canWrite = useCan('write');
  const queryClient = useQueryClient();
  const latest = plan.versions.find((version) => version.version === plan.latest_version);
  const [draft, setDraft] = useState<string | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [replayCustomer, setReplayCustomer] = useState('');
  const [replay, setReplay] = useState<Schemas['Simulation'] | null>(null);
  const [draftReplay, setDraftReplay] = useState<Schemas['Simulation'] | null>(null);
  const books = useApi<Page<Schemas['PriceBook']>>('/v1/price-books', { limit: 100 });
  // The simulation needs prices; the default book's live ones leave the draft-price lines unchanged.
  const livePrices =
    books.data?.data
      .find((book) => book.default)
      ?.versions.reduce<Schemas['PriceBook']['versions'][number] | undefined>(
        (newest, version) => (newest === undefined || version.version > newest.version ? version : newest),
        undefined,
      )?.prices ?? [];

  async function publish(event: FormEvent) {
    event.preventDefault();
    if (draft === null) return;
    setProblem(null);
    try {
      await api.post(path`/v1/plans/${plan.id}/versions`, JSON.parse(draft), { idempotencyKey: crypto.randomUUID() });
      setDraft(null);
      setDraftReplay(null);
      await queryClient.invalidateQueries();
    } catch (error) {
      setProblem(error);
    }
  }

  /** Replays a version against the customer's last 90 days; a draft is replayed as it would be published. */
  async function replayAgainstCustomer(version: { version: number } | { draft: unknown }) {
    return api.post<Schemas['Simulation']>('/v1/simulations', {
      from: new Date(Date.now() - 90 * 86_400_000).toISOString(),
      to: new Date().toISOString(),
      customer: replayCustomer.trim(),
      prices: livePrices,
      plan: { id: plan.id, ...version },
    });
  }

  async function runReplay(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    try {
      setReplay(await replayAgainstCustomer({ version: plan.latest_version }));
    } catch (error) {
      setProblem(error);
    }
  }

  async function simulateDraft() {
    if (draft === null) return;
    setProblem(null);
    setDraftReplay(null);
    try {
      setDraftReplay(await replayAgainstCustomer({ draft: JSON.parse(draft) }));
    } catch (error) {
      setProblem(error);
    }
  }

  return (
    <article className="sub" data-plan={plan.id}>
      <h3>
        <code>{plan.id}</code> {plan.name ?? ''} · latest v{plan.latest_version}
      </h3>
      <DataTable caption={<>Versions of {plan.id}</>} captionShown columns={['Version', 'Definition', 'Published']}>
        {[...plan.versions]
          .sort((left, right) => right.version - left.version)
          .map((version) => (
            <tr key={version.version}>
              <th scope="row">v{version.version}</th>
              <td>
                <details>
                  <summary>definition</summary>
                  <pre>{JSON.stringify(version.definition, null, 2)}</pre>
                </details>
              </td>
              <td>
                <Time at={version.created_at} />
              </td>
            </tr>
          ))}
      </DataTable>
      <form className="toolbar" onSubmit={runReplay} aria-label={`Replay ${plan.id} for a customer`}>
        <Field label={`Replay v${plan.latest_version} against a customer's last 90 days`}>
          {(id) => (
            <input
              id={id}
              value={replayCustomer}
              onChange={(event) => setReplayCustomer(event.target.value)}
              required
            />
          )}
        </Field>
        <button type="submit">Replay</button>
      </form>
      {replay?.plan !== undefined && <pre data-testid="plan-replay">{JSON.stringify(replay.plan, null, 2)}</pre>}
      {canWrite && draft === null && (
        <button type="button" onClick={() => setDraft(JSON.stringify(latest?.definition ?? {}, null, 2))}>
          Draft version of {plan.id}
        </button>
      )}
      {draft !== null && (
        <form onSubmit={publish} className="card action-panel" aria-label={`Draft version of ${plan.id}`}>
          <Field label={`Definition of the new ${plan.id} version (JSON)`}>
            {(id) => (
              <textarea
                id={id}
                rows={12}
                value={draft}
                onChange={(event) => setDraft(event.target.value)}
                spellCheck={false}
              />
            )}
          </Field>
          <Field label={`Simulate against a customer's last 90 days`}>
            {(id) => (
              <input id={id} value={replayCustomer} onChange={(event) => setReplayCustomer(event.target.value)} />
            )}
          </Field>
          <div className="buttons">
            <button type="button" onClick={simulateDraft} disabled={replayCustomer.trim() === ''}>
              Simulate
            </button>
            <button type="submit">Publish version</button>
            <button
              type="button"
              className="secondary"
              onClick={() => {
                setDraft(null);
                setDraftReplay(null);
              }}
            >
              Close
            </button>
          </div>
          {draftReplay?.plan !== undefined && <PlanReplayTotals replay={draftReplay.plan} />}
        </form>
      )}
      <ErrorNotice error={problem} />
    </article>
  );
}

/** The totals of a plan replay, per asset: what the draft would have granted, covered and left over. */
function PlanReplayTotals({ replay }: { readonly replay: NonNullable<Schemas['Simulation']['plan']> }) {
  return (
    <section aria-label="Draft replay">
      <h4>
        What-if of {replay.draft ? 'the draft' : 'version'} v{replay.version} over {replay.periods.length} periods
      </h4>
      <DataTable
        testId="plan-draft-replay"
        caption="Granted, used, covered and over per asset"
        columns={['Asset', 'Granted', 'Usage', 'Covered', 'Overage', 'Expired']}
      >
        {replay.totals.map((line) => (
          <tr key={line.asset} data-asset={line.asset}>
            <th scope="row">{line.asset}</th>
            <td className="amount">{line.granted}</td>
            <td className="amount">{line.usage}</td>
            <td className="amount">{line.consumed}</td>
            <td className="amount">{line.overage}</td>
            <td className="amount">{line.expired}</td>
          </tr>
        ))}
      </DataTable>
    </section>
  );
}
