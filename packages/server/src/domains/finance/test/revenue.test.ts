/**
 * Revenue recognition on a real server and both backends: the worked example of docs/finance.md to
 * the cent, a refund and a reversal, breakage under both policies, the journal, and a property test
 * over random histories for the identity and the tie-out to the ledger.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { TestServer } from '../../../../test/harness.ts';
import { seedCustomer, startTestServer, testSeed } from '../../../../test/harness.ts';

const day = 86_400_000;

async function ok(reply: Promise<{ status: number; body: unknown; text: string }>, status = 201) {
  const answered = await reply;
  assert.equal(answered.status, status, answered.text);
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are read field by field
  return answered.body as any;
}

async function seedCurrency(server: TestServer): Promise<void> {
  const reply = await server.call('POST', '/v1/assets', { code: 'usd', scale: 2 });
  assert.ok(reply.status === 201 || reply.body?.code === 'asset_exists', reply.text);
}

function iso(at: number): string {
  return new Date(at).toISOString();
}

function report(server: TestServer, query: Record<string, string>) {
  return ok(server.call('GET', `/v1/finance/revenue?${new URLSearchParams(query)}`), 200);
}

describe('revenue recognition', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await seedCurrency(server);
  });
  after(() => server.close());

  test('the worked example: $10,000 for 8,500 credits, half consumed in month 1, a fifth expiring unused', async () => {
    await seedCustomer(server, 'acme');
    const start = server.clock.now();
    const expiresAt = Date.UTC(2026, 2, 15); // 15 March
    const grant = await ok(
      server.call('POST', '/v1/grants', {
        customer: 'acme',
        asset: 'credits',
        amount: '8500',
        category: 'paid',
        expires_at: iso(expiresAt),
        cost_basis: { currency: 'usd', total: '10000' },
      }),
    );
    server.clock.set(start + 10 * day);
    await ok(server.call('POST', '/v1/debits', { customer: 'acme', asset: 'credits', amount: '4250' }));
    server.clock.set(Date.UTC(2026, 1, 10)); // February
    await ok(server.call('POST', '/v1/debits', { customer: 'acme', asset: 'credits', amount: '2549' }));
    await ok(server.call('POST', '/v1/debits', { customer: 'acme', asset: 'credits', amount: '1' }));
    server.clock.set(expiresAt + 1000);
    assert.equal(await server.server.sweep(), 1);

    const body = await report(server, { from: '2026-01-01', to: '2026-04-01', customer: 'acme' });
    assert.deepEqual(
      body.rows.map((row: Record<string, string>) => [
        row.period,
        row.opening,
        row.additions,
        row.recognized,
        row.breakage,
        row.refunds,
        row.closing,
      ]),
      [
        ['2026-01', '0', '10000', '5000', '0', '0', '5000'],
        ['2026-02', '5000', '0', '3000', '0', '0', '2000'],
        ['2026-03', '2000', '0', '0', '2000', '0', '0'],
      ],
    );
    assert.deepEqual(body.totals, [
      {
        currency: 'usd',
        opening: '0',
        additions: '10000',
        recognized: '8000',
        breakage: '2000',
        refunds: '0',
        closing: '0',
      },
    ]);

    // The journal: one line per movement, the 2,549 credits at $2,998.82 and the last one at $1.18.
    const journal = await ok(
      server.call(
        'GET',
        '/v1/finance/journal?from=2026-01-01&to=2026-04-01&customer=acme&format=csv&account_revenue=4000%20Revenue',
      ),
      200,
    );
    assert.deepEqual(
      journal.lines.map((line: Record<string, string>) => [line.date, line.kind, line.debit, line.credit, line.amount]),
      [
        ['2026-01-01', 'addition', 'Cash', 'Deferred revenue', '10000'],
        ['2026-01-11', 'recognized', 'Deferred revenue', '4000 Revenue', '5000'],
        ['2026-02-10', 'recognized', 'Deferred revenue', '4000 Revenue', '2998.82'],
        ['2026-02-10', 'recognized', 'Deferred revenue', '4000 Revenue', '1.18'],
        ['2026-03-15', 'breakage', 'Deferred revenue', 'Breakage revenue', '2000'],
      ],
    );
    assert.equal(journal.lines[0].grant, grant.id);
    const csv = String(journal.csv).trim().split('\n');
    assert.equal(csv[0], 'date,transaction,grant,customer,asset,currency,kind,debit,credit,amount');
    assert.equal(csv.length, 6);
    assert.match(csv[2] ?? '', /,recognized,Deferred revenue,4000 Revenue,5000$/);
  });

  test('a refund of the unspent part and a reversal of a debit', async () => {
    await seedCustomer(server, 'refunded');
    server.clock.set(Date.UTC(2026, 4, 1)); // May
    const grant = await ok(
      server.call('POST', '/v1/grants', {
        customer: 'refunded',
        asset: 'credits',
        amount: '300',
        category: 'paid',
        cost_basis: { currency: 'usd', total: '100' },
      }),
    );
    const first = await ok(
      server.call('POST', '/v1/debits', { customer: 'refunded', asset: 'credits', amount: '100' }),
    );
    await ok(server.call('POST', '/v1/debits', { customer: 'refunded', asset: 'credits', amount: '50' }));
    server.clock.set(Date.UTC(2026, 5, 3)); // June: the first debit is reversed, then the rest refunded
    await ok(
      server.call('POST', `/v1/transactions/${first.transaction.id}/reverse`, { amount: '40', reason: 'bad output' }),
    );
    await ok(server.call('POST', `/v1/grants/${grant.id}/void`, { reason: 'refund' }), 200);

    const body = await report(server, { from: '2026-05-01', to: '2026-07-01', customer: 'refunded' });
    // 100 credits = $33.33, then 150 credits = $50.00 (so the 50 are $16.67); 40 back = −$13.33
    // (110 out = $36.67), and the 190 left are refunded at $63.33: 36.67 + 63.33 = 100.
    assert.deepEqual(
      body.rows.map((row: Record<string, string>) => [
        row.period,
        row.opening,
        row.recognized,
        row.refunds,
        row.closing,
      ]),
      [
        ['2026-05', '0', '50', '0', '50'],
        ['2026-06', '50', '-13.33', '63.33', '0'],
      ],
    );
    // In the journal the reversal swaps the accounts, so every amount is positive.
    const journal = await ok(
      server.call('GET', '/v1/finance/journal?from=2026-06-01&to=2026-07-01&customer=refunded'),
      200,
    );
    assert.deepEqual(
      journal.lines.map((line: Record<string, string>) => [line.kind, line.debit, line.credit, line.amount]),
      [
        ['recognized', 'Credit revenue', 'Deferred revenue', '13.33'],
        ['refund', 'Deferred revenue', 'Refunds payable', '63.33'],
      ],
    );
    assert.equal(journal.csv, null);
  });

  test('breakage spread over the expected consumption', async () => {
    await seedCustomer(server, 'spread');
    server.clock.set(Date.UTC(2026, 6, 1)); // July
    await ok(
      server.call('POST', '/v1/grants', {
        customer: 'spread',
        asset: 'credits',
        amount: '8500',
        category: 'paid',
        expires_at: iso(Date.UTC(2026, 8, 15)),
        cost_basis: { currency: 'usd', total: '10000' },
      }),
    );
    await ok(server.call('POST', '/v1/debits', { customer: 'spread', asset: 'credits', amount: '4250' }));
    server.clock.set(Date.UTC(2026, 7, 10));
    await ok(server.call('POST', '/v1/debits', { customer: 'spread', asset: 'credits', amount: '2550' }));
    server.clock.set(Date.UTC(2026, 8, 15) + 1000);
    await server.server.sweep();
    const query = { from: '2026-07-01', to: '2026-10-01', customer: 'spread' };
    const spread = await report(server, { ...query, breakage: 'spread', expected_breakage: '0.2' });
    // Expected breakage is a fifth: $1,250 with the first half, $750 more with the next 30%, none left at expiry.
    assert.deepEqual(
      spread.rows.map((row: Record<string, string>) => [row.period, row.recognized, row.breakage, row.closing]),
      [
        ['2026-07', '5000', '1250', '3750'],
        ['2026-08', '3000', '750', '0'],
      ],
    );
    assert.deepEqual(spread.breakage, { policy: 'spread', expected_breakage: '0.2' });
    const atExpiry = await report(server, query);
    assert.deepEqual(
      atExpiry.rows.map((row: Record<string, string>) => [row.period, row.recognized, row.breakage, row.closing]),
      [
        ['2026-07', '5000', '0', '5000'],
        ['2026-08', '3000', '0', '2000'],
        ['2026-09', '0', '2000', '0'],
      ],
    );
  });

  test('free credit is promotional cost, never revenue; bad queries name their field', async () => {
    await seedCustomer(server, 'freebie');
    server.clock.set(Date.UTC(2026, 10, 1));
    await ok(
      server.call('POST', '/v1/grants', {
        customer: 'freebie',
        asset: 'credits',
        amount: '40',
        category: 'promotional',
      }),
    );
    await ok(server.call('POST', '/v1/debits', { customer: 'freebie', asset: 'credits', amount: '15' }));
    const body = await report(server, { from: '2026-11-01', to: '2026-12-01', customer: 'freebie' });
    assert.deepEqual(body.rows, []);
    assert.deepEqual(body.promotional, [{ period: '2026-11', customer: 'freebie', asset: 'credits', consumed: '15' }]);

    for (const [query, field] of [
      ['from=2026-11-01&to=2026-10-01', 'to'],
      ['from=2026-02-30&to=2026-10-01', 'from'],
      ['from=2026-01-01&to=2026-02-01&time_zone=Mars/Olympus', 'time_zone'],
      ['from=2026-01-01&to=2026-02-01&breakage=spread', 'expected_breakage'],
      ['from=2026-01-01&to=2026-02-01&breakage=spread&expected_breakage=1', 'expected_breakage'],
    ] as const) {
      const reply = await server.call('GET', `/v1/finance/revenue?${query}`);
      assert.equal(reply.status, 400, query);
      assert.equal(reply.body.errors[0].field, field, query);
    }
  });
});

/** One step of a random history, applied through the API. */
type Step =
  | { kind: 'grant'; amount: number; cents: number; paid: boolean; expiresInDays: number | null }
  | { kind: 'debit'; amount: number }
  | { kind: 'reverse'; pick: number; amount: number }
  | { kind: 'void'; pick: number }
  | { kind: 'wait'; hours: number };

const grantArbitrary: fc.Arbitrary<Step> = fc.record({
  kind: fc.constant('grant' as const),
  amount: fc.integer({ min: 1, max: 9000 }),
  cents: fc.integer({ min: 0, max: 2_000_000 }),
  paid: fc.boolean(),
  expiresInDays: fc.option(fc.integer({ min: 1, max: 60 }), { freq: 2, nil: null }),
});

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  grantArbitrary,
  fc.record({ kind: fc.constant('debit' as const), amount: fc.integer({ min: 1, max: 3000 }) }),
  fc.record({ kind: fc.constant('reverse' as const), pick: fc.nat(), amount: fc.integer({ min: 1, max: 500 }) }),
  fc.record({ kind: fc.constant('void' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('wait' as const), hours: fc.integer({ min: 1, max: 24 * 20 }) }),
);

describe('revenue identity and tie-out (property)', () => {
  let server: TestServer;
  let run = 0;
  before(async () => {
    server = await startTestServer();
    await seedCurrency(server);
  });
  after(() => server.close());

  test('opening + additions − recognized − breakage − refunds = closing, and closing ties out to the ledger', async () => {
    const seed = testSeed('revenue identity');
    await fc.assert(
      fc.asyncProperty(
        fc.array(grantArbitrary, { minLength: 1, maxLength: 3 }),
        fc.array(stepArbitrary, { minLength: 1, maxLength: 14 }),
        async (opening, steps) => {
          run += 1;
          const customer = `p${run}`;
          await seedCustomer(server, customer);
          const startedAt = server.clock.now();
          const grants: string[] = [];
          const debits: string[] = [];
          for (const step of [...opening, ...steps]) await applyStep(server, customer, step, grants, debits);
          await server.server.sweep(); // book the expiries that are due, so the ledger is final
          const from = new Date(startedAt - day).toISOString().slice(0, 10);
          const to = new Date(server.clock.now() + 2 * day).toISOString().slice(0, 10);
          const monthly = await report(server, { from, to, customer });
          const daily = await report(server, { from, to, customer, granularity: 'day', time_zone: 'America/New_York' });
          for (const body of [monthly, daily]) checkIdentity(body.rows);
          const expected = await deferredPerLedger(server, customer);
          for (const body of [monthly, daily]) {
            const closing = body.totals.find((total: { currency: string }) => total.currency === 'usd')?.closing ?? '0';
            assert.equal(
              closing,
              expected.deferred,
              'closing deferred is the value of the paid credit left in the ledger',
            );
            const additions =
              body.totals.find((total: { currency: string }) => total.currency === 'usd')?.additions ?? '0';
            assert.equal(additions, expected.issued, 'additions are the cost bases of the paid grants');
          }
        },
      ),
      { seed, numRuns: 12 },
    );
  });
});

async function applyStep(server: TestServer, customer: string, step: Step, grants: string[], debits: string[]) {
  switch (step.kind) {
    case 'grant': {
      const reply = await server.call('POST', '/v1/grants', {
        customer,
        asset: 'credits',
        amount: String(step.amount),
        category: step.paid ? 'paid' : 'promotional',
        ...(step.expiresInDays === null ? {} : { expires_at: iso(server.clock.now() + step.expiresInDays * day) }),
        ...(step.paid ? { cost_basis: { currency: 'usd', total: (step.cents / 100).toFixed(2) } } : {}),
      });
      assert.equal(reply.status, 201, reply.text);
      grants.push(reply.body.id);
      return;
    }
    case 'debit': {
      const reply = await server.call('POST', '/v1/debits', {
        customer,
        asset: 'credits',
        amount: String(step.amount),
      });
      if (reply.status === 201) debits.push(reply.body.transaction.id);
      else assert.equal(reply.body.code, 'insufficient_balance', reply.text);
      return;
    }
    case 'reverse': {
      const id = debits[step.pick % Math.max(debits.length, 1)];
      if (id === undefined) return;
      const reply = await server.call('POST', `/v1/transactions/${id}/reverse`, {
        amount: String(step.amount),
        reason: 'property test',
      });
      assert.ok(reply.status === 201 || reply.status === 409 || reply.status === 422, reply.text);
      return;
    }
    case 'void': {
      const id = grants[step.pick % Math.max(grants.length, 1)];
      if (id === undefined) return;
      const reply = await server.call('POST', `/v1/grants/${id}/void`, { reason: 'property test' });
      assert.ok(reply.status === 200 || reply.status === 409 || reply.status === 422, reply.text);
      return;
    }
    case 'wait':
      server.clock.advance(step.hours * 3_600_000);
      return;
  }
}

function checkIdentity(rows: readonly Record<string, string>[]): void {
  const cents = (text: string | undefined) => BigInt(Math.round(Number(text ?? '0') * 100));
  let previousClosing: bigint | null = null;
  for (const row of rows) {
    const moved =
      cents(row.opening) + cents(row.additions) - cents(row.recognized) - cents(row.breakage) - cents(row.refunds);
    assert.equal(moved, cents(row.closing), `identity in ${row.period}`);
    if (previousClosing !== null && cents(row.opening) !== previousClosing) {
      assert.equal(cents(row.opening), 0n, 'a period is left out only when nothing was deferred');
      assert.equal(previousClosing, 0n, 'a period is left out only when nothing was deferred');
    }
    previousClosing = cents(row.closing);
  }
}

/**
 * The ledger's side, computed apart from the report: each paid grant's cost basis, and the value of
 * the credit it still holds (its remaining, by the grants API) at value × (1 − out / amount).
 */
async function deferredPerLedger(server: TestServer, customer: string): Promise<{ deferred: string; issued: string }> {
  let deferred = 0n;
  let issued = 0n;
  let cursor: string | null = null;
  do {
    const page = await ok(
      server.call('GET', `/v1/grants?customer=${customer}&limit=200${cursor === null ? '' : `&cursor=${cursor}`}`),
      200,
    );
    for (const grant of page.data) {
      if (grant.cost_basis === null) continue;
      const value = BigInt(Math.round(Number(grant.cost_basis.total) * 100));
      const amount = BigInt(grant.amount);
      const out = amount - BigInt(grant.remaining);
      // value × out / amount rounded half-even, in cents.
      const twice = 2n * value * out;
      let valueOut = twice / (2n * amount);
      const remainder = value * out - valueOut * amount;
      if (2n * remainder > amount || (2n * remainder === amount && valueOut % 2n === 1n)) valueOut += 1n;
      issued += value;
      deferred += value - valueOut;
    }
    cursor = page.next_cursor;
  } while (cursor !== null);
  const text = (cents: bigint) => {
    const whole = cents / 100n;
    const fraction = (cents % 100n).toString().padStart(2, '0').replace(/0+$/, '');
    return fraction === '' ? whole.toString() : `${whole}.${fraction}`;
  };
  return { deferred: text(deferred), issued: text(issued) };
}
