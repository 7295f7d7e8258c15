/**
 * Prefixed, sortable ids (`txn_01JD…`): 48 bits of milliseconds then 80 random bits, in
 * Crockford base32, monotonic within one process even inside one millisecond.
 */
import { randomBytes } from 'node:crypto';

const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export type IdPrefix = 'txn' | 'grt' | 'hold' | 'env' | 'key' | 'aud' | 'evt' | 'whe' | 'whd' | 'sub' | 'tup' | 'ps';

let lastTime = -1;
let lastRandom = 0n;

export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  if (now <= lastTime) {
    lastRandom += 1n; // same or earlier millisecond: keep order by counting up
  } else {
    lastTime = now;
    lastRandom = BigInt(`0x${randomBytes(10).toString('hex')}`) >> 1n; // room to count up
  }
  return `${prefix}_${encode(BigInt(lastTime), 10)}${encode(lastRandom, 16)}`;
}

function encode(value: bigint, length: number): string {
  let text = '';
  let rest = value;
  for (let index = 0; index < length; index += 1) {
    text = alphabet[Number(rest & 31n)] + text;
    rest >>= 5n;
  }
  return text;
}
