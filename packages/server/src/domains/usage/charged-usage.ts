/**
 * A customer's recorded charges in time order, as the plan replay of a simulation reads them: what
 * each stored event actually cost, in its asset's units. Read-only.
 */

import { simulationEventsMax } from '@bursar/api';
import type { ChargedUsage } from '@bursar/core';
import type { LedgerService } from '../../platform/service.ts';
import { toBigint, toTime } from '../../platform/storage/codecs.ts';
import type { CustomerEventRange } from './event-range.ts';
import { readCustomerEvents } from './event-range.ts';

export type ChargedUsageQuery = CustomerEventRange;

/** The charges in [from, to), or null when there are more than a simulation may replay. */
export async function readChargedUsage(
  service: LedgerService,
  query: ChargedUsageQuery,
): Promise<ChargedUsage[] | null> {
  const charges: ChargedUsage[] = [];
  for await (const row of readCustomerEvents(service.database.reader, query)) {
    if (charges.length >= simulationEventsMax) return null;
    charges.push({ asset: row.asset, at: toTime(row.occurred_at), amount: toBigint(row.cost) });
  }
  return charges;
}
