/**
 * The audit log of privileged changes: one row per change, written in the same transaction,
 * hash-chained per environment so that any edit or deletion is detectable by `verify`.
 */
import { createHash } from 'node:crypto';
import { newId } from '../ids.ts';
import type { SqlRow, SqlSession } from '../storage/database.ts';
import { toBigint } from './wallet-store.ts';

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

/** Locks the environments' chain heads and returns the audit rows to insert, with the new heads. */
export async function chainAuditRecords(
  session: SqlSession,
  records: readonly AuditRecord[],
  now: number,
): Promise<{ rows: SqlRow[]; heads: SqlRow[] }> {
  const rows: SqlRow[] = [];
  const heads: SqlRow[] = [];
  const environmentIds = [...new Set(records.map((record) => record.environmentId))].sort();
  for (const environmentId of environmentIds) {
    const lock = session.dialect === 'postgres' ? ' FOR UPDATE' : '';
    const [head] = await session.all(`SELECT audit_seq, audit_hash FROM environments WHERE id = ?${lock}`, [
      environmentId,
    ]);
    if (head === undefined) throw new Error('assertion failed: audited environment exists');
    let seq = toBigint(head.audit_seq);
    let previousHash = String(head.audit_hash);
    for (const record of records.filter((candidate) => candidate.environmentId === environmentId)) {
      seq += 1n;
      const row: SqlRow = {
        environment_id: environmentId,
        seq,
        id: newId('aud', now),
        action: record.action,
        target: record.target,
        actor: record.actor,
        reason: record.reason,
        before: record.before === undefined || record.before === null ? null : JSON.stringify(record.before),
        after: record.after === undefined || record.after === null ? null : JSON.stringify(record.after),
        request_id: record.requestId,
        created_at: BigInt(now),
        prev_hash: previousHash,
        hash: '',
      };
      row.hash = hashAuditRow(row);
      previousHash = String(row.hash);
      rows.push(row);
    }
    heads.push({ id: environmentId, audit_seq: seq, audit_hash: previousHash });
  }
  return { rows, heads };
}

const hashedColumns = [
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

function hashAuditRow(row: SqlRow): string {
  const canonical = JSON.stringify(
    hashedColumns.map((column) => {
      const value = row[column];
      return typeof value === 'bigint' ? value.toString() : (value ?? null);
    }),
  );
  return createHash('sha256').update(canonical).digest('hex');
}

export interface AuditVerification {
  readonly valid: boolean;
  readonly eventsChecked: number;
  readonly brokenAtSeq: bigint | null;
  readonly problem: string | null;
  /** The hash of the last row, to anchor outside the database; null for an empty log. */
  readonly headHash: string | null;
}

/** Walks an environment's chain from the first row; the first row whose link or hash is wrong breaks it. */
export async function verifyAuditChain(session: SqlSession, environmentId: string): Promise<AuditVerification> {
  const rows = await session.all('SELECT * FROM audit_events WHERE environment_id = ? ORDER BY seq', [environmentId]);
  const [head] = await session.all('SELECT audit_seq, audit_hash FROM environments WHERE id = ?', [environmentId]);
  let previousHash = '';
  let expectedSeq = 1n;
  for (const row of rows) {
    const seq = toBigint(row.seq);
    const broken = (problem: string): AuditVerification => ({
      valid: false,
      eventsChecked: Number(seq - 1n),
      brokenAtSeq: seq,
      problem,
      headHash: null,
    });
    if (seq !== expectedSeq) return broken('a row is missing before this one');
    if (row.prev_hash !== previousHash) return broken('prev_hash does not link to the row before');
    if (hashAuditRow(row) !== row.hash) return broken('the row does not match its hash');
    previousHash = String(row.hash);
    expectedSeq += 1n;
  }
  if (
    head !== undefined &&
    (toBigint(head.audit_seq) !== expectedSeq - 1n || String(head.audit_hash) !== previousHash)
  ) {
    return {
      valid: false,
      eventsChecked: rows.length,
      brokenAtSeq: expectedSeq,
      problem: 'rows after the last one were deleted',
      headHash: null,
    };
  }
  return {
    valid: true,
    eventsChecked: rows.length,
    brokenAtSeq: null,
    problem: null,
    headHash: previousHash === '' ? null : previousHash,
  };
}
