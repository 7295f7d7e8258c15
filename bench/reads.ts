// Read and latency records of `npm run bench` (issue 13): debit checks, entitlement checks and balance
// reads over HTTP at 100 connections against the bare POST ceiling, and debits at a fixed rate of half
// their peak, measured just before in the same run, with p50 and p99.

import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { CeilingRecord } from './ceilings.ts';
import { measureAutocannon } from './ceilings.ts';

export interface ReadBenchTarget {
  readonly port: number;
  /** The server process, whose CPU time per request each record reports (steadier than rates on a shared machine). */
  readonly serverPid: number | undefined;
  readonly backend: 'sqlite' | 'postgres';
  readonly adminKey: string;
  /** Customers c0 … c<customers − 1>, each with a funded `credits` wallet. */
  readonly customers: number;
  readonly durationS: number;
  readonly ceilings: ReadonlyMap<string, CeilingRecord>;
  /** True when BURSAR_BENCH_ONLY lets a record of this name run. */
  readonly wanted: (name: string) => boolean;
  readonly emit: (record: object) => void;
  readonly progress: (message: string) => void;
  /** POSTs a JSON body with the admin key; for the seeding of plans. */
  readonly post: (path: string, body: unknown) => Promise<{ status: number; body: unknown }>;
}

const readTargetRatio = 0.8;
const latencyTargetP99Ms = 2;
const connections = 100;

/** User plus system CPU time of a process so far, in microseconds (Linux /proc; null elsewhere). */
function cpuMicros(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticksPerSecond = 100;
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / ticksPerSecond;
  } catch {
    return null;
  }
}

/** Runs a measurement and adds the server's CPU time per completed request. */
async function withServerCpu(pid: number | undefined, measure: () => Promise<CeilingRecord>): Promise<CeilingRecord> {
  const before = cpuMicros(pid);
  const record = await measure();
  const after = cpuMicros(pid);
  const completed = Number(record.completed);
  return {
    ...record,
    server_cpu_us_per_request:
      before === null || after === null || completed === 0 ? null : Math.round((after - before) / completed),
  };
}

export async function benchReads(target: ReadBenchTarget): Promise<void> {
  const url = (path: string) => `http://127.0.0.1:${target.port}${path}`;
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${target.adminKey}` };
  const ceiling = target.ceilings.get(`http.bare_node_post.c${connections}`)?.ops_per_s;
  const judged = (record: CeilingRecord) => {
    const okPerS = Number(record.ok_per_s ?? record.ops_per_s);
    const ratio = ceiling === undefined || ceiling === 0 ? null : Math.round((okPerS / ceiling) * 1000) / 1000;
    const p99 = Number(record.p99_ms);
    return {
      ...record,
      ratio_to: `http.bare_node_post.c${connections}`,
      ratio,
      target: `≥ ${readTargetRatio} × bare POST, p99 ≤ ${latencyTargetP99Ms} ms`,
      met: ratio !== null && ratio >= readTargetRatio && p99 <= latencyTargetP99Ms && record.non2xx === 0,
    };
  };
  let counter = 0;
  const nextCustomer = () => {
    counter += 1;
    return `c${counter % target.customers}`;
  };

  if (target.wanted('http.check.c100')) {
    target.progress(`${target.backend}: debit checks at ${connections} connections`);
    const record = await withServerCpu(target.serverPid, () =>
      measureAutocannon(url('/v1/debits/check'), {
        connections,
        durationS: target.durationS,
        warmupS: 0.5,
        headers,
        body: '{}',
        setupRequest: (request) => {
          request.body = `{"customer":"${nextCustomer()}","asset":"credits","amount":"1"}`;
          return request;
        },
        name: 'http.check.c100',
        backend: target.backend,
      }),
    );
    target.emit(judged(record));
  }

  if (target.wanted('http.entitlement.c100')) {
    target.progress(`${target.backend}: entitlement checks at ${connections} connections`);
    await seedEntitlements(target);
    const record = await withServerCpu(target.serverPid, () =>
      measureAutocannon(url('/v1/customers/c0/entitlements/check'), {
        connections,
        durationS: target.durationS,
        warmupS: 0.5,
        headers,
        body: '{}',
        setupRequest: (request) => {
          request.path = `/v1/customers/${nextCustomer()}/entitlements/check`;
          request.body = '{"feature":"seats"}';
          return request;
        },
        name: 'http.entitlement.c100',
        backend: target.backend,
        params: { subscribed_customers: target.customers },
      }),
    );
    target.emit(judged(record));
  }

  if (target.wanted('http.balance.c100')) {
    target.progress(`${target.backend}: balance reads at ${connections} connections`);
    const record = await withServerCpu(target.serverPid, () =>
      measureAutocannon(url('/v1/customers/c0/balances'), {
        connections,
        durationS: target.durationS,
        warmupS: 0.5,
        headers: { authorization: `Bearer ${target.adminKey}` },
        method: 'GET',
        setupRequest: (request) => {
          request.path = `/v1/customers/${nextCustomer()}/balances`;
          return request;
        },
        name: 'http.balance.c100',
        backend: target.backend,
      }),
    );
    target.emit(judged(record));
  }

  if (target.wanted('http.debit.half_peak')) {
    target.progress(`${target.backend}: debits at half of their peak rate`);
    const prefix = `half-${Date.now()}`;
    const debit = (request: { headers: Record<string, string>; body?: string | Buffer }) => {
      request.headers['idempotency-key'] = `${prefix}-${counter}`;
      request.body = `{"customer":"${nextCustomer()}","asset":"credits","amount":"1"}`;
      return request;
    };
    const peak = await measureAutocannon(url('/v1/debits'), {
      connections,
      durationS: target.durationS,
      warmupS: 0.5,
      headers,
      body: '{}',
      setupRequest: (request) => debit(request) as typeof request,
    });
    const peakPerS = Number(peak.ok_per_s);
    const requestsPerS = Math.max(1, Math.floor(peakPerS / 2));
    const cpuBefore = cpuMicros(target.serverPid);
    const paced = await measureAtFixedRate(target.port, requestsPerS, target.durationS, () => ({
      path: '/v1/debits',
      headers: { ...headers, 'idempotency-key': `${prefix}-paced-${counter}` },
      body: `{"customer":"${nextCustomer()}","asset":"credits","amount":"1"}`,
    }));
    const cpuAfter = cpuMicros(target.serverPid);
    target.emit({
      name: 'http.debit.half_peak',
      backend: target.backend,
      ...paced,
      peak_ok_per_s: peakPerS,
      server_cpu_us_per_request:
        cpuBefore === null || cpuAfter === null || paced.completed === 0
          ? null
          : Math.round((cpuAfter - cpuBefore) / paced.completed),
      load_generator: 'node:http, requests sent at evenly spaced times (open loop), keep-alive',
      target: `p99 ≤ ${latencyTargetP99Ms} ms at half of the peak (SQLite)`,
      met: paced.p99_ms <= latencyTargetP99Ms && paced.non2xx === 0 && paced.errors === 0,
    });
  }
}

interface PacedRequest {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * Sends POSTs at a fixed rate, spread evenly over each millisecond rather than in bursts (autocannon's
 * `overallRate` releases each second's quota at once), and times every reply from the moment it was due.
 */
async function measureAtFixedRate(
  port: number,
  requestsPerS: number,
  durationS: number,
  next: () => PacedRequest,
): Promise<{
  fixed_rate_per_s: number;
  completed: number;
  ok_per_s: number;
  non2xx: number;
  errors: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  duration_s: number;
}> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  const inFlight = new Set<Promise<void>>();
  const send = (dueAt: number) => {
    const request = next();
    const done = new Promise<void>((resolve) => {
      const outgoing = http.request(
        {
          host: '127.0.0.1',
          port,
          path: request.path,
          method: 'POST',
          agent,
          headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
        },
        (response) => {
          response.resume();
          response.on('end', () => {
            latencies.push(performance.now() - dueAt);
            if ((response.statusCode ?? 0) < 200 || (response.statusCode ?? 0) >= 300) non2xx += 1;
            resolve();
          });
        },
      );
      outgoing.on('error', () => {
        errors += 1;
        resolve();
      });
      outgoing.end(request.body);
    });
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  };
  const started = performance.now();
  const deadline = started + durationS * 1000;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.floor(((Math.min(now, deadline) - started) * requestsPerS) / 1000);
      // Each request is timed from when it was due, so a late tick does not hide queueing (coordinated omission).
      while (sent < due) {
        sent += 1;
        send(started + (sent * 1000) / requestsPerS);
      }
      if (now >= deadline) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(inFlight);
  const elapsedS = (performance.now() - started) / 1000;
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  const at = (fraction: number) =>
    sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? 0);
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  return {
    fixed_rate_per_s: requestsPerS,
    completed: latencies.length,
    ok_per_s: Math.round((latencies.length - non2xx) / elapsedS),
    non2xx,
    errors,
    p50_ms: round(at(0.5)),
    p99_ms: round(at(0.99)),
    max_ms: round(sorted[sorted.length - 1] ?? Number.NaN),
    duration_s: round(elapsedS),
  };
}

/** A plan with a `seats` limit, subscribed by every customer: what an entitlement check reads. */
async function seedEntitlements(target: ReadBenchTarget): Promise<void> {
  const plan = await target.post('/v1/plans', {
    id: 'team',
    name: 'Team',
    version: {
      period: { interval: 'month' },
      allowances: [],
      entitlements: [{ feature: 'seats', kind: 'limit', limit: '10' }],
    },
  });
  if (plan.status !== 201) throw new Error(`seed plan: ${JSON.stringify(plan.body)}`);
  for (let start = 0; start < target.customers; start += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, target.customers - start) }, async (_, offset) => {
        const reply = await target.post('/v1/subscriptions', { customer: `c${start + offset}`, plan: 'team' });
        if (reply.status !== 201) throw new Error(`seed subscription: ${JSON.stringify(reply.body)}`);
      }),
    );
  }
}
