/**
 * A customer's recorded charges in time order, as the plan replay of a simulation reads them: what
 * each stored event actually cost, in its asset's units. Read-only.
 */

import { simulationEventsMax } from '@bursar/api';
import type { ChargedUsage } from '@bursar/core';
import type { LedgerService } from '../../platform/service.ts';
import { toBigint, toTime } from '../../platform/storage/codecs.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';

const pageSize = 5000;

export interface ChargedUsageQuery {
  readonly environmentId: string;
  readonly customer: string;
  readonly from: number;
  readonly to: number;
  readonly feature: string | undefined;
}

/** The charges in [from, to), or null when there are more than a simulation may replay. */
export async function readChargedUsage(
  service: LedgerService,
  query: ChargedUsageQuery,
): Promise<ChargedUsage[] | null> {
  const inRange = queryBuilder(service.database.reader)
    .selectFrom('events')
    .select(['id', 'occurred_at', 'asset', 'cost'])
    .where('environment_id', '=', query.environmentId)
    .where('customer_id', '=', query.customer)
    .where('occurred_at', '>=', BigInt(query.from))
    .where('occurred_at', '<', BigInt(query.to))
    .$if(query.feature !== undefined, (events) => events.where('feature', '=', query.feature as string))
    .orderBy('occurred_at')
    .orderBy('id')
    .limit(pageSize);
  const charges: ChargedUsage[] = [];
  let cursor: { at: bigint; id: string } | null = null;
  for (;;) {
    const after: { at: bigint; id: string } | null = cursor;
    const page: typeof inRange =
      after === null
        ? inRange
        : inRange.where((event) =>
            event.or([
              event('occurred_at', '>', after.at),
              event.and([event('occurred_at', '=', after.at), event('id', '>', after.id)]),
            ]),
          );
    const rows = await page.execute();
    for (const row of rows) {
      if (charges.length >= simulationEventsMax) return null;
      charges.push({ asset: row.asset, at: toTime(row.occurred_at), amount: toBigint(row.cost) });
    }
    const last = rows.at(-1);
    if (rows.length < pageSize || last === undefined) return charges;
    cursor = { at: toBigint(last.occurred_at), id: last.id };
  }
}
