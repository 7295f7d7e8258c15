/** CreditBalance: each asset's live balance (available, held, owed, next expiry) and the two-step top-up. */
import type { FormEvent } from 'react';
import { useId, useState } from 'react';
import { compareDecimals, isDecimal, multiplyDecimals } from './amounts.ts';
import { useFormatters } from './format.ts';
import { asRequestError } from './portal-store.ts';
import { useLiveBalances, usePortalSession, usePortalStore, useTranslation } from './provider.tsx';
import { ErrorState, StateView, WidgetCard } from './states.tsx';
import type { Balance } from './types.ts';

export interface CreditBalanceProps {
  /** Show only this asset; default: every asset the customer has. */
  readonly asset?: string | undefined;
  /** Offer the top-up (when the operator configured a payment provider); default true. */
  readonly showTopUp?: boolean | undefined;
  /** Called with the payment page's URL; default: the browser goes there. */
  readonly onCheckout?: ((checkoutUrl: string) => void) | undefined;
}

export function CreditBalance({ asset, showTopUp = true, onCheckout }: CreditBalanceProps) {
  const { t } = useTranslation();
  const live = useLiveBalances();
  const status =
    live.balances.status === 'ready' ? (live.connected ? t('balanceLive') : t('balanceReconnecting')) : null;
  return (
    <WidgetCard
      name="credit-balance"
      title={t('balanceTitle')}
      actions={
        status ? (
          <span className="bursar-live" data-connected={live.connected}>
            {status}
          </span>
        ) : null
      }
    >
      <StateView
        state={live.balances}
        emptyText={t('balanceEmpty')}
        isEmpty={(data) => data.balances.filter((balance) => !asset || balance.asset === asset).length === 0}
      >
        {(data) => (
          <ul className="bursar-balance-list">
            {data.balances
              .filter((balance) => !asset || balance.asset === asset)
              .map((balance) => (
                <BalanceRow key={balance.asset} balance={balance} />
              ))}
          </ul>
        )}
      </StateView>
      {showTopUp ? <TopUp {...(asset ? { asset } : {})} {...(onCheckout ? { onCheckout } : {})} /> : null}
    </WidgetCard>
  );
}

function BalanceRow({ balance }: { readonly balance: Balance }) {
  const { t } = useTranslation();
  const format = useFormatters();
  return (
    <li className="bursar-balance" data-asset={balance.asset}>
      <span className="bursar-balance-asset">{balance.asset}</span>
      <span className="bursar-balance-available" data-testid={`available-${balance.asset}`}>
        <span className="bursar-visually-hidden">{t('balanceAvailable')} </span>
        {format.amount(balance.available)}
      </span>
      <dl className="bursar-balance-facts">
        <div>
          <dt>{t('balanceHeld')}</dt>
          <dd>{format.amount(balance.held)}</dd>
        </div>
        {compareDecimals(balance.debt, '0') > 0 ? (
          <div>
            <dt>{t('balanceDebt')}</dt>
            <dd>{format.amount(balance.debt)}</dd>
          </div>
        ) : null}
      </dl>
      {balance.next_expiry ? (
        <p className="bursar-muted">
          {t('balanceNextExpiry', {
            amount: format.amount(balance.next_expiry.amount),
            date: format.date(balance.next_expiry.at),
          })}
        </p>
      ) : null}
    </li>
  );
}

/** Step one is the button; step two picks the asset and amount and goes to the payment provider's page. */
function TopUp({ asset, onCheckout }: { readonly asset?: string; readonly onCheckout?: (url: string) => void }) {
  const { t } = useTranslation();
  const session = usePortalSession();
  const store = usePortalStore();
  const format = useFormatters();
  const [step, setStep] = useState<'closed' | 'form' | 'redirecting'>('closed');
  const [amount, setAmount] = useState('');
  const [chosenAsset, setChosenAsset] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [requestError, setRequestError] = useState<ReturnType<typeof asRequestError> | null>(null);
  const reasonId = useId();
  const amountId = useId();
  const assetId = useId();
  const problemId = useId();

  if (session.status !== 'ready') return null;
  const { top_up: topUp } = session.data;
  const assets = asset ? topUp.assets.filter((offer) => offer.asset === asset) : topUp.assets;
  if (!topUp.available || assets.length === 0) {
    return (
      <div className="bursar-top-up" data-top-up="unavailable">
        <button type="button" className="bursar-button" disabled aria-describedby={reasonId}>
          {t('topUp')}
        </button>
        <p id={reasonId} className="bursar-muted">
          {topUp.reason ? t('topUpUnavailable', { reason: topUp.reason }) : t('topUpUnavailableNoReason')}
        </p>
      </div>
    );
  }
  if (step === 'closed') {
    return (
      <div className="bursar-top-up" data-top-up="available">
        <button type="button" className="bursar-button" onClick={() => setStep('form')}>
          {t('topUp')}
        </button>
      </div>
    );
  }
  const offer = assets.find((candidate) => candidate.asset === chosenAsset) ?? assets[0];
  const selectedAsset = offer?.asset ?? '';
  const typed = amount.trim();
  const price =
    offer && isDecimal(typed) && compareDecimals(typed, '0') > 0
      ? `${format.amount(multiplyDecimals(typed, offer.unit_price))} ${offer.currency}`
      : null;
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const text = amount.trim();
    if (!isDecimal(text) || compareDecimals(text, '0') <= 0) {
      setProblem(t('topUpInvalidAmount'));
      return;
    }
    setProblem(null);
    setStep('redirecting');
    try {
      const checkout = await store.client.createTopUp(selectedAsset, text);
      if (onCheckout) {
        onCheckout(checkout.checkout_url);
        setStep('closed');
      } else window.location.assign(checkout.checkout_url);
    } catch (error) {
      setRequestError(asRequestError(error));
      setStep('form');
    }
  };
  return (
    <form className="bursar-top-up bursar-form" data-top-up="form" onSubmit={submit} noValidate>
      {assets.length > 1 ? (
        <div className="bursar-field">
          <label htmlFor={assetId}>{t('topUpAsset')}</label>
          <select id={assetId} value={selectedAsset} onChange={(event) => setChosenAsset(event.target.value)}>
            {assets.map((candidate) => (
              <option key={candidate.asset} value={candidate.asset}>
                {candidate.asset}
              </option>
            ))}
          </select>
        </div>
      ) : null}
      <div className="bursar-field">
        <label htmlFor={amountId}>
          {t('topUpAmount')} ({selectedAsset})
        </label>
        <input
          id={amountId}
          inputMode="decimal"
          autoComplete="off"
          value={amount}
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? problemId : undefined}
          onChange={(event) => {
            setAmount(event.target.value);
            setProblem(null);
          }}
        />
        {problem ? (
          <p id={problemId} className="bursar-field-error">
            {problem}
          </p>
        ) : price ? (
          <p className="bursar-muted" data-testid="top-up-price">
            {t('topUpPrice', { price })}
          </p>
        ) : null}
      </div>
      {requestError ? <ErrorState error={requestError} /> : null}
      <div className="bursar-actions">
        <button type="submit" className="bursar-button" disabled={step === 'redirecting'}>
          {step === 'redirecting' ? t('topUpRedirecting') : t('topUpContinue')}
        </button>
        <button type="button" className="bursar-button bursar-button-secondary" onClick={() => setStep('closed')}>
          {t('topUpCancel')}
        </button>
      </div>
    </form>
  );
}
