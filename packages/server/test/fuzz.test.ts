/**
 * Seeded fuzzing of request bodies (SPEC §5 invariant 9, §7): valid bodies of nine write operations
 * are mutated (wrong types, missing and server-owned fields, hostile amounts, huge and nested
 * values, broken JSON, wrong content type, oversized bodies). Oracle: never a 5xx; every refusal is
 * application/problem+json with `code` and `request_id`; a validation 400 names the mutated field;
 * a must-reject mutation is refused; a refused request leaves the ledger digest unchanged.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import fc from 'fast-check';
import { type ApiResponse, adminKey, seedCustomer, startTestServer, type TestServer, testSeed } from './harness.ts';

const customer = 'fuzz-customer';
let server: TestServer;
let holdId = '';
let debitId = '';

function holdIdOf(body: { id?: string; hold?: { id: string } }): string {
  return body.hold?.id as string;
}

async function newHold(): Promise<void> {
  const reply = await server.call('POST', '/v1/holds', {
    customer,
    asset: 'credits',
    amount: '3',
    ttl_seconds: 86_400,
  });
  assert.equal(reply.status, 201, reply.text);
  holdId = holdIdOf(reply.body);
}

async function newDebit(): Promise<void> {
  const reply = await server.call('POST', '/v1/debits', { customer, asset: 'credits', amount: '2' });
  assert.equal(reply.status, 201, reply.text);
  debitId = reply.body.transaction.id;
}

async function countPages(path: string): Promise<number> {
  let count = 0;
  let cursor: string | null = null;
  for (;;) {
    const page: ApiResponse = await server.call(
      'GET',
      `${path}${path.includes('?') ? '&' : '?'}limit=100${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
    );
    assert.equal(page.status, 200, page.text);
    count += page.body.data.length;
    cursor = page.body.next_cursor;
    if (cursor === null) return count;
  }
}

async function digest(): Promise<string> {
  const balances = await server.call('GET', `/v1/customers/${customer}/balances`);
  assert.equal(balances.status, 200, balances.text);
  const grants = await server.call('GET', `/v1/grants?customer=${customer}&limit=100`);
  const customers = await countPages('/v1/customers');
  const assets = await server.call('GET', '/v1/assets');
  return JSON.stringify({
    balances: balances.body,
    grants: grants.body.data.map((g: { id: string; remaining: string; status: string }) => [
      g.id,
      g.remaining,
      g.status,
    ]),
    transactions: await countPages('/v1/transactions'),
    audit: await countPages('/v1/audit-events'),
    customers,
    assets: assets.body.data.map((a: { code: string }) => a.code),
  });
}

interface Operation {
  readonly name: string;
  readonly path: () => string;
  readonly valid: () => Record<string, unknown>;
  /** Amount-like fields, and how each may be signed. */
  readonly amounts: Readonly<Record<string, 'positive' | 'non_negative' | 'non_zero'>>;
  /** Fields that must be present. */
  readonly required: readonly string[];
}

const operations: Operation[] = [
  {
    name: 'createDebit',
    path: () => '/v1/debits',
    valid: () => ({ customer, asset: 'credits', amount: '1', description: 'fuzz' }),
    amounts: { amount: 'positive' },
    required: ['customer', 'asset', 'amount'],
  },
  {
    name: 'createGrant',
    path: () => '/v1/grants',
    valid: () => ({ customer, asset: 'credits', amount: '5', category: 'promotional', priority: 3 }),
    amounts: { amount: 'positive' },
    required: ['customer', 'asset', 'amount', 'category'],
  },
  {
    name: 'createHold',
    path: () => '/v1/holds',
    valid: () => ({ customer, asset: 'credits', amount: '1', ttl_seconds: 60 }),
    amounts: { amount: 'positive' },
    required: ['customer', 'asset', 'amount'],
  },
  {
    name: 'captureHold',
    path: () => `/v1/holds/${holdId}/capture`,
    valid: () => ({ amount: '1', on_excess: 'refuse' }),
    amounts: { amount: 'non_negative' },
    required: [],
  },
  {
    name: 'reverseTransaction',
    path: () => `/v1/transactions/${debitId}/reverse`,
    valid: () => ({ amount: '1', reason: 'fuzz refund' }),
    amounts: { amount: 'positive' },
    required: ['reason'],
  },
  {
    name: 'updateWalletPolicy',
    path: () => `/v1/customers/${customer}/wallets/credits/policy`,
    valid: () => ({ overdraft_limit: '0', repay_debt_first: true, reason: 'fuzz' }),
    amounts: { overdraft_limit: 'non_negative' },
    required: [],
  },
  {
    name: 'createAdjustment',
    path: () => '/v1/adjustments',
    valid: () => ({ customer, asset: 'credits', amount: '-1', reason: 'fuzz' }),
    amounts: { amount: 'non_zero' },
    required: ['customer', 'asset', 'amount', 'reason'],
  },
  {
    name: 'createCustomer',
    path: () => '/v1/customers',
    valid: () => ({ id: `c-${Math.random().toString(36).slice(2, 10)}`, name: 'Fuzz', metadata: { plan: 'pro' } }),
    amounts: {},
    required: ['id'],
  },
  {
    name: 'createAsset',
    path: () => '/v1/assets',
    valid: () => ({
      code: `a${Math.random()
        .toString(36)
        .slice(2, 10)
        .replace(/[^a-z0-9]/g, '')}`,
      scale: 2,
    }),
    amounts: {},
    required: ['code', 'scale'],
  },
];

/** A mutation: the raw request to send, the field it is about (if any), and whether it must be refused. */
interface Mutant {
  readonly label: string;
  readonly text: string;
  readonly contentType?: string;
  readonly field?: string | undefined;
  readonly mustReject: boolean;
}

function deepNest(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i += 1) value = { a: value };
  return value;
}

const wrongTypes: ReadonlyArray<[string, unknown]> = [
  ['null', null],
  ['true', true],
  ['array', ['1']],
  ['object', { value: '1' }],
  ['nested', deepNest(200)],
  ['huge string', 'x'.repeat(200_000)],
];

/** Amounts that no amount field accepts, whatever its sign. */
const badAmounts: ReadonlyArray<[string, unknown]> = [
  ['"1.5" on a scale-0 asset', '1.5'],
  ['1.5 as a number', 1.5],
  ['"NaN"', 'NaN'],
  ['" 7"', ' 7'],
  ['"1e3"', '1e3'],
  ['2^63', '9223372036854775808'],
  ['2^53 as a number', 2 ** 53],
  ['26 nines', '99999999999999999999999999'],
  ['"0x10"', '0x10'],
  ['"+5"', '+5'],
  ['Infinity text', 'Infinity'],
  ['empty', ''],
];

function mutants(operation: Operation, pick: <T>(items: readonly T[]) => T): Mutant[] {
  const valid = operation.valid();
  const fields = Object.keys(valid);
  const out: Mutant[] = [];
  const withField = (label: string, field: string, value: unknown, mustReject: boolean) => {
    out.push({ label, text: JSON.stringify({ ...valid, [field]: value }), field, mustReject });
  };
  for (const field of fields) {
    const [name, value] = pick(wrongTypes);
    // A huge or nested value is never a valid customer key, code, reason, amount or enum.
    withField(`${field} = ${name}`, field, value, true);
    if (operation.required.includes(field)) {
      const { [field]: _, ...rest } = valid;
      out.push({ label: `missing ${field}`, text: JSON.stringify(rest), field, mustReject: true });
    }
  }
  for (const [field, sign] of Object.entries(operation.amounts)) {
    for (const [name, value] of badAmounts) withField(`${field} = ${name}`, field, value, true);
    withField(`${field} = 0`, field, '0', sign !== 'non_negative');
    withField(`${field} = 0 (number)`, field, 0, sign !== 'non_negative');
    withField(`${field} = -1`, field, '-1', sign !== 'non_zero');
    withField(`${field} = -1 (number)`, field, -1, sign !== 'non_zero');
    withField(`${field} = 1e3 as a number`, field, 1e3, false);
    withField(`${field} = 1 as a number`, field, 1, false);
    withField(`${field} = 2^53-1 as a number`, field, 2 ** 53 - 1, false);
  }
  for (const extra of ['id', 'balance', 'status', 'created_at', 'environment_id', 'unknown_field']) {
    if (extra in valid) continue;
    out.push({
      label: `extra ${extra}`,
      text: JSON.stringify({ ...valid, [extra]: pick(['x', 1, null, {}]) }),
      field: extra,
      mustReject: true,
    });
  }
  out.push({
    label: 'extra __proto__',
    text: `${JSON.stringify(valid).slice(0, -1)},"__proto__":{"amount":"1000000","admin":true}}`,
    field: '__proto__',
    mustReject: true,
  });
  out.push({
    label: 'extra constructor',
    text: `${JSON.stringify(valid).slice(0, -1)},"constructor":{"prototype":{"x":1}}}`,
    field: 'constructor',
    mustReject: true,
  });
  out.push({
    label: 'duplicate key with a bad value last',
    text: `${JSON.stringify(valid).slice(0, -1)},"${fields[0]}":[1]}`,
    field: fields[0] as string,
    mustReject: true,
  });
  out.push({
    label: 'invalid JSON',
    text: pick(['{', '{"a":', '{customer: 1}', '{"a":1,}', "{'a':1}", 'undefined', '\u0000']),
    mustReject: true,
  });
  out.push({ label: 'top-level array', text: JSON.stringify([valid]), mustReject: true });
  out.push({ label: 'top-level null', text: 'null', mustReject: true });
  out.push({ label: 'top-level number', text: '1', mustReject: true });
  out.push({ label: 'top-level string', text: '"x"', mustReject: true });
  out.push({
    label: 'empty body',
    text: '',
    mustReject: operation.required.length > 0 || operation.name === 'updateWalletPolicy',
  });
  out.push({
    label: 'wrong content-type text/plain',
    text: JSON.stringify(valid),
    contentType: 'text/plain',
    mustReject: true,
  });
  out.push({
    label: 'wrong content-type form',
    text: 'customer=x&amount=1',
    contentType: 'application/x-www-form-urlencoded',
    mustReject: true,
  });
  out.push({ label: 'deeply nested body', text: `${'['.repeat(5000)}${']'.repeat(5000)}`, mustReject: true });
  out.push({
    label: 'body over 1 MiB',
    text: JSON.stringify({ ...valid, padding: 'p'.repeat(1024 * 1024 + 10) }),
    mustReject: true,
  });
  out.push({
    label: 'metadata huge',
    text: JSON.stringify({
      ...valid,
      metadata: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, 'v'])),
    }),
    field: 'metadata',
    mustReject:
      operation.name !== 'createDebit' &&
      operation.name !== 'createGrant' &&
      operation.name !== 'createHold' &&
      operation.name !== 'createCustomer',
  });
  return out;
}

before(async () => {
  server = await startTestServer();
  await seedCustomer(server, customer);
  const grant = await server.call('POST', '/v1/grants', {
    customer,
    asset: 'credits',
    amount: '100000',
    category: 'paid',
  });
  assert.equal(grant.status, 201, grant.text);
  await newHold();
  await newDebit();
});
after(async () => {
  await server?.close();
});

it('fuzzed bodies: no 5xx, problem documents naming fields, refusals change nothing', {
  timeout: 120_000,
}, async () => {
  const seed = testSeed('fuzz');
  const random = fc.sample(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { seed, numRuns: 100_000 });
  let r = 0;
  const next = () => random[r++ % random.length] as number;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;

  const plan: Array<{ operation: Operation; mutant: Mutant }> = [];
  for (const operation of operations) for (const mutant of mutants(operation, pick)) plan.push({ operation, mutant });
  // Shuffle, seeded, so operations interleave differently each run.
  for (let i = plan.length - 1; i > 0; i -= 1) {
    const j = Math.floor(next() * (i + 1));
    [plan[i], plan[j]] = [plan[j] as (typeof plan)[number], plan[i] as (typeof plan)[number]];
  }

  const stats = { requests: 0, accepted: 0, validation: 0, business: 0 };
  const failures: string[] = [];
  let baseline = await digest();
  for (const { operation, mutant } of plan) {
    const label = `${operation.name}: ${mutant.label}`;
    stats.requests += 1;
    let response: Response;
    try {
      response = await fetch(`${server.url}${operation.path()}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': mutant.contentType ?? 'application/json' },
        body: mutant.text,
      });
    } catch (error) {
      failures.push(`${label}: network error ${(error as Error).message}`);
      continue;
    }
    const text = await response.text();
    const status = response.status;
    if (status >= 500) {
      failures.push(`${label}: ${status} ${text.slice(0, 300)}`);
      baseline = await digest();
      continue;
    }
    if (status >= 200 && status < 300) {
      stats.accepted += 1;
      if (mutant.mustReject) failures.push(`${label}: accepted (${status}) but must be refused: ${text.slice(0, 300)}`);
      if (operation.name === 'captureHold') await newHold();
      if (operation.name === 'reverseTransaction') await newDebit();
      baseline = await digest();
      continue;
    }
    const contentType = response.headers.get('content-type') ?? '';
    let problem: { code?: string; request_id?: string; errors?: Array<{ field: string; message: string }> } = {};
    try {
      problem = JSON.parse(text);
    } catch {
      failures.push(`${label}: ${status} body is not JSON: ${text.slice(0, 200)}`);
    }
    if (!contentType.startsWith('application/problem+json'))
      failures.push(`${label}: ${status} content-type ${contentType}`);
    if (typeof problem.code !== 'string' || typeof problem.request_id !== 'string')
      failures.push(`${label}: ${status} problem lacks code/request_id: ${text.slice(0, 200)}`);
    if (status === 400 && problem.code === 'validation_failed') {
      stats.validation += 1;
      if (mutant.field !== undefined) {
        const fields = (problem.errors ?? []).map((e) => e.field);
        const named = fields.some((f) => f === mutant.field || f.startsWith(`${mutant.field}.`));
        if (!named)
          failures.push(`${label}: 400 does not name field "${mutant.field}": ${JSON.stringify(problem.errors)}`);
      }
    } else if (status === 400 || status === 413 || status === 415) {
      stats.validation += 1;
    } else {
      stats.business += 1;
    }
    const now = await digest();
    if (now !== baseline) {
      failures.push(`${label}: refused (${status} ${problem.code}) but the ledger changed`);
      baseline = now;
    }
  }
  process.stdout.write(`# fuzz: ${JSON.stringify(stats)}\n`);
  assert.ok(stats.requests >= 250, `sent ${stats.requests}`);
  assert.deepEqual(failures, [], `seed ${seed}`);
});
