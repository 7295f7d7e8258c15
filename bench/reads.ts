// Read and latency records of `npm run bench` (issue 13): debit checks, entitlement checks and balance
// reads over HTTP at 100 connections against the bare POST ceiling, and debits at a fixed rate of half
// their peak, measured just before in the same run, with p50 and p99.

import type { CeilingRecord } from './ceilings.ts';
import { measureAutocannon } from './ceilings.ts';

export interface ReadBenchTarget {
  readonly port: number;
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
    const record = await measureAutocannon(url('/v1/debits/check'), {
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
    });
    target.emit(judged(record));
  }

  if (target.wanted('http.entitlement.c100')) {
    target.progress(`${target.backend}: entitlement checks at ${connections} connections`);
    await seedEntitlements(target);
    const record = await measureAutocannon(url('/v1/customers/c0/entitlements/check'), {
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
    });
    target.emit(judged(record));
  }

  if (target.wanted('http.balance.c100')) {
    target.progress(`${target.backend}: balance reads at ${connections} connections`);
    const record = await measureAutocannon(url('/v1/customers/c0/balances'), {
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
    });
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
    const record = await measureAutocannon(url('/v1/debits'), {
      connections,
      durationS: target.durationS,
      headers,
      body: '{}',
      overallRate: requestsPerS,
      setupRequest: (request) => debit(request) as typeof request,
      name: 'http.debit.half_peak',
      backend: target.backend,
      params: { peak_ok_per_s: peakPerS, fixed_rate_per_s: requestsPerS },
    });
    const p99 = Number(record.p99_ms);
    target.emit({
      ...record,
      target: `p99 ≤ ${latencyTargetP99Ms} ms at half of the peak (SQLite)`,
      met: p99 <= latencyTargetP99Ms && record.non2xx === 0,
    });
  }
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
