/**
 * One customer: balances per asset, grants, open holds with the grants each is pinned to, the ledger
 * with each debit's draws, usage by feature and day, subscriptions, top-ups and the auto-recharge
 * rule, the webhooks sent about the customer, and the actions a write key may take on them.
 */
import { useState } from 'react';
import { useParams } from 'react-router';
import { ApiError, type Page, path, type Schemas } from '../api.ts';
import { useCan } from '../session.tsx';
import {
  DataTable,
  Empty,
  ErrorNotice,
  MoreButton,
  PageHeading,
  QueryView,
  Section,
  Time,
  useApi,
  usePagedApi,
} from '../ui.tsx';
import { type CustomerAction, CustomerActionPanel } from './customer-actions.tsx';
import { DrawInspector } from './draw-inspector.tsx';
import { UsageSection } from './usage.tsx';

export function CustomerScreen() {
  const customer = useParams().customer ?? '';
  const canWrite = useCan('write');
  const canAdmin = useCan('admin');
  const [action, setAction] = useState<CustomerAction | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const details = useApi<Schemas['Customer']>(path`/v1/customers/${customer}`);
  const balances = useApi<Schemas['Balances']>(path`/v1/customers/${customer}/balances`);
  const assets = balances.data?.balances.map((balance) => balance.asset) ?? [];

  if (details.error instanceof ApiError && details.error.status === 404) {
    return (
      <>
        <PageHeading title={`Customer ${customer}`}>
          Customer <code>{customer}</code>
        </PageHeading>
        <p role="alert" className="notice notice-error">
          No customer {customer} in this environment.
        </p>
      </>
    );
  }

  function start(next: CustomerAction) {
    setDone(null);
    setAction(next);
  }

  return (
    <>
      <PageHeading title={`Customer ${customer}`}>
        Customer <code>{customer}</code>
      </PageHeading>
      <QueryView query={details} label="customer">
        {(found) => (
          <p className="muted">
            {found.name ?? 'No name'} · created <Time at={found.created_at} />
          </p>
        )}
      </QueryView>
      {canWrite && (
        <div className="toolbar" role="toolbar" aria-label="Customer actions">
          <button type="button" onClick={() => start({ kind: 'grant' })}>
            Grant credit
          </button>
          <button type="button" onClick={() => start({ kind: 'adjust' })}>
            Adjust balance
          </button>
          <button type="button" onClick={() => start({ kind: 'policy' })}>
            Overdraft and consumption order
          </button>
        </div>
      )}
      {done !== null && (
        <p role="status" className="notice notice-ok">
          {done}
        </p>
      )}
      {action !== null && (
        <CustomerActionPanel
          key={JSON.stringify(action)}
          customer={customer}
          assets={assets}
          balances={balances.data?.balances ?? []}
          action={action}
          onClose={() => setAction(null)}
          onDone={(message) => {
            setAction(null);
            setDone(message);
          }}
        />
      )}

      <Section title="Balances">
        <QueryView query={balances} label="balances">
          {({ balances: wallets }) => <BalancesTable wallets={wallets} />}
        </QueryView>
      </Section>
      {assets.length > 0 && <DrawInspector customer={customer} assets={assets} />}
      <GrantsSection customer={customer} onVoid={canWrite ? (grant) => start({ kind: 'void', grant }) : null} />
      <HoldsSection customer={customer} />
      <LedgerSection
        customer={customer}
        onReverse={canWrite ? (transaction) => start({ kind: 'reverse', transaction }) : null}
      />
      <UsageSection customer={customer} />
      <SubscriptionsSection customer={customer} onAction={canWrite ? start : null} />
      <TopUpsSection customer={customer} assets={assets} />
      {canAdmin && <CustomerWebhooksSection customer={customer} />}
    </>
  );
}

function BalancesTable({ wallets }: { readonly wallets: readonly Schemas['Balance'][] }) {
  if (wallets.length === 0) return <Empty>No wallet yet.</Empty>;
  return (
    <DataTable
      testId="balances"
      caption="Balances per asset"
      columns={[
        'Asset',
        'Balance',
        'Held',
        'Available',
        'Debt',
        'Overdraft limit',
        'Scheduled',
        'Next expiry',
        'Consumption order',
      ]}
    >
      {wallets.map((wallet) => (
        <tr key={wallet.asset} data-asset={wallet.asset}>
          <th scope="row">{wallet.asset}</th>
          <td className="amount" data-field="balance">
            {wallet.balance}
          </td>
          <td className="amount" data-field="held">
            {wallet.held}
          </td>
          <td className="amount" data-field="available">
            {wallet.available}
          </td>
          <td className="amount" data-field="debt">
            {wallet.debt}
          </td>
          <td className="amount" data-field="overdraft_limit">
            {wallet.overdraft_limit}
          </td>
          <td className="amount">{wallet.scheduled}</td>
          <td data-field="next_expiry">
            {wallet.next_expiry === null ? (
              <span className="muted">—</span>
            ) : (
              <>
                <span className="amount">{wallet.next_expiry.amount}</span> at <Time at={wallet.next_expiry.at} />
              </>
            )}
          </td>
          <td data-field="consumption_order">{wallet.consumption_order.join(' → ')}</td>
        </tr>
      ))}
    </DataTable>
  );
}

function GrantsSection({
  customer,
  onVoid,
}: {
  readonly customer: string;
  readonly onVoid: ((grant: Schemas['Grant']) => void) | null;
}) {
  const grants = useApi<Page<Schemas['Grant']>>('/v1/grants', { customer, limit: 100 });
  return (
    <Section title="Grants">
      <QueryView query={grants} label="grants">
        {(page) =>
          page.data.length === 0 ? (
            <Empty>No grant.</Empty>
          ) : (
            <DataTable
              testId="grants"
              caption="Grants"
              scroll
              columns={[
                'Grant',
                'Asset',
                'Category',
                'Priority',
                'Remaining of amount',
                'Reserved',
                'Effective',
                'Expires',
                'Features',
                'Cost basis',
                'Reason',
                'Status',
                onVoid !== null && 'Action',
              ]}
            >
              {page.data.map((grant) => (
                <tr key={grant.id} data-grant={grant.id}>
                  <th scope="row">
                    <code>{grant.id}</code>
                  </th>
                  <td>{grant.asset}</td>
                  <td>{grant.category}</td>
                  <td className="amount">{grant.priority}</td>
                  <td className="amount" data-field="remaining">
                    {grant.remaining} of {grant.amount}
                  </td>
                  <td className="amount">{grant.reserved}</td>
                  <td>
                    <Time at={grant.effective_at} />
                  </td>
                  <td>
                    <Time at={grant.expires_at} />
                  </td>
                  <td>{grant.features === null ? <span className="muted">any</span> : grant.features.join(', ')}</td>
                  <td>
                    {grant.cost_basis === null ? (
                      <span className="muted">—</span>
                    ) : (
                      <>
                        {grant.cost_basis.total} {grant.cost_basis.currency}{' '}
                        <span className="muted">({grant.cost_basis.unit_price}/unit)</span>
                      </>
                    )}
                  </td>
                  <td>{grant.reason ?? <span className="muted">—</span>}</td>
                  <td>{grant.status}</td>
                  {onVoid !== null && (
                    <td>
                      {grant.status === 'active' && (
                        <button
                          type="button"
                          className="small"
                          onClick={() => onVoid(grant)}
                          aria-label={`Void grant ${grant.id}`}
                        >
                          Void
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </DataTable>
          )
        }
      </QueryView>
    </Section>
  );
}

/** A list of grant ids and amounts: a hold's reservations or a transaction's draws (null: the overdraft). */
function GrantAmounts({ parts }: { readonly parts: readonly { grant: string | null; amount: string }[] }) {
  if (parts.length === 0) return <span className="muted">—</span>;
  return (
    <ul className="plain-list">
      {parts.map((part, index) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: the overdraft part has no grant id; the order is the server's
        <li key={index}>
          <code>{part.grant ?? 'overdraft'}</code>: <span className="amount">{part.amount}</span>
        </li>
      ))}
    </ul>
  );
}

function HoldsSection({ customer }: { readonly customer: string }) {
  const holds = useApi<Page<Schemas['Hold']>>('/v1/holds', { customer, status: 'open', limit: 100 });
  return (
    <Section title="Open holds">
      <QueryView query={holds} label="holds">
        {(page) =>
          page.data.length === 0 ? (
            <Empty>No open hold.</Empty>
          ) : (
            <DataTable
              testId="holds"
              caption="Open holds and their pinned grants"
              columns={['Hold', 'Asset', 'Amount', 'Feature', 'Pinned to grants', 'Expires']}
            >
              {page.data.map((hold) => (
                <tr key={hold.id} data-hold={hold.id}>
                  <th scope="row">
                    <code>{hold.id}</code>
                  </th>
                  <td>{hold.asset}</td>
                  <td className="amount">{hold.amount}</td>
                  <td>{hold.feature ?? <span className="muted">—</span>}</td>
                  <td>
                    <GrantAmounts parts={hold.reservations} />
                  </td>
                  <td>
                    <Time at={hold.expires_at} />
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

const reversibleKinds: ReadonlySet<string> = new Set(['debit', 'capture', 'grant', 'adjust']);

function LedgerSection({
  customer,
  onReverse,
}: {
  readonly customer: string;
  readonly onReverse: ((transaction: Schemas['Transaction']) => void) | null;
}) {
  const transactions = usePagedApi<Schemas['Transaction']>('/v1/transactions', { customer, limit: 100 });
  return (
    <Section title="Ledger">
      <QueryView query={transactions} label="transactions">
        {(found) =>
          found.length === 0 ? (
            <Empty>No transaction.</Empty>
          ) : (
            <DataTable
              testId="ledger"
              caption="Ledger transactions with their draws per grant"
              scroll
              columns={[
                'Transaction',
                'Kind',
                'Asset',
                'Amount',
                'Feature',
                'Draws per grant',
                'Reason',
                'At',
                onReverse !== null && 'Action',
              ]}
            >
              {found.map((transaction) => (
                <tr key={transaction.id} data-transaction={transaction.id}>
                  <th scope="row">
                    <code>{transaction.id}</code>
                  </th>
                  <td>{transaction.kind}</td>
                  <td>{transaction.asset}</td>
                  <td className="amount">
                    {transaction.direction === 'debit' ? '−' : transaction.direction === 'credit' ? '+' : ''}
                    {transaction.amount}
                  </td>
                  <td>{transaction.feature ?? <span className="muted">—</span>}</td>
                  <td>
                    <GrantAmounts parts={transaction.draws} />
                  </td>
                  <td>{transaction.reason ?? <span className="muted">—</span>}</td>
                  <td>
                    <Time at={transaction.created_at} />
                  </td>
                  {onReverse !== null && (
                    <td>
                      {reversibleKinds.has(transaction.kind) && (
                        <button
                          type="button"
                          className="small"
                          onClick={() => onReverse(transaction)}
                          aria-label={`Reverse transaction ${transaction.id}`}
                        >
                          Reverse
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </DataTable>
          )
        }
      </QueryView>
      <MoreButton pages={transactions} label="transactions" />
    </Section>
  );
}

function SubscriptionsSection({
  customer,
  onAction,
}: {
  readonly customer: string;
  readonly onAction: ((action: CustomerAction) => void) | null;
}) {
  const subscriptions = useApi<Page<Schemas['Subscription']>>('/v1/subscriptions', { customer, limit: 100 });
  return (
    <Section title="Subscriptions">
      <QueryView query={subscriptions} label="subscriptions">
        {(page) =>
          page.data.length === 0 ? (
            <Empty>No subscription.</Empty>
          ) : (
            page.data.map((subscription) => (
              <article key={subscription.id} className="subscription" data-subscription={subscription.id}>
                <h3>
                  <code>{subscription.id}</code>: {subscription.plan} v{subscription.version} · {subscription.status}
                  {subscription.cancel_at_period_end && ' (cancels at period end)'}
                </h3>
                <p>
                  Current period {subscription.current_period.index}:{' '}
                  <Time at={subscription.current_period.starts_at} /> to{' '}
                  <Time at={subscription.current_period.ends_at} />
                  {subscription.pending_change !== null && (
                    <>
                      {' '}
                      · changes to {subscription.pending_change.plan} v{subscription.pending_change.version} at{' '}
                      <Time at={subscription.pending_change.at} />
                    </>
                  )}
                </p>
                {onAction !== null && subscription.status !== 'ended' && subscription.status !== 'canceled' && (
                  <div className="buttons">
                    <button
                      type="button"
                      className="small"
                      aria-label={`Change subscription ${subscription.id}`}
                      onClick={() => onAction({ kind: 'change', subscription })}
                    >
                      Change
                    </button>
                    <button
                      type="button"
                      className="small"
                      aria-label={`Cancel subscription ${subscription.id}`}
                      onClick={() => onAction({ kind: 'cancel', subscription })}
                    >
                      Cancel
                    </button>
                  </div>
                )}
                <DataTable caption="Periods" captionShown columns={['#', 'Plan', 'Starts', 'Ends']}>
                  {subscription.periods.map((period) => (
                    <tr key={period.index}>
                      <th scope="row">{period.index}</th>
                      <td>
                        {period.plan} v{period.version}
                      </td>
                      <td>
                        <Time at={period.starts_at} />
                      </td>
                      <td>
                        <Time at={period.ends_at} />
                      </td>
                    </tr>
                  ))}
                </DataTable>
              </article>
            ))
          )
        }
      </QueryView>
    </Section>
  );
}

function TopUpsSection({ customer, assets }: { readonly customer: string; readonly assets: readonly string[] }) {
  return (
    <Section title="Top-ups and auto-recharge">
      {assets.length === 0 ? (
        <Empty>No wallet yet.</Empty>
      ) : (
        assets.map((asset) => <TopUps key={asset} customer={customer} asset={asset} />)
      )}
    </Section>
  );
}

function TopUps({ customer, asset }: { readonly customer: string; readonly asset: string }) {
  const rule = useApi<Schemas['AutoTopUpRule']>(path`/v1/customers/${customer}/wallets/${asset}/auto-top-up`);
  const topUps = useApi<Page<Schemas['TopUp']>>(path`/v1/customers/${customer}/wallets/${asset}/top-ups`, {
    limit: 50,
  });
  return (
    <div className="sub" data-asset={asset}>
      <h3>{asset}</h3>
      {rule.isError && rule.error instanceof ApiError && rule.error.status === 404 ? (
        <p className="muted">No auto-recharge rule.</p>
      ) : (
        <QueryView query={rule} label="auto-recharge rule">
          {(found) => (
            <p data-testid="auto-recharge">
              Auto-recharge {found.enabled ? 'on' : 'off'} ({found.status}): below{' '}
              <span className="amount">{found.threshold}</span> add <span className="amount">{found.amount}</span>,
              monthly cap {found.monthly_cap ?? 'none'}, spent this month{' '}
              <span className="amount">{found.spent_this_month}</span>
            </p>
          )}
        </QueryView>
      )}
      <QueryView query={topUps} label="top-ups">
        {(page) =>
          page.data.length === 0 ? (
            <Empty>No top-up.</Empty>
          ) : (
            <DataTable
              caption={<>Top-ups of {asset}</>}
              columns={['Top-up', 'Amount', 'Status', 'Cost', 'Requested', 'Settled']}
            >
              {page.data.map((topUp) => (
                <tr key={topUp.id}>
                  <th scope="row">
                    <code>{topUp.id}</code>
                  </th>
                  <td className="amount">{topUp.amount}</td>
                  <td>{topUp.status}</td>
                  <td>{topUp.cost === null ? '—' : `${topUp.cost.total} ${topUp.cost.currency}`}</td>
                  <td>
                    <Time at={topUp.created_at} />
                  </td>
                  <td>
                    <Time at={topUp.settled_at} />
                  </td>
                </tr>
              ))}
            </DataTable>
          )
        }
      </QueryView>
    </div>
  );
}

function CustomerWebhooksSection({ customer }: { readonly customer: string }) {
  const endpoints = useApi<Page<Schemas['WebhookEndpoint']>>('/v1/webhook-endpoints', { limit: 100 });
  return (
    <Section title="Webhooks sent about this customer">
      <QueryView query={endpoints} label="webhook endpoints">
        {(page) =>
          page.data.length === 0 ? (
            <Empty>No webhook endpoint.</Empty>
          ) : (
            page.data.map((endpoint) => (
              <EndpointDeliveries key={endpoint.id} endpoint={endpoint} customer={customer} />
            ))
          )
        }
      </QueryView>
    </Section>
  );
}

function EndpointDeliveries({
  endpoint,
  customer,
}: {
  readonly endpoint: Schemas['WebhookEndpoint'];
  readonly customer: string;
}) {
  const deliveries = useApi<Page<Schemas['WebhookDelivery']>>(path`/v1/webhook-endpoints/${endpoint.id}/deliveries`, {
    customer,
    limit: 50,
  });
  return (
    <div className="sub">
      <h3>{endpoint.url}</h3>
      {deliveries.isError ? (
        <ErrorNotice error={deliveries.error} />
      ) : (
        <QueryView query={deliveries} label="deliveries">
          {(page) =>
            page.data.length === 0 ? (
              <Empty>Nothing sent about this customer.</Empty>
            ) : (
              <DataTable
                caption={<>Deliveries to {endpoint.url}</>}
                columns={['Event type', 'Status', 'Attempts', 'Created', 'Delivered']}
              >
                {page.data.map((delivery) => (
                  <tr key={delivery.id}>
                    <th scope="row">{delivery.event_type}</th>
                    <td>{delivery.status}</td>
                    <td>{delivery.attempts.length}</td>
                    <td>
                      <Time at={delivery.created_at} />
                    </td>
                    <td>
                      <Time at={delivery.delivered_at} />
                    </td>
                  </tr>
                ))}
              </DataTable>
            )
          }
        </QueryView>
      )}
    </div>
  );
}
