/** UsageChart: usage by feature over days or hours, drawn with Recharts, with each feature's exact total beneath. */
import { useLayoutEffect, useMemo, useRef, useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { sumDecimals, toChartNumber } from './amounts.ts';
import { useFormatters } from './format.ts';
import { usePortalResource, useTranslation } from './provider.tsx';
import { StateView, WidgetCard } from './states.tsx';
import type { Usage } from './types.ts';

export type UsageGranularity = 'day' | 'hour';

export interface UsageChartProps {
  /** The starting bucket size; the reader can switch. Default: day. */
  readonly granularity?: UsageGranularity | undefined;
  /** Only this feature; default: all, stacked. */
  readonly feature?: string | undefined;
  /** Measure cost in this asset; default: the first asset the usage cost. Without any cost, events are counted. */
  readonly asset?: string | undefined;
  /** How far back: days for the daily chart (default 30), hours for the hourly one (default 48). */
  readonly days?: number | undefined;
  readonly hours?: number | undefined;
  /** Chart height in pixels; default 260. */
  readonly height?: number | undefined;
}

const fallbackPalette = ['#1f5fbf', '#b34d00', '#2e7d32', '#8e24aa', '#00838f', '#6d4c41'];

/** The series colours, from the --bursar-chart-1…6 variables when the page sets them. */
function useChartPalette() {
  const ref = useRef<HTMLDivElement>(null);
  const [palette, setPalette] = useState(fallbackPalette);
  useLayoutEffect(() => {
    if (!ref.current) return;
    const style = getComputedStyle(ref.current);
    setPalette(
      fallbackPalette.map((color, index) => style.getPropertyValue(`--bursar-chart-${index + 1}`).trim() || color),
    );
  }, []);
  return { ref, palette };
}

function rangeOf(granularity: UsageGranularity, days: number, hours: number, now: Date) {
  const to = new Date(now);
  const from = new Date(now);
  if (granularity === 'day') {
    from.setUTCDate(from.getUTCDate() - (days - 1));
    from.setUTCHours(0, 0, 0, 0);
  } else {
    from.setUTCHours(from.getUTCHours() - (hours - 1), 0, 0, 0);
  }
  return { from: from.toISOString(), to: to.toISOString() };
}

interface ChartModel {
  readonly measure: { readonly kind: 'cost'; readonly asset: string } | { readonly kind: 'events' };
  readonly features: string[];
  readonly rows: Record<string, string | number>[];
  readonly totals: { feature: string; total: string; events: number }[];
}

/** Buckets pivoted into one row per period with a column per feature. */
function chartModel(usage: Usage, preferredAsset: string | undefined): ChartModel {
  const costAssets = [...new Set(usage.buckets.flatMap((bucket) => Object.keys(bucket.cost)))].sort();
  const asset = preferredAsset ?? costAssets[0];
  const measure = asset ? ({ kind: 'cost', asset } as const) : ({ kind: 'events' } as const);
  const measureOf = (bucket: Usage['buckets'][number]) =>
    measure.kind === 'cost' ? (bucket.cost[measure.asset] ?? '0') : String(bucket.events);
  const features = [...new Set(usage.buckets.map((bucket) => bucket.feature))].sort();
  const byStart = new Map<string, Record<string, string | number>>();
  for (const bucket of [...usage.buckets].sort((a, b) => a.start.localeCompare(b.start))) {
    const row = byStart.get(bucket.start) ?? { start: bucket.start };
    // Number only to draw the bar; the totals below are summed from the strings.
    row[bucket.feature] = toChartNumber(measureOf(bucket));
    byStart.set(bucket.start, row);
  }
  const totals = features.map((feature) => {
    const mine = usage.buckets.filter((bucket) => bucket.feature === feature);
    return {
      feature,
      total: sumDecimals(mine.map(measureOf)),
      events: mine.reduce((count, bucket) => count + bucket.events, 0),
    };
  });
  return { measure, features, rows: [...byStart.values()], totals };
}

export function UsageChart(props: UsageChartProps) {
  const { t, locale } = useTranslation();
  const format = useFormatters();
  const [granularity, setGranularity] = useState<UsageGranularity>(props.granularity ?? 'day');
  const days = props.days ?? 30;
  const hours = props.hours ?? 48;
  const usage = usePortalResource(
    (store) =>
      store.client.getUsage({
        ...rangeOf(granularity, days, hours, new Date()),
        granularity,
        ...(props.feature ? { feature: props.feature } : {}),
      }),
    [granularity, days, hours, props.feature],
  );
  const { ref, palette } = useChartPalette();
  const tickFormat = useMemo(
    () =>
      new Intl.DateTimeFormat(
        locale,
        granularity === 'day'
          ? { month: 'short', day: 'numeric' }
          : { month: 'short', day: 'numeric', hour: 'numeric' },
      ),
    [locale, granularity],
  );
  const granularityLabel = granularity === 'day' ? t('usageByDay') : t('usageByHour');
  const toggle = (
    <fieldset className="bursar-toggle">
      <legend className="bursar-visually-hidden">{t('usageTitle')}</legend>
      {(['day', 'hour'] as const).map((option) => (
        <button
          key={option}
          type="button"
          className="bursar-toggle-button"
          aria-pressed={granularity === option}
          onClick={() => setGranularity(option)}
        >
          {option === 'day' ? t('usageByDay') : t('usageByHour')}
        </button>
      ))}
    </fieldset>
  );
  return (
    <WidgetCard name="usage-chart" title={t('usageTitle')} actions={toggle}>
      <div ref={ref}>
        <StateView
          state={usage}
          emptyText={t('usageEmpty')}
          isEmpty={(data) => data.buckets.length === 0}
          onRetry={usage.reload}
        >
          {(data) => {
            const model = chartModel(data, props.asset);
            const unit = model.measure.kind === 'cost' ? model.measure.asset : t('usageEventsColumn');
            return (
              <>
                <figure
                  className="bursar-chart"
                  aria-label={t('usageChartLabel', { granularity: granularityLabel })}
                  data-granularity={granularity}
                >
                  <ResponsiveContainer width="100%" height={props.height ?? 260}>
                    <BarChart data={model.rows} accessibilityLayer>
                      <CartesianGrid strokeDasharray="3 3" vertical={false} />
                      <XAxis dataKey="start" tickFormatter={(value: string) => tickFormat.format(new Date(value))} />
                      <YAxis width={56} />
                      <Tooltip labelFormatter={(value) => tickFormat.format(new Date(String(value)))} />
                      <Legend />
                      {model.features.map((feature, index) => (
                        <Bar
                          key={feature}
                          dataKey={feature}
                          name={feature}
                          stackId="usage"
                          fill={palette[index % palette.length] ?? '#1f5fbf'}
                          isAnimationActive={false}
                        />
                      ))}
                    </BarChart>
                  </ResponsiveContainer>
                </figure>
                <table className="bursar-table bursar-usage-totals">
                  <caption className="bursar-visually-hidden">{t('usageTotal')}</caption>
                  <thead>
                    <tr>
                      <th scope="col">{t('transactionsFeature')}</th>
                      <th scope="col" className="bursar-number">
                        {t('usageTotal')} ({unit})
                      </th>
                      <th scope="col" className="bursar-number">
                        {t('usageEventsColumn')}
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {model.totals.map((row) => (
                      <tr key={row.feature} data-feature={row.feature}>
                        <td>{row.feature}</td>
                        <td className="bursar-number">{format.amount(row.total)}</td>
                        <td className="bursar-number">{format.integer(row.events)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            );
          }}
        </StateView>
      </div>
    </WidgetCard>
  );
}
