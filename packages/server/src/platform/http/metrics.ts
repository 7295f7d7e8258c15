/**
 * A small metrics registry rendered in the Prometheus text format 0.0.4: counters, gauges and
 * histograms with labels, plus the process's own metrics. Written here rather than taken from a
 * library because this is all the server needs, and a series costs one map lookup to find.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export const metricsContentType = 'text/plain; version=0.0.4; charset=utf-8';

/** Request durations: fine below a millisecond, where a debit's latency goal sits. */
export const durationBucketsSeconds: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

export interface CounterSeries {
  inc(amount?: number): void;
}
export interface GaugeSeries {
  set(value: number): void;
  inc(amount?: number): void;
  dec(amount?: number): void;
}
export interface HistogramSeries {
  observe(value: number): void;
}

/** A metric family: `labels(...)` takes one value per label name, in order, and returns its series (keep it). */
export interface Metric<S> {
  readonly name: string;
  labels(...values: string[]): S;
}

export interface MetricsRegistry {
  counter(name: string, help: string, labelNames?: readonly string[]): Metric<CounterSeries>;
  gauge(name: string, help: string, labelNames?: readonly string[]): Metric<GaugeSeries>;
  histogram(
    name: string,
    help: string,
    labelNames: readonly string[],
    bucketsUpper: readonly number[],
  ): Metric<HistogramSeries>;
  /** Runs `collect` before each rendering, to set gauges that are read rather than counted. */
  onCollect(collect: () => void): void;
  render(): string;
}

type Kind = 'counter' | 'gauge' | 'histogram';

interface RenderedSeries {
  render(name: string, labelText: string): string;
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly kind: Kind;
  readonly labelNames: readonly string[];
  /** Series by label values joined with \u0001, which no sane label value holds. */
  readonly series: ReadonlyMap<string, { readonly labelText: string; readonly series: RenderedSeries }>;
  readonly metric: Metric<unknown>;
}

const metricNamePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function toSampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

/** `name="value",…` without braces, so a histogram can append its `le` label. */
function toLabelText(labelNames: readonly string[], values: readonly string[]): string {
  return labelNames.map((name, index) => `${name}="${escapeLabelValue(values[index] ?? '')}"`).join(',');
}

function sampleLine(name: string, labelText: string, value: number): string {
  return labelText === '' ? `${name} ${toSampleValue(value)}\n` : `${name}{${labelText}} ${toSampleValue(value)}\n`;
}

function createValueSeries(): CounterSeries & GaugeSeries & RenderedSeries {
  let value = 0;
  return {
    inc: (amount = 1) => {
      value += amount;
    },
    dec: (amount = 1) => {
      value -= amount;
    },
    set: (next) => {
      value = next;
    },
    render: (name, labelText) => sampleLine(name, labelText, value),
  };
}

function createHistogramSeries(bucketsUpper: readonly number[]): HistogramSeries & RenderedSeries {
  // Per-bucket counts (not cumulative) so an observation touches one slot; rendering adds them up.
  const counts = new Array<number>(bucketsUpper.length + 1).fill(0);
  let sum = 0;
  return {
    observe(value) {
      let index = 0;
      while (index < bucketsUpper.length && value > (bucketsUpper[index] ?? 0)) index += 1;
      counts[index] = (counts[index] ?? 0) + 1;
      sum += value;
    },
    render(name, labelText) {
      const prefix = labelText === '' ? '' : `${labelText},`;
      let cumulative = 0;
      let text = '';
      for (let index = 0; index <= bucketsUpper.length; index += 1) {
        cumulative += counts[index] ?? 0;
        const upper = index < bucketsUpper.length ? toSampleValue(bucketsUpper[index] ?? 0) : '+Inf';
        text += `${name}_bucket{${prefix}le="${upper}"} ${cumulative}\n`;
      }
      return text + sampleLine(`${name}_sum`, labelText, sum) + sampleLine(`${name}_count`, labelText, cumulative);
    },
  };
}

export function createMetricsRegistry(): MetricsRegistry {
  const families = new Map<string, Family>();
  const collectors: (() => void)[] = [];

  function register<S extends RenderedSeries>(
    kind: Kind,
    name: string,
    help: string,
    labelNames: readonly string[],
    createSeries: () => S,
  ): Metric<S> {
    const existing = families.get(name);
    if (existing !== undefined) {
      // Registering the same metric twice (two servers on one registry, in tests) returns the first.
      if (existing.kind !== kind || existing.labelNames.join() !== labelNames.join()) {
        throw new Error(`metric ${name} is already registered with another type or labels`);
      }
      return existing.metric as Metric<S>;
    }
    if (!metricNamePattern.test(name)) throw new Error(`invalid metric name: ${name}`);
    for (const labelName of labelNames) {
      if (!labelNamePattern.test(labelName) || labelName === 'le')
        throw new Error(`invalid label name on ${name}: ${labelName}`);
    }
    const series = new Map<string, { readonly labelText: string; readonly series: S }>();
    const metric: Metric<S> = {
      name,
      labels(...values) {
        if (values.length !== labelNames.length) {
          throw new Error(`metric ${name} takes ${labelNames.length} label values, got ${values.length}`);
        }
        const key = values.join('\u0001');
        const found = series.get(key);
        if (found !== undefined) return found.series;
        const created = createSeries();
        series.set(key, { labelText: toLabelText(labelNames, values), series: created });
        return created;
      },
    };
    families.set(name, { name, help, kind, labelNames, series, metric });
    return metric;
  }

  const registry: MetricsRegistry = {
    counter: (name, help, labelNames = []) => register('counter', name, help, labelNames, createValueSeries),
    gauge: (name, help, labelNames = []) => register('gauge', name, help, labelNames, createValueSeries),
    histogram: (name, help, labelNames, bucketsUpper) => {
      const sorted = [...bucketsUpper].sort((a, b) => a - b);
      return register('histogram', name, help, labelNames, () => createHistogramSeries(sorted));
    },
    onCollect(collect) {
      collectors.push(collect);
    },
    render() {
      for (const collect of collectors) collect();
      let text = '';
      for (const family of families.values()) {
        text += `# HELP ${family.name} ${family.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${family.name} ${family.kind}\n`;
        for (const entry of family.series.values()) text += entry.series.render(family.name, entry.labelText);
      }
      return text;
    },
  };
  registerProcessMetrics(registry);
  return registry;
}

/** Memory, start time and event-loop delay: what an operator checks first when latency moves. */
function registerProcessMetrics(registry: MetricsRegistry): void {
  const residentMemory = registry.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.').labels();
  const heapUsed = registry.gauge('nodejs_heap_used_bytes', 'V8 heap in use, in bytes.').labels();
  const startTime = registry
    .gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch, in seconds.')
    .labels();
  const lagMean = registry
    .gauge('nodejs_eventloop_lag_seconds', 'Mean event-loop delay since the previous scrape, in seconds.')
    .labels();
  const lagP99 = registry
    .gauge(
      'nodejs_eventloop_lag_p99_seconds',
      '99th percentile of event-loop delay since the previous scrape, in seconds.',
    )
    .labels();
  startTime.set(Math.round((Date.now() - process.uptime() * 1000) / 1000));
  // The monitor's timer does not keep the process alive, so it needs no stopping.
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  registry.onCollect(() => {
    residentMemory.set(process.memoryUsage.rss());
    heapUsed.set(process.memoryUsage().heapUsed);
    if (delay.count > 0) {
      lagMean.set(delay.mean / 1e9);
      lagP99.set(delay.percentile(99) / 1e9);
    }
    delay.reset();
  });
}
