/**
 * The audit log of privileged changes: one row per change, written in the same transaction,
 * chained per environment with an HMAC keyed by a secret kept outside the database, so that an
 * edit, an insertion or a deletion by someone who can write the database but lacks the key is
 * detectable; an exported, signed head also detects a rollback of the tail.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Caller } from '../contract.ts';
import { actorOf } from '../contract.ts';
import { newId } from '../ids.ts';
import type { SqlRow, SqlSession } from '../storage/database.ts';
import { queryBuilder } from '../storage/kysely.ts';

export interface AuditRecord {
  readonly environmentId: string;
  readonly action: string;
  readonly target: string;
  readonly actor: string;
  readonly reason: string | null;
  readonly before: unknown;
  readonly after: unknown;
  readonly requestId: string | null;
}

/**
 * `hash_kind` of rows written since the chain is keyed. Rows written before have NULL: a plain
 * SHA-256 that anyone can recompute, trusted only because the first keyed row covers its hash.
 */
const keyedHashKind = 'hmac-sha256';

/** Locks the environments' chain heads and returns the audit rows to insert, with the new heads. */
export async function chainAuditRecords(
  session: SqlSession,
  records: readonly AuditRecord[],
  now: number,
  auditKey: Buffer,
): Promise<{ rows: SqlRow[]; heads: SqlRow[] }> {
  const rows: SqlRow[] = [];
  const heads: SqlRow[] = [];
  const environmentIds = [...new Set(records.map((record) => record.environmentId))].sort();
  for (const environmentId of environmentIds) {
    const head = await queryBuilder(session)
      .selectFrom('environments')
      .select(['audit_seq', 'audit_hash'])
      .where('id', '=', environmentId)
      .$if(session.dialect === 'postgres', (query) => query.forUpdate())
      .executeTakeFirst();
    if (head === undefined) throw new Error('assertion failed: audited environment exists');
    let seq = head.audit_seq;
    let previousHash = head.audit_hash;
    for (const record of records.filter((candidate) => candidate.environmentId === environmentId)) {
      seq += 1n;
      // Stored as the database will store it, so the hash covers exactly the bytes kept.
      const row: SqlRow = {
        environment_id: environmentId,
        seq,
        id: newId('aud', now),
        action: wellFormed(record.action),
        target: wellFormed(record.target),
        actor: wellFormed(record.actor),
        reason: record.reason === null ? null : wellFormed(record.reason),
        before:
          record.before === undefined || record.before === null ? null : wellFormed(JSON.stringify(record.before)),
        after: record.after === undefined || record.after === null ? null : wellFormed(JSON.stringify(record.after)),
        request_id: record.requestId === null ? null : wellFormed(record.requestId),
        created_at: BigInt(now),
        prev_hash: previousHash,
        hash: '',
        hash_kind: keyedHashKind,
      };
      row.hash = hashAuditRow(row, auditKey);
      previousHash = String(row.hash);
      rows.push(row);
    }
    heads.push({ id: environmentId, audit_seq: seq, audit_hash: previousHash });
  }
  return { rows, heads };
}

/**
 * Text as UTF-8 storage returns it: a lone surrogate becomes U+FFFD, as both drivers encode it.
 * Without this the hash would cover a string the database never kept.
 */
function wellFormed(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

/**
 * The upgrade that adds `hash_kind` keys every chain: each non-empty one (all plain rows then) gets
 * an `audit.chain_keyed` row whose keyed hash covers the plain chain before it. It runs only in the
 * transaction that adds the column, never again: a chain relabelled as plain later is not blessed.
 */
export function keyAuditChainsOnUpgrade(
  now: number,
  auditKey: Buffer,
): (added: readonly string[], session: SqlSession) => Promise<void> {
  return async (added, session) => {
    if (!added.includes('audit_events.hash_kind')) return;
    const records: AuditRecord[] = [];
    const environments = await queryBuilder(session)
      .selectFrom('environments')
      .select(['id', 'audit_seq'])
      .orderBy('id')
      .execute();
    for (const environment of environments) {
      const plainRows = environment.audit_seq;
      if (plainRows === 0n) continue;
      const environmentId = environment.id;
      records.push({
        environmentId,
        action: anchorAction,
        target: `environment:${environmentId}`,
        actor: 'system:upgrade',
        reason: 'rows from here are keyed with the audit key; this row covers the hash of those before',
        before: null,
        after: { plain_rows: Number(plainRows) },
        requestId: null,
      });
    }
    if (records.length === 0) return;
    const { rows, heads } = await chainAuditRecords(session, records, now, auditKey);
    await session.insertMany('audit_events', rows);
    await session.updateMany('environments', ['id'], heads);
  };
}

const anchorAction = 'audit.chain_keyed';

/** The columns a row's hash covers, in order (exported so tests can forge a chain as an attacker would). */
export const hashedColumns = [
  'environment_id',
  'seq',
  'id',
  'action',
  'target',
  'actor',
  'reason',
  'before',
  'after',
  'request_id',
  'created_at',
  'prev_hash',
];

function hashAuditRow(row: SqlRow, auditKey: Buffer): string {
  const values = hashedColumns.map((column) => {
    const value = row[column];
    return typeof value === 'bigint' ? value.toString() : (value ?? null);
  });
  if (row.hash_kind === null || row.hash_kind === undefined) {
    // Rows written before the chain was keyed: the plain hash they were stored with.
    return createHash('sha256').update(JSON.stringify(values)).digest('hex');
  }
  const canonical = Buffer.from(JSON.stringify([String(row.hash_kind), ...values]), 'utf8');
  return createHmac('sha256', auditKey).update(canonical).digest('hex');
}

export interface AuditVerification {
  readonly valid: boolean;
  readonly eventsChecked: number;
  readonly brokenAtSeq: bigint | null;
  readonly problem: string | null;
  /** The sequence number and hash of the last row, to anchor outside the database; null for an empty log. */
  readonly headSeq: bigint | null;
  readonly headHash: string | null;
}

/** What an exported head says of one environment: the chain had this hash at this sequence number. */
export interface ExportedChainHead {
  readonly environmentId: string;
  readonly seq: bigint;
  readonly hash: string;
}

const auditPageRows = 1000;

/**
 * Walks an environment's chain from the first row, a page at a time; the first row whose link,
 * kind or hash is wrong breaks it. With `exported`, the chain must still hold that hash at that
 * sequence number (a rewrite or rollback by someone with the key is caught only this way).
 */
export async function verifyAuditChain(
  session: SqlSession,
  environmentId: string,
  auditKey: Buffer,
  options: { exported?: ExportedChainHead; pageRows?: number; onRows?: (rows: number) => void } = {},
): Promise<AuditVerification> {
  const pageRows = options.pageRows ?? auditPageRows;
  let previousHash = '';
  let expectedSeq = 1n;
  let keyedFrom: bigint | null = null;
  let checked = 0;
  const broken = (seq: bigint, problem: string): AuditVerification => ({
    valid: false,
    eventsChecked: checked,
    brokenAtSeq: seq,
    problem,
    headSeq: null,
    headHash: null,
  });
  for (;;) {
    const rows = await queryBuilder(session)
      .selectFrom('audit_events')
      .selectAll()
      .where('environment_id', '=', environmentId)
      .where('seq', '>=', expectedSeq)
      .orderBy('seq')
      .limit(pageRows)
      .execute();
    for (const row of rows) {
      const seq = row.seq;
      if (seq !== expectedSeq) return broken(expectedSeq, 'a row is missing before this one');
      if (row.prev_hash !== previousHash) return broken(seq, 'prev_hash does not link to the row before');
      if (row.hash_kind === null || row.hash_kind === undefined) {
        if (keyedFrom !== null) return broken(seq, `an unkeyed row after the chain became keyed at seq ${keyedFrom}`);
      } else if (row.hash_kind !== keyedHashKind) {
        return broken(seq, `unknown hash_kind "${row.hash_kind}"`);
      } else {
        if (keyedFrom === null && seq > 1n && row.action !== anchorAction) {
          return broken(seq, `the plain rows before this keyed row are not anchored by an ${anchorAction} row`);
        }
        keyedFrom ??= seq;
      }
      if (!sameHex(hashAuditRow(row, auditKey), row.hash)) {
        return broken(
          seq,
          keyedFrom === null
            ? 'the row does not match its hash'
            : 'the row does not match its keyed hash (edited, or verified with another audit key)',
        );
      }
      if (options.exported !== undefined && seq === options.exported.seq && row.hash !== options.exported.hash) {
        return broken(seq, 'the hash differs from the exported head: the chain was rewritten up to here');
      }
      previousHash = row.hash;
      expectedSeq += 1n;
      checked += 1;
    }
    options.onRows?.(rows.length);
    if (rows.length < pageRows) break;
  }
  const lastSeq = expectedSeq - 1n;
  // An empty chain is whole when the head says so; deleting a whole chain is a truncation (threat model).
  if (checked > 0 && keyedFrom === null) {
    return broken(
      1n,
      'no row is keyed, so none is protected against database writers (relabelled as plain, or never upgraded: run `bursar migrate` with the audit key)',
    );
  }
  const head = await queryBuilder(session)
    .selectFrom('environments')
    .select(['audit_seq', 'audit_hash'])
    .where('id', '=', environmentId)
    .executeTakeFirst();
  if (head !== undefined && (head.audit_seq !== lastSeq || head.audit_hash !== previousHash)) {
    return broken(
      expectedSeq,
      "the chain does not end at the environment's head: rows after the last one were deleted",
    );
  }
  if (options.exported !== undefined && lastSeq < options.exported.seq) {
    return broken(
      expectedSeq,
      `the chain ends at seq ${lastSeq} but the exported head has seq ${options.exported.seq}: the tail was rolled back`,
    );
  }
  return {
    valid: true,
    eventsChecked: checked,
    brokenAtSeq: null,
    problem: null,
    headSeq: checked === 0 ? null : lastSeq,
    headHash: checked === 0 ? null : previousHash,
  };
}

function sameHex(computed: string, stored: string): boolean {
  return computed.length === stored.length && timingSafeEqual(Buffer.from(computed), Buffer.from(stored));
}

/** An exported head: per environment the last sequence number and hash, signed with the audit key. */
export interface SignedAuditHead {
  readonly format: 'bursar.audit-head.v1';
  readonly exported_at: string;
  readonly environments: readonly { environment_id: string; name: string; seq: string; hash: string }[];
  readonly signature: string;
}

/** Reads every environment's stored head and signs the lot, for the operator to keep elsewhere. */
export async function exportAuditHead(session: SqlSession, now: number, auditKey: Buffer): Promise<SignedAuditHead> {
  const rows = await queryBuilder(session)
    .selectFrom('environments')
    .select(['id', 'name', 'audit_seq', 'audit_hash'])
    .orderBy('id')
    .execute();
  const environments = rows.map((row) => ({
    environment_id: row.id,
    name: row.name,
    seq: row.audit_seq.toString(),
    hash: row.audit_hash,
  }));
  const unsigned = { format: 'bursar.audit-head.v1' as const, exported_at: new Date(now).toISOString(), environments };
  return { ...unsigned, signature: signHead(unsigned, auditKey) };
}

function signHead(unsigned: Omit<SignedAuditHead, 'signature'>, auditKey: Buffer): string {
  // A separate label keeps a head signature from ever being mistaken for a row hash.
  const canonical = JSON.stringify(['bursar audit head', unsigned.format, unsigned.exported_at, unsigned.environments]);
  return createHmac('sha256', auditKey).update(Buffer.from(canonical, 'utf8')).digest('hex');
}

/** Checks an exported head's shape and signature; returns its chain heads or why it cannot be used. */
export function readAuditHead(
  exported: unknown,
  auditKey: Buffer,
): { ok: true; heads: ExportedChainHead[] } | { ok: false; problem: string } {
  const candidate = exported as Partial<SignedAuditHead> | null;
  const environments = candidate?.environments;
  if (
    candidate?.format !== 'bursar.audit-head.v1' ||
    typeof candidate.exported_at !== 'string' ||
    typeof candidate.signature !== 'string' ||
    !Array.isArray(environments) ||
    !environments.every(
      (entry) =>
        typeof entry?.environment_id === 'string' &&
        typeof entry.name === 'string' &&
        typeof entry.seq === 'string' &&
        /^\d+$/.test(entry.seq) &&
        typeof entry.hash === 'string',
    )
  ) {
    return { ok: false, problem: 'the head file is not a bursar.audit-head.v1 document' };
  }
  const expected = signHead({ format: candidate.format, exported_at: candidate.exported_at, environments }, auditKey);
  if (!sameHex(expected, candidate.signature)) {
    return { ok: false, problem: 'the head file signature does not match (edited, or signed with another audit key)' };
  }
  return {
    ok: true,
    heads: environments.map((entry) => ({
      environmentId: entry.environment_id,
      seq: BigInt(entry.seq),
      hash: entry.hash,
    })),
  };
}

export function auditOf(
  caller: Caller,
  action: string,
  target: string,
  reason: string | null,
  before: unknown,
  after: unknown,
) {
  return {
    environmentId: caller.environmentId,
    action,
    target,
    actor: actorOf(caller),
    reason,
    before,
    after,
    requestId: caller.requestId,
  };
}
