/** The work handed off by a claiming run settles only when every piece has, failed or not. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { settleAll } from '../claims.ts';

test('settleAll waits for the slow piece after another failed, then rejects with the first failure', async () => {
  let slowDone = false;
  const slow = new Promise<void>((resolve) =>
    setTimeout(() => {
      slowDone = true;
      resolve();
    }, 50),
  );
  const failed = Promise.reject(new Error('send failed'));
  const laterFailure = new Promise<void>((_resolve, reject) => setTimeout(() => reject(new Error('second')), 10));
  await assert.rejects(settleAll([failed, slow, laterFailure]), /send failed/);
  assert.equal(slowDone, true, 'settled only once the slow piece had finished');
});

test('settleAll resolves when every piece succeeds, and at once for no work', async () => {
  const order: number[] = [];
  await settleAll(
    [1, 2, 3].map((n) => new Promise<void>((resolve) => setTimeout(() => resolve(void order.push(n)), n))),
  );
  assert.deepEqual(order.sort(), [1, 2, 3]);
  await settleAll([]);
});
