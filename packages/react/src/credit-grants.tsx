/** CreditGrants: the customer's credits lot by lot — kind, remaining of amount, held part, expiry — soonest expiry first. */
import { compareDecimals } from './amounts.ts';
import { useFormatters } from './format.ts';
import type { MessageKey } from './messages.ts';
import { usePortalResource, useTranslation } from './provider.tsx';
import { StateView, WidgetCard } from './states.tsx';
import type { Grant } from './types.ts';

export interface CreditGrantsProps {
  /** Only this asset's grants; default: all. */
  readonly asset?: string | undefined;
  /** Only grants of this status (active, scheduled, depleted, expired, voided); default: active and scheduled. */
  readonly status?: Grant['status'] | undefined;
}

/** Soonest expiry first, never-expiring last, so what is about to lapse reads first. */
function byExpiry(a: Grant, b: Grant): number {
  if (a.expires_at === b.expires_at) return a.created_at.localeCompare(b.created_at);
  if (a.expires_at === null) return 1;
  if (b.expires_at === null) return -1;
  return a.expires_at.localeCompare(b.expires_at);
}

export function CreditGrants({ asset, status }: CreditGrantsProps) {
  const { t } = useTranslation();
  const format = useFormatters();
  const grants = usePortalResource(
    async (store) => {
      const page = await store.client.listGrants({ ...(asset ? { asset } : {}), ...(status ? { status } : {}) });
      return page.data
        .filter((grant) =>
          status ? grant.status === status : grant.status === 'active' || grant.status === 'scheduled',
        )
        .sort(byExpiry);
    },
    [asset, status],
  );
  return (
    <WidgetCard name="credit-grants" title={t('grantsTitle')}>
      <StateView
        state={grants}
        emptyText={t('grantsEmpty')}
        isEmpty={(data) => data.length === 0}
        onRetry={grants.reload}
      >
        {(data) => (
          <div className="bursar-table-scroll">
            <table className="bursar-table">
              <thead>
                <tr>
                  <th scope="col">{t('grantsCategory')}</th>
                  <th scope="col" className="bursar-number">
                    {t('grantsRemaining')}
                  </th>
                  <th scope="col" className="bursar-number">
                    {t('grantsReserved')}
                  </th>
                  <th scope="col">{t('grantsExpires')}</th>
                  <th scope="col">{t('grantsStatus')}</th>
                </tr>
              </thead>
              <tbody>
                {data.map((grant) => (
                  <tr key={grant.id} data-grant={grant.id}>
                    <td>
                      {t(`category.${grant.category}` as MessageKey)}
                      {grant.reason ? <span className="bursar-muted bursar-block">{grant.reason}</span> : null}
                    </td>
                    <td className="bursar-number">
                      {format.amount(grant.remaining)} / {format.amount(grant.amount)} {grant.asset}
                    </td>
                    <td className="bursar-number">
                      {compareDecimals(grant.reserved, '0') > 0 ? format.amount(grant.reserved) : '—'}
                    </td>
                    <td>{grant.expires_at ? format.dateTime(grant.expires_at) : t('grantsNever')}</td>
                    <td>{t(`status.${grant.status}` as MessageKey)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </StateView>
    </WidgetCard>
  );
}
