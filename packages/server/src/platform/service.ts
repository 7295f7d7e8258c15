/**
 * The ledger service: turns parsed requests into commands for the committer (writes) and
 * answers reads. It checks what needs the asset's scale or the database (amount decimals,
 * unknown customers and assets) before anything is queued, so a rejected request changes nothing.
 */
import { createHash } from 'node:crypto';
import type { OutcomeCode, Refusal } from '@bursar/core';
import { formatAmount, parseAmount } from '@bursar/core';
import type { Clock } from './clock.ts';
import type { Command, CommandBody } from './commit/command.ts';
import type { Committer } from './commit/committer.ts';
import type { WalletKey } from './commit/wallet-key.ts';
import type { Caller, FieldError, Reply } from './contract.ts';
import { toProblem } from './http/problem.ts';
import type { Database } from './storage/database.ts';
import { queryBuilder } from './storage/kysely.ts';
import { WalletReads } from './wallet-reads.ts';

export interface LedgerLimits {
  readonly holdTtlDefaultMs: number;
  readonly holdTtlMaxMs: number;
}

export interface AssetInfo {
  readonly code: string;
  readonly scale: number;
}

export class LedgerService {
  readonly database: Database;
  readonly committer: Committer;
  /** Wallet state for reads, from memory when it is known current (wallet-reads.ts). */
  readonly wallets: WalletReads;
  readonly clock: Clock;
  readonly limits: LedgerLimits;
  /** Webhooks may target loopback and private addresses (tests, a deliberate private network). */
  readonly webhooksAllowPrivate: boolean;
  /** Keys the audit chain; `verifyAuditLog` checks with it. */
  readonly auditKey: Buffer;
  /** Called after a top-up settles in a committed batch (metrics). */
  readonly onTopUpSettled: (outcome: 'succeeded' | 'failed') => void;
  readonly #assets = new Map<string, AssetInfo>();
  readonly #customers = new Set<string>();

  constructor(options: {
    database: Database;
    committer: Committer;
    clock: Clock;
    limits: LedgerLimits;
    /** PostgreSQL: how old a cached wallet's last check may be for a read to answer from it (0: always checked). */
    readStalenessMs?: number;
    webhooksAllowPrivate: boolean;
    auditKey: Buffer;
    onTopUpSettled?: (outcome: 'succeeded' | 'failed') => void;
  }) {
    this.database = options.database;
    this.committer = options.committer;
    this.wallets = new WalletReads({
      database: options.database,
      committer: options.committer,
      stalenessMs: options.readStalenessMs ?? 0,
      customersMax: options.committer.walletCacheMax,
    });
    this.clock = options.clock;
    this.limits = options.limits;
    this.webhooksAllowPrivate = options.webhooksAllowPrivate;
    this.auditKey = options.auditKey;
    this.onTopUpSettled = options.onTopUpSettled ?? (() => {});
  }

  // ----- shared checks -------------------------------------------------------------------

  async asset(environmentId: string, code: string): Promise<AssetInfo | undefined> {
    const cacheKey = `${environmentId}\u0000${code}`;
    const cached = this.#assets.get(cacheKey);
    if (cached !== undefined) return cached;
    const row = await queryBuilder(this.database.reader)
      .selectFrom('assets')
      .select('scale')
      .where('environment_id', '=', environmentId)
      .where('code', '=', code)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    const asset = { code, scale: Number(row.scale) };
    this.#assets.set(cacheKey, asset); // assets never change once created
    return asset;
  }

  async customerExists(environmentId: string, customer: string): Promise<boolean> {
    const cacheKey = `${environmentId}\u0000${customer}`;
    if (this.#customers.has(cacheKey)) return true;
    const row = await queryBuilder(this.database.reader)
      .selectFrom('customers')
      .select('id')
      .where('environment_id', '=', environmentId)
      .where('id', '=', customer)
      .executeTakeFirst();
    if (row !== undefined) this.#customers.add(cacheKey); // customers are never deleted
    return row !== undefined;
  }

  /** Resolves the wallet a request names, or the reply refusing it (unknown customer or asset). */
  async walletFor(
    caller: Caller,
    customer: string,
    assetCode: string,
  ): Promise<{ key: WalletKey; asset: AssetInfo } | Reply> {
    const asset = await this.asset(caller.environmentId, assetCode);
    if (asset === undefined)
      return problemReply(caller, 'asset_not_found', `No asset "${assetCode}" in this environment.`);
    if (!(await this.customerExists(caller.environmentId, customer))) {
      return problemReply(caller, 'customer_not_found', `No customer "${customer}" in this environment.`);
    }
    return { key: { environmentId: caller.environmentId, customer, asset: assetCode }, asset };
  }

  submit(caller: Caller, operation: string, request: unknown, command: CommandBody): Promise<Reply> {
    return this.committer.submit({
      environmentId: caller.environmentId,
      requestId: caller.requestId,
      idempotency: idempotencyOf(caller, operation, request),
      ...(caller.dryRun === true ? { dryRun: true } : {}),
      ...command,
    });
  }
}

// ----- replies ---------------------------------------------------------------------------

/** A success reply; `replayBody`, when given, is what a replay answers instead of `body` (see Reply.storedBodyText). */
export function okReply(status: number, body: unknown, replayBody?: unknown): Reply {
  const reply = { status, bodyText: JSON.stringify(body), problem: false, replayed: false };
  return replayBody === undefined ? reply : { ...reply, storedBodyText: JSON.stringify(replayBody) };
}

export function problemReply(
  caller: Pick<Caller, 'requestId'>,
  code: OutcomeCode,
  detail: string,
  options: { errors?: readonly FieldError[]; facts?: Record<string, unknown> } = {},
): Reply {
  return { ...toProblem(code, detail, { requestId: caller.requestId, ...options }), problem: true, replayed: false };
}

export function fieldReply(caller: Pick<Caller, 'requestId'>, errors: readonly FieldError[]): Reply {
  const first = errors[0];
  return problemReply(
    caller,
    'validation_failed',
    first === undefined ? 'The request is not valid.' : `${first.field}: ${first.message}`,
    { errors },
  );
}

/** Renders a core refusal; bigint facts become amounts in the asset's unit. */
export function refusalReply(caller: Pick<Caller, 'requestId'>, refusal: Refusal, scale: number): Reply {
  const facts: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(refusal.facts ?? {}))
    facts[name] = typeof value === 'bigint' ? formatAmount(value, scale) : value;
  if (refusal.code === 'validation_failed' && typeof facts.field === 'string') {
    return fieldReply(caller, [{ field: facts.field, message: refusal.detail }]);
  }
  return problemReply(caller, refusal.code, refusal.detail, { facts });
}

/** The caller's Idempotency-Key with the fingerprint of the request it was sent with. */
export function idempotencyOf(caller: Caller, operation: string, request: unknown): Command['idempotency'] {
  // A dry run stores nothing, so its key is neither looked up nor kept.
  return caller.idempotencyKey === null || caller.dryRun === true
    ? null
    : { key: caller.idempotencyKey, fingerprint: fingerprintOf(operation, request) };
}

function fingerprintOf(operation: string, request: unknown): string {
  return createHash('sha256').update(operation).update('\u0000').update(canonicalJson(request)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, field]) => field !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, field]) => `${JSON.stringify(key)}:${canonicalJson(field)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Parses a wire amount with the asset's scale, or returns the field error. */
export function parseWireAmount(
  text: string,
  scale: number,
  field: string,
  options: { signed?: boolean; positive?: boolean } = {},
): bigint | FieldError {
  const parsed = parseAmount(text, scale, { signed: options.signed === true });
  if (!parsed.ok) return { field, message: parsed.reason };
  if (options.positive === true && parsed.units <= 0n) return { field, message: 'must be greater than zero' };
  if (options.signed === true && parsed.units === 0n) return { field, message: 'must not be zero' };
  return parsed.units;
}

export function isFieldError(value: unknown): value is FieldError {
  return typeof value === 'object' && value !== null && 'field' in value && 'message' in value;
}
