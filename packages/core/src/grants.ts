/**
 * Grants add a lot of credit to a wallet (paying its debt first when the policy says so);
 * voiding moves a grant's unreserved remainder out. Positive adjustments are grants booked
 * against the `adjustment` account.
 */
import { walletEvent } from './events.ts';
import type { Accepted, DecisionContext, PlannedEntry, PlannedTransaction } from './ledger.ts';
import { makeTransaction } from './ledger.ts';
import { AMOUNT_MAX } from './money.ts';
import type { Refusal } from './outcomes.ts';
import { refuse } from './outcomes.ts';
import type { CostBasis, Grant, GrantCategory, Wallet } from './wallet.ts';

export interface GrantRequest {
  readonly amount: bigint;
  readonly category: GrantCategory;
  readonly priority: number;
  /** Null means now. */
  readonly effectiveAt: number | null;
  readonly expiresAt: number | null;
  readonly features: readonly string[] | null;
  readonly costBasis: CostBasis | null;
  readonly reason: string | null;
  /** `issuance` for grants, `adjustment` for positive adjustments. */
  readonly source: 'issuance' | 'adjustment';
}

export interface GrantResult {
  readonly grant: Grant;
  readonly transaction: PlannedTransaction;
  readonly debtRepaid: bigint;
}

export function decideGrant(
  wallet: Wallet,
  request: GrantRequest,
  context: DecisionContext,
): Accepted<GrantResult> | Refusal {
  const effectiveAt = request.effectiveAt ?? context.now;
  if (request.expiresAt !== null && request.expiresAt <= Math.max(effectiveAt, context.now)) {
    return refuse('validation_failed', 'expires_at must be later than effective_at and than now.', {
      field: 'expires_at',
    });
  }
  let total = request.amount;
  for (const grant of wallet.grants) total += grant.remaining;
  if (total > AMOUNT_MAX) return refuse('amount_overflow', 'The wallet would hold more than a 64-bit balance allows.');

  // Debt is repaid only by credit that is spendable now on anything: otherwise it would be
  // settled with credit the customer could not have used for the draw that made the debt.
  const repays = wallet.policy.repayDebtFirst && effectiveAt <= context.now && request.features === null;
  const debtRepaid = repays ? (wallet.debt < request.amount ? wallet.debt : request.amount) : 0n;
  const grant: Grant = {
    id: context.nextId('grt'),
    amount: request.amount,
    remaining: request.amount - debtRepaid,
    reserved: 0n,
    category: request.category,
    priority: request.priority,
    effectiveAt,
    expiresAt: request.expiresAt,
    features: request.features,
    costBasis: request.costBasis,
    createdAt: context.now,
    voidedAt: null,
  };
  const entries: PlannedEntry[] = [{ account: request.source, grantId: null, amount: -request.amount }];
  if (debtRepaid > 0n) entries.push({ account: 'debt', grantId: null, amount: debtRepaid });
  if (grant.remaining > 0n) entries.push({ account: 'grant', grantId: grant.id, amount: grant.remaining });
  const transaction = makeTransaction({
    id: context.nextId('txn'),
    kind: request.source === 'issuance' ? 'grant' : 'adjust',
    customer: wallet.customer,
    asset: wallet.asset,
    amount: request.amount,
    grantId: grant.id,
    reason: request.reason,
    entries,
    createdAt: context.now,
  });
  const next = { ...wallet, debt: wallet.debt - debtRepaid, grants: [...wallet.grants, grant] };
  const event = walletEvent(wallet, 'grant.created', {
    grant: grant.id,
    amount: request.amount.toString(),
    category: request.category,
  });
  return {
    kind: 'accepted',
    wallet: next,
    transactions: [transaction],
    events: [event],
    holdsEnded: [],
    result: { grant, transaction, debtRepaid },
  };
}

export interface VoidResult {
  readonly grant: Grant;
  readonly transaction: PlannedTransaction;
}

/** Voids a grant: its unreserved remainder leaves now; what open holds reserve stays capturable. */
export function decideVoid(
  wallet: Wallet,
  grantId: string,
  reason: string,
  context: DecisionContext,
): Accepted<VoidResult> | Refusal {
  const grant = wallet.grants.find((lot) => lot.id === grantId);
  if (grant === undefined) return refuse('grant_not_found', 'No such grant in this wallet.');
  if (grant.voidedAt !== null) return refuse('grant_voided', 'The grant is already voided.');
  const unreserved = grant.remaining - grant.reserved;
  const voided: Grant = { ...grant, remaining: grant.reserved, voidedAt: context.now };
  const entries: PlannedEntry[] =
    unreserved > 0n
      ? [
          { account: 'grant', grantId, amount: -unreserved },
          { account: 'voided', grantId: null, amount: unreserved },
        ]
      : [];
  const transaction = makeTransaction({
    id: context.nextId('txn'),
    kind: 'void',
    customer: wallet.customer,
    asset: wallet.asset,
    amount: unreserved,
    grantId,
    reason,
    entries,
    createdAt: context.now,
  });
  const next = { ...wallet, grants: wallet.grants.map((lot) => (lot.id === grantId ? voided : lot)) };
  const event = walletEvent(wallet, 'grant.voided', { grant: grantId, amount: unreserved.toString() });
  return {
    kind: 'accepted',
    wallet: next,
    transactions: [transaction],
    events: [event],
    holdsEnded: [],
    result: { grant: voided, transaction },
  };
}
