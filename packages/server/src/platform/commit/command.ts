/**
 * What the committer runs: wallet commands (pure decisions over locked wallets) and writer tasks
 * (SQL run inside the writer's transaction).
 */
import type { PlannedEvent } from '@bursar/core';
import type { Reply } from '../contract.ts';
import type { SqlRow, SqlSession } from '../storage/database.ts';
import type { TableName } from '../storage/schema.ts';
import type { AuditRecord } from './audit-chain.ts';
import type { Batch } from './batch.ts';
import type { WalletKey } from './wallet-key.ts';

interface CommandBase {
  readonly environmentId: string;
  readonly requestId: string;
  readonly idempotency: { readonly key: string; readonly fingerprint: string } | null;
  /**
   * A preview (`?dry_run=true`): decided alone, in a transaction that is rolled back, so no row of
   * any kind is written and no cached wallet changes; its reply carries the wallets before and after.
   */
  readonly dryRun?: boolean;
}

/** Reads a wallet command may make inside the batch's transaction; its writes go through the batch. */
export type SqlReader = Pick<SqlSession, 'dialect' | 'all' | 'selectByKeys'>;

/** A decision over locked wallets: it records its effects in the batch and renders its reply. */
export interface WalletCommand extends CommandBase {
  readonly kind?: 'wallet';
  /** Wallets to lock and load before the command decides; a command touches no others. */
  readonly wallets: readonly WalletKey[];
  /** Rows to read for the command with one statement per table for the whole batch (see Batch.preloaded). */
  readonly preload?: readonly Preload[];
  /** Reads under the batch's locks, before deciding (rows a decision needs that preloads cannot name). */
  read?(batch: Batch, reader: SqlReader): Promise<void>;
  /** Decides on the loaded wallets, records its writes in the batch, and renders its reply. */
  decide(batch: Batch): Reply;
}

/** SQL run inside the writer's transaction, in the batch's order; its reply commits with the batch. */
export interface WriterTask extends CommandBase {
  readonly kind: 'task';
  run(writer: Writer): Promise<Reply>;
}

export type Command = WalletCommand | WriterTask;

/** A command without its origin (environment, request id, idempotency key), which the service adds. */
export type CommandBody = Omit<WalletCommand, keyof CommandBase> | Omit<WriterTask, keyof CommandBase>;

/** What a writer task is handed: the writer's session, the batch's time, and the ledger rows it adds. */
export interface Writer {
  readonly session: SqlSession;
  readonly now: number;
  /** Audit records to chain with the batch's. */
  readonly audits: AuditRecord[];
  /** Lifecycle events to write to the outbox with the batch's. */
  readonly events: { environmentId: string; event: PlannedEvent }[];
}

/** A row a command needs, read for the whole batch at once; `lock` locks it, `defaultRow` creates it if missing. */
export interface Preload {
  readonly table: TableName;
  readonly keyColumns: readonly string[];
  readonly key: readonly string[];
  readonly lock?: boolean;
  readonly defaultRow?: SqlRow;
}
