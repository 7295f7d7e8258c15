/**
 * Whether a customer may use a feature now, from the entitlements of all their live subscriptions
 * and, when the feature is priced, their credit. Layers are checked in order (switch, static limit,
 * usage limit, credit); within a layer the most generous entitlement decides, because a customer
 * with two subscriptions gets the better of the two, never the worse. Exact rationals throughout.
 */
import type { Entitlement, EntitlementAnswer, EntitlementQuestion } from './plans.ts';
import type { Rational } from './rational.ts';
import * as rational from './rational.ts';

type Layer = { readonly entitlement: Entitlement; readonly remaining: Rational | null } | null;

export function decideEntitlement(question: EntitlementQuestion): EntitlementAnswer {
  const relevant = question.entitlements
    .map((entitlement, index) => ({ entitlement, index }))
    .filter(({ entitlement }) => entitlement.feature === question.feature);
  if (relevant.length === 0) {
    if (question.credit === null) return denied('not_entitled', null, null);
    return decideCredit(question, null);
  }

  const switches = relevant.filter(({ entitlement }) => entitlement.kind === 'boolean');
  const enabled = switches.find(({ entitlement }) => entitlement.kind === 'boolean' && entitlement.enabled);
  if (switches.length > 0 && enabled === undefined) {
    return denied('feature_disabled', (switches[0] as { entitlement: Entitlement }).entitlement, null);
  }
  let deciding: Layer = enabled === undefined ? null : { entitlement: enabled.entitlement, remaining: null };

  const limit = mostGenerous(relevant, (entitlement) =>
    entitlement.kind === 'limit' ? rational.subtract(rational.fromDecimal(entitlement.limit), question.quantity) : null,
  );
  if (limit !== null) {
    if (rational.compare(limit.remaining, rational.zero) < 0) {
      return denied('limit_exceeded', limit.entitlement, limit.remaining);
    }
    deciding = limit;
  }

  const metered = mostGenerous(relevant, (entitlement, index) => {
    if (entitlement.kind !== 'metered') return null;
    const used = question.usedByEntitlement.get(index) ?? rational.zero;
    return rational.subtract(rational.subtract(rational.fromDecimal(entitlement.limit), used), question.quantity);
  });
  if (metered !== null) {
    if (rational.compare(metered.remaining, rational.zero) < 0) {
      return denied('usage_limit_exceeded', metered.entitlement, metered.remaining);
    }
    deciding = metered;
  }
  return decideCredit(question, deciding);
}

/** The credit layer: a priced feature also needs its cost available. */
function decideCredit(question: EntitlementQuestion, deciding: Layer): EntitlementAnswer {
  const entitlement = deciding?.entitlement ?? null;
  const remaining = deciding?.remaining ?? null;
  if (question.credit !== null && question.credit.cost > question.credit.available) {
    return { allowed: false, reason: 'insufficient_balance', entitlement, remaining };
  }
  return { allowed: true, reason: null, entitlement, remaining };
}

/** Of the entitlements `remainingOf` applies to (non-null), the one leaving the most; first wins ties. */
function mostGenerous(
  relevant: readonly { readonly entitlement: Entitlement; readonly index: number }[],
  remainingOf: (entitlement: Entitlement, index: number) => Rational | null,
): { readonly entitlement: Entitlement; readonly remaining: Rational } | null {
  let best: { entitlement: Entitlement; remaining: Rational } | null = null;
  for (const { entitlement, index } of relevant) {
    const remaining = remainingOf(entitlement, index);
    if (remaining === null) continue;
    if (best === null || rational.compare(remaining, best.remaining) > 0) best = { entitlement, remaining };
  }
  return best;
}

function denied(
  reason: NonNullable<EntitlementAnswer['reason']>,
  entitlement: Entitlement | null,
  remaining: Rational | null,
): EntitlementAnswer {
  return { allowed: false, reason, entitlement, remaining };
}
