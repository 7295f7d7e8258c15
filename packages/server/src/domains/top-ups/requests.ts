/**
 * Requesting auto top-ups: the observer the top-ups domain registers with the committer. A wallet
 * change that crosses below the rule's threshold requests one top-up; the pending id it leaves in
 * the locked wallet makes it one, however many commands of the batch cross.
 */
import type { CostBasis, Wallet } from '@bursar/core';
import { decideTopUpRequest } from '@bursar/core';
import type { Batch, WalletChange, WalletObserver } from '../../platform/commit/batch.ts';
import type { WalletKey } from '../../platform/commit/wallet-key.ts';
import { newId } from '../../platform/ids.ts';
import { decimalText } from '../../platform/storage/codecs.ts';
import type { SqlRow } from '../../platform/storage/database.ts';

export const topUpRequests: WalletObserver = {
  walletChanged({ key, before, after }: WalletChange, batch: Batch): Wallet {
    if (after.topUp === undefined) return after;
    const id = newId('tup', batch.now);
    const request = decideTopUpRequest(before, after, batch.now, id, monthOf(batch.now));
    if (request === null) return after;
    const rule = request.wallet.topUp?.rule;
    if (rule === undefined) throw new Error('assertion failed: a requested top-up comes from a rule');
    batch.insert('topups', requestedTopUpRow(key, id, request.amount, rule.costBasis, batch.now));
    const data = { top_up: id, amount: request.amount, threshold: rule.threshold };
    batch.events.push({
      environmentId: key.environmentId,
      event: { type: 'topup.requested', customer: key.customer, asset: key.asset, data },
    });
    return request.wallet;
  },
};

/** The calendar month (UTC) a monthly cap counts in, `YYYY-MM`. */
export function monthOf(now: number): string {
  return new Date(now).toISOString().slice(0, 7);
}

/** A new `requested` top-up, carrying the rule's cost basis as its default. */
function requestedTopUpRow(
  key: WalletKey,
  id: string,
  amount: bigint,
  costBasis: CostBasis | undefined,
  now: number,
): SqlRow {
  return {
    environment_id: key.environmentId,
    id,
    customer_id: key.customer,
    asset: key.asset,
    amount,
    status: 'requested',
    reason: null,
    provider_reference: null,
    cost_currency: costBasis?.currency ?? null,
    cost_total: costBasis === undefined ? null : decimalText(costBasis.total),
    grant_id: null,
    attempts: 0n,
    lease_until: null,
    created_at: BigInt(now),
    settled_at: null,
  };
}
