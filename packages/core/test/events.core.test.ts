/**
 * Threshold events: balance.low when available credit crosses below the wallet's threshold,
 * balance.recovered when it crosses back; nothing while it stays on one side, nothing without one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { thresholdEvents } from '../src/events.ts';
import type { Wallet } from '../src/wallet.ts';
import { emptyWallet } from '../src/wallet.ts';
import { paidGrant } from './grant-fixture.ts';

function walletWith(remaining: bigint, threshold: bigint | null): Wallet {
  const wallet = emptyWallet('c', 'credits');
  return {
    ...wallet,
    policy: { ...wallet.policy, lowBalanceThreshold: threshold },
    grants: [paidGrant(remaining, 1000n)],
  };
}

describe('thresholdEvents', () => {
  const cases: [string, bigint, bigint, bigint | null, string[]][] = [
    ['crossing below', 60n, 40n, 50n, ['balance.low']],
    ['landing exactly on the threshold is not below it', 60n, 50n, 50n, []],
    ['staying below', 40n, 30n, 50n, []],
    ['crossing back up', 40n, 50n, 50n, ['balance.recovered']],
    ['staying above', 90n, 60n, 50n, []],
    ['no threshold', 60n, 0n, null, []],
  ];
  for (const [name, before, after, threshold, expected] of cases) {
    it(name, () => {
      const events = thresholdEvents(walletWith(before, threshold), walletWith(after, threshold), 1);
      assert.deepEqual(
        events.map((event) => event.type),
        expected,
      );
      for (const event of events) assert.equal(event.data.available, after);
    });
  }
});
