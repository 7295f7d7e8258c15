/** Transactions: the customer's ledger history, newest first, one page at a time. */
import { useState } from 'react';
import { useFormatters } from './format.ts';
import type { MessageKey } from './messages.ts';
import { asRequestError } from './portal-store.ts';
import { usePortalResource, usePortalStore, useTranslation } from './provider.tsx';
import { ErrorState, StateView, WidgetCard } from './states.tsx';
import type { Page, Transaction } from './types.ts';

export interface TransactionsProps {
  /** Rows a page; default 20. */
  readonly pageSize?: number | undefined;
}

export function Transactions({ pageSize = 20 }: TransactionsProps) {
  const { t } = useTranslation();
  const format = useFormatters();
  const store = usePortalStore();
  const firstPage = usePortalResource((portal) => portal.client.listTransactions({ limit: pageSize }), [pageSize]);
  const [later, setLater] = useState<{
    readonly after: Page<Transaction>;
    readonly pages: Transaction[][];
    readonly next: string | null;
  } | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<ReturnType<typeof asRequestError> | null>(null);

  return (
    <WidgetCard name="transactions" title={t('transactionsTitle')}>
      <StateView
        state={firstPage}
        emptyText={t('transactionsEmpty')}
        isEmpty={(page) => page.data.length === 0}
        onRetry={firstPage.reload}
      >
        {(page) => {
          // Pages fetched with "show more" belong to this first page; a fresh first page (a live change) drops them.
          const extra = later?.after === page ? later : null;
          const rows = [...page.data, ...(extra?.pages.flat() ?? [])];
          const next = extra ? extra.next : page.next_cursor;
          const loadMore = async () => {
            if (!next) return;
            setLoadingMore(true);
            setMoreError(null);
            try {
              const more = await store.client.listTransactions({ limit: pageSize, cursor: next });
              setLater({ after: page, pages: [...(extra?.pages ?? []), more.data], next: more.next_cursor });
            } catch (error) {
              setMoreError(asRequestError(error));
            } finally {
              setLoadingMore(false);
            }
          };
          return (
            <>
              <div className="bursar-table-scroll">
                <table className="bursar-table">
                  <thead>
                    <tr>
                      <th scope="col">{t('transactionsDate')}</th>
                      <th scope="col">{t('transactionsKind')}</th>
                      <th scope="col">{t('transactionsFeature')}</th>
                      <th scope="col" className="bursar-number">
                        {t('transactionsAmount')}
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((transaction) => (
                      <tr key={transaction.id} data-transaction={transaction.id} data-kind={transaction.kind}>
                        <td>{format.dateTime(transaction.created_at)}</td>
                        <td>{t(`kind.${transaction.kind}` as MessageKey)}</td>
                        <td>{transaction.feature ?? '—'}</td>
                        <td className="bursar-number" data-direction={transaction.direction}>
                          {signedAmount(transaction, format.amount)} {transaction.asset}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {moreError ? <ErrorState error={moreError} onRetry={loadMore} /> : null}
              {next ? (
                <button
                  type="button"
                  className="bursar-button bursar-button-secondary"
                  onClick={loadMore}
                  disabled={loadingMore}
                >
                  {loadingMore ? t('loading') : t('transactionsMore')}
                </button>
              ) : null}
            </>
          );
        }}
      </StateView>
    </WidgetCard>
  );
}

/** The amount with the sign of what it did to the balance: + added, − taken, none for a hold's movements. */
function signedAmount(transaction: Transaction, formatAmount: (text: string) => string): string {
  const text = formatAmount(transaction.amount);
  if (transaction.direction === 'credit') return `+${text}`;
  if (transaction.direction === 'debit') return `−${text}`;
  return text;
}
