/**
 * Input the server refuses before anything is queued or written: text that is not well-formed
 * Unicode or holds a control character, JSON numbers that do not convert exactly, percentages
 * and tiers compared exactly, and one notation for field paths.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiResponse, TestServer } from '../../../../test/harness.ts';
import { adminKey, seedCustomer, startTestServer } from '../../../../test/harness.ts';
import { tables } from '../../storage/schema.ts';

let server: TestServer;

async function ok(reply: Promise<ApiResponse>, status = 201): Promise<ApiResponse> {
  const response = await reply;
  assert.equal(response.status, status, response.text);
  return response;
}

/** Rows per table: a refused request must leave every one of them as it was. */
async function rowCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of Object.keys(tables)) {
    const rows = await server.server.database.reader.all(`SELECT COUNT(*) AS n FROM ${table}`);
    counts[table] = Number(rows[0]?.n);
  }
  return counts;
}

async function balance(): Promise<string> {
  const reply = await ok(server.call('GET', '/v1/customers/alice/balances?asset=credits'), 200);
  return reply.body.balances[0]?.balance ?? '0';
}

function assertRefused(reply: ApiResponse, field: string): void {
  assert.equal(reply.status, 400, reply.text);
  assert.match(reply.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(reply.body.code, 'validation_failed', reply.text);
  const fields = (reply.body.errors as { field: string }[]).map((error) => error.field);
  assert.ok(fields.includes(field), `${field} not in ${JSON.stringify(fields)}`);
}

/** Sends a request, expects a 400 naming `field`, and checks that no row and no balance changed. */
async function expectRefusedUnchanged(send: () => Promise<ApiResponse>, field: string): Promise<void> {
  const countsBefore = await rowCounts();
  const balanceBefore = await balance();
  assertRefused(await send(), field);
  assert.deepEqual(await rowCounts(), countsBefore, 'a refused request changed rows');
  assert.equal(await balance(), balanceBefore);
}

const at = (ms: number) => new Date(ms).toISOString();

/**
 * Each bad text, and its form in a URL: a lone surrogate has no UTF-8 form, so the URL carries the
 * bytes a careless encoder writes for it (CESU-8), which are not UTF-8 either.
 */
const badTexts: readonly { readonly kind: string; readonly text: string; readonly inUrl: string }[] = [
  { kind: 'a lone high surrogate', text: 'refund \ud800', inUrl: 'refund%20%ED%A0%80' },
  { kind: 'a lone low surrogate', text: '\udc00 refund', inUrl: '%ED%B0%80%20refund' },
  { kind: 'a NUL', text: 'refund\u0000', inUrl: 'refund%00' },
  { kind: 'a control character', text: 'refund\u001b[31m', inUrl: 'refund%1B%5B31m' },
];

before(async () => {
  server = await startTestServer();
  await seedCustomer(server, 'alice');
  await ok(server.call('POST', '/v1/features', { key: 'chat', quantities: { tokens: { property: 'tokens' } } }));
  await ok(server.call('POST', '/v1/price-books', { key: 'standard', default: true }));
  await ok(
    server.call('POST', '/v1/price-books/standard/versions', {
      prices: [
        {
          feature: 'chat',
          options: [
            { asset: 'credits', components: [{ quantity: 'tokens', rates: [{ per_unit: { unit_price: '1' } }] }] },
          ],
        },
      ],
    }),
  );
  await ok(server.call('POST', '/v1/grants', { customer: 'alice', asset: 'credits', amount: '100', category: 'paid' }));
});

after(async () => {
  await server.close();
});

describe('text that is not well-formed Unicode or holds a control character', () => {
  const grant = { customer: 'alice', asset: 'credits', amount: '5', category: 'paid' };
  const cases: readonly {
    name: string;
    field: string;
    send: (bad: (typeof badTexts)[number]) => Promise<ApiResponse>;
  }[] = [
    {
      name: 'a grant reason',
      field: 'reason',
      send: ({ text: bad }) => server.call('POST', '/v1/grants', { ...grant, reason: bad }),
    },
    {
      name: 'an adjustment reason',
      field: 'reason',
      send: ({ text: bad }) =>
        server.call('POST', '/v1/adjustments', { customer: 'alice', asset: 'credits', amount: '-1', reason: bad }),
    },
    {
      name: 'a customer name',
      field: 'name',
      send: ({ text: bad }) => server.call('POST', '/v1/customers', { id: 'bob', name: bad }),
    },
    {
      name: 'an API key name',
      field: 'name',
      send: ({ text: bad }) => server.call('POST', '/v1/api-keys', { name: bad, scopes: ['read'] }),
    },
    {
      name: 'a webhook description',
      field: 'description',
      send: ({ text: bad }) =>
        server.call('POST', '/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/hook', description: bad }),
    },
    {
      name: 'a debit description',
      field: 'description',
      send: ({ text: bad }) =>
        server.call('POST', '/v1/debits', { customer: 'alice', asset: 'credits', amount: '1', description: bad }),
    },
    {
      name: 'a metadata value',
      field: 'metadata.note',
      send: ({ text: bad }) => server.call('POST', '/v1/grants', { ...grant, metadata: { note: bad } }),
    },
    {
      name: 'a metadata key',
      field: 'metadata',
      send: ({ text: bad }) => server.call('POST', '/v1/grants', { ...grant, metadata: { [bad]: 'x' } }),
    },
    { name: 'an id', field: 'id', send: ({ text: bad }) => server.call('POST', '/v1/customers', { id: bad }) },
    {
      name: 'an event property',
      field: 'events[0].properties.model',
      send: ({ text: bad }) =>
        server.call('POST', '/v1/events', {
          events: [
            {
              id: 'evt_text',
              customer: 'alice',
              feature: 'chat',
              timestamp: at(server.clock.now()),
              properties: { tokens: 1, model: bad },
            },
          ],
        }),
    },
    {
      name: 'a query parameter',
      field: 'action',
      send: ({ inUrl }) => server.call('GET', `/v1/audit-events?action=${inUrl}`),
    },
    {
      name: 'a path parameter',
      field: 'customer',
      send: ({ inUrl }) => server.call('GET', `/v1/customers/${inUrl}`),
    },
  ];
  for (const { name, field, send } of cases) {
    for (const bad of badTexts) {
      it(`refuses ${bad.kind} in ${name} with 400 at ${field}, changing nothing`, async () => {
        await expectRefusedUnchanged(() => send(bad), field);
      });
    }
  }

  it('refuses a body that is not valid UTF-8, changing nothing', async () => {
    const countsBefore = await rowCounts();
    const prefix = Buffer.from('{"customer":"alice","asset":"credits","amount":"5","category":"paid","reason":"');
    const body = Buffer.concat([prefix, Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const response = await fetch(`${server.url}/v1/grants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body,
    });
    assert.equal(response.status, 400, await response.clone().text());
    assert.equal(((await response.json()) as { code: string }).code, 'malformed_json');
    assert.deepEqual(await rowCounts(), countsBefore);
  });

  it('GET /v1/audit-events?action=%00 is a 400 naming action', async () => {
    assertRefused(await server.call('GET', '/v1/audit-events?action=%00'), 'action');
  });

  it('keeps tabs, newlines and every well-formed character, and the audit chain verifies', async () => {
    const reason = 'line one\n\tline two\r\n😀 é 中文 \u2028 \ufeff';
    const created = await ok(server.call('POST', '/v1/grants', { ...grant, reason, metadata: { note: '😀' } }));
    assert.equal(created.body.reason, reason);
    const verify = await ok(server.call('GET', '/v1/audit-events/verify'), 200);
    assert.equal(verify.body.valid, true, verify.text);
  });
});

describe('JSON numbers are accepted only where they convert exactly', () => {
  const event = (properties: Record<string, unknown>) => ({
    events: [{ id: 'evt_number', customer: 'alice', feature: 'chat', timestamp: at(server.clock.now()), properties }],
  });

  it('refuses an event quantity above 2^53 with 400 naming the property', async () => {
    await expectRefusedUnchanged(
      () =>
        server.call(
          'POST',
          '/v1/events',
          `{"events":[{"id":"evt_big","customer":"alice","feature":"chat","timestamp":"${at(server.clock.now())}","properties":{"tokens":9007199254740993}}]}`,
        ),
      'events[0].properties.tokens',
    );
  });

  it('refuses an integer-valued JSON number beyond ±(2^53−1) anywhere, even in exponent form', async () => {
    await expectRefusedUnchanged(
      () => server.call('POST', '/v1/events', event({ tokens: -1e300 })),
      'events[0].properties.tokens',
    );
    await expectRefusedUnchanged(
      () => server.call('POST', '/v1/debits', '{"customer":"alice","asset":"credits","amount":9007199254740993}'),
      'amount',
    );
    await expectRefusedUnchanged(
      () =>
        server.call(
          'POST',
          '/v1/grants',
          '{"customer":"alice","asset":"credits","amount":"1","category":"paid","priority":1e400}',
        ),
      'priority',
    );
  });

  it('reads 2^53−1 and a fractional quantity exactly, and refuses 2^53+1, in a quote', async () => {
    const quote = (tokens: string) =>
      server.call('POST', '/v1/quotes', `{"feature":"chat","properties":{"tokens":${tokens}}}`);
    assert.equal((await ok(quote('9007199254740991'), 200)).body.quantities.tokens, '9007199254740991');
    assert.equal((await ok(quote('0.1'), 200)).body.quantities.tokens, '0.1');
    assert.equal((await ok(quote('1e-7'), 200)).body.quantities.tokens, '0.0000001');
    assertRefused(await quote('9007199254740993'), 'properties.tokens');
    assertRefused(await quote('1e21'), 'properties.tokens');
  });
});

describe('exact comparisons of decimals', () => {
  it('refuses a rollover percent just above 100', async () => {
    const reply = await server.call('POST', '/v1/plans', {
      id: 'over',
      version: {
        period: { interval: 'month' },
        allowances: [
          {
            asset: 'credits',
            amount: '10',
            rollover: { kind: 'percent', percent: '100.000000000000000001', expires_after: null },
          },
        ],
      },
    });
    assertRefused(reply, 'version.allowances[0].rollover.percent');
    assert.equal((await server.call('GET', '/v1/plans/over')).status, 404);
  });

  it('accepts a rollover percent of exactly 100 written with trailing zeros', async () => {
    await ok(
      server.call('POST', '/v1/plans', {
        id: 'full',
        version: {
          period: { interval: 'month' },
          allowances: [
            {
              asset: 'credits',
              amount: '10',
              rollover: { kind: 'percent', percent: '100.000000000000000000', expires_after: null },
            },
          ],
        },
      }),
    );
  });

  const tiered = (upTos: readonly (string | null)[]) => ({
    prices: [
      {
        feature: 'chat',
        options: [
          {
            asset: 'credits',
            components: [
              {
                quantity: 'tokens',
                rates: [{ graduated: { tiers: upTos.map((upTo) => ({ up_to: upTo, unit_price: '1' })) } }],
              },
            ],
          },
        ],
      },
    ],
  });

  it('accepts long-decimal tiers that rise, though they are equal as doubles', async () => {
    await ok(server.call('POST', '/v1/price-books', { key: 'tiers' }));
    await ok(
      server.call(
        'POST',
        '/v1/price-books/tiers/versions',
        tiered(['0.1', '0.100000000000000001', '9007199254740992', '9007199254740993', null]),
      ),
    );
  });

  it('refuses tiers that fall or repeat, by their exact values', async () => {
    const reply = await server.call(
      'POST',
      '/v1/price-books/tiers/versions',
      tiered(['0.100000000000000001', '0.100000000000000001', null]),
    );
    assert.equal(reply.status, 400, reply.text);
    assert.match(reply.body.errors[0].field, /\.graduated\.tiers$/);
  });

  it('names a tier bound with more decimals than a price may have at its own field', async () => {
    const reply = await server.call(
      'POST',
      '/v1/price-books/tiers/versions',
      tiered(['0.1000000000000000000001', null]),
    );
    assertRefused(reply, 'prices[0].options[0].components[0].rates[0].graduated.tiers[0].up_to');
  });
});

describe('field paths', () => {
  it('names an array item with brackets: events[0].timestamp', async () => {
    const reply = await server.call('POST', '/v1/events', {
      events: [{ id: 'evt_path', customer: 'alice', feature: 'chat', timestamp: 'yesterday' }],
    });
    assertRefused(reply, 'events[0].timestamp');
  });

  it('names a price-book field with brackets too', async () => {
    const reply = await server.call('POST', '/v1/price-books/standard/versions', {
      prices: [
        {
          feature: 'chat',
          options: [
            { asset: 'credits', components: [{ quantity: 'nope', rates: [{ per_unit: { unit_price: '1' } }] }] },
          ],
        },
      ],
    });
    assertRefused(reply, 'prices[0].options[0].components[0].quantity');
  });
});
