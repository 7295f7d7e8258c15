/**
 * The preview_token of a plan change: a digest of the state the preview was made on (the core's
 * planChangeBasis) under its environment and subscription. It guards against staleness, not forgery:
 * whoever could compute it already knows the state it names, and a change still decides on the
 * state it finds.
 */
import { createHash } from 'node:crypto';
import type { PlanLookup, PlanRef, Subscription, Wallet } from '@bursar/core';
import { planChangeBasis } from '@bursar/core';
import type { WalletKey } from '../../platform/commit/wallet-key.ts';
import type { StoredPlanVersion } from './plan-operations.ts';

export interface TokenState {
  readonly environmentId: string;
  readonly subscription: Subscription;
  readonly plans: PlanLookup;
  readonly next: PlanRef;
  readonly timing: 'immediate' | 'period_end';
  readonly now: number;
  readonly wallets: ReadonlyMap<string, Wallet>;
}

export function previewToken(state: TokenState): string {
  const basis = planChangeBasis(state);
  const digest = createHash('sha256')
    .update(`${state.environmentId}\n${state.subscription.id}\n${basis}`)
    .digest('base64url');
  return `pvt_${digest}`;
}

/** The customer's wallet in every asset of the plans a change may involve, as the batch has them. */
export function walletsOfPlans(
  plans: readonly StoredPlanVersion[],
  environmentId: string,
  customer: string,
  wallet: (key: WalletKey) => Wallet,
): Map<string, Wallet> {
  const assets = [...new Set(plans.flatMap((stored) => stored.assets))].sort();
  return new Map(assets.map((asset) => [asset, wallet({ environmentId, customer, asset })]));
}
