/** The portal's one screen: the environment's branding, a way back to the integrator's app, and every widget. */
import type { PortalSession } from '@bursar/react';
import {
  AutoRecharge,
  CreditBalance,
  CreditGrants,
  CreditUtilization,
  Holds,
  Transactions,
  UsageChart,
  usePortalSession,
  useTranslation,
} from '@bursar/react';
import type { CSSProperties } from 'react';
import { useEffect } from 'react';
import { accentVariables } from './accent.ts';

export function Portal() {
  const session = usePortalSession();
  const { t } = useTranslation();
  const name = (session.status === 'ready' ? session.data.branding.name : null) ?? t('portalDefaultName');
  useEffect(() => {
    document.title = name;
  }, [name]);

  if (session.status === 'loading') {
    return (
      <main className="portal-message" aria-busy="true">
        <p>{t('loading')}</p>
      </main>
    );
  }
  if (session.status === 'error') {
    const ended = session.error.status === 401 || session.error.status === 403;
    return (
      <main className="portal-message bursar-theme" data-portal={ended ? 'ended' : 'error'}>
        <h1>{ended ? t('portalEndedTitle') : t('portalErrorTitle')}</h1>
        <p>{ended ? t('errorSessionEnded') : t('error', { detail: session.error.message })}</p>
        {ended ? null : (
          <button type="button" className="bursar-button" onClick={session.reload}>
            {t('retry')}
          </button>
        )}
      </main>
    );
  }
  return <PortalScreen session={session.data} />;
}

function PortalScreen({ session }: { readonly session: PortalSession }) {
  const { t } = useTranslation();
  const { branding } = session;
  const name = branding.name ?? t('portalDefaultName');
  return (
    <div className="portal" style={accentVariables(branding.accent_color) as CSSProperties} data-portal="ready">
      <header className="portal-header">
        <div className="portal-brand">
          {branding.logo_url ? <img className="portal-logo" src={branding.logo_url} alt="" /> : null}
          <div>
            <h1 className="portal-name">{name}</h1>
            <p className="portal-customer">{session.customer.name ?? session.customer.id}</p>
          </div>
        </div>
        <a className="portal-return" href={session.return_url} data-testid="return-link">
          {t('portalBack', { name })}
        </a>
      </header>
      <main className="portal-grid">
        <CreditBalance />
        <CreditUtilization />
        <div className="portal-wide">
          <CreditGrants />
        </div>
        <div className="portal-wide">
          <Holds />
        </div>
        <div className="portal-wide">
          <UsageChart />
        </div>
        <div className="portal-wide">
          <Transactions />
        </div>
        <AutoRecharge />
      </main>
    </div>
  );
}
