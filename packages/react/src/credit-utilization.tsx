/**
 * CreditUtilization: how much of the credit granted for the current period is used, per asset. With a
 * subscription, each subscription's plan (name, version, period dates) gets a line counting the plan grants
 * that took effect within its current period; without one, "this period" is every grant in force now.
 */
import { percentOf, subtractDecimals, sumDecimals } from './amounts.ts';
import { useFormatters } from './format.ts';
import type { PortalStore } from './portal-store.ts';
import { usePortalResource, useTranslation } from './provider.tsx';
import { StateView, WidgetCard } from './states.tsx';
import type { Grant, PortalSubscription } from './types.ts';

export interface CreditUtilizationProps {
  /** Only this asset; default: every asset with credit this period. */
  readonly asset?: string | undefined;
}

interface Utilization {
  readonly granted: string;
  readonly used: string;
  readonly renewsAt: string | null;
}

interface PlanUtilization {
  readonly subscription: string;
  readonly plan: PortalSubscription['plan'];
  readonly period: { readonly start: string; readonly end: string };
  readonly value: Utilization;
}

interface AssetUtilization {
  readonly asset: string;
  readonly total: Utilization | null;
  /** One line per subscription with a running period (empty without a subscription). */
  readonly plans: readonly PlanUtilization[];
  /** Without a subscription: the plan grants in force now, as before subscriptions were visible. */
  readonly plan: Utilization | null;
  readonly other: Utilization | null;
}

function utilizationOf(grants: readonly Grant[]): Utilization | null {
  if (grants.length === 0) return null;
  const granted = sumDecimals(grants.map((grant) => grant.amount));
  const used = sumDecimals(grants.map((grant) => subtractDecimals(grant.amount, grant.remaining)));
  const expiries = grants.flatMap((grant) => (grant.expires_at ? [grant.expires_at] : [])).sort();
  return { granted, used, renewsAt: expiries[0] ?? null };
}

/** Timestamps compared as instants rather than as text, so any ISO 8601 spelling (offset, milliseconds) compares right. */
function instantOf(iso: string): number {
  return Date.parse(iso);
}

/**
 * Each asset's grants in force at `now`, and per subscription the plan grants that took effect within its
 * current period (a plan grant's period is the one it was issued for, so its effective time falls inside).
 */
function periodUtilization(
  grants: readonly Grant[],
  subscriptions: readonly PortalSubscription[],
  now: Date,
): AssetUtilization[] {
  const instant = now.getTime();
  const counted = grants.filter((grant) => grant.status !== 'voided');
  const inForce = counted.filter(
    (grant) =>
      (grant.status === 'active' || grant.status === 'depleted') &&
      instantOf(grant.effective_at) <= instant &&
      (grant.expires_at === null || instantOf(grant.expires_at) > instant),
  );
  const periods = subscriptions.flatMap((subscription) =>
    subscription.current_period ? [{ subscription, period: subscription.current_period }] : [],
  );
  const planGrantsOf = (period: { start: string; end: string }) =>
    counted.filter(
      (grant) =>
        grant.category === 'plan' &&
        instantOf(grant.effective_at) >= instantOf(period.start) &&
        instantOf(grant.effective_at) < instantOf(period.end),
    );
  const inPeriods = periods.flatMap(({ period }) => planGrantsOf(period));
  const assets = [...new Set([...inForce, ...inPeriods].map((grant) => grant.asset))].sort();
  return assets.map((asset) => {
    const mine = inForce.filter((grant) => grant.asset === asset);
    const plans = periods.flatMap(({ subscription, period }) => {
      const value = utilizationOf(planGrantsOf(period).filter((grant) => grant.asset === asset));
      return value
        ? [{ subscription: subscription.id, plan: subscription.plan, period, value: { ...value, renewsAt: null } }]
        : [];
    });
    const withPlans = periods.length > 0;
    return {
      asset,
      total: utilizationOf(mine),
      plans,
      plan: withPlans ? null : utilizationOf(mine.filter((grant) => grant.category === 'plan')),
      other: utilizationOf(mine.filter((grant) => grant.category !== 'plan')),
    };
  });
}

function Meter({
  label,
  detail,
  value,
  testId,
}: {
  readonly label: string;
  readonly detail?: string | undefined;
  readonly value: Utilization;
  readonly testId: string;
}) {
  const { t } = useTranslation();
  const format = useFormatters();
  const percent = percentOf(value.used, value.granted);
  const text = t('utilizationUsed', { used: format.amount(value.used), granted: format.amount(value.granted) });
  const note = detail ?? (value.renewsAt ? t('utilizationPlanRenews', { date: format.date(value.renewsAt) }) : null);
  return (
    <div className="bursar-meter-row" data-testid={testId}>
      <div className="bursar-meter-label">
        <span>{label}</span>
        <span>
          {text}
          {note ? <span className="bursar-muted"> · {note}</span> : null}
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

function PlanMeter({ asset, line }: { readonly asset: string; readonly line: PlanUtilization }) {
  const { t } = useTranslation();
  const format = useFormatters();
  const name = line.plan.name ?? line.plan.id;
  return (
    <Meter
      label={t('utilizationPlanName', { plan: name, version: line.plan.version })}
      detail={t('utilizationPeriod', { start: format.date(line.period.start), end: format.date(line.period.end) })}
      value={line.value}
      testId={`utilization-plan-${asset}-${line.subscription}`}
    />
  );
}

/** The session's subscriptions (loaded once per page) and the grants, read together. */
async function loadUtilization(store: PortalStore, asset: string | undefined): Promise<AssetUtilization[]> {
  const [page] = await Promise.all([store.client.listGrants(asset ? { asset } : {}), store.loadSession()]);
  const session = store.session();
  if (session.status === 'error') throw session.error;
  const subscriptions = session.status === 'ready' ? session.data.subscriptions : [];
  return periodUtilization(page.data, subscriptions, new Date()).filter((row) => !asset || row.asset === asset);
}

export function CreditUtilization({ asset }: CreditUtilizationProps) {
  const { t } = useTranslation();
  const state = usePortalResource((store) => loadUtilization(store, asset), [asset]);
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
                {row.plans.map((line) => (
                  <PlanMeter key={line.subscription} asset={row.asset} line={line} />
                ))}
                {row.plan ? (
                  <Meter label={t('utilizationPlan')} value={row.plan} testId={`utilization-plan-${row.asset}`} />
                ) : null}
                {(row.plan || row.plans.length > 0) && row.other ? (
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
