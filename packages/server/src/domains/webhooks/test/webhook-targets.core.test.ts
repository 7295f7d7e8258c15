/**
 * The webhook target rule as pure functions over tables of forms: which URLs may be registered and
 * which resolved addresses may be connected to when private targets are not allowed, and the
 * lookup hook that hands the connection only an address it checked. No socket, no DNS.
 */
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { describe, it } from 'node:test';
import { checkedLookup, refuseAddress, refuseTargetUrl } from '../targets.ts';

/** URLs that must be refused unless BURSAR_WEBHOOKS_ALLOW_PRIVATE is set, by what they reach. */
const refusedUrls: readonly (readonly [string, string])[] = [
  // IPv4-mapped IPv6, in every spelling (the URL parser rewrites the dotted tail as hex).
  ['http://[::ffff:127.0.0.1]:8080/x', 'mapped loopback'],
  ['http://[::ffff:7f00:1]/x', 'mapped loopback, hex'],
  ['http://[0:0:0:0:0:ffff:127.0.0.1]/x', 'mapped loopback, long form'],
  ['http://[0000:0000:0000:0000:0000:FFFF:7F00:0001]/x', 'mapped loopback, zero-padded upper case'],
  ['http://[::ffff:169.254.169.254]/latest', 'mapped cloud metadata'],
  ['http://[::ffff:10.0.0.1]/x', 'mapped private'],
  ['http://[::ffff:192.168.0.1]/x', 'mapped private'],
  ['http://[::ffff:0.0.0.0]/x', 'mapped unspecified'],
  ['http://[::ffff:0:127.0.0.1]/x', 'SIIT-translated loopback (::ffff:0:0/96)'],
  // IPv4-compatible (deprecated) and NAT64.
  ['http://[::127.0.0.1]/x', 'IPv4-compatible loopback'],
  ['http://[::7f00:1]/x', 'IPv4-compatible loopback, hex'],
  ['http://[::10.0.0.1]/x', 'IPv4-compatible private'],
  ['http://[64:ff9b::127.0.0.1]/x', 'NAT64 of loopback'],
  ['http://[64:ff9b::a9fe:a9fe]/x', 'NAT64 of cloud metadata'],
  ['http://[64:ff9b::c0a8:1]/x', 'NAT64 of private'],
  ['http://[64:ff9b:1::1]/x', 'local-use NAT64 prefix'],
  // 6to4 and Teredo tunnels.
  ['http://[2002:7f00:1::1]/x', '6to4 of loopback'],
  ['http://[2002:a00:1::1]/x', '6to4 of private'],
  ['http://[2002:c0a8:101::1]/x', '6to4 of private'],
  ['http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x', 'Teredo'],
  // IPv4 special ranges.
  ['http://127.0.0.1/x', 'loopback'],
  ['http://127.255.255.254/x', 'loopback, top of 127/8'],
  ['http://127.1/x', 'loopback, short form'],
  ['http://2130706433/x', 'loopback, one number'],
  ['http://0x7f000001/x', 'loopback, hex number'],
  ['http://0177.0.0.1/x', 'loopback, octal'],
  ['http://0.0.0.0/x', 'unspecified'],
  ['http://0/x', 'unspecified, one number'],
  ['http://0.1.2.3/x', '0.0.0.0/8'],
  ['http://10.0.0.5/x', 'private 10/8'],
  ['http://172.16.0.1/x', 'private 172.16/12'],
  ['http://172.31.255.255/x', 'private 172.16/12, top'],
  ['http://192.168.1.1/x', 'private 192.168/16'],
  ['http://100.64.0.1/x', 'CGNAT'],
  ['http://100.127.255.255/x', 'CGNAT, top'],
  ['http://169.254.169.254/latest', 'link-local (cloud metadata)'],
  ['http://198.18.0.1/x', 'benchmarking 198.18/15'],
  ['http://198.19.255.255/x', 'benchmarking 198.18/15, top'],
  ['http://224.0.0.1/x', 'multicast'],
  ['http://239.255.255.250/x', 'multicast, SSDP'],
  ['http://255.255.255.255/x', 'broadcast'],
  ['http://240.0.0.1/x', 'reserved 240/4'],
  ['http://192.0.0.8/x', 'IETF protocol assignments 192.0.0/24'],
  ['http://192.0.2.1/x', 'documentation TEST-NET-1'],
  ['http://198.51.100.7/x', 'documentation TEST-NET-2'],
  ['http://203.0.113.9/x', 'documentation TEST-NET-3'],
  // IPv6 special ranges.
  ['http://[::1]/x', 'loopback'],
  ['http://[::]/x', 'unspecified'],
  ['http://[fe80::1]/x', 'link-local'],
  ['http://[fe90::1]/x', 'link-local, not fe80-prefixed'],
  ['http://[febf:ffff::1]/x', 'link-local, top of fe80::/10'],
  ['http://[fec0::1]/x', 'site-local'],
  ['http://[feff::1]/x', 'site-local, top of fec0::/10'],
  ['http://[fc00::1]/x', 'unique-local'],
  ['http://[fd12:3456::1]/x', 'unique-local'],
  ['http://[ff02::1]/x', 'multicast'],
  ['http://[ff05::1:3]/x', 'multicast'],
  ['http://[2001:db8::1]/x', 'documentation'],
  ['http://[3fff::1]/x', 'documentation (RFC 9637)'],
  ['http://[100::1]/x', 'discard'],
  ['http://[2001:2::1]/x', 'benchmarking'],
  ['http://[4000::1]/x', 'outside global unicast 2000::/3'],
  // This machine by name.
  ['http://localhost/x', 'localhost'],
  ['http://localhost:8080/x', 'localhost with a port'],
  ['http://localhost./x', 'localhost, trailing dot'],
  ['http://LOCALHOST/x', 'localhost, upper case'],
  ['http://api.localhost/x', 'a .localhost name'],
  ['http://api.localhost./x', 'a .localhost name, trailing dot'],
];

/** URLs a public receiver may have: registration accepts them (names are checked again at each send). */
const acceptedUrls: readonly string[] = [
  'https://hooks.example.com/bursar',
  'https://example.com./x',
  'http://localhost.example.com/x',
  'http://mylocalhost/x',
  'http://8.8.8.8/x',
  'http://93.184.216.34:8443/x',
  'http://172.15.255.255/x',
  'http://172.32.0.1/x',
  'http://100.63.255.255/x',
  'http://100.128.0.1/x',
  'http://198.17.255.255/x',
  'http://198.20.0.1/x',
  'http://223.255.255.254/x',
  'http://[2606:4700:4700::1111]/x',
  'http://[2a00:1450:4001:80b::200e]/x',
  'http://[::ffff:8.8.8.8]/x',
  'http://[64:ff9b::8.8.8.8]/x',
  'http://[2002:808:808::1]/x',
];

describe('webhook target URLs', () => {
  for (const [url, what] of refusedUrls) {
    it(`refuses ${url} (${what}), naming the setting that allows it`, () => {
      const refusal = refuseTargetUrl(url, false);
      assert.notEqual(refusal, null, `${url} was accepted`);
      assert.match(refusal ?? '', /BURSAR_WEBHOOKS_ALLOW_PRIVATE/);
      assert.equal(refuseTargetUrl(url, true), null, 'allowed when private targets are allowed');
    });
  }

  it('accepts public addresses and names', () => {
    for (const url of acceptedUrls) assert.equal(refuseTargetUrl(url, false), null, url);
  });

  it('refuses what is never a webhook target, even when private targets are allowed', () => {
    for (const url of ['ftp://example.com/x', 'file:///etc/passwd', 'example.com/x', 'https://user:pw@example.com/x']) {
      assert.notEqual(refuseTargetUrl(url, true), null, url);
      assert.notEqual(refuseTargetUrl(url, false), null, url);
    }
  });
});

describe('resolved addresses', () => {
  it('only globally routable unicast addresses are public', () => {
    const refused = [
      '127.0.0.1',
      '10.1.2.3',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '198.18.0.1',
      '224.0.0.251',
      '255.255.255.255',
      '192.0.2.1',
      '::1',
      '::',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::127.0.0.1',
      '64:ff9b::7f00:1',
      '2002:a9fe:a9fe::1',
      'fe80::1',
      'fe80::1%eth0',
      'fe90::1',
      'fec0::1',
      'fd00::1',
      'ff02::fb',
      '2001:db8::1',
    ];
    for (const address of refused) assert.notEqual(refuseAddress(address), null, address);
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:1.1.1.1', '64:ff9b::101:101'])
      assert.equal(refuseAddress(address), null, address);
  });

  it('says what an embedded IPv4 address is', () => {
    assert.match(refuseAddress('::ffff:7f00:1') ?? '', /127\.0\.0\.1.*loopback/);
    assert.match(refuseAddress('64:ff9b::a00:1') ?? '', /10\.0\.0\.1.*private/);
  });

  it('refuses what is not an IP address', () => {
    for (const text of ['', 'example.com', '1.2.3.4.5', '::ffff:1.2.3'])
      assert.notEqual(refuseAddress(text), null, text);
  });
});

/** Calls a lookup hook the way node:net does; resolves to what it answered. */
function lookUp(
  lookup: ReturnType<typeof checkedLookup>,
  hostname: string,
  options: { all?: boolean; family?: number },
): Promise<string | LookupAddress[]> {
  return new Promise((resolve, reject) =>
    lookup(hostname, options, (error, address) => (error === null ? resolve(address) : reject(error))),
  );
}

describe('the lookup hook', () => {
  const answers: Record<string, readonly string[]> = {
    'hooks.example.com': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
    'rebound.example.com': ['93.184.216.34', '127.0.0.1'],
    'metadata.example.com': ['::ffff:169.254.169.254'],
  };
  const asked: string[] = [];
  const resolve = async (hostname: string) => {
    asked.push(hostname);
    const found = answers[hostname];
    if (found === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return found;
  };

  it('answers the checked addresses, all of them or one of the asked family', async () => {
    const lookup = checkedLookup(resolve, false);
    assert.deepEqual(await lookUp(lookup, 'hooks.example.com', { all: true }), [
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 },
    ]);
    assert.equal(await lookUp(lookup, 'hooks.example.com', {}), '93.184.216.34');
    assert.equal(await lookUp(lookup, 'hooks.example.com', { family: 6 }), '2606:2800:220:1:248:1893:25c8:1946');
    assert.deepEqual(await lookUp(lookup, 'hooks.example.com', { all: true, family: 6 }), [
      { address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 },
    ]);
  });

  it('refuses a name if any of its answers is not public, naming the address and the setting', async () => {
    const lookup = checkedLookup(resolve, false);
    for (const [hostname, address] of [
      ['rebound.example.com', '127.0.0.1'],
      ['metadata.example.com', '::ffff:169.254.169.254'],
    ] as const) {
      for (const options of [{ all: true }, {}, { family: 4 }]) {
        await assert.rejects(lookUp(lookup, hostname, options), (error: Error) => {
          assert.ok(error.message.includes(hostname), error.message);
          assert.ok(error.message.includes(address), error.message);
          assert.match(error.message, /BURSAR_WEBHOOKS_ALLOW_PRIVATE/);
          return true;
        });
      }
    }
  });

  it('hands on private answers when private targets are allowed, and resolution errors as they are', async () => {
    const lookup = checkedLookup(resolve, true);
    assert.deepEqual(await lookUp(lookup, 'rebound.example.com', { all: true }), [
      { address: '93.184.216.34', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ]);
    await assert.rejects(lookUp(lookup, 'nowhere.example.com', {}), { code: 'ENOTFOUND' });
  });

  it('resolves once per lookup, so what is checked is what is connected to', async () => {
    asked.length = 0;
    await lookUp(checkedLookup(resolve, false), 'hooks.example.com', { all: true });
    assert.deepEqual(asked, ['hooks.example.com']);
  });
});
