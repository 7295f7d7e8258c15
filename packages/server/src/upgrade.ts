/**
 * What upgrading a database written by a version before the keyed audit chain does, in the
 * transaction that adds the chain's `hash_kind` column: key every audit chain, and strip the
 * secrets those versions kept inside stored idempotent replies.
 */

import { keyAuditChainsOnUpgrade } from './platform/commit/audit-chain.ts';
import type { SqlSession } from './platform/storage/database.ts';

/** The migrate hook for `bursar serve`, `bursar migrate` and `bursar jobs`. */
export function upgradeFromUnkeyedVersion(
  now: number,
  auditKey: Buffer,
): (added: readonly string[], session: SqlSession) => Promise<void> {
  const keyAuditChains = keyAuditChainsOnUpgrade(now, auditKey);
  return async (added, session) => {
    if (!added.includes('audit_events.hash_kind')) return;
    await keyAuditChains(added, session);
    await redactStoredReplySecrets(session);
  };
}

const secretFields = [
  { field: 'key', prefix: 'bk_' },
  { field: 'secret', prefix: 'whsec_' },
] as const;

/**
 * A stored reply body without the secrets older versions stored in it (an API key at `key` or
 * `admin_key.key`, a webhook signing secret at `secret`), in the form replies are stored today:
 * the field null and `secret_shown_once: true`. Null when the body holds none.
 */
export function redactReplySecrets(bodyText: string): string | null {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null) return null;
  const record = body as Record<string, unknown>;
  const holders = [record, record.admin_key].filter(
    (holder): holder is Record<string, unknown> => typeof holder === 'object' && holder !== null,
  );
  let redacted = false;
  for (const holder of holders) {
    for (const { field, prefix } of secretFields) {
      const value = holder[field];
      if (typeof value !== 'string' || !value.startsWith(prefix)) continue;
      holder[field] = null;
      holder.secret_shown_once = true;
      redacted = true;
    }
  }
  return redacted ? JSON.stringify(record) : null;
}

async function redactStoredReplySecrets(session: SqlSession): Promise<void> {
  // Once per upgrade, so a scan of the table is affordable; only replies that may hold a secret are read.
  const rows = await session.all(
    `SELECT environment_id, key, body FROM idempotency_keys WHERE body LIKE '%"key":"bk\\_%' ESCAPE '\\' OR body LIKE '%"secret":"whsec\\_%' ESCAPE '\\'`,
  );
  for (const row of rows) {
    const body = redactReplySecrets(String(row.body));
    if (body === null) continue;
    await session.run('UPDATE idempotency_keys SET body = ? WHERE environment_id = ? AND key = ?', [
      body,
      String(row.environment_id),
      String(row.key),
    ]);
  }
}
