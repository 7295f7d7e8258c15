/** A paid, unrestricted, never-expiring grant for tests that only care how much credit remains. */
import type { Grant } from '../src/wallet.ts';

export function paidGrant(remaining: bigint, amount = 10_000n): Grant {
  return {
    id: 'g',
    amount,
    remaining,
    reserved: 0n,
    category: 'paid',
    priority: 0,
    effectiveAt: 0,
    expiresAt: null,
    features: null,
    costBasis: null,
    createdAt: 0,
    voidedAt: null,
  };
}
