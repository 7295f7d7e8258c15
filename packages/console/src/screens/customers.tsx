/** Customers: search by id prefix or name, each with its balance per asset. */
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { path, type Schemas } from '../api.ts';
import { DataTable, Empty, Field, MoreButton, PageHeading, QueryView, Time, useApi, usePagedApi } from '../ui.tsx';

export function CustomersScreen() {
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const [draft, setDraft] = useState(q);
  const customers = usePagedApi<Schemas['Customer']>('/v1/customers', { q, limit: 50 });
  return (
    <>
      <PageHeading title="Customers" />
      <search>
        <form
          className="toolbar"
          onSubmit={(event) => {
            event.preventDefault();
            setParams(draft.trim() === '' ? {} : { q: draft.trim() });
          }}
        >
          <Field label="Search by id or name">
            {(id) => <input id={id} type="search" value={draft} onChange={(event) => setDraft(event.target.value)} />}
          </Field>
          <button type="submit">Search</button>
        </form>
      </search>
      <QueryView query={customers} label="customers">
        {(found) =>
          found.length === 0 ? (
            <Empty>No customer matches.</Empty>
          ) : (
            <DataTable caption="Customers" columns={['Customer', 'Name', 'Balance per asset', 'Created']}>
              {found.map((customer) => (
                <tr key={customer.id} data-customer={customer.id}>
                  <th scope="row">
                    <Link to={`/customers/${encodeURIComponent(customer.id)}`}>{customer.id}</Link>
                  </th>
                  <td>{customer.name ?? <span className="muted">—</span>}</td>
                  <td>
                    <CustomerBalances customer={customer.id} />
                  </td>
                  <td>
                    <Time at={customer.created_at} />
                  </td>
                </tr>
              ))}
            </DataTable>
          )
        }
      </QueryView>
      <MoreButton pages={customers} label="customers" />
    </>
  );
}

function CustomerBalances({ customer }: { readonly customer: string }) {
  const balances = useApi<Schemas['Balances']>(path`/v1/customers/${customer}/balances`);
  return (
    <QueryView query={balances} label="balances">
      {({ balances: wallets }) =>
        wallets.length === 0 ? (
          <span className="muted">no wallet</span>
        ) : (
          <ul className="inline-list">
            {wallets.map((wallet) => (
              <li key={wallet.asset} data-asset={wallet.asset}>
                <span className="amount">{wallet.balance}</span> {wallet.asset}
              </li>
            ))}
          </ul>
        )
      }
    </QueryView>
  );
}
