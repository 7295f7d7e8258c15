/**
 * The metrics registry (prom-client), with Node's default process metrics, and the HTTP request
 * counter and duration histogram. A route's label children are found once and kept, so counting a
 * request costs no hashing of label values.
 */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export type MetricsRegistry = Registry;

/** Request durations: fine below a millisecond, where a debit's latency goal sits. */
export const durationBucketsSeconds: number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

/** A registry of its own per server (never prom-client's global one), so two servers in a process never share series. */
export function createMetricsRegistry(): MetricsRegistry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

interface RouteSeries {
  readonly duration: ReturnType<Histogram['labels']>;
  readonly requestsByStatus: Map<number, ReturnType<Counter['labels']>>;
}

export interface RequestMetrics {
  /** `route` is any object fixed per route (its config): the label children are kept on it. */
  observe(route: object, operation: string, status: number, seconds: number): void;
}

export function createRequestMetrics(registry: MetricsRegistry): RequestMetrics {
  const requestsTotal = new Counter({
    name: 'bursar_http_requests_total',
    help: 'HTTP requests answered, by operation and status.',
    labelNames: ['operation', 'status'],
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: 'bursar_http_request_duration_seconds',
    help: 'Time from request to reply written, by operation, in seconds.',
    labelNames: ['operation'],
    buckets: durationBucketsSeconds,
    registers: [registry],
  });
  const seriesByRoute = new WeakMap<object, RouteSeries>();
  return {
    observe(route, operation, status, seconds) {
      let series = seriesByRoute.get(route);
      if (series === undefined) {
        series = { duration: requestDuration.labels(operation), requestsByStatus: new Map() };
        seriesByRoute.set(route, series);
      }
      let requests = series.requestsByStatus.get(status);
      if (requests === undefined) {
        requests = requestsTotal.labels(operation, String(status));
        series.requestsByStatus.set(status, requests);
      }
      requests.inc();
      series.duration.observe(seconds);
    },
  };
}
