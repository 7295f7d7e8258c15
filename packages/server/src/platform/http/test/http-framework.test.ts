/**
 * Unit tests of the HTTP framework on a real loopback socket, with a fake route table and a fake
 * authenticate: refusals (401, 403, 404, 405, 413, 415, 400), validation messages, headers, the
 * problem shape, logging, metrics and the reference endpoints. The ledger is not involved.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  createGrantBody,
  customerParams,
  debitBody,
  emptyBody,
  idParams,
  listTransactionsQuery,
  pageQuery,
  scopes,
} from '@bursar/api';
import { z } from 'zod';
import type { Reply, Scope } from '../../contract.ts';
import { scopeAllows } from '../../contract.ts';
import { createLogger } from '../logger.ts';
import { createMetricsRegistry } from '../metrics.ts';
import { buildOpenApiDocument } from '../openapi.ts';
import { toProblem } from '../problem.ts';
import type { ParsedRequest, Route } from '../router.ts';
import type { AuthResult } from '../server.ts';
import { createHttpServer } from '../server.ts';
import { parseWith } from '../validation.ts';

const keys: Readonly<Record<string, readonly Scope[]>> = {
  'admin-key': ['admin'],
  'ingest-key': ['ingest'],
  'read-key': ['read'],
};

async function authenticate(token: string): Promise<AuthResult | null> {
  const scopes = keys[token];
  return scopes === undefined
    ? null
    : { environmentId: 'env_1', environmentName: 'test', apiKeyId: `key_${token.replace('-key', '')}`, scopes };
}

/** Answers with what the handler received, so tests can see the parsed request. */
function echo(status: number, options: { replayed?: boolean } = {}) {
  return async (request: ParsedRequest): Promise<Reply> => ({
    status,
    bodyText: JSON.stringify({
      caller: request.caller,
      params: request.params,
      query: request.query,
      body: request.body,
    }),
    problem: false,
    replayed: options.replayed === true,
  });
}

const echoResponse = z.object({ caller: z.unknown(), params: z.unknown(), query: z.unknown(), body: z.unknown() });

const routes: Route[] = [
  {
    method: 'POST',
    path: '/v1/debits',
    operationId: 'createDebit',
    summary: 'Debit.',
    tag: 'Debits',
    scope: 'ingest',
    body: debitBody,
    responses: { 201: echoResponse },
    handle: echo(201),
  },
  {
    method: 'POST',
    path: '/v1/grants',
    operationId: 'createGrant',
    summary: 'Grant.',
    tag: 'Grants',
    scope: 'write',
    body: createGrantBody,
    responses: { 201: echoResponse },
    handle: echo(201),
  },
  {
    method: 'GET',
    path: '/v1/customers/{customer}',
    operationId: 'getCustomer',
    summary: 'Customer.',
    tag: 'Customers',
    scope: 'read',
    params: customerParams,
    responses: { 200: echoResponse },
    handle: echo(200),
  },
  {
    method: 'GET',
    path: '/v1/transactions',
    operationId: 'listTransactions',
    summary: 'Transactions.',
    tag: 'Ledger',
    scope: 'read',
    query: listTransactionsQuery,
    responses: { 200: echoResponse },
    handle: echo(200),
  },
  {
    method: 'GET',
    path: '/v1/things',
    operationId: 'listThings',
    summary: 'Things.',
    tag: 'Things',
    scope: 'read',
    query: pageQuery,
    responses: { 200: echoResponse },
    handle: echo(200),
  },
  {
    method: 'POST',
    path: '/v1/holds/{id}/release',
    operationId: 'releaseHold',
    summary: 'Release.',
    tag: 'Holds',
    scope: 'ingest',
    params: idParams,
    body: emptyBody,
    responses: { 200: echoResponse },
    handle: echo(200, { replayed: true }),
  },
  {
    method: 'POST',
    path: '/v1/boom',
    operationId: 'explode',
    summary: 'Throws.',
    tag: 'Things',
    scope: 'read',
    body: emptyBody,
    responses: { 200: echoResponse },
    handle: async () => {
      throw new Error('kaboom');
    },
  },
];

const logLines: Record<string, unknown>[] = [];
const logger = createLogger({
  level: 'info',
  stream: {
    write: (text: string) =>
      logLines.push(
        ...text
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line)),
      ),
  },
});
let ready = true;
let base = '';
const server = createHttpServer({
  routes,
  authenticate,
  logger,
  metrics: createMetricsRegistry(),
  isReady: () => ready,
  openApiDocument: buildOpenApiDocument(routes, { version: 'test' }),
  bodyBytesMax: 1024,
});

before(async () => {
  const address = await server.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${address.port}`;
});
after(async () => {
  await server.close(1000);
});

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests inspect bodies field by field
  readonly body: any;
}

async function call(
  method: string,
  path: string,
  options: { key?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== null) headers.authorization ??= `Bearer ${options.key ?? 'admin-key'}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(base + path, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  return { status: response.status, headers: response.headers, text, body: parsed };
}

function assertProblem(answer: Answer, status: number, code: string): void {
  assert.equal(answer.status, status, answer.text);
  assert.equal(answer.headers.get('content-type'), 'application/problem+json');
  assert.equal(answer.body.code, code);
  assert.equal(answer.body.status, status);
  assert.equal(answer.body.type, `https://bursar.dev/problems/${code}`);
  assert.equal(typeof answer.body.title, 'string');
  assert.equal(typeof answer.body.detail, 'string');
  assert.equal(typeof answer.body.retryable, 'boolean');
  assert.equal(answer.body.request_id, answer.headers.get('x-request-id'));
}

function fieldsOf(answer: Answer): Record<string, string> {
  return Object.fromEntries(
    (answer.body.errors as { field: string; message: string }[]).map((error) => [error.field, error.message]),
  );
}

const debit = { customer: 'org_1', asset: 'credits', amount: '12.5' };

describe('authentication and scope', () => {
  it('answers 401 with one message for a missing, malformed or unknown key', async () => {
    const answers = [
      await call('POST', '/v1/debits', { key: null, body: debit }),
      await call('POST', '/v1/debits', { key: null, body: debit, headers: { authorization: 'Basic abc' } }),
      await call('POST', '/v1/debits', { key: null, body: debit, headers: { authorization: 'Bearer' } }),
      await call('POST', '/v1/debits', { key: 'no-such-key', body: debit }),
    ];
    for (const answer of answers) {
      assertProblem(answer, 401, 'unauthenticated');
      assert.equal(answer.body.detail, answers[0]?.body.detail);
      assert.match(answer.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
  });

  it('answers 403 when the key lacks the scope, and lets a broader scope through', async () => {
    assertProblem(await call('POST', '/v1/debits', { key: 'read-key', body: debit }), 403, 'insufficient_scope');
    assertProblem(await call('POST', '/v1/grants', { key: 'ingest-key', body: {} }), 403, 'insufficient_scope');
    assert.equal((await call('POST', '/v1/debits', { key: 'ingest-key', body: debit })).status, 201);
    assert.equal((await call('POST', '/v1/debits', { key: 'admin-key', body: debit })).status, 201);
  });

  it('scopeAllows follows the inclusion table', () => {
    assert.equal(scopeAllows(['admin'], 'write'), true);
    assert.equal(scopeAllows(['write'], 'ingest'), true);
    assert.equal(scopeAllows(['ingest'], 'read'), true);
    assert.equal(scopeAllows(['ingest'], 'write'), false);
    assert.equal(scopeAllows(['read'], 'ingest'), false);
    assert.equal(scopeAllows(['read', 'write'], 'admin'), false);
    assert.equal(scopeAllows([], 'read'), false);
    assert.equal(scopeAllows(['admin'], 'owner'), false);
    // The scopes nest, widest first: each includes exactly itself and those after it.
    for (const [grantedIndex, granted] of scopes.entries()) {
      for (const [neededIndex, needed] of scopes.entries()) {
        assert.equal(scopeAllows([granted], needed), grantedIndex <= neededIndex, `${granted} includes ${needed}`);
      }
    }
  });
});

describe('routing', () => {
  it('answers 404 route_not_found for an unknown path, without asking for a key', async () => {
    assertProblem(await call('GET', '/v1/nothing-here', { key: null }), 404, 'route_not_found');
    assertProblem(await call('GET', '/v1/debits/', { key: null }), 404, 'route_not_found');
  });

  it('answers 405 method_not_allowed with an Allow header', async () => {
    const answer = await call('DELETE', '/v1/debits');
    assertProblem(answer, 405, 'method_not_allowed');
    assert.equal(answer.headers.get('allow'), 'POST');
  });

  it('decodes path parameters and validates them', async () => {
    const answer = await call('GET', '/v1/customers/org%3A42');
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.body.params, { customer: 'org:42' });
    const malformed = await call('GET', '/v1/customers/org%E0%A4%A');
    assertProblem(malformed, 400, 'validation_failed');
    assert.deepEqual(Object.keys(fieldsOf(malformed)), ['customer']);
    const invalid = await call('GET', '/v1/customers/org%20one');
    assertProblem(invalid, 400, 'validation_failed');
    assert.ok(fieldsOf(invalid).customer);
  });
});

describe('bodies', () => {
  it('answers 415 when a body is not application/json', async () => {
    assertProblem(
      await call('POST', '/v1/debits', { body: 'customer=a', headers: { 'content-type': 'text/plain' } }),
      415,
      'unsupported_media_type',
    );
    assert.equal(
      (
        await call('POST', '/v1/debits', {
          body: debit,
          headers: { 'content-type': 'application/json; charset=utf-8' },
        })
      ).status,
      201,
    );
  });

  it('answers 413 from Content-Length before reading, and while reading a chunked body', async () => {
    const big = { ...debit, description: 'x'.repeat(2000) };
    assertProblem(await call('POST', '/v1/debits', { body: big }), 413, 'payload_too_large');
    const chunked = await new Promise<{ status: number; code: string }>((resolve, reject) => {
      const request = httpRequest(
        `${base}/v1/debits`,
        { method: 'POST', headers: { authorization: 'Bearer admin-key', 'content-type': 'application/json' } },
        (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => {
            text += chunk.toString();
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, code: JSON.parse(text).code }));
        },
      );
      request.on('error', reject);
      for (let index = 0; index < 8; index += 1) request.write('x'.repeat(256));
      request.end();
    });
    assert.deepEqual(chunked, { status: 413, code: 'payload_too_large' });
  });

  it('reads a body that arrives after its headers, with a length or chunked', async () => {
    const text = JSON.stringify(debit);
    const sendSlowly = (headers: Record<string, string>) =>
      new Promise<{ status: number; amount: string }>((resolve, reject) => {
        const request = httpRequest(
          `${base}/v1/debits`,
          {
            method: 'POST',
            headers: { authorization: 'Bearer admin-key', 'content-type': 'application/json', ...headers },
          },
          (response) => {
            let answer = '';
            response.on('data', (chunk: Buffer) => {
              answer += chunk.toString();
            });
            response.on('end', () =>
              resolve({ status: response.statusCode ?? 0, amount: JSON.parse(answer).body?.amount }),
            );
          },
        );
        request.on('error', reject);
        request.flushHeaders();
        request.write(text.slice(0, 10));
        setTimeout(() => request.end(text.slice(10)), 30);
      });
    assert.deepEqual(await sendSlowly({ 'content-length': String(Buffer.byteLength(text)) }), {
      status: 201,
      amount: '12.5',
    });
    assert.deepEqual(await sendSlowly({}), { status: 201, amount: '12.5' });
  });

  it('answers 400 malformed_json for a body that is not JSON', async () => {
    assertProblem(await call('POST', '/v1/debits', { body: '{"customer":' }), 400, 'malformed_json');
  });

  it('treats an empty body as {} and names every missing field', async () => {
    const answer = await call('POST', '/v1/debits', { headers: { 'content-length': '0' } });
    assertProblem(answer, 400, 'validation_failed');
    assert.deepEqual(fieldsOf(answer), { customer: 'is required', asset: 'is required', amount: 'is required' });
    assert.equal((await call('POST', '/v1/holds/hold_1/release')).status, 200);
  });

  it('refuses unknown fields by name, so server-owned fields cannot be assigned', async () => {
    const answer = await call('POST', '/v1/debits', { body: { ...debit, balance: '100', id: 'txn_1' } });
    assertProblem(answer, 400, 'validation_failed');
    assert.deepEqual(fieldsOf(answer), { balance: 'unknown field', id: 'unknown field' });
    const nested = await call('POST', '/v1/grants', {
      body: {
        customer: 'c',
        asset: 'credits',
        amount: '5',
        category: 'paid',
        cost_basis: { currency: 'usd', total: '10', status: 'x' },
      },
    });
    assert.deepEqual(fieldsOf(nested), { 'cost_basis.status': 'unknown field' });
  });

  it('accepts amounts as decimal strings or safe integers, and refuses everything else', async () => {
    const accepted = await call('POST', '/v1/debits', { body: { ...debit, amount: 12 } });
    assert.equal(accepted.status, 201);
    assert.equal(accepted.body.body.amount, '12');
    assert.equal((await call('POST', '/v1/debits', { body: debit })).body.body.amount, '12.5');
    for (const amount of [
      1.5,
      2 ** 53,
      -3,
      0,
      '0.00',
      '1e3',
      ' 7',
      '7 ',
      '+7',
      '-7',
      '',
      '0x10',
      '1.',
      '.5',
      true,
      null,
      [],
      {},
    ]) {
      const answer = await call('POST', '/v1/debits', { body: { ...debit, amount } });
      assert.equal(answer.status, 400, `amount ${JSON.stringify(amount)}: ${answer.text}`);
      assert.deepEqual(Object.keys(fieldsOf(answer)), ['amount']);
    }
    const raw = await call('POST', '/v1/debits', { body: '{"customer":"org_1","asset":"credits","amount":1e400}' });
    assert.equal(raw.status, 400);
  });

  it('names nested fields with dotted paths', async () => {
    const answer = await call('POST', '/v1/grants', {
      body: {
        customer: 'c',
        asset: 'credits',
        amount: '5',
        category: 'gift',
        expires_at: '2025-02-30T00:00:00Z',
        features: ['chat', 'bad feature'],
        cost_basis: { currency: 'usd', total: '10', unit_price: '2' },
        metadata: { k: 7 },
      },
    });
    const fields = fieldsOf(answer);
    assert.deepEqual(Object.keys(fields).sort(), ['category', 'cost_basis', 'expires_at', 'features[1]', 'metadata.k']);
    assert.match(fields.category ?? '', /must be one of: paid, promotional/);
  });
});

describe('queries', () => {
  it('parses the query with defaults and timestamps, and refuses unknown parameters', async () => {
    const defaults = await call('GET', '/v1/things');
    assert.deepEqual(defaults.body.query, { limit: 50 });
    const parsed = await call('GET', '/v1/transactions?limit=10&created_after=2025-01-01T00:00:00%2B01:00&kind=debit');
    assert.deepEqual(parsed.body.query, { limit: 10, created_after: Date.UTC(2024, 11, 31, 23), kind: 'debit' });
    const unknown = await call('GET', '/v1/things?limit=5&balance=1');
    assert.deepEqual(fieldsOf(unknown), { balance: 'unknown field' });
    const invalid = await call('GET', '/v1/things?limit=500&limit=3');
    assert.deepEqual(Object.keys(fieldsOf(invalid)), ['limit']);
    const tooBig = await call('GET', '/v1/things?limit=201');
    assert.deepEqual(Object.keys(fieldsOf(tooBig)), ['limit']);
    assertProblem(await call('GET', '/v1/customers/c1?x=1'), 400, 'validation_failed');
  });
});

describe('headers', () => {
  it('passes a valid Idempotency-Key to the handler and refuses an invalid one', async () => {
    const accepted = await call('POST', '/v1/debits', {
      body: debit,
      headers: { 'idempotency-key': 'order 42/attempt:1' },
    });
    assert.equal(accepted.body.caller.idempotencyKey, 'order 42/attempt:1');
    assert.equal((await call('POST', '/v1/debits', { body: debit })).body.caller.idempotencyKey, null);
    for (const key of ['', 'k'.repeat(256), 'tab\there']) {
      assertProblem(
        await call('POST', '/v1/debits', { body: debit, headers: { 'idempotency-key': key } }),
        400,
        'idempotency_key_invalid',
      );
    }
  });

  it('echoes a valid X-Request-Id and replaces an invalid one', async () => {
    const echoed = await call('POST', '/v1/debits', { body: debit, headers: { 'x-request-id': 'trace-1.a_B' } });
    assert.equal(echoed.headers.get('x-request-id'), 'trace-1.a_B');
    assert.equal(echoed.body.caller.requestId, 'trace-1.a_B');
    const replaced = await call('POST', '/v1/debits', { body: debit, headers: { 'x-request-id': 'has spaces' } });
    assert.match(replaced.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(replaced.body.caller.requestId, replaced.headers.get('x-request-id'));
  });

  it('marks a replayed reply with Idempotent-Replayed and passes the caller through', async () => {
    const answer = await call('POST', '/v1/holds/hold_1/release', { body: {} });
    assert.equal(answer.headers.get('idempotent-replayed'), 'true');
    assert.equal(answer.headers.get('content-type'), 'application/json');
    assert.deepEqual(answer.body.caller, {
      environmentId: 'env_1',
      environmentName: 'test',
      apiKeyId: 'key_admin',
      scopes: ['admin'],
      requestId: answer.headers.get('x-request-id'),
      idempotencyKey: null,
    });
    assert.equal((await call('POST', '/v1/debits', { body: debit })).headers.get('idempotent-replayed'), null);
  });
});

describe('failures and logging', () => {
  it('answers 500 internal_error with the request id when a handler throws, and logs the stack', async () => {
    const answer = await call('POST', '/v1/boom', { headers: { 'x-request-id': 'boom-1' } });
    assertProblem(answer, 500, 'internal_error');
    assert.equal(answer.body.request_id, 'boom-1');
    const line = logLines.find((entry) => entry.level === 'error' && entry.request_id === 'boom-1');
    assert.match(String(line?.error), /kaboom/);
  });

  it('logs one request line with the route template and never the key or the body', async () => {
    await call('GET', '/v1/customers/secret-customer', { headers: { 'x-request-id': 'log-1' } });
    logger.flush();
    const lines = logLines.filter((entry) => entry.request_id === 'log-1');
    assert.equal(lines.length, 1);
    const [line] = lines;
    assert.equal(line?.msg, 'request');
    assert.equal(line?.level, 'info');
    assert.equal(line?.path, '/v1/customers/{customer}');
    assert.equal(line?.operation, 'getCustomer');
    assert.equal(line?.status, 200);
    assert.equal(line?.api_key_id, 'key_admin');
    assert.equal(typeof line?.duration_ms, 'number');
    const all = JSON.stringify(logLines);
    assert.doesNotMatch(all, /admin-key|Bearer|secret-customer|org_1/);
  });
});

describe('system endpoints', () => {
  it('serves health and readiness without a key', async () => {
    const health = await call('GET', '/healthz', { key: null });
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: 'ok' });
    assert.equal((await call('GET', '/readyz', { key: null })).status, 200);
    ready = false;
    assertProblem(await call('GET', '/readyz', { key: null }), 503, 'unavailable');
    ready = true;
  });

  it('serves an OpenAPI 3.1 document with every operationId, scope and the Idempotency-Key on POSTs', async () => {
    const answer = await call('GET', '/openapi.json', { key: null });
    assert.equal(answer.status, 200);
    const document = answer.body;
    assert.equal(document.openapi, '3.1.0');
    const operations = Object.values(
      document.paths as Record<
        string,
        Record<string, { operationId: string; parameters: { name: string }[]; 'x-bursar-scope'?: string }>
      >,
    ).flatMap((methods) => Object.entries(methods).map(([method, operation]) => ({ method, ...operation })));
    for (const route of routes) {
      const operation = operations.find((candidate) => candidate.operationId === route.operationId);
      assert.ok(operation, route.operationId);
      assert.equal(operation['x-bursar-scope'], route.scope);
      assert.equal(
        operation.parameters.some((parameter) => parameter.name === 'Idempotency-Key'),
        route.method === 'POST',
      );
    }
    const grantBody = document.components.schemas.CreateGrantBody;
    assert.equal(grantBody.additionalProperties, false);
    assert.ok(grantBody.required.includes('amount'));
    assert.ok(document.components.schemas.Problem);
    const listTransactions = operations.find((operation) => operation.operationId === 'listTransactions');
    assert.ok(listTransactions?.parameters.some((parameter) => parameter.name === 'created_after'));
  });

  it('sends / to the browsable reference at /docs (GET and HEAD)', async () => {
    for (const method of ['GET', 'HEAD']) {
      const answer = await fetch(`${base}/`, { method, redirect: 'manual' });
      assert.equal(answer.status, 302, method);
      assert.equal(answer.headers.get('location'), '/docs', method);
    }
    const followed = await fetch(`${base}/`);
    assert.equal(followed.status, 200);
    assert.match(followed.headers.get('content-type') ?? '', /^text\/html/);
  });

  it('serves the docs page with a strict CSP and no script', async () => {
    const answer = await call('GET', '/docs', { key: null });
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('content-type') ?? '', /^text\/html/);
    const policy = answer.headers.get('content-security-policy') ?? '';
    assert.match(policy, /default-src 'none'/);
    assert.match(policy, /style-src 'sha256-/);
    assert.doesNotMatch(answer.text, /<script/i);
    assert.match(answer.text, /createDebit/);
    assert.match(answer.text, /scope <code>ingest<\/code>/);
  });

  it('serves Prometheus metrics with the request counter and duration histogram', async () => {
    await call('POST', '/v1/debits', { body: debit });
    const answer = await call('GET', '/metrics', { key: null });
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(answer.text, /# TYPE bursar_http_requests_total counter/);
    assert.match(answer.text, /bursar_http_requests_total\{operation="createDebit",status="201"\} \d+/);
    assert.match(answer.text, /bursar_http_request_duration_seconds_bucket\{le="\+Inf",operation="createDebit"\} \d+/);
    assert.match(answer.text, /nodejs_eventloop_lag_p99_seconds \d/);
    assert.match(answer.text, /process_resident_memory_bytes \d+/);
  });
});

describe('problem documents', () => {
  it('builds the standard members, field errors and facts', () => {
    const problem = toProblem('insufficient_balance', 'Short by 3.', {
      requestId: 'r1',
      facts: { available: '2', shortfall: '3' },
    });
    assert.equal(problem.status, 402);
    assert.deepEqual(JSON.parse(problem.bodyText), {
      type: 'https://bursar.dev/problems/insufficient_balance',
      title: 'Not enough credits available',
      status: 402,
      code: 'insufficient_balance',
      detail: 'Short by 3.',
      request_id: 'r1',
      retryable: true,
      available: '2',
      shortfall: '3',
    });
    const invalid = JSON.parse(
      toProblem('validation_failed', 'Bad.', { requestId: 'r2', errors: [{ field: 'amount', message: 'is required' }] })
        .bodyText,
    );
    assert.deepEqual(invalid.errors, [{ field: 'amount', message: 'is required' }]);
  });

  it('throws on a bigint fact or a fact that would overwrite a standard member', () => {
    assert.throws(() => toProblem('insufficient_balance', 'x', { requestId: 'r', facts: { available: 2n } }), /bigint/);
    assert.throws(
      () => toProblem('insufficient_balance', 'x', { requestId: 'r', facts: { status: 200 } }),
      /overwrite/,
    );
  });
});

describe('validation', () => {
  it('parses timestamps to epoch milliseconds and refuses days that do not exist', () => {
    const base = { customer: 'c', asset: 'credits', amount: '1', category: 'paid' };
    const parsed = parseWith(createGrantBody, { ...base, expires_at: '2024-02-29T12:00:00.5Z' });
    assert.ok(parsed.ok);
    assert.equal(parsed.value.expires_at, Date.UTC(2024, 1, 29, 12, 0, 0, 500));
    assert.equal(parsed.value.priority, 0);
    for (const expires_at of [
      '2025-02-29T00:00:00Z',
      '2025-01-01T24:00:00Z',
      '2025-01-01T00:00:00',
      '2025-01-01',
      1735689600000,
    ]) {
      const refused = parseWith(createGrantBody, { ...base, expires_at });
      assert.ok(!refused.ok, String(expires_at));
      assert.equal(refused.errors[0]?.field, 'expires_at');
    }
  });
});

describe('HEAD, OPTIONS, CORS and inject', () => {
  it('answers HEAD on a GET route with its headers and no body', async () => {
    const answer = await call('HEAD', '/v1/customers/org_1');
    assert.equal(answer.status, 200);
    assert.equal(answer.text, '');
    assert.equal(answer.headers.get('content-type'), 'application/json');
  });

  it('answers OPTIONS with 204 and the methods the path answers, and sends no CORS headers when none are configured', async () => {
    const answer = await call('OPTIONS', '/v1/debits', { headers: { origin: 'https://app.example.com' } });
    assert.equal(answer.status, 204);
    assert.equal(answer.headers.get('allow'), 'POST');
    assert.equal(answer.headers.get('access-control-allow-origin'), null);
    const debited = await call('POST', '/v1/debits', { body: debit, headers: { origin: 'https://app.example.com' } });
    assert.equal(debited.status, 201);
    assert.equal(debited.headers.get('access-control-allow-origin'), null);
  });

  it('sends no CORS headers outside /v1/portal/, even to a configured origin (the portal test covers its routes)', async () => {
    const withCors = createHttpServer({
      routes,
      authenticate,
      logger,
      metrics: createMetricsRegistry(),
      isReady: () => true,
      openApiDocument: buildOpenApiDocument(routes, { version: 'test' }),
      corsOrigins: ['https://app.example.com'],
    });
    const preflight = await withCors.app.inject({
      method: 'OPTIONS',
      url: '/v1/debits',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, idempotency-key',
      },
    });
    // Answered by the route, as without CORS: 204 and the methods the path answers.
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers.allow, 'POST');
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    assert.equal(preflight.headers['access-control-allow-headers'], undefined);
    const debited = await withCors.app.inject({
      method: 'POST',
      url: '/v1/debits',
      headers: {
        origin: 'https://app.example.com',
        authorization: 'Bearer admin-key',
        'content-type': 'application/json',
      },
      payload: JSON.stringify(debit),
    });
    assert.equal(debited.statusCode, 201, debited.body);
    assert.equal(debited.headers['access-control-allow-origin'], undefined);
    assert.equal(debited.headers['access-control-expose-headers'], undefined);
    await withCors.app.close();
  });

  it('answers 404 and 405 whatever body came with them, and keeps the connection after a refused body', async () => {
    const unknown = await server.app.inject({
      method: 'POST',
      url: '/v1/nope',
      payload: 'x=1',
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(unknown.statusCode, 404);
    const wrongMethod = await server.app.inject({
      method: 'PUT',
      url: '/v1/debits',
      payload: '{nope',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(wrongMethod.statusCode, 405);
    const refused = await server.app.inject({
      method: 'POST',
      url: '/v1/debits',
      payload: 'customer=a',
      headers: { 'content-type': 'text/plain', authorization: 'Bearer admin-key' },
    });
    assert.equal(refused.statusCode, 415);
    assert.equal(refused.headers.connection, undefined);
    const malformed = await server.app.inject({
      method: 'POST',
      url: '/v1/debits',
      payload: '{"customer":',
      headers: { 'content-type': 'application/json', authorization: 'Bearer admin-key' },
    });
    assert.equal(malformed.statusCode, 400);
    assert.equal(malformed.headers.connection, undefined);
  });

  it('answers an injected request exactly as one over a socket, refusals included', async () => {
    const injected = await server.app.inject({
      method: 'GET',
      url: '/v1/customers/org%3A42',
      headers: { authorization: 'Bearer read-key' },
    });
    assert.equal(injected.statusCode, 200);
    assert.deepEqual(JSON.parse(injected.body).params, { customer: 'org:42' });
    const refused = await server.app.inject({
      method: 'POST',
      url: '/v1/debits',
      payload: '{}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(refused.statusCode, 401);
    assert.equal(JSON.parse(refused.body).code, 'unauthenticated');
  });
});

describe('log redaction', () => {
  it('replaces secrets wherever a line carries them', () => {
    const lines: Record<string, unknown>[] = [];
    const redacting = createLogger({
      level: 'info',
      stream: { write: (text: string) => lines.push(JSON.parse(text)) },
    });
    redacting.info('endpoint created', {
      secret: 'whsec_abc',
      endpoint: { url: 'https://x.example', secret: 'whsec_def' },
      authorization: 'Bearer bk_live_x',
    });
    redacting.child({ request_id: 'r1' }).warn('key', { api_key: 'bk_live_y', headers: { authorization: 'Bearer z' } });
    assert.equal(lines.length, 2);
    assert.doesNotMatch(JSON.stringify(lines), /whsec_|bk_live_|Bearer/);
    assert.equal(lines[0]?.secret, '[redacted]');
    assert.equal(lines[1]?.request_id, 'r1');
    assert.equal(lines[1]?.level, 'warn');
    assert.match(String(lines[1]?.time), /^\d{4}-\d{2}-\d{2}T/);
  });
});

describe('shutdown', () => {
  it('answers the request in flight, turns a request arriving after close() away with 503 and Connection: close', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrived = () => {};
    const inFlight = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const slowRoutes: Route[] = [
      {
        method: 'GET',
        path: '/v1/slow',
        operationId: 'slow',
        summary: 'Slow.',
        tag: 'Test',
        scope: 'read',
        responses: { 200: echoResponse },
        async handle(request) {
          arrived();
          await gate;
          return echo(200)(request);
        },
      },
    ];
    const closing = createHttpServer({
      routes: slowRoutes,
      authenticate,
      logger,
      metrics: createMetricsRegistry(),
      isReady: () => true,
      openApiDocument: buildOpenApiDocument(slowRoutes, { version: 'test' }),
    });
    const { port } = await closing.listen({ port: 0, host: '127.0.0.1' });
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const get = 'GET /v1/slow HTTP/1.1\r\nhost: test\r\nauthorization: Bearer read-key\r\n\r\n';
    socket.write(get);
    await inFlight;
    const closed = closing.close(5000);
    // A second request on the same kept-alive connection, sent after the close began.
    socket.write(get);
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    assert.equal(await closed, true, 'nothing had to be cut');
    await ended;
    const answers = received.split(/(?=HTTP\/1\.1 )/);
    assert.equal(answers.length, 2, received);
    assert.match(answers[0] ?? '', /^HTTP\/1\.1 200 /);
    assert.match(answers[1] ?? '', /^HTTP\/1\.1 503 /);
    assert.match(answers[1] ?? '', /\r\nconnection: close\r\n/i);
    assert.match(answers[1] ?? '', /"code":"unavailable"/);
  });
});
