/**
 * The customer portal end to end (issue 11, server side), on SQLite and PostgreSQL: minting
 * sessions (TTL default and bounds), the one-time code (single use, even raced), what a portal
 * session may and may not reach (every portal route against another customer's data; no, expired,
 * forged and foreign sessions; API keys on portal routes and portal tokens elsewhere), CSRF in
 * cookie mode, the operator's auto-recharge limits, top-up without a provider, CORS on portal
 * routes only, and the live balance stream (a debit here, one by a second server in this process and
 * one by another `bursar serve` process on the same database, heartbeats, disconnects, and a close
 * that does not wait for open streams).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort, kill, spawnServer, waitHealthy } from '../../../../test/child-server.ts';
import type { ApiResponse, TestServer } from '../../../../test/harness.ts';
import { adminKey, callApi, seedCustomer, startTestServer, testConfig } from '../../../../test/harness.ts';
import { startServer } from '../../../app.ts';
import { createLogger } from '../../../platform/http/logger.ts';

let server: TestServer;

async function ok(reply: Promise<ApiResponse>, status = 200): Promise<ApiResponse> {
  const answer = await reply;
  assert.equal(answer.status, status, answer.text);
  return answer;
}

interface MintedSession {
  readonly id: string;
  readonly url: string;
  readonly token: string;
  readonly code: string;
  readonly expires_at: string;
}

async function mintSession(customer: string, extra: Record<string, unknown> = {}): Promise<MintedSession> {
  const created = await ok(
    server.call('POST', '/v1/portal_sessions', { customer, return_url: 'https://app.example.com/billing', ...extra }),
    201,
  );
  const url = String(created.body.url);
  return { ...created.body, code: url.slice(url.lastIndexOf('/') + 1) };
}

/** A portal route called over the socket with a bearer token, the cookie, or neither. */
async function portalCall(
  method: string,
  path: string,
  credential: { bearer?: string; cookie?: string; csrf?: string; headers?: Record<string, string> },
  body?: unknown,
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...credential.headers };
  if (credential.bearer !== undefined) headers.authorization = `Bearer ${credential.bearer}`;
  if (credential.cookie !== undefined) headers.cookie = credential.cookie;
  if (credential.csrf !== undefined) headers['x-csrf-token'] = credential.csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    parsed = null;
  }
  return { status: response.status, body: parsed, text, headers: response.headers };
}

/** Opens the one-time URL and returns the cookie pair it set (`bursar_portal=…`) and the raw header. */
async function exchange(code: string): Promise<{ status: number; cookie: string | null; setCookie: string | null }> {
  const response = await fetch(`${server.url}/portal/session/${code}`, { redirect: 'manual' });
  await response.text();
  const setCookie = response.headers.get('set-cookie');
  return { status: response.status, cookie: setCookie?.split(';', 1)[0] ?? null, setCookie };
}

before(async () => {
  server = await startTestServer();
  for (const customer of ['alice', 'bob']) {
    await seedCustomer(server, customer);
    await ok(server.call('POST', '/v1/grants', { customer, asset: 'credits', amount: '100', category: 'paid' }), 201);
    await ok(server.call('POST', '/v1/debits', { customer, asset: 'credits', amount: '7' }), 201);
    await ok(server.call('POST', '/v1/holds', { customer, asset: 'credits', amount: '5' }), 201);
  }
  await ok(server.call('POST', '/v1/assets', { code: 'usd', scale: 2 }), 201);
});

after(async () => {
  await server.close();
});

describe('createPortalSession', () => {
  it('mints a one-time URL and a bearer token for 15 minutes by default', async () => {
    const created = await callApi(
      server.url,
      'POST',
      '/v1/portal_sessions',
      { customer: 'alice', return_url: 'https://app.example.com/billing' },
      { key: adminKey },
    );
    const session = created.body;
    assert.match(session.id, /^ps_/);
    assert.match(session.token, /^bps_/);
    assert.match(session.url, /^http:\/\/127\.0\.0\.1:\d+\/portal\/session\/bpc_/);
    assert.equal(Date.parse(session.expires_at) - server.clock.now(), 900_000);
  });

  it('takes a TTL from 60 s to 1 h and refuses others, naming ttl_seconds; return_url must be absolute http(s)', async () => {
    const hour = await mintSession('alice', { ttl_seconds: 3600 });
    assert.equal(Date.parse(hour.expires_at) - server.clock.now(), 3_600_000);
    for (const ttl of [59, 3601]) {
      const refused = await server.call('POST', '/v1/portal_sessions', {
        customer: 'alice',
        return_url: 'https://app.example.com',
        ttl_seconds: ttl,
      });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.errors[0].field, 'ttl_seconds');
    }
    for (const returnUrl of ['/billing', 'javascript:alert(1)', 'ftp://example.com']) {
      const refused = await server.call('POST', '/v1/portal_sessions', { customer: 'alice', return_url: returnUrl });
      assert.equal(refused.status, 400, returnUrl);
      assert.equal(refused.body.errors[0].field, 'return_url');
    }
  });

  it('answers 404 for an unknown customer and needs the write scope', async () => {
    const unknown = await server.call('POST', '/v1/portal_sessions', {
      customer: 'nobody',
      return_url: 'https://app.example.com',
    });
    assert.equal(unknown.body.code, 'customer_not_found');
    const readKey = await ok(server.call('POST', '/v1/api-keys', { name: 'reader', scopes: ['read'] }), 201);
    const refused = await server.call(
      'POST',
      '/v1/portal_sessions',
      { customer: 'alice', return_url: 'https://app.example.com' },
      { key: readKey.body.key },
    );
    assert.equal(refused.body.code, 'insufficient_scope');
  });

  it('uses BURSAR_PUBLIC_URL for the link when set', async () => {
    const other = await startTestServer({ publicUrl: 'https://billing.example.com' });
    try {
      await seedCustomer(other, 'carol');
      const created = await ok(
        other.call('POST', '/v1/portal_sessions', { customer: 'carol', return_url: 'https://app.example.com' }),
        201,
      );
      assert.match(created.body.url, /^https:\/\/billing\.example\.com\/portal\/session\/bpc_/);
    } finally {
      await other.close();
    }
  });
});

describe('the one-time link', () => {
  it('sets the HttpOnly, SameSite=Strict cookie for the remaining life and redirects to /portal/, once', async () => {
    const session = await mintSession('alice');
    const response = await fetch(`${server.url}/portal/session/${session.code}`, { redirect: 'manual' });
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), '/portal/');
    const setCookie = response.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^bursar_portal=bps_[^;]+; Max-Age=900; Path=\/; HttpOnly; SameSite=Strict$/);
    // The cookie's token is its own: not the bearer token the integrator holds.
    assert.ok(!setCookie.includes(session.token));
    const again = await fetch(`${server.url}/portal/session/${session.code}`, { redirect: 'manual' });
    assert.equal(again.status, 410);
    assert.match(again.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await again.text(), /already used or expired/);
  });

  it('answers 404 for an unknown or malformed code and 410 for an expired one', async () => {
    const session = await mintSession('alice');
    const forged = `${session.code.slice(0, -4)}AAAA`;
    assert.equal((await exchange(forged)).status, 404);
    assert.equal((await exchange('nonsense')).status, 404);
    const short = await mintSession('alice', { ttl_seconds: 60 });
    server.clock.advance(61_000);
    assert.equal((await exchange(short.code)).status, 410);
  });

  it('lets exactly one of two concurrent exchanges win', async () => {
    for (let round = 0; round < 5; round += 1) {
      const session = await mintSession('alice');
      const results = await Promise.all([exchange(session.code), exchange(session.code), exchange(session.code)]);
      const statuses = results.map((result) => result.status).sort();
      assert.deepEqual(statuses, [303, 410, 410]);
      assert.equal(results.filter((result) => result.cookie !== null).length, 1);
    }
  });
});

/** Every portal route, as a GET or with a valid body. */
const portalRoutes: readonly { method: string; path: string; body?: unknown }[] = [
  { method: 'GET', path: '/v1/portal/session' },
  { method: 'GET', path: '/v1/portal/balances' },
  { method: 'GET', path: '/v1/portal/grants' },
  { method: 'GET', path: '/v1/portal/holds' },
  { method: 'GET', path: '/v1/portal/usage?from=2025-12-01T00:00:00Z&to=2026-01-02T00:00:00Z' },
  { method: 'GET', path: '/v1/portal/transactions' },
  { method: 'GET', path: '/v1/portal/auto_recharge?asset=credits' },
  {
    method: 'PUT',
    path: '/v1/portal/auto_recharge',
    body: { asset: 'credits', enabled: true, threshold: '10', amount: '50', monthly_cap: '200' },
  },
  { method: 'POST', path: '/v1/portal/top_ups', body: { asset: 'credits', amount: '10' } },
];

describe('what a portal session reaches', () => {
  let alice: MintedSession;
  let bobIds: string[];
  let aliceSubscription: string;
  let bobSubscription: string;

  before(async () => {
    alice = await mintSession('alice');
    // Plans without allowances: the subscriptions add no grants, so the balances below stay as seeded.
    for (const [id, name] of [
      ['starter', 'Starter'],
      ['team', 'Team'],
    ])
      await ok(server.call('POST', '/v1/plans', { id, name, version: { period: { interval: 'month' } } }), 201);
    await ok(server.call('POST', '/v1/plans/starter/versions', { period: { interval: 'month' } }), 201);
    const started = await ok(
      server.call('POST', '/v1/subscriptions', { customer: 'alice', plan: 'starter', version: 2 }),
      201,
    );
    aliceSubscription = started.body.id;
    const ended = await ok(server.call('POST', '/v1/subscriptions', { customer: 'alice', plan: 'team' }), 201);
    await ok(server.call('POST', `/v1/subscriptions/${ended.body.id}/cancel`, { timing: 'immediate' }));
    const bobs = await ok(server.call('POST', '/v1/subscriptions', { customer: 'bob', plan: 'team' }), 201);
    bobSubscription = bobs.body.id;
    const grants = await ok(server.call('GET', '/v1/grants?customer=bob'));
    const transactions = await ok(server.call('GET', '/v1/transactions?customer=bob'));
    bobIds = [
      bobSubscription,
      ...grants.body.data.map((grant: { id: string }) => grant.id),
      ...transactions.body.data.map((transaction: { id: string; hold: string | null }) => transaction.id),
      ...transactions.body.data.flatMap((transaction: { hold?: string | null }) =>
        transaction.hold ? [transaction.hold] : [],
      ),
    ];
    assert.ok(bobIds.length >= 3);
  });

  it("answers each read with the session customer's data and nothing of another customer's", async () => {
    const balances = await ok(portalCall('GET', '/v1/portal/balances', { bearer: alice.token }));
    assert.equal(balances.body.customer, 'alice');
    assert.equal(balances.body.balances[0].balance, '93');
    const grants = await ok(portalCall('GET', '/v1/portal/grants', { bearer: alice.token }));
    assert.ok(grants.body.data.length > 0);
    assert.ok(grants.body.data.every((grant: { customer: string }) => grant.customer === 'alice'));
    const holds = await ok(portalCall('GET', '/v1/portal/holds', { bearer: alice.token }));
    assert.equal(holds.body.data.length, 1);
    assert.equal(holds.body.data[0].customer, 'alice');
    assert.equal(holds.body.data[0].reservations[0].amount, '5');
    const transactions = await ok(portalCall('GET', '/v1/portal/transactions', { bearer: alice.token }));
    assert.ok(transactions.body.data.every((transaction: { customer: string }) => transaction.customer === 'alice'));
    for (const { method, path, body } of portalRoutes) {
      const answer = await portalCall(method, path, { bearer: alice.token }, body);
      assert.ok(!answer.text.includes('"bob"'), `${method} ${path}: ${answer.text}`);
      for (const id of bobIds) assert.ok(!answer.text.includes(id), `${method} ${path} shows ${id}`);
    }
  });

  it("lists the customer's live subscriptions with plan name, version and period, and no one else's", async () => {
    const session = await ok(portalCall('GET', '/v1/portal/session', { bearer: alice.token }));
    const subscription = await ok(server.call('GET', `/v1/subscriptions/${aliceSubscription}`));
    assert.deepEqual(session.body.subscriptions, [
      {
        id: aliceSubscription,
        plan: { id: 'starter', name: 'Starter', version: 2 },
        status: 'active',
        current_period: {
          start: subscription.body.current_period.starts_at,
          end: subscription.body.current_period.ends_at,
        },
      },
    ]);
    assert.ok(!session.text.includes(bobSubscription));
    const bob = await mintSession('bob');
    const bobView = await ok(portalCall('GET', '/v1/portal/session', { bearer: bob.token }));
    assert.deepEqual(
      bobView.body.subscriptions.map((row: { id: string; plan: { id: string } }) => [row.id, row.plan.id]),
      [[bobSubscription, 'team']],
    );
  });

  it("refuses another customer's id in any parameter (nothing in a portal route takes one)", async () => {
    for (const { method, path, body } of portalRoutes) {
      const separator = path.includes('?') ? '&' : '?';
      const answer = await portalCall(method, `${path}${separator}customer=bob`, { bearer: alice.token }, body);
      assert.equal(answer.status, 400, `${method} ${path}`);
      assert.equal(answer.body.errors[0].field, 'customer');
      if (body !== undefined) {
        const smuggled = await portalCall(method, path, { bearer: alice.token }, { ...body, customer: 'bob' });
        assert.equal(smuggled.status, 400, `${method} ${path} body`);
      }
    }
    const grantFilter = await portalCall('GET', `/v1/portal/grants?grant=${bobIds[0]}`, { bearer: alice.token });
    assert.equal(grantFilter.status, 400);
  });

  it('answers 401 with no session, a forged token, or an expired session on every portal route', async () => {
    const short = await mintSession('alice', { ttl_seconds: 60 });
    const [envPart] = alice.token.split('.');
    // Alice's owner part with bob's… no: the owner part of bob's token with alice's secret.
    const bob = await mintSession('bob');
    const forged = `${bob.token.split('.')[0]}.${alice.token.split('.')[1]}`;
    assert.ok(envPart !== undefined);
    for (const { method, path, body } of portalRoutes) {
      for (const credential of [{}, { bearer: forged }, { bearer: 'bps_nope' }]) {
        const answer = await portalCall(method, path, credential, body);
        assert.equal(answer.status, 401, `${method} ${path} ${JSON.stringify(credential)}`);
        assert.equal(answer.body.code, 'unauthenticated');
      }
    }
    assert.equal((await portalCall('GET', '/v1/portal/balances', { bearer: short.token })).status, 200);
    server.clock.advance(60_000);
    for (const { method, path, body } of portalRoutes) {
      const answer = await portalCall(method, path, { bearer: short.token }, body);
      assert.equal(answer.status, 401, `${method} ${path}`);
    }
  });

  it("answers another environment's session with 401, as if it were unknown", async () => {
    const environment = await ok(server.call('POST', '/v1/environments', { name: 'staging' }), 201);
    const otherKey = environment.body.admin_key.key;
    await ok(server.call('POST', '/v1/customers', { id: 'alice' }, { key: otherKey }), 201);
    const created = await ok(
      server.call(
        'POST',
        '/v1/portal_sessions',
        { customer: 'alice', return_url: 'https://app.example.com' },
        { key: otherKey },
      ),
      201,
    );
    const balances = await ok(portalCall('GET', '/v1/portal/balances', { bearer: created.body.token }));
    assert.deepEqual(balances.body.balances, []);
    // The same customer key in another environment: that session sees only its own, empty wallets.
    const grants = await ok(portalCall('GET', '/v1/portal/grants', { bearer: created.body.token }));
    assert.deepEqual(grants.body.data, []);
  });

  it('refuses API keys on portal routes (403 portal_session_required) and portal sessions elsewhere (403 portal_session_not_allowed)', async () => {
    for (const { method, path, body } of portalRoutes) {
      const withKey = await portalCall(method, path, { bearer: adminKey }, body);
      assert.equal(withKey.status, 403, `${method} ${path}`);
      assert.equal(withKey.body.code, 'portal_session_required');
      const withConsoleCookie = await portalCall(method, path, { cookie: 'bursar_console=abc' }, body);
      assert.equal(withConsoleCookie.body.code, 'portal_session_required');
    }
    const { cookie } = await exchange((await mintSession('alice')).code);
    assert.ok(cookie !== null);
    for (const path of [
      '/v1/customers/alice/balances',
      '/v1/customers/bob/balances',
      '/v1/grants',
      '/v1/transactions',
    ]) {
      const withToken = await callApi(server.url, 'GET', path, undefined, { key: alice.token });
      assert.equal(withToken.status, 403, path);
      assert.equal(withToken.body.code, 'portal_session_not_allowed');
      const withCookie = await portalCall('GET', path, { cookie });
      assert.equal(withCookie.body.code, 'portal_session_not_allowed', path);
    }
    const debit = await callApi(
      server.url,
      'POST',
      '/v1/debits',
      { customer: 'alice', asset: 'credits', amount: '1' },
      { key: alice.token },
    );
    assert.equal(debit.body.code, 'portal_session_not_allowed');
    const creatingSession = await callApi(
      server.url,
      'POST',
      '/v1/portal_sessions',
      { customer: 'bob', return_url: 'https://app.example.com' },
      { key: alice.token },
    );
    assert.equal(creatingSession.body.code, 'portal_session_not_allowed');
  });
});

describe('cookie mode and CSRF', () => {
  it('needs x-csrf-token (from getPortalSession) on writes with the cookie, not with the bearer token', async () => {
    await ok(
      server.call('PUT', '/v1/portal_settings', {
        branding: { name: 'Acme', logo_url: 'https://acme.example/logo.png', accent_color: '#3355ff' },
        auto_recharge: {
          editable: true,
          threshold_max: null,
          amount_min: null,
          amount_max: null,
          monthly_cap_max: null,
        },
        top_up: { prices: [] },
      }),
    );
    const session = await mintSession('alice');
    const { cookie } = await exchange(session.code);
    assert.ok(cookie !== null);
    const current = await ok(portalCall('GET', '/v1/portal/session', { cookie }));
    assert.equal(current.body.customer.id, 'alice');
    assert.equal(current.body.return_url, 'https://app.example.com/billing');
    assert.equal(current.body.branding.name, 'Acme');
    assert.equal(typeof current.body.csrf_token, 'string');
    const rule = { asset: 'credits', enabled: true, threshold: '10', amount: '50', monthly_cap: null };
    const without = await portalCall('PUT', '/v1/portal/auto_recharge', { cookie }, rule);
    assert.equal(without.status, 403);
    assert.equal(without.body.code, 'csrf_token_invalid');
    const wrong = await portalCall('PUT', '/v1/portal/auto_recharge', { cookie, csrf: 'x'.repeat(43) }, rule);
    assert.equal(wrong.body.code, 'csrf_token_invalid');
    const withToken = await ok(
      portalCall('PUT', '/v1/portal/auto_recharge', { cookie, csrf: current.body.csrf_token }, rule),
    );
    assert.equal(withToken.body.threshold, '10');
    const bearer = await ok(portalCall('GET', '/v1/portal/session', { bearer: session.token }));
    assert.equal(bearer.body.csrf_token, null);
    await ok(portalCall('PUT', '/v1/portal/auto_recharge', { bearer: session.token }, { ...rule, threshold: '11' }));
  });
});

describe('auto-recharge within the operator limits', () => {
  const settings = (autoRecharge: Record<string, unknown>) => ({
    branding: { name: null, logo_url: null, accent_color: null },
    auto_recharge: {
      editable: true,
      threshold_max: null,
      amount_min: null,
      amount_max: null,
      monthly_cap_max: null,
      ...autoRecharge,
    },
    top_up: { prices: [] },
  });

  it('refuses every change while the operator keeps it read-only', async () => {
    await ok(server.call('PUT', '/v1/portal_settings', settings({ editable: false })));
    const session = await mintSession('bob');
    const refused = await portalCall(
      'PUT',
      '/v1/portal/auto_recharge',
      { bearer: session.token },
      { asset: 'credits', enabled: true, threshold: '10', amount: '50', monthly_cap: null },
    );
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'auto_recharge_locked');
    const limits = await ok(portalCall('GET', '/v1/portal/session', { bearer: session.token }));
    assert.equal(limits.body.auto_recharge_limits.editable, false);
    const rule = await ok(portalCall('GET', '/v1/portal/auto_recharge?asset=credits', { bearer: session.token }));
    assert.equal(rule.body.status, 'not_set');
  });

  it('answers 400 naming each field outside the limits, and stores a choice within them', async () => {
    await ok(
      server.call(
        'PUT',
        '/v1/portal_settings',
        settings({ threshold_max: '20', amount_min: '10', amount_max: '100', monthly_cap_max: '500' }),
      ),
    );
    const session = await mintSession('bob');
    const put = (body: Record<string, unknown>) =>
      portalCall(
        'PUT',
        '/v1/portal/auto_recharge',
        { bearer: session.token },
        {
          asset: 'credits',
          enabled: true,
          threshold: '10',
          amount: '50',
          monthly_cap: '200',
          ...body,
        },
      );
    for (const [body, field] of [
      [{ threshold: '21' }, 'threshold'],
      [{ amount: '9' }, 'amount'],
      [{ amount: '101' }, 'amount'],
      [{ monthly_cap: '501' }, 'monthly_cap'],
      [{ monthly_cap: null }, 'monthly_cap'],
      [{ threshold: '1.5' }, 'threshold'],
    ] as const) {
      const refused = await put(body);
      assert.equal(refused.status, 400, JSON.stringify(body));
      assert.equal(refused.body.errors[0].field, field, JSON.stringify(body));
    }
    const before = await ok(server.call('GET', '/v1/customers/bob/wallets/credits/auto-top-up')).catch(() => null);
    assert.equal(before, null, 'nothing was stored by the refusals');
    const stored = await ok(put({ threshold: '20', amount: '100', monthly_cap: '500' }));
    assert.deepEqual(
      { ...stored.body },
      {
        asset: 'credits',
        enabled: true,
        threshold: '20',
        amount: '100',
        monthly_cap: '500',
        status: 'active',
        spent_this_month: '0',
      },
    );
    const rule = await ok(server.call('GET', '/v1/customers/bob/wallets/credits/auto-top-up'));
    assert.equal(rule.body.threshold, '20');
    const audit = await ok(server.call('GET', '/v1/audit-events?action=wallet.auto_top_up_updated'));
    assert.equal(audit.body.data[0].actor, `portal_session:${session.id}`);
  });
});

describe('top-up', () => {
  it('is unavailable without a payment provider: getPortalSession says so and createPortalTopUp answers 409', async () => {
    const session = await mintSession('alice');
    const current = await ok(portalCall('GET', '/v1/portal/session', { bearer: session.token }));
    assert.equal(current.body.top_up.available, false);
    assert.match(current.body.top_up.reason, /payment provider/);
    const refused = await portalCall(
      'POST',
      '/v1/portal/top_ups',
      { bearer: session.token },
      { asset: 'credits', amount: '10' },
    );
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'top_up_unavailable');
  });
});

describe('portal settings', () => {
  it('starts read-only with no branding and no prices, and needs the admin scope', async () => {
    const fresh = await startTestServer();
    try {
      const settings = await ok(fresh.call('GET', '/v1/portal_settings'));
      assert.deepEqual(settings.body, {
        branding: { name: null, logo_url: null, accent_color: null },
        auto_recharge: {
          editable: false,
          threshold_max: null,
          amount_min: null,
          amount_max: null,
          monthly_cap_max: null,
        },
        top_up: { prices: [] },
      });
      const writer = await ok(fresh.call('POST', '/v1/api-keys', { name: 'w', scopes: ['write'] }), 201);
      const refused = await fresh.call('GET', '/v1/portal_settings', undefined, { key: writer.body.key });
      assert.equal(refused.body.code, 'insufficient_scope');
    } finally {
      await fresh.close();
    }
  });

  it('refuses unknown assets, unordered limits and bad colours, naming the field', async () => {
    const base = {
      branding: { name: null, logo_url: null, accent_color: null },
      auto_recharge: { editable: true, threshold_max: null, amount_min: null, amount_max: null, monthly_cap_max: null },
      top_up: { prices: [] as unknown[] },
    };
    const cases: [Record<string, unknown>, string][] = [
      [{ top_up: { prices: [{ asset: 'gold', currency: 'usd', unit_price: '0.01' }] } }, 'top_up.prices.0.asset'],
      [{ top_up: { prices: [{ asset: 'credits', currency: 'eur', unit_price: '0.01' }] } }, 'top_up.prices.0.currency'],
      [{ auto_recharge: { ...base.auto_recharge, amount_min: '10', amount_max: '5' } }, 'auto_recharge.amount_max'],
      [{ branding: { ...base.branding, accent_color: 'red' } }, 'branding.accent_color'],
    ];
    for (const [change, field] of cases) {
      const refused = await server.call('PUT', '/v1/portal_settings', { ...base, ...change });
      assert.equal(refused.status, 400, field);
      assert.equal(refused.body.errors[0].field, field);
    }
    const priced = await ok(
      server.call('PUT', '/v1/portal_settings', {
        ...base,
        top_up: { prices: [{ asset: 'credits', currency: 'usd', unit_price: '0.0100' }] },
      }),
    );
    assert.deepEqual(priced.body.top_up.prices, [{ asset: 'credits', currency: 'usd', unit_price: '0.01' }]);
  });
});

describe('CORS', () => {
  it('applies BURSAR_CORS_ORIGINS to /v1/portal/ routes only, for bearer tokens', async () => {
    const withCors = await startTestServer({ corsOrigins: ['https://app.example.com'] });
    try {
      await seedCustomer(withCors, 'dana');
      const created = await ok(
        withCors.call('POST', '/v1/portal_sessions', { customer: 'dana', return_url: 'https://app.example.com' }),
        201,
      );
      const preflight = await fetch(`${withCors.url}/v1/portal/auto_recharge`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example.com',
          'access-control-request-method': 'PUT',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example.com');
      assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /PUT/);
      assert.equal(preflight.headers.get('access-control-allow-credentials'), null);
      const balances = await fetch(`${withCors.url}/v1/portal/balances`, {
        headers: { origin: 'https://app.example.com', authorization: `Bearer ${created.body.token}` },
      });
      assert.equal(balances.status, 200);
      assert.equal(balances.headers.get('access-control-allow-origin'), 'https://app.example.com');
      const foreign = await fetch(`${withCors.url}/v1/portal/balances`, {
        headers: { origin: 'https://evil.example.net', authorization: `Bearer ${created.body.token}` },
      });
      assert.equal(foreign.headers.get('access-control-allow-origin'), null);
      // Every other route sends no CORS header, even to a configured origin.
      const api = await fetch(`${withCors.url}/v1/customers/dana/balances`, {
        headers: { origin: 'https://app.example.com', authorization: `Bearer ${adminKey}` },
      });
      assert.equal(api.status, 200);
      assert.equal(api.headers.get('access-control-allow-origin'), null);
      const apiPreflight = await fetch(`${withCors.url}/v1/debits`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
      });
      assert.equal(apiPreflight.status, 204);
      assert.equal(apiPreflight.headers.get('allow'), 'POST');
      assert.equal(apiPreflight.headers.get('access-control-allow-origin'), null);
    } finally {
      await withCors.close();
    }
  });
});

/** Reads server-sent events from a response body; `next()` resolves with the next event or comment. */
function eventReader(response: Response) {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    async next(timeoutMs = 5000): Promise<{ event: string; data: string }> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.startsWith(':')) return { event: 'comment', data: block.slice(1).trim() };
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
          const data = /^data: (.*)$/m.exec(block)?.[1] ?? '';
          return { event, data };
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('no event in time');
        let timer: NodeJS.Timeout | undefined;
        const chunk = await Promise.race([
          reader.read(),
          new Promise<never>((_resolve, reject) => {
            timer = setTimeout(() => reject(new Error('no event in time')), left);
          }),
        ]).finally(() => clearTimeout(timer));
        if (chunk.done) throw new Error('the stream ended');
        buffer += decoder.decode(chunk.value, { stream: true });
      }
    },
    cancel: () => reader.cancel(),
  };
}

async function balanceOf(events: ReturnType<typeof eventReader>, timeoutMs = 5000): Promise<string> {
  for (;;) {
    const next = await events.next(timeoutMs);
    if (next.event === 'balance') return JSON.parse(next.data).balances[0].balance;
  }
}

describe('streamPortalEvents', () => {
  it('sends the balance on connect and within 1 s of a debit made through the API', async () => {
    const session = await mintSession('alice');
    const response = await fetch(`${server.url}/v1/portal/events`, {
      headers: { authorization: `Bearer ${session.token}` },
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = eventReader(response);
    const first = await balanceOf(events);
    const started = Date.now();
    await ok(server.call('POST', '/v1/debits', { customer: 'alice', asset: 'credits', amount: '3' }), 201);
    const second = await balanceOf(events, 1000);
    assert.equal(BigInt(second), BigInt(first) - 3n);
    assert.ok(Date.now() - started < 1000);
    // Another customer's debit sends nothing to this stream.
    await ok(server.call('POST', '/v1/debits', { customer: 'bob', asset: 'credits', amount: '1' }), 201);
    await assert.rejects(events.next(600), /no event in time/);
    const open = async () =>
      /^bursar_event_streams_open (\d+)$/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1];
    assert.equal(await open(), '1');
    await events.cancel();
    // The client left: the server stops the stream (and its watch) at once.
    for (let tries = 0; tries < 50 && (await open()) !== '0'; tries += 1)
      await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(await open(), '0');
  });

  it('refuses a stream without a portal session', async () => {
    const response = await fetch(`${server.url}/v1/portal/events`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    assert.equal(response.status, 403);
    assert.equal(((await response.json()) as { code: string }).code, 'portal_session_required');
  });

  it('sends within 1 s a debit made by another server on the same database', async () => {
    // The same manual clock, so the session has the same life on all three servers.
    const options = { clock: server.clock, logger: createLogger({ level: 'silent' }) };
    const second = await startServer(testConfig(server.database.url), options);
    const watching = await startServer(testConfig(server.database.url), options);
    try {
      const session = await mintSession('bob');
      const response = await fetch(`${watching.url}/v1/portal/events`, {
        headers: { authorization: `Bearer ${session.token}` },
      });
      const events = eventReader(response);
      const first = await balanceOf(events);
      const started = Date.now();
      const debit = await callApi(
        second.url,
        'POST',
        '/v1/debits',
        { customer: 'bob', asset: 'credits', amount: '2' },
        { key: adminKey },
      );
      assert.equal(debit.status, 201, debit.text);
      assert.equal(BigInt(await balanceOf(events, 1000)), BigInt(first) - 2n);
      assert.ok(Date.now() - started < 1000);
      await events.cancel();
    } finally {
      await second.close();
      await watching.close();
    }
  });

  it('sends within 1 s a debit made by another process (bursar serve) on the same database', async () => {
    await seedCustomer(server, 'frank');
    await ok(
      server.call('POST', '/v1/grants', { customer: 'frank', asset: 'credits', amount: '50', category: 'paid' }),
      201,
    );
    const port = await freePort();
    const child = spawnServer(server.database.url, port);
    try {
      const childUrl = `http://127.0.0.1:${port}`;
      await waitHealthy(childUrl, child);
      const session = await mintSession('frank');
      const response = await fetch(`${server.url}/v1/portal/events`, {
        headers: { authorization: `Bearer ${session.token}` },
      });
      const events = eventReader(response);
      assert.equal(await balanceOf(events), '50');
      const started = Date.now();
      const debit = await callApi(
        childUrl,
        'POST',
        '/v1/debits',
        { customer: 'frank', asset: 'credits', amount: '4' },
        { key: adminKey },
      );
      assert.equal(debit.status, 201, debit.text);
      assert.equal(await balanceOf(events, 1000), '46');
      assert.ok(Date.now() - started < 1000);
      await events.cancel();
    } finally {
      await kill(child);
    }
  });

  it('sends `: keep-alive` while idle, and a server closes at once with streams open', async () => {
    const fresh = await startTestServer({}, { eventHeartbeatMs: 150 });
    try {
      await seedCustomer(fresh, 'erin');
      const created = await ok(
        fresh.call('POST', '/v1/portal_sessions', { customer: 'erin', return_url: 'https://app.example.com' }),
        201,
      );
      const streams = await Promise.all(
        [1, 2, 3].map(() =>
          fetch(`${fresh.url}/v1/portal/events`, { headers: { authorization: `Bearer ${created.body.token}` } }),
        ),
      );
      const readers = streams.map(eventReader);
      for (const reader of readers) assert.equal((await reader.next()).event, 'balance');
      assert.deepEqual(await readers[0]?.next(1000), { event: 'comment', data: 'keep-alive' });
      const started = Date.now();
      await fresh.server.close();
      const closedMs = Date.now() - started;
      assert.ok(closedMs < 2000, `close took ${closedMs} ms`);
      await assert.rejects(readers[0]?.next(1000) ?? Promise.reject(new Error('no reader')), /ended|terminated/);
    } finally {
      await fresh.database.drop();
    }
  });
});
