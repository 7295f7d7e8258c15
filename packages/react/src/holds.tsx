/** Holds: credit reserved by requests still in flight, each with the grants it is pinned to. */
import { useFormatters } from './format.ts';
import type { MessageKey } from './messages.ts';
import { usePortalResource, useTranslation } from './provider.tsx';
import { StateView, WidgetCard } from './states.tsx';
import type { Grant, Hold } from './types.ts';

export function Holds() {
  const { t } = useTranslation();
  const format = useFormatters();
  const holds = usePortalResource(async (store) => {
    // The grants name each reservation's lot in words (its kind) rather than by id.
    const [holdPage, grantPage] = await Promise.all([store.client.listHolds(), store.client.listGrants()]);
    const grants = new Map(grantPage.data.map((grant) => [grant.id, grant]));
    return { holds: holdPage.data.filter((hold) => hold.status === 'open'), grants };
  }, []);
  return (
    <WidgetCard name="holds" title={t('holdsTitle')}>
      <StateView
        state={holds}
        emptyText={t('holdsEmpty')}
        isEmpty={(data) => data.holds.length === 0}
        onRetry={holds.reload}
      >
        {({ holds: open, grants }) => (
          <div className="bursar-table-scroll">
            <table className="bursar-table">
              <thead>
                <tr>
                  <th scope="col" className="bursar-number">
                    {t('holdsAmount')}
                  </th>
                  <th scope="col">{t('holdsFeature')}</th>
                  <th scope="col">{t('holdsPinned')}</th>
                  <th scope="col">{t('holdsExpires')}</th>
                </tr>
              </thead>
              <tbody>
                {open.map((hold) => (
                  <tr key={hold.id} data-hold={hold.id}>
                    <td className="bursar-number">
                      {format.amount(hold.amount)} {hold.asset}
                    </td>
                    <td>{hold.feature ?? '—'}</td>
                    <td>
                      <Reservations hold={hold} grants={grants} />
                    </td>
                    <td>{format.dateTime(hold.expires_at)}</td>
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

function Reservations({ hold, grants }: { readonly hold: Hold; readonly grants: ReadonlyMap<string, Grant> }) {
  const { t } = useTranslation();
  const format = useFormatters();
  return (
    <ul className="bursar-plain-list">
      {hold.reservations.map((reservation) => {
        const grant = reservation.grant ? grants.get(reservation.grant) : undefined;
        const label =
          reservation.grant === null
            ? t('holdsOverdraft')
            : grant
              ? t(`category.${grant.category}` as MessageKey)
              : reservation.grant;
        return (
          <li key={reservation.grant ?? 'overdraft'} data-pinned-grant={reservation.grant ?? 'overdraft'}>
            {format.amount(reservation.amount)} · {label}
            {grant?.expires_at ? <span className="bursar-muted"> ({format.date(grant.expires_at)})</span> : null}
          </li>
        );
      })}
    </ul>
  );
}
