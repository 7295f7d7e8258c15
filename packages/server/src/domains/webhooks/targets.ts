/**
 * Where webhooks may be sent. A URL must be http(s) without credentials; unless private targets
 * are allowed (tests, a private network on purpose), it may reach only globally routable unicast
 * addresses, decided by ipaddr.js's table of special-purpose ranges: on the URL when an endpoint is
 * registered, and at every send by the lookup hook the connection itself uses, so the address that
 * was checked is the address connected to (a name re-pointed between a check and a connect, DNS
 * rebinding, gains nothing).
 */
import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** What every refusal of a private target says, so an operator knows the way out. */
const allowPrivateHint = 'set BURSAR_WEBHOOKS_ALLOW_PRIVATE=true to allow private targets';

/** Every address a host name has: the system resolver, unless a test injects one. */
export type HostResolver = (hostname: string) => Promise<readonly string[]>;

export const systemResolver: HostResolver = async (hostname) =>
  (await lookup(hostname, { all: true })).map((answer) => answer.address);

/** The global unicast block, 2000::/3: IPv6 outside it is unassigned, deprecated or special. */
const ipv6GlobalUnicast = ipaddr.IPv6.parseCIDR('2000::/3');
/** IPv6 prefixes whose last 32 bits are an IPv4 address the packet is really bound for. */
const ipv4InLast32Bits = [
  ipaddr.IPv6.parseCIDR('::ffff:0:0/96'), // IPv4-mapped (RFC 4291)
  ipaddr.IPv6.parseCIDR('::ffff:0:0:0/96'), // IPv4-translated, SIIT (RFC 6145)
  ipaddr.IPv6.parseCIDR('64:ff9b::/96'), // NAT64 well-known prefix (RFC 6052)
];
/** 6to4 (RFC 3056): bits 16–47 are the IPv4 address of the tunnel's far end. */
const sixToFour = ipaddr.IPv6.parseCIDR('2002::/16');

/** ipaddr.js's range names, as a refusal says them. */
const rangeWords: Readonly<Record<string, string>> = {
  unspecified: 'the unspecified address',
  broadcast: 'the broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT address',
  private: 'a private address',
  reserved: 'a reserved or documentation address',
  benchmarking: 'a benchmarking address',
  uniqueLocal: 'a unique-local address',
  deprecatedSiteLocal: 'a site-local address',
  teredo: 'a Teredo tunnel address',
  rfc6052: 'a local-use NAT64 address',
  discard: 'a discard-only address',
};

/**
 * Why `text`, an IP address, is not a public one (a globally routable unicast address), or null
 * when it is. An IPv6 address that carries an IPv4 address (mapped, translated, NAT64, 6to4) is
 * judged by that IPv4 address, since that is where it leads.
 */
export function refuseAddress(text: string): string | null {
  if (isIP(text) === 0 || !ipaddr.isValid(text)) return `${text} is not an IP address`;
  const kind = nonPublicKind(ipaddr.parse(text));
  return kind === null ? null : `${text} is ${kind}`;
}

/** What kind of non-public address this is, or null for a public one. */
function nonPublicKind(address: ipaddr.IPv4 | ipaddr.IPv6): string | null {
  if (address.kind() === 'ipv4') return rangeKind(address.range());
  const ipv6 = address as ipaddr.IPv6;
  if (ipv6.zoneId !== undefined) return `scoped to one interface (%${ipv6.zoneId})`;
  const embedded = embeddedIpv4(ipv6);
  if (embedded !== null) {
    const kind = nonPublicKind(embedded);
    return kind === null ? null : `an IPv6 form of ${embedded.toString()}, ${kind}`;
  }
  const kind = rangeKind(ipv6.range());
  if (kind !== null) return kind;
  return ipv6.match(ipv6GlobalUnicast) ? null : 'outside the global unicast range 2000::/3';
}

/** Allowed only outside every special-purpose range the library knows: unicast, and nothing more. */
function rangeKind(range: string): string | null {
  if (range === 'unicast') return null;
  return rangeWords[range] ?? `a special-purpose address (${range})`;
}

function embeddedIpv4(address: ipaddr.IPv6): ipaddr.IPv4 | null {
  const bytes = address.toByteArray();
  if (ipv4InLast32Bits.some((prefix) => address.match(prefix))) return new ipaddr.IPv4(bytes.slice(12, 16));
  if (address.match(sixToFour)) return new ipaddr.IPv4(bytes.slice(2, 6));
  return null;
}

/** `localhost` and every name under it (RFC 6761), with or without the root's trailing dot. */
function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/** Why a URL is refused as a webhook target, or null. A host name is checked again at each send. */
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
  // The URL parser has already written every IPv4 spelling as dotted decimal and IPv6 in brackets.
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) === 0) {
    return isLocalhostName(host) ? `must not point at this machine (${host}); ${allowPrivateHint}` : null;
  }
  const refusal = refuseAddress(host);
  return refusal === null ? null : `must point at a public address: ${refusal}; ${allowPrivateHint}`;
}

/**
 * A `lookup` for node:net (on the dispatcher's HTTP agents) that resolves a name once, refuses it
 * unless every answer is public, and answers only those checked addresses: the socket connects to
 * one of them and nothing else. (node:net calls no lookup for an IP literal: refuseTargetUrl
 * checks those.) TLS still verifies the certificate against the name, not the address.
 */
export function checkedLookup(resolve: HostResolver, allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    checkedAddresses(resolve, allowPrivate, hostname, options.family).then(
      (addresses) =>
        options.all === true ? callback(null, addresses) : callback(null, addresses[0].address, addresses[0].family),
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

async function checkedAddresses(
  resolve: HostResolver,
  allowPrivate: boolean,
  hostname: string,
  family: number | string | undefined,
): Promise<[LookupAddress, ...LookupAddress[]]> {
  const answers = await resolve(hostname);
  if (!allowPrivate) {
    // Every answer, not just the one used: a name with one private answer is not a public target.
    for (const address of answers) {
      const refusal = refuseAddress(address);
      if (refusal !== null) {
        throw new Error(
          `target refused: ${hostname} resolves to ${address}, not a public address (${refusal}); ${allowPrivateHint}`,
        );
      }
    }
  }
  const wanted = family === 4 || family === 'IPv4' ? 4 : family === 6 || family === 'IPv6' ? 6 : 0;
  const addresses = answers
    .map((address) => ({ address, family: isIP(address) }))
    .filter((answer) => answer.family !== 0 && (wanted === 0 || answer.family === wanted));
  const [first, ...others] = addresses;
  if (first === undefined) {
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
  }
  return [first, ...others];
}
