/**
 * Console sessions through the real server: sign-in sets the cookie and audits it, the cookie acts
 * as its key with the key's scopes, writes need the session's CSRF token, and the session ends on
 * sign-out, on expiry (session_expired) and when its key is revoked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../../../test/harness.ts';
import { adminKey, startTestServer } from '../../../../test/harness.ts';

let server: TestServer;

before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

interface Sent {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected field by field
  readonly body: any;
  readonly setCookie: string | undefined;
}

/** One request with whatever credentials the test gives: a cookie, a CSRF header, a bearer key. */
async function send(
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  options: { body?: unknown; cookie?: string; csrf?: string; key?: string; target?: TestServer } = {},
): Promise<Sent> {
  const headers: Record<string, string> = {};
  if (options.cookie !== undefined) headers.cookie = options.cookie;
  if (options.csrf !== undefined) headers['x-csrf-token'] = options.csrf;
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await (options.target ?? server).server.inject({
    method,
    url,
    headers,
    ...(options.body === undefined ? {} : { payload: JSON.stringify(options.body) }),
  });
  const setCookie = response.headers['set-cookie'];
  return {
    status: response.statusCode,
    body: response.body === '' ? null : JSON.parse(response.body),
    setCookie: Array.isArray(setCookie) ? setCookie.join('\n') : setCookie,
  };
}

/** Signs in with `key`; returns the cookie to send back and the session's CSRF token. */
async function signIn(key: string, target?: TestServer) {
  const reply = await send('POST', '/v1/console/sessions', { body: { api_key: key }, ...(target ? { target } : {}) });
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  const pair = /^bursar_console=([^;]+);/.exec(reply.setCookie ?? '');
  assert.ok(pair !== null, `a session cookie: ${reply.setCookie}`);
  return { cookie: `bursar_console=${pair[1]}`, csrf: reply.body.csrf_token as string, reply };
}

async function mintKey(scopes: string[]): Promise<{ id: string; key: string }> {
  const created = await server.call('POST', '/v1/api-keys', { name: `console ${scopes.join(',')}`, scopes });
  assert.equal(created.status, 201, created.text);
  return { id: created.body.id, key: created.body.key };
}

async function auditActions(action: string): Promise<{ actor: string; target: string }[]> {
  const listed = await server.call('GET', `/v1/audit-events?action=${action}`);
  assert.equal(listed.status, 200, listed.text);
  return listed.body.data;
}

async function customerCount(): Promise<number> {
  const rows = await server.server.database.reader.all('SELECT COUNT(*) AS n FROM customers');
  return Number(rows[0]?.n);
}

describe('console sign-in', () => {
  it('sets an HttpOnly, SameSite=Strict cookie with the TTL and answers who the session acts as', async () => {
    const { reply, cookie } = await signIn(adminKey);
    assert.match(reply.setCookie ?? '', /; HttpOnly/);
    assert.match(reply.setCookie ?? '', /; SameSite=Strict/);
    assert.match(reply.setCookie ?? '', /; Path=\//);
    assert.match(reply.setCookie ?? '', /; Max-Age=28800/);
    assert.doesNotMatch(reply.setCookie ?? '', /Secure/, 'plain http without an https public URL');
    assert.equal(reply.body.environment.name, 'live');
    assert.deepEqual(reply.body.api_key.scopes, ['owner']);
    assert.equal(reply.body.expires_at, new Date(server.clock.now() + 28_800_000).toISOString());
    assert.ok(!JSON.stringify(reply.body).includes(adminKey), 'the key is not echoed');
    // The cookie acts as the key.
    const current = await send('GET', '/v1/api-keys/current', { cookie });
    assert.equal(current.status, 200);
    assert.equal(current.body.id, reply.body.api_key.id);
    const session = await send('GET', '/v1/console/sessions/current', { cookie });
    assert.equal(session.status, 200);
    assert.deepEqual(session.body, reply.body);
  });

  it('is audited, with the key as the actor', async () => {
    const { reply } = await signIn(adminKey);
    const created = await auditActions('console_session.created');
    assert.ok(created.some((event) => event.actor === `api_key:${reply.body.api_key.id}`));
  });

  it('refuses an unknown or revoked key with 401 and a malformed body with 400, storing nothing', async () => {
    const before = await server.server.database.reader.all('SELECT COUNT(*) AS n FROM console_sessions');
    const unknown = await send('POST', '/v1/console/sessions', { body: { api_key: `bk_live_${'x'.repeat(43)}` } });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.code, 'unauthenticated');
    assert.equal(unknown.setCookie, undefined);
    const { id, key } = await mintKey(['read']);
    assert.equal((await server.call('POST', `/v1/api-keys/${id}/revoke`, {})).status, 200);
    const revoked = await send('POST', '/v1/console/sessions', { body: { api_key: key } });
    assert.equal(revoked.status, 401);
    const malformed = await send('POST', '/v1/console/sessions', { body: { key: adminKey } });
    assert.equal(malformed.status, 400);
    assert.ok(malformed.body.errors.some((error: { field: string }) => error.field === 'api_key'));
    const afterRows = await server.server.database.reader.all('SELECT COUNT(*) AS n FROM console_sessions');
    assert.equal(Number(afterRows[0]?.n), Number(before[0]?.n));
  });

  it('stores the token hashed: the cookie value is nowhere in the database', async () => {
    const { cookie } = await signIn(adminKey);
    const token = cookie.slice('bursar_console='.length);
    const rows = await server.server.database.reader.all('SELECT token_hash FROM console_sessions');
    assert.ok(rows.length > 0);
    assert.ok(rows.every((row) => row.token_hash !== token && /^[0-9a-f]{64}$/.test(String(row.token_hash))));
  });
});

describe('CSRF', () => {
  it('refuses a write without the header or with a wrong one (403, nothing changed) and allows the right one', async () => {
    const { cookie, csrf } = await signIn(adminKey);
    const count = await customerCount();
    const missing = await send('POST', '/v1/customers', { cookie, body: { id: 'csrf-1' } });
    assert.equal(missing.status, 403);
    assert.equal(missing.body.code, 'csrf_token_invalid');
    const wrong = await send('POST', '/v1/customers', {
      cookie,
      csrf: `${csrf.slice(0, -1)}x`,
      body: { id: 'csrf-1' },
    });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.code, 'csrf_token_invalid');
    const short = await send('POST', '/v1/customers', { cookie, csrf: 'x', body: { id: 'csrf-1' } });
    assert.equal(short.status, 403);
    assert.equal(await customerCount(), count);
    const right = await send('POST', '/v1/customers', { cookie, csrf, body: { id: 'csrf-1' } });
    assert.equal(right.status, 201, JSON.stringify(right.body));
    assert.equal(await customerCount(), count + 1);
  });

  it('is not asked of GET, nor of a request with an API key (which wins over the cookie)', async () => {
    const { cookie } = await signIn(adminKey);
    assert.equal((await send('GET', '/v1/customers', { cookie })).status, 200);
    const { key, id } = await mintKey(['write']);
    const asKey = await send('POST', '/v1/customers', { cookie, key, body: { id: 'csrf-bearer' } });
    assert.equal(asKey.status, 201);
    const current = await send('GET', '/v1/api-keys/current', { cookie, key });
    assert.equal(current.body.id, id, 'the Authorization header wins');
  });
});

describe('scopes', () => {
  it("a read-scoped key's session can read but not write (403)", async () => {
    const { key } = await mintKey(['read']);
    const { cookie, csrf } = await signIn(key);
    assert.equal((await send('GET', '/v1/customers', { cookie })).status, 200);
    const write = await send('POST', '/v1/customers', { cookie, csrf, body: { id: 'read-only' } });
    assert.equal(write.status, 403);
    assert.equal(write.body.code, 'insufficient_scope');
  });
});

describe('the end of a session', () => {
  it('sign-out ends it server-side, clears the cookie and is audited', async () => {
    const { cookie, csrf, reply } = await signIn(adminKey);
    const refused = await send('DELETE', '/v1/console/sessions/current', { cookie });
    assert.equal(refused.status, 403, 'sign-out is a write: it needs the CSRF token too');
    const ended = await send('DELETE', '/v1/console/sessions/current', { cookie, csrf });
    assert.equal(ended.status, 204);
    assert.match(ended.setCookie ?? '', /^bursar_console=; .*Max-Age=0/);
    const after = await send('GET', '/v1/customers', { cookie });
    assert.equal(after.status, 401);
    assert.equal(after.body.code, 'unauthenticated');
    const events = await auditActions('console_session.ended');
    assert.ok(events.some((event) => event.actor === `api_key:${reply.body.api_key.id}`));
  });

  it('an expired session is 401 session_expired', async () => {
    const { cookie } = await signIn(adminKey);
    assert.equal((await send('GET', '/v1/customers', { cookie })).status, 200);
    server.clock.advance(28_800_000);
    const expired = await send('GET', '/v1/customers', { cookie });
    assert.equal(expired.status, 401);
    assert.equal(expired.body.code, 'session_expired');
    assert.equal((await send('GET', '/v1/console/sessions/current', { cookie })).body.code, 'session_expired');
  });

  it('revoking the key ends its sessions at once', async () => {
    const { key, id } = await mintKey(['write']);
    const { cookie } = await signIn(key);
    assert.equal((await send('GET', '/v1/customers', { cookie })).status, 200);
    assert.equal((await server.call('POST', `/v1/api-keys/${id}/revoke`, {})).status, 200);
    const after = await send('GET', '/v1/customers', { cookie });
    assert.equal(after.status, 401);
    assert.equal(after.body.code, 'unauthenticated');
    const rows = await server.server.database.reader.all('SELECT ended_at FROM console_sessions WHERE api_key_id = ?', [
      id,
    ]);
    assert.ok(rows.length === 1 && rows[0]?.ended_at !== null, 'the session row is ended in the revocation');
  });

  it('getConsoleSession with an API key and no cookie is 401: there is no session', async () => {
    const reply = await send('GET', '/v1/console/sessions/current', { key: adminKey });
    assert.equal(reply.status, 401);
    assert.equal(reply.body.code, 'unauthenticated');
  });

  it('a garbage cookie is ignored: 401 unauthenticated', async () => {
    const reply = await send('GET', '/v1/customers', { cookie: 'bursar_console=nonsense; other=1' });
    assert.equal(reply.status, 401);
    assert.equal(reply.body.code, 'unauthenticated');
  });
});

describe('with an https public URL', () => {
  it('the cookie is Secure', async () => {
    const secure = await startTestServer({ publicUrl: 'https://bursar.example.com' });
    try {
      const { reply } = await signIn(adminKey, secure);
      assert.match(reply.setCookie ?? '', /; Secure/);
    } finally {
      await secure.close();
    }
  });
});
