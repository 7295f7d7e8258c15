/**
 * Where webhooks may be sent. A URL must be http(s); unless private targets are allowed (tests, a
 * private network on purpose), it must not reach loopback, private, link-local or unique-local
 * addresses, checked on the URL when an endpoint is registered and on the resolved address before
 * every send (a name can be re-pointed after registration).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export function isPrivateAddress(address: string): boolean {
  if (isIP(address) === 4) {
    const [a = 0, b = 0] = address.split('.').map(Number);
    return (
      a === 10 ||
      a === 127 ||
      a === 0 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  const lower = address.toLowerCase();
  if (lower.startsWith('::ffff:')) return isPrivateAddress(lower.slice(7));
  return (
    lower === '::1' || lower === '::' || lower.startsWith('fc') || lower.startsWith('fd') || lower.startsWith('fe80')
  );
}

/** Why a URL is refused as a webhook target, or null. */
export function refuseTargetUrl(text: string, allowPrivate: boolean): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be an absolute http(s) URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http(s) URL';
  if (url.username !== '' || url.password !== '') return 'must not carry credentials';
  if (allowPrivate) return null;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return 'must not point at this machine';
  if (isIP(host) !== 0 && isPrivateAddress(host)) return 'must not point at a private, loopback or link-local address';
  return null;
}

/** Resolves the URL's host and refuses private addresses; returns why it is refused, or null. */
export async function refuseResolvedTarget(text: string, allowPrivate: boolean): Promise<string | null> {
  const refusal = refuseTargetUrl(text, allowPrivate);
  if (refusal !== null || allowPrivate) return refusal;
  const host = new URL(text).hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) !== 0 ? [{ address: host }] : await lookup(host, { all: true });
  return addresses.some(({ address }) => isPrivateAddress(address)) ? 'resolves to a private address' : null;
}
