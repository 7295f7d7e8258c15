/**
 * CreditUtilization: how much of the credit granted for the current period is used, per asset, with the plan's
 * allowance on its own line. "This period" is every grant in force now (effective, not yet expired), depleted
 * ones included; a plan grant's expiry is when the period renews.
 */
import { percentOf, subtractDecimals, sumDecimals } from './amounts.ts';
import { useFormatters } from './format.ts';
import { usePortalResource, useTranslation } from './provider.tsx';
import { StateView, WidgetCard } from './states.tsx';
import type { Grant } from './types.ts';

export interface CreditUtilizationProps {
  /** Only this asset; default: every asset with credit this period. */
  readonly asset?: string | undefined;
}

interface Utilization {
  readonly granted: string;
  readonly used: string;
  readonly renewsAt: string | null;
}

function utilizationOf(grants: readonly Grant[]): Utilization | null {
  if (grants.length === 0) return null;
  const granted = sumDecimals(grants.map((grant) => grant.amount));
  const used = sumDecimals(grants.map((grant) => subtractDecimals(grant.amount, grant.remaining)));
  const expiries = grants.flatMap((grant) => (grant.expires_at ? [grant.expires_at] : [])).sort();
  return { granted, used, renewsAt: expiries[0] ?? null };
}

/** Each asset's grants in force at `now`, split into the plan's and the rest. */
function periodUtilization(grants: readonly Grant[], now: Date) {
  const instant = now.toISOString();
  const inForce = grants.filter(
    (grant) =>
      (grant.status === 'active' || grant.status === 'depleted') &&
      grant.effective_at <= instant &&
      (grant.expires_at === null || grant.expires_at > instant),
  );
  const assets = [...new Set(inForce.map((grant) => grant.asset))].sort();
  return assets.map((asset) => {
    const mine = inForce.filter((grant) => grant.asset === asset);
    return {
      asset,
      total: utilizationOf(mine),
      plan: utilizationOf(mine.filter((grant) => grant.category === 'plan')),
      other: utilizationOf(mine.filter((grant) => grant.category !== 'plan')),
    };
  });
}

function Meter({
  label,
  value,
  testId,
}: {
  readonly label: string;
  readonly value: Utilization;
  readonly testId: string;
}) {
  const { t } = useTranslation();
  const format = useFormatters();
  const percent = percentOf(value.used, value.granted);
  const text = t('utilizationUsed', { used: format.amount(value.used), granted: format.amount(value.granted) });
  return (
    <div className="bursar-meter-row" data-testid={testId}>
      <div className="bursar-meter-label">
        <span>{label}</span>
        <span>
          {text}
          {value.renewsAt ? (
            <span className="bursar-muted"> · {t('utilizationPlanRenews', { date: format.date(value.renewsAt) })}</span>
          ) : null}
        </span>
      </div>
      <div
        className="bursar-meter"
        role="progressbar"
        aria-label={`${label}: ${text}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
      >
        <div className="bursar-meter-fill" style={{ width: `${percent}%` }} />
      </div>
    </div>
  );
}

export function CreditUtilization({ asset }: CreditUtilizationProps) {
  const { t } = useTranslation();
  const state = usePortalResource(
    async (store) => {
      const page = await store.client.listGrants(asset ? { asset } : {});
      return periodUtilization(page.data, new Date()).filter((row) => !asset || row.asset === asset);
    },
    [asset],
  );
  return (
    <WidgetCard name="credit-utilization" title={t('utilizationTitle')}>
      <StateView
        state={state}
        emptyText={t('utilizationEmpty')}
        isEmpty={(rows) => rows.length === 0}
        onRetry={state.reload}
      >
        {(rows) => (
          <div className="bursar-stack">
            {rows.map((row) => (
              <div key={row.asset} className="bursar-utilization" data-asset={row.asset}>
                {row.total ? (
                  <Meter
                    label={row.asset}
                    value={{ ...row.total, renewsAt: null }}
                    testId={`utilization-${row.asset}`}
                  />
                ) : null}
                {row.plan ? (
                  <Meter label={t('utilizationPlan')} value={row.plan} testId={`utilization-plan-${row.asset}`} />
                ) : null}
                {row.plan && row.other ? (
                  <Meter
                    label={t('utilizationOther')}
                    value={{ ...row.other, renewsAt: null }}
                    testId={`utilization-other-${row.asset}`}
                  />
                ) : null}
              </div>
            ))}
          </div>
        )}
      </StateView>
    </WidgetCard>
  );
}
