/**
 * A customer's stored events in [from, to), oldest first, read a page at a time by key
 * (occurred_at, id), so a long range is never one statement's worth of rows: what usage reports
 * and the plan replay of a simulation both walk.
 */
import type { SqlSession } from '../../platform/storage/database.ts';
import { queryBuilder } from '../../platform/storage/kysely.ts';

const pageSize = 5000;

export interface CustomerEventRange {
  readonly environmentId: string;
  readonly customer: string;
  readonly from: number;
  readonly to: number;
  readonly feature: string | undefined;
}

export async function* readCustomerEvents(reader: SqlSession, range: CustomerEventRange) {
  const inRange = queryBuilder(reader)
    .selectFrom('events')
    .select(['id', 'feature', 'occurred_at', 'properties', 'quantities', 'asset', 'cost'])
    .where('environment_id', '=', range.environmentId)
    .where('customer_id', '=', range.customer)
    .where('occurred_at', '>=', BigInt(range.from))
    .where('occurred_at', '<', BigInt(range.to))
    .$if(range.feature !== undefined, (events) => events.where('feature', '=', range.feature as string))
    .orderBy('occurred_at')
    .orderBy('id')
    .limit(pageSize);
  let after: { at: bigint; id: string } | null = null;
  for (;;) {
    const cursor: { at: bigint; id: string } | null = after;
    const page: typeof inRange =
      cursor === null
        ? inRange
        : inRange.where((event) =>
            event.or([
              event('occurred_at', '>', cursor.at),
              event.and([event('occurred_at', '=', cursor.at), event('id', '>', cursor.id)]),
            ]),
          );
    const rows = await page.execute();
    yield* rows;
    const last = rows.at(-1);
    if (rows.length < pageSize || last === undefined) return;
    after = { at: last.occurred_at, id: last.id };
  }
}
