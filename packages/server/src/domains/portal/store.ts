/**
 * What the portal domain stores and reads: portal sessions (by environment, customer and a hash the
 * token or code carries its owner for) and an environment's portal settings. Writes go through the
 * committer's writer, so they share its transaction discipline with every other write.
 */
import type { LedgerService } from '../../platform/service.ts';
import { isAnyOf, queryBuilder } from '../../platform/storage/kysely.ts';
import type { TableRow } from '../../platform/storage/schema.ts';
import type { SecretOwner } from './tokens.ts';

export type PortalSessionRow = TableRow<'portal_sessions'>;

export async function insertPortalSession(service: LedgerService, row: PortalSessionRow): Promise<void> {
  await service.committer.runInWriter('portal_session', async ({ session }) => {
    await session.insertMany('portal_sessions', [row]);
  });
}

/**
 * A session by the hash of its bearer token or of its cookie's token, with its environment's name;
 * expired ones too (the caller decides with its clock).
 */
export async function sessionByTokenHash(
  service: LedgerService,
  owner: SecretOwner,
  tokenHash: string,
): Promise<(PortalSessionRow & { environment_name: string }) | undefined> {
  return queryBuilder(service.database.reader)
    .selectFrom('portal_sessions as s')
    .innerJoin('environments as e', 'e.id', 's.environment_id')
    .selectAll('s')
    .select('e.name as environment_name')
    .where('s.environment_id', '=', owner.environmentId)
    .where('s.customer_id', '=', owner.customer)
    .where((where) => where.or([where('s.token_hash', '=', tokenHash), where('s.cookie_token_hash', '=', tokenHash)]))
    .executeTakeFirst();
}

export async function sessionById(
  service: LedgerService,
  owner: SecretOwner,
  sessionId: string,
): Promise<PortalSessionRow | undefined> {
  return queryBuilder(service.database.reader)
    .selectFrom('portal_sessions')
    .selectAll()
    .where('environment_id', '=', owner.environmentId)
    .where('customer_id', '=', owner.customer)
    .where('id', '=', sessionId)
    .executeTakeFirst();
}

export type CodeExchange =
  | { readonly kind: 'exchanged'; readonly row: PortalSessionRow }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'used' }
  | { readonly kind: 'expired' };

/**
 * Marks the one-time code used and stores the hash of the cookie's new token, if the code is unused
 * and its session live: one conditional UPDATE, so of
 * two exchanges at once exactly one changes the row (the writer serializes them in one process; the
 * row lock and the re-checked condition do across processes) and the other finds it used.
 */
export async function exchangeCode(
  service: LedgerService,
  owner: SecretOwner,
  codeHash: string,
  cookieTokenHash: string,
): Promise<CodeExchange> {
  return service.committer.runInWriter('portal_code_exchange', async ({ session, now }): Promise<CodeExchange> => {
    const changed = await session.run(
      'UPDATE portal_sessions SET code_used_at = ?, cookie_token_hash = ? WHERE environment_id = ? AND customer_id = ? AND code_hash = ? AND code_used_at IS NULL AND expires_at > ?',
      [BigInt(now), cookieTokenHash, owner.environmentId, owner.customer, codeHash, BigInt(now)],
    );
    const row = await queryBuilder(session)
      .selectFrom('portal_sessions')
      .selectAll()
      .where('environment_id', '=', owner.environmentId)
      .where('customer_id', '=', owner.customer)
      .where('code_hash', '=', codeHash)
      .executeTakeFirst();
    if (row === undefined) return { kind: 'unknown' };
    if (changed === 1) return { kind: 'exchanged', row };
    return Number(row.expires_at) <= now ? { kind: 'expired' } : { kind: 'used' };
  });
}

/** The stored settings text of an environment, or null when the operator never set them. */
export async function storedSettings(service: LedgerService, environmentId: string): Promise<string | null> {
  const row = await queryBuilder(service.database.reader)
    .selectFrom('portal_settings')
    .select('settings')
    .where('environment_id', '=', environmentId)
    .executeTakeFirst();
  return row?.settings ?? null;
}

/**
 * The wallet versions of some customers of one environment, as one text per customer (`asset:version,…`):
 * a cheap probe of whether anything changed their wallets, one statement for all of them.
 */
export async function walletVersions(
  service: LedgerService,
  environmentId: string,
  customers: readonly string[],
): Promise<Map<string, string>> {
  const reader = service.database.reader;
  const rows = await queryBuilder(reader)
    .selectFrom('wallets')
    .select(['customer_id', 'asset', 'version'])
    .where('environment_id', '=', environmentId)
    .where(isAnyOf(reader.dialect, 'customer_id', customers))
    .orderBy('customer_id')
    .orderBy('asset')
    .execute();
  const versions = new Map<string, string>(customers.map((customer) => [customer, '']));
  for (const row of rows) versions.set(row.customer_id, `${versions.get(row.customer_id)}${row.asset}:${row.version},`);
  return versions;
}

export async function customerName(service: LedgerService, owner: SecretOwner): Promise<string | null> {
  const row = await queryBuilder(service.database.reader)
    .selectFrom('customers')
    .select('name')
    .where('environment_id', '=', owner.environmentId)
    .where('id', '=', owner.customer)
    .executeTakeFirst();
  return row?.name ?? null;
}
