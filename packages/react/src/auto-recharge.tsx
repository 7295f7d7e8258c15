/**
 * AutoRecharge: the customer's own auto-recharge rule (on or off, threshold, amount, monthly cap), kept within
 * the limits the operator set. The limits are checked here for a quick answer and again by the server, whose
 * 400 names the field.
 */
import type { FormEvent } from 'react';
import { useId, useState } from 'react';
import { compareDecimals, isDecimal } from './amounts.ts';
import type { PortalRequestError } from './client.ts';
import { useFormatters } from './format.ts';
import { asRequestError } from './portal-store.ts';
import { useLiveBalances, usePortalResource, usePortalSession, usePortalStore, useTranslation } from './provider.tsx';
import { ErrorState, StateView, WidgetCard } from './states.tsx';
import type { PortalAutoRecharge, PortalSession } from './types.ts';

export interface AutoRechargeProps {
  /** The asset whose rule to show; default: the first the customer holds (a picker when there are several). */
  readonly asset?: string | undefined;
}

type Field = 'threshold' | 'amount' | 'monthly_cap';
type Limits = PortalSession['auto_recharge_limits'];

/** The message for a field outside the operator's limits, or null when it is within them. */
function limitProblem(
  field: Field,
  value: string,
  limits: Limits,
  t: (
    key: 'autoRechargeAtMost' | 'autoRechargeAtLeast' | 'autoRechargeInvalid',
    values?: Record<string, string>,
  ) => string,
  formatAmount: (text: string) => string,
): string | null {
  if (!isDecimal(value) || compareDecimals(value, '0') < 0) return t('autoRechargeInvalid');
  const max =
    field === 'threshold' ? limits.threshold_max : field === 'amount' ? limits.amount_max : limits.monthly_cap_max;
  const min = field === 'amount' ? limits.amount_min : null;
  if (max !== null && compareDecimals(value, max) > 0) return t('autoRechargeAtMost', { max: formatAmount(max) });
  if (min !== null && compareDecimals(value, min) < 0) return t('autoRechargeAtLeast', { min: formatAmount(min) });
  if (field !== 'threshold' && compareDecimals(value, '0') === 0) return t('autoRechargeInvalid');
  return null;
}

export function AutoRecharge({ asset }: AutoRechargeProps) {
  const { t } = useTranslation();
  const session = usePortalSession();
  const live = useLiveBalances();
  const assets = asset
    ? [asset]
    : live.balances.status === 'ready'
      ? live.balances.data.balances.map((balance) => balance.asset)
      : [];
  const [chosen, setChosen] = useState<string | null>(null);
  const selected = chosen ?? assets[0] ?? null;
  const pickerId = useId();
  const picker =
    assets.length > 1 ? (
      <div className="bursar-field bursar-field-inline">
        <label htmlFor={pickerId}>{t('topUpAsset')}</label>
        <select id={pickerId} value={selected ?? ''} onChange={(event) => setChosen(event.target.value)}>
          {assets.map((code) => (
            <option key={code} value={code}>
              {code}
            </option>
          ))}
        </select>
      </div>
    ) : null;
  return (
    <WidgetCard name="auto-recharge" title={t('autoRechargeTitle')} actions={picker}>
      {session.status === 'error' ? (
        <ErrorState error={session.error} onRetry={session.reload} />
      ) : live.balances.status === 'error' && !asset ? (
        <ErrorState error={live.balances.error} />
      ) : session.status === 'loading' || (live.balances.status === 'loading' && !asset) ? (
        <p className="bursar-state bursar-state-loading" aria-busy="true" data-state="loading">
          {t('loading')}
        </p>
      ) : selected === null ? (
        <p className="bursar-state bursar-state-empty" data-state="empty">
          {t('balanceEmpty')}
        </p>
      ) : (
        <RuleForm key={selected} asset={selected} limits={session.data.auto_recharge_limits} />
      )}
    </WidgetCard>
  );
}

function RuleForm({ asset, limits }: { readonly asset: string; readonly limits: Limits }) {
  const rule = usePortalResource((store) => store.client.getAutoRecharge(asset), [asset]);
  return (
    <StateView state={rule} emptyText="" onRetry={rule.reload}>
      {(data) => <RuleFields asset={asset} limits={limits} rule={data} />}
    </StateView>
  );
}

function RuleFields(props: { readonly asset: string; readonly limits: Limits; readonly rule: PortalAutoRecharge }) {
  const { asset, limits, rule } = props;
  const { t } = useTranslation();
  const format = useFormatters();
  const store = usePortalStore();
  const [enabled, setEnabled] = useState(rule.enabled);
  const [values, setValues] = useState<Record<Field, string>>({
    threshold: rule.threshold ?? '',
    amount: rule.amount ?? '',
    monthly_cap: rule.monthly_cap ?? '',
  });
  const [problems, setProblems] = useState<Partial<Record<Field, string>>>({});
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<PortalAutoRecharge | null>(null);
  const [requestError, setRequestError] = useState<PortalRequestError | null>(null);
  const ids = { enabled: useId(), threshold: useId(), amount: useId(), monthly_cap: useId() };
  const readOnly = !limits.editable;

  const hint = (field: Field): string | null => {
    const max =
      field === 'threshold' ? limits.threshold_max : field === 'amount' ? limits.amount_max : limits.monthly_cap_max;
    const min = field === 'amount' ? limits.amount_min : null;
    if (min !== null && max !== null)
      return t('autoRechargeBetween', { min: format.amount(min), max: format.amount(max) });
    if (max !== null) return t('autoRechargeAtMost', { max: format.amount(max) });
    if (min !== null) return t('autoRechargeAtLeast', { min: format.amount(min) });
    return field === 'monthly_cap' ? t('autoRechargeNoCap') : null;
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found: Partial<Record<Field, string>> = {};
    for (const field of ['threshold', 'amount', 'monthly_cap'] as const) {
      const value = values[field].trim();
      // No cap is allowed only when the operator set no highest cap.
      if (field === 'monthly_cap' && value === '' && limits.monthly_cap_max === null) continue;
      const problem = limitProblem(field, value, limits, t, format.amount);
      if (problem) found[field] = problem;
    }
    setProblems(found);
    setRequestError(null);
    setSaved(null);
    if (Object.keys(found).length > 0) return;
    setSaving(true);
    try {
      const cap = values.monthly_cap.trim();
      const result = await store.client.updateAutoRecharge({
        asset,
        enabled,
        threshold: values.threshold.trim(),
        amount: values.amount.trim(),
        monthly_cap: cap === '' ? null : cap,
      });
      setSaved(result);
    } catch (error) {
      const failure = asRequestError(error);
      const field = failure.field?.replace(/^body\./, '') as Field | undefined;
      if (field && field in values) setProblems({ [field]: failure.message });
      else setRequestError(failure);
    } finally {
      setSaving(false);
    }
  };

  const spent = saved?.spent_this_month ?? rule.spent_this_month;
  return (
    <form className="bursar-form" onSubmit={submit} noValidate data-asset={asset}>
      {readOnly ? <p className="bursar-muted">{t('autoRechargeReadOnly')}</p> : null}
      <div className="bursar-field bursar-field-check">
        <input
          id={ids.enabled}
          type="checkbox"
          checked={enabled}
          disabled={readOnly}
          onChange={(event) => setEnabled(event.target.checked)}
        />
        <label htmlFor={ids.enabled}>{t('autoRechargeEnabled')}</label>
      </div>
      {(['threshold', 'amount', 'monthly_cap'] as const).map((field) => {
        const label =
          field === 'threshold'
            ? t('autoRechargeThreshold')
            : field === 'amount'
              ? t('autoRechargeAmount')
              : t('autoRechargeMonthlyCap');
        const note = problems[field] ?? hint(field);
        return (
          <div className="bursar-field" key={field}>
            <label htmlFor={ids[field]}>
              {label} ({asset})
            </label>
            <input
              id={ids[field]}
              name={field}
              inputMode="decimal"
              autoComplete="off"
              value={values[field]}
              readOnly={readOnly}
              aria-invalid={problems[field] ? true : undefined}
              aria-describedby={note ? `${ids[field]}-note` : undefined}
              onChange={(event) => setValues({ ...values, [field]: event.target.value })}
            />
            {note ? (
              <p id={`${ids[field]}-note`} className={problems[field] ? 'bursar-field-error' : 'bursar-muted'}>
                {note}
              </p>
            ) : null}
          </div>
        );
      })}
      {spent && compareDecimals(spent, '0') > 0 ? (
        <p className="bursar-muted">{t('autoRechargeSpent', { spent: format.amount(spent) })}</p>
      ) : null}
      {requestError ? <ErrorState error={requestError} /> : null}
      {readOnly ? null : (
        <div className="bursar-actions">
          <button type="submit" className="bursar-button" disabled={saving}>
            {t('autoRechargeSave')}
          </button>
          <span role="status" className="bursar-muted">
            {saved ? t('autoRechargeSaved') : ''}
          </span>
        </div>
      )}
    </form>
  );
}
