/** Assets and customers: created once, never changed or deleted, so the service caches their lookups. */

import { auditOf } from '../../platform/commit/audit-chain.ts';
import type { Caller, Reply } from '../../platform/contract.ts';
import { type LedgerService, okReply, problemReply } from '../../platform/service.ts';
import { toTime } from '../../platform/storage/codecs.ts';
import type { SqlRow } from '../../platform/storage/database.ts';
import { toTimestamp } from '../../platform/wire.ts';

export async function createAsset(
  service: LedgerService,
  caller: Caller,
  input: { code: string; scale: number; name?: string | undefined },
): Promise<Reply> {
  return service.submit(caller, 'createAsset', input, {
    kind: 'task',
    async run(writer) {
      const row: SqlRow = {
        environment_id: caller.environmentId,
        code: input.code,
        scale: BigInt(input.scale),
        name: input.name ?? input.code,
        created_at: BigInt(writer.now),
      };
      const inserted = await writer.session.insertMany('assets', [row], { onConflictDoNothing: true });
      if (inserted.length === 0) {
        return problemReply(caller, 'asset_exists', `An asset "${input.code}" exists in this environment.`);
      }
      const body = toWireAsset(row);
      writer.audits.push(auditOf(caller, 'asset.created', `asset:${input.code}`, null, null, body));
      return okReply(201, body);
    },
  });
}

export function toWireAsset(row: SqlRow) {
  return {
    code: String(row.code),
    scale: Number(row.scale),
    name: String(row.name),
    created_at: toTimestamp(toTime(row.created_at)),
  };
}

export async function createCustomer(
  service: LedgerService,
  caller: Caller,
  input: { id: string; name?: string | undefined; metadata?: Record<string, string> | undefined },
): Promise<Reply> {
  return service.submit(caller, 'createCustomer', input, {
    kind: 'task',
    async run(writer) {
      const row: SqlRow = {
        environment_id: caller.environmentId,
        id: input.id,
        name: input.name ?? null,
        metadata: input.metadata === undefined ? null : JSON.stringify(input.metadata),
        created_at: BigInt(writer.now),
      };
      const inserted = await writer.session.insertMany('customers', [row], { onConflictDoNothing: true });
      return inserted.length === 0
        ? problemReply(caller, 'customer_exists', `A customer "${input.id}" exists in this environment.`)
        : okReply(201, toWireCustomer(row));
    },
  });
}

export function toWireCustomer(row: SqlRow) {
  return {
    id: String(row.id),
    name: row.name === null ? null : String(row.name),
    metadata: row.metadata === null ? null : JSON.parse(String(row.metadata)),
    created_at: toTimestamp(toTime(row.created_at)),
  };
}
