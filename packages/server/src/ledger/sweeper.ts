/**
 * Books what time decided for wallets nobody is touching: expired holds and the remainders of
 * expired or voided grants. Balances never wait for it (reads decide expiry from the clock);
 * it only keeps the booked ledger close to the live one and emits the lifecycle events.
 */

import type { Clock } from '../clock.ts';
import type { Database } from '../storage/database.ts';
import type { Committer } from './committer.ts';
import { okReply } from './service.ts';

const walletsPerSweepMax = 200;

export async function sweepDueSettlements(database: Database, committer: Committer, clock: Clock): Promise<number> {
  const now = BigInt(clock.now());
  const rows = await database.reader.all(
    `SELECT environment_id, customer_id, asset FROM holds WHERE status = 'open' AND expires_at <= ?
     UNION
     SELECT environment_id, customer_id, asset FROM grants WHERE remaining > reserved AND (expires_at <= ? OR voided_at IS NOT NULL)
     LIMIT ${walletsPerSweepMax}`,
    [now, now],
  );
  await Promise.all(
    rows.map((row) => {
      const key = {
        environmentId: String(row.environment_id),
        customer: String(row.customer_id),
        asset: String(row.asset),
      };
      return committer.submit({
        environmentId: key.environmentId,
        requestId: 'sweeper',
        idempotency: null,
        wallets: [key],
        decide(batch) {
          batch.wallet(key); // settling is what reading a wallet inside a batch does first
          return okReply(200, {});
        },
      });
    }),
  );
  return rows.length;
}
