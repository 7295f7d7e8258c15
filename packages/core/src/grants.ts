/**
 * Grants add a lot of credit to a wallet (paying its debt first when the policy says so);
 * voiding moves a grant's unreserved remainder out. Positive adjustments are grants booked
 * against the `adjustment` account; subscription grants (planned by subscriptions.ts) are booked
 * the same way, with their rollover.
 */
import { walletEvent } from './events.ts';
import { appendGrant, grantPosition, grantTotals, replaceGrants } from './grant-index.ts';
import type { Accepted, DecisionContext, PlannedEntry, PlannedTransaction } from './ledger.ts';
import { makeTransaction } from './ledger.ts';
import { AMOUNT_MAX } from './money.ts';
import type { Refusal } from './outcomes.ts';
import { refuse } from './outcomes.ts';
import type { PlannedGrant } from './plans.ts';
import type { CostBasis, Grant, GrantCategory, RolloverPlan, Wallet } from './wallet.ts';

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
  return buildGrant(wallet, { ...request, effectiveAt, rollover: null, plannedSource: null }, context);
}

/**
 * Issues a grant a subscription decision planned. Unlike decideGrant, its bounds may lie in the past
 * (an allowance period caught up after downtime): such a grant is booked and then expires, or rolls
 * over, at the next settlement, exactly as if it had been issued on time and left unused.
 */
export function decidePlannedGrant(
  wallet: Wallet,
  planned: PlannedGrant,
  context: DecisionContext,
): Accepted<GrantResult> | Refusal {
  if (planned.amount <= 0n) {
    return refuse('validation_failed', 'A planned grant must have a positive amount.', { field: 'amount' });
  }
  if (planned.expiresAt !== null && planned.expiresAt <= planned.effectiveAt) {
    return refuse('validation_failed', 'expires_at must be later than effective_at.', { field: 'expires_at' });
  }
  return buildGrant(
    wallet,
    {
      amount: planned.amount,
      category: planned.category,
      priority: planned.priority,
      effectiveAt: planned.effectiveAt,
      expiresAt: planned.expiresAt,
      features: planned.features,
      costBasis: null,
      reason: null,
      source: 'issuance',
      rollover: planned.rollover,
      plannedSource: planned.source,
    },
    context,
  );
}

interface GrantFields extends Omit<GrantRequest, 'effectiveAt'> {
  readonly effectiveAt: number;
  readonly rollover: RolloverPlan | null;
  /** The subscription source of a planned grant, echoed in `grant.created`. */
  readonly plannedSource: string | null;
}

/** The one way a grant is booked: overflow check, debt repayment, the lot, its transaction and event. */
function buildGrant(wallet: Wallet, fields: GrantFields, context: DecisionContext): Accepted<GrantResult> | Refusal {
  if (grantTotals(wallet.grants, context.now).remaining + fields.amount > AMOUNT_MAX)
    return refuse('amount_overflow', 'The wallet would hold more than a 64-bit balance allows.');

  // Debt is repaid only by credit that is spendable now on anything: otherwise it would be
  // settled with credit the customer could not have used for the draw that made the debt. A
  // caught-up grant that is already over is credit the customer never had, so it repays nothing.
  const live = fields.effectiveAt <= context.now && (fields.expiresAt === null || context.now < fields.expiresAt);
  const repays = wallet.policy.repayDebtFirst && live && fields.features === null;
  const debtRepaid = repays ? (wallet.debt < fields.amount ? wallet.debt : fields.amount) : 0n;
  const grant: Grant = {
    id: context.nextId('grt'),
    amount: fields.amount,
    remaining: fields.amount - debtRepaid,
    reserved: 0n,
    category: fields.category,
    priority: fields.priority,
    effectiveAt: fields.effectiveAt,
    expiresAt: fields.expiresAt,
    features: fields.features,
    costBasis: fields.costBasis,
    createdAt: context.now,
    voidedAt: null,
    ...(fields.rollover === null ? {} : { rollover: fields.rollover }),
  };
  const entries: PlannedEntry[] = [{ account: fields.source, grantId: null, amount: -fields.amount }];
  if (debtRepaid > 0n) entries.push({ account: 'debt', grantId: null, amount: debtRepaid });
  if (grant.remaining > 0n) entries.push({ account: 'grant', grantId: grant.id, amount: grant.remaining });
  const transaction = makeTransaction({
    id: context.nextId('txn'),
    kind: fields.source === 'issuance' ? 'grant' : 'adjust',
    customer: wallet.customer,
    asset: wallet.asset,
    amount: fields.amount,
    grantId: grant.id,
    reason: fields.reason,
    entries,
    createdAt: context.now,
  });
  const next = { ...wallet, debt: wallet.debt - debtRepaid, grants: appendGrant(wallet.grants, grant, context.now) };
  const event = walletEvent(wallet, 'grant.created', {
    grant: grant.id,
    amount: fields.amount,
    category: fields.category,
    ...(fields.plannedSource === null ? {} : { source: fields.plannedSource }),
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
  const position = grantPosition(wallet.grants, grantId);
  const grant = wallet.grants[position];
  if (position < 0 || grant === undefined) return refuse('grant_not_found', 'No such grant in this wallet.');
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
  const next = { ...wallet, grants: replaceGrants(wallet.grants, new Map([[position, voided]])) };
  const event = walletEvent(wallet, 'grant.voided', { grant: grantId, amount: unreserved });
  return {
    kind: 'accepted',
    wallet: next,
    transactions: [transaction],
    events: [event],
    holdsEnded: [],
    result: { grant: voided, transaction },
  };
}
