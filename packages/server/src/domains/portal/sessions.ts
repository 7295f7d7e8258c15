/**
 * Portal sessions: minted by an integrator's API key for one customer (a one-time URL and a bearer
 * token), the browser route that exchanges the URL's code once for the HttpOnly cookie, and the
 * session as the portal reads it.
 */
import type { CreatePortalSessionBody } from '@bursar/api';
import { stringifySetCookie } from 'cookie';
import { auditOf } from '../../platform/commit/audit-chain.ts';
import type { Caller, Reply } from '../../platform/contract.ts';
import type { PageAnswer, PageRequest } from '../../platform/http/router.ts';
import { portalCookieName } from '../../platform/http/server.ts';
import { newId } from '../../platform/ids.ts';
import type { LedgerService } from '../../platform/service.ts';
import { okReply, problemReply } from '../../platform/service.ts';
import { toTime } from '../../platform/storage/codecs.ts';
import { toTimestamp } from '../../platform/wire.ts';
import { liveSubscriptionsOf } from '../plans/index.ts';
import { portalSettingsOf } from './settings.ts';
import { customerName, exchangeCode, sessionById } from './store.ts';
import { hashSecret, mintPortalCode, mintPortalToken, portalCodeOwner } from './tokens.ts';

/** Where the one-time link sends the browser once it holds the cookie: the portal app. */
const portalAppPath = '/portal/';

export interface PortalLinks {
  /** BURSAR_PUBLIC_URL, without a trailing slash; null: the request's own origin. */
  readonly publicUrl: string | null;
}

export async function createPortalSession(
  service: LedgerService,
  links: PortalLinks,
  caller: Caller,
  origin: string,
  input: CreatePortalSessionBody,
): Promise<Reply> {
  if (!(await service.customerExists(caller.environmentId, input.customer)))
    return problemReply(caller, 'customer_not_found', `No customer "${input.customer}" in this environment.`);
  const owner = { environmentId: caller.environmentId, customer: input.customer };
  const token = mintPortalToken(owner);
  const code = mintPortalCode(owner);
  const created = await service.committer.runInWriter('portal_session', async ({ session, now, audits }) => {
    const id = newId('ps', now);
    const expiresAt = now + input.ttl_seconds * 1000;
    await session.insertMany('portal_sessions', [
      {
        environment_id: caller.environmentId,
        customer_id: input.customer,
        id,
        token_hash: hashSecret(token),
        code_hash: hashSecret(code),
        code_used_at: null,
        cookie_token_hash: null,
        return_url: input.return_url,
        api_key_id: caller.apiKeyId,
        expires_at: BigInt(expiresAt),
        created_at: BigInt(now),
      },
    ]);
    const summary = { id, customer: input.customer, expires_at: toTimestamp(expiresAt), return_url: input.return_url };
    audits.push(auditOf(caller, 'portal_session.created', `customer:${input.customer}`, null, null, summary));
    return summary;
  });
  const base = links.publicUrl ?? origin;
  return okReply(201, { ...created, url: `${base}/portal/session/${code}`, token });
}

function page(status: number, title: string, text: string): PageAnswer {
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1d2330}</style>
</head><body><main><h1>${title}</h1><p>${text}</p></main></body></html>
`;
  return { status, headers: { 'content-type': 'text/html; charset=utf-8' }, body };
}

/**
 * `GET /portal/session/<code>`: exchanges the code once for the cookie (a new token of its own,
 * HttpOnly and SameSite=Strict, for the session's remaining life) and sends the browser to the
 * portal; a used or expired code is 410, an unknown one 404, each a small page.
 */
export async function exchangePortalCode(
  service: LedgerService,
  links: PortalLinks,
  request: PageRequest,
): Promise<PageAnswer> {
  const code = request.params.code ?? '';
  const owner = portalCodeOwner(code);
  const unknown = page(404, 'Link not found', 'This portal link is not valid. Ask for a new link where you opened it.');
  if (owner === null) return unknown;
  const cookieToken = mintPortalToken(owner);
  const exchanged = await exchangeCode(service, owner, hashSecret(code), hashSecret(cookieToken));
  if (exchanged.kind === 'unknown') return unknown;
  if (exchanged.kind !== 'exchanged')
    return page(
      410,
      'Link already used or expired',
      'Each portal link opens once and for a short time. Go back to where you opened it for a new one.',
    );
  const remainingSeconds = Math.max(1, Math.floor((toTime(exchanged.row.expires_at) - service.clock.now()) / 1000));
  const secure = (links.publicUrl ?? request.origin).startsWith('https:');
  const cookie = stringifySetCookie({
    name: portalCookieName,
    value: cookieToken,
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    maxAge: remainingSeconds,
    secure,
  });
  return { status: 303, headers: { location: portalAppPath, 'set-cookie': cookie }, body: '' };
}

/**
 * What the portal shows of its own session: the customer, expiry, CSRF token, branding, what it may change,
 * and the customer's live subscriptions (so widgets can name the plan and its period).
 */
export async function getPortalSession(service: LedgerService, caller: Caller, topUpProvider: boolean): Promise<Reply> {
  const portal = caller.portal;
  if (portal === undefined) throw new Error('assertion failed: a portal route has a portal caller');
  const owner = { environmentId: caller.environmentId, customer: portal.customer };
  const [row, name, settings, subscriptions] = await Promise.all([
    sessionById(service, owner, portal.sessionId),
    customerName(service, owner),
    portalSettingsOf(service, caller.environmentId),
    liveSubscriptionsOf(service, caller.environmentId, portal.customer),
  ]);
  if (row === undefined) throw new Error('assertion failed: an authenticated portal session exists');
  const prices = settings.top_up.prices;
  const reason = !topUpProvider
    ? 'No payment provider is configured.'
    : prices.length === 0
      ? 'The operator has set no top-up price.'
      : null;
  return okReply(200, {
    customer: { id: portal.customer, name },
    expires_at: toTimestamp(portal.expiresAt),
    return_url: row.return_url,
    csrf_token: portal.mode === 'cookie' ? portal.csrfToken : null,
    branding: settings.branding,
    top_up: reason === null ? { available: true, assets: prices } : { available: false, reason, assets: prices },
    auto_recharge_limits: settings.auto_recharge,
    subscriptions,
  });
}
