/**
 * The auto top-up columns of a wallet row, mapped to and from the core's TopUpState (the wallet
 * row is the engine's; the `topups` table is the top-ups domain's). Amounts are stored as units.
 */
import type { CostBasis, TopUpRule, TopUpState, Wallet } from '@bursar/core';
import { decimalText, toDecimal } from '../storage/codecs.ts';
import type { SqlRow } from '../storage/database.ts';
import type { TableRow } from '../storage/schema.ts';

/** The rule as the `topup_rule` column holds it: JSON, with amounts as unit strings. */
interface StoredRule {
  readonly enabled: boolean;
  readonly threshold: string;
  readonly amount: string;
  readonly monthly_cap: string | null;
  readonly failures_max: number;
  readonly cost: { readonly currency: string; readonly total: string } | null;
}

/** The wallet row's top-up columns; all null for a wallet without a rule. */
export function topUpColumns(wallet: Wallet): SqlRow {
  const state = wallet.topUp;
  if (state === undefined)
    return { topup_rule: null, topup_pending: null, topup_month: null, topup_month_amount: null, topup_failures: null };
  const { rule } = state;
  const stored: StoredRule = {
    enabled: rule.enabled,
    threshold: rule.threshold.toString(),
    amount: rule.amount.toString(),
    monthly_cap: rule.monthlyCap === null ? null : rule.monthlyCap.toString(),
    failures_max: rule.failuresMax,
    cost: rule.costBasis === undefined ? null : costText(rule.costBasis),
  };
  return {
    topup_rule: JSON.stringify(stored),
    topup_pending: state.pending,
    topup_month: state.month,
    topup_month_amount: state.monthAmount,
    topup_failures: BigInt(state.failures),
  };
}

/** The wallet's top-up state from its row; undefined when it has no rule (or predates top-ups). */
export function topUpStateFromRow(
  row: Pick<
    TableRow<'wallets'>,
    'topup_rule' | 'topup_pending' | 'topup_month' | 'topup_month_amount' | 'topup_failures'
  >,
): TopUpState | undefined {
  if (row.topup_rule === null) return undefined;
  const stored = JSON.parse(row.topup_rule) as StoredRule;
  const rule: TopUpRule = {
    enabled: stored.enabled,
    threshold: BigInt(stored.threshold),
    amount: BigInt(stored.amount),
    monthlyCap: stored.monthly_cap === null ? null : BigInt(stored.monthly_cap),
    failuresMax: stored.failures_max,
    ...(stored.cost === null ? {} : { costBasis: costFromText(stored.cost.currency, stored.cost.total) }),
  };
  return {
    rule,
    pending: row.topup_pending,
    month: row.topup_month,
    monthAmount: row.topup_month_amount ?? 0n,
    failures: row.topup_failures === null ? 0 : Number(row.topup_failures),
  };
}

export function costText(costBasis: CostBasis): { currency: string; total: string } {
  return { currency: costBasis.currency, total: decimalText(costBasis.total) };
}

/** A cost basis stored as text (checked when it came in). */
export function costFromText(currency: string, total: string): CostBasis {
  return { currency, total: toDecimal(total) };
}
