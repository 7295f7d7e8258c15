/** Plan versions for subscription tests: a plan with one monthly allowance, changed field by field. */
import type { Allowance, Cadence, PlanLookup, PlanRef, PlanVersion, Trial } from '../src/index.ts';

export const day: Cadence = { interval: 'day', count: 1 };
export const week: Cadence = { interval: 'week', count: 1 };
export const month: Cadence = { interval: 'month', count: 1 };

export function allowance(overrides: Partial<Allowance> = {}): Allowance {
  return {
    asset: 'credits',
    amount: 1000n,
    cadence: month,
    rollover: { kind: 'none' },
    priority: 1,
    features: null,
    ...overrides,
  };
}

export function planVersion(planId: string, overrides: Partial<PlanVersion> = {}): PlanVersion {
  return {
    planId,
    version: 1,
    period: month,
    allowances: [allowance()],
    oneTimeGrants: [],
    trial: null,
    entitlements: [],
    priceOverrides: [],
    ...overrides,
  };
}

/** A lookup over the given versions; asking for any other is a bug in the code under test. */
export function lookupOf(...versions: PlanVersion[]): PlanLookup {
  return (ref: PlanRef) => {
    const found = versions.find((plan) => plan.planId === ref.planId && plan.version === ref.version);
    if (found === undefined) throw new Error(`no plan ${ref.planId}@${ref.version} in this test`);
    return found;
  };
}

export const at = (iso: string): number => Date.parse(iso);
export const iso = (instant: number | null): string | null =>
  instant === null ? null : new Date(instant).toISOString();

/** A trial; `outcome` is what follows it. */
export function trialOf(fields: Omit<Trial, 'onEnd'>, outcome: Trial['onEnd']): Trial {
  return { ...fields, onEnd: outcome };
}
