/** A customer's usage by feature and day over the last 30 days: a Recharts bar chart and the exact figures beside it. */
import { useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis } from 'recharts';
import { path, type Schemas } from '../api.ts';
import { DataTable, Empty, Field, QueryView, Section, useApi } from '../ui.tsx';

const dayMs = 86_400_000;
const rangeDays = 30;
// Distinct hues that keep 3:1 contrast against the card background (WCAG non-text contrast).
const palette = ['#1f5fbf', '#b3261e', '#1b7a3d', '#8a4baf', '#a15c00', '#00707a', '#5c5c5c'];

function usageRange(): { from: string; to: string } {
  const startOfToday = Math.floor(Date.now() / dayMs) * dayMs;
  return {
    from: new Date(startOfToday - (rangeDays - 1) * dayMs).toISOString(),
    to: new Date(startOfToday + dayMs).toISOString(),
  };
}

export function UsageSection({ customer }: { readonly customer: string }) {
  const [range] = useState(usageRange);
  const usage = useApi<Schemas['Usage']>(path`/v1/customers/${customer}/usage`, { ...range, granularity: 'day' });
  return (
    <Section title="Usage by feature and day">
      <QueryView query={usage} label="usage">
        {(found) =>
          found.buckets.length === 0 ? (
            <Empty>No usage in the last {rangeDays} days.</Empty>
          ) : (
            <UsageView usage={found} />
          )
        }
      </QueryView>
    </Section>
  );
}

type Measure = { readonly kind: 'events' } | { readonly kind: 'cost'; readonly asset: string };

function UsageView({ usage }: { readonly usage: Schemas['Usage'] }) {
  const assets = [...new Set(usage.buckets.flatMap((bucket) => Object.keys(bucket.cost)))].sort();
  const features = [...new Set(usage.buckets.map((bucket) => bucket.feature))].sort();
  const [measureText, setMeasureText] = useState(assets[0] === undefined ? 'events' : `cost:${assets[0]}`);
  const measure: Measure = measureText.startsWith('cost:')
    ? { kind: 'cost', asset: measureText.slice('cost:'.length) }
    : { kind: 'events' };

  const days = [...new Set(usage.buckets.map((bucket) => bucket.start.slice(0, 10)))].sort();
  const rows = days.map((day) => {
    const row: Record<string, string | number> = { day };
    for (const bucket of usage.buckets) {
      if (bucket.start.slice(0, 10) !== day) continue;
      // Number() only to draw the bar; the table below shows the exact decimal string.
      const value = measure.kind === 'events' ? bucket.events : Number(bucket.cost[measure.asset] ?? '0');
      row[bucket.feature] = (typeof row[bucket.feature] === 'number' ? (row[bucket.feature] as number) : 0) + value;
    }
    return row;
  });

  return (
    <>
      <div className="toolbar">
        <Field label="Measure">
          {(id) => (
            <select id={id} value={measureText} onChange={(event) => setMeasureText(event.target.value)}>
              {assets.map((asset) => (
                <option key={asset} value={`cost:${asset}`}>
                  Cost in {asset}
                </option>
              ))}
              <option value="events">Events</option>
            </select>
          )}
        </Field>
      </div>
      <figure className="chart" aria-label="Usage chart">
        <BarChart width={860} height={280} data={rows} accessibilityLayer>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="day" />
          <YAxis />
          <Tooltip />
          <Legend />
          {features.map((feature, index) => (
            <Bar key={feature} dataKey={feature} stackId="usage" fill={palette[index % palette.length] ?? '#1f5fbf'} />
          ))}
        </BarChart>
        <figcaption className="muted">
          {measure.kind === 'events' ? 'Events' : `Cost in ${measure.asset}`} per day, stacked by feature.
        </figcaption>
      </figure>
      <details>
        <summary>Figures</summary>
        <DataTable testId="usage" caption="Usage buckets" columns={['Day', 'Feature', 'Events', 'Cost', 'Quantities']}>
          {usage.buckets.map((bucket) => (
            <tr key={`${bucket.start}|${bucket.feature}|${bucket.group ?? ''}`} data-feature={bucket.feature}>
              <th scope="row">{bucket.start.slice(0, 10)}</th>
              <td>{bucket.feature}</td>
              <td className="amount">{bucket.events}</td>
              <td className="amount">
                {Object.entries(bucket.cost)
                  .map(([asset, amount]) => `${amount} ${asset}`)
                  .join(', ')}
              </td>
              <td>
                {Object.entries(bucket.quantities)
                  .map(([name, amount]) => `${name} ${amount}`)
                  .join(', ')}
              </td>
            </tr>
          ))}
        </DataTable>
      </details>
    </>
  );
}
