/** The pure decisions of a metered model call: what to hold, when to extend, how to settle. No I/O, no clock, no randomness. */
import type { Rational } from '@bursar/core';
import { formatDecimal, multiplyDecimal, parseDecimal, rational } from '@bursar/core';
import type { InputUsage, TokenUsage } from './usage.ts';

/** The tokens a hold is priced for. */
export interface Estimate {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** What a quote of the full estimate says, when the customer could not afford it. */
export interface Affordability {
  /** The customer's available balance in the quote's first asset (the insufficient-balance problem's `available`). */
  readonly available: string;
  /** The quote's exact cost of the full estimate and its lines: `output_tokens` lines are the output's share. */
  readonly exact: string;
  readonly lines: readonly { readonly quantity: string; readonly cost: string }[];
  /** Below this many output tokens the call is refused rather than capped. */
  readonly minimumOutputTokens: number;
}

export type HoldDecision =
  | { readonly kind: 'hold'; readonly estimate: Estimate; readonly capped: boolean }
  | { readonly kind: 'refuse' };

/**
 * The estimate to hold: the prompt's tokens and the output budget (`max_tokens` times the number of
 * choices, or the default budget when the request sets none). Given `affordability` (the full estimate
 * was refused and the caller allows caps), the output budget shrinks to what the balance pays for,
 * reading the price as linear in output tokens, which per-unit and cost-plus prices are.
 */
export function decideHoldAmount(input: {
  readonly promptTokens: number;
  readonly maxOutputTokens: number | undefined;
  readonly defaultOutputTokens: number;
  readonly choices?: number | undefined;
  readonly affordability?: Affordability | undefined;
}): HoldDecision {
  const outputTokens = (input.maxOutputTokens ?? input.defaultOutputTokens) * Math.max(1, input.choices ?? 1);
  const estimate = { inputTokens: input.promptTokens, outputTokens };
  const facts = input.affordability;
  if (facts === undefined) return { kind: 'hold', estimate, capped: false };
  const available = toRational(facts.available);
  const exact = toRational(facts.exact);
  const outputCost = facts.lines
    .filter((line) => line.quantity === 'output_tokens')
    .map((line) => toRational(line.cost))
    .reduce<Rational | undefined>(
      (sum, cost) => (sum === undefined || cost === undefined ? undefined : rational.add(sum, cost)),
      rational.zero,
    );
  if (available === undefined || exact === undefined || outputCost === undefined || outputCost.numerator === 0n)
    return { kind: 'refuse' };
  const left = rational.subtract(available, rational.subtract(exact, outputCost));
  if (left.numerator <= 0n) return { kind: 'refuse' };
  // tokens = floor(left / (outputCost / outputTokens))
  const perToken = rational.divide(outputCost, rational.fromInteger(BigInt(outputTokens)));
  const affordable = rational.divide(left, perToken);
  const tokens = Math.min(outputTokens, Number(affordable.numerator / affordable.denominator));
  if (tokens < Math.max(1, facts.minimumOutputTokens)) return { kind: 'refuse' };
  return { kind: 'hold', estimate: { inputTokens: input.promptTokens, outputTokens: tokens }, capped: true };
}

function toRational(text: string): Rational | undefined {
  const parsed = parseDecimal(text);
  return parsed.ok ? rational.fromDecimal(parsed.value) : undefined;
}

export type ExtensionDecision = { readonly amount: string; readonly outputTokensCovered: number } | null;

/**
 * Whether a running stream has passed what its hold covers, and by how much to extend it. The hold
 * covers the estimate's output tokens; each step adds the first hold's amount again and covers
 * another estimate's worth of output. That over-reserves (the step's amount also paid for the input),
 * which is the safe side: the capture prices the real usage and releases the rest.
 */
export function decideExtension(input: {
  readonly outputTokensCounted: number;
  readonly outputTokensCovered: number;
  readonly stepTokens: number;
  readonly stepAmount: string;
}): ExtensionDecision {
  if (input.outputTokensCounted <= input.outputTokensCovered || input.stepTokens <= 0) return null;
  const step = parseDecimal(input.stepAmount);
  if (!step.ok || step.value.units === 0n) return null;
  const steps = Math.ceil((input.outputTokensCounted - input.outputTokensCovered) / input.stepTokens);
  return {
    amount: formatDecimal(multiplyDecimal(step.value, BigInt(steps))),
    outputTokensCovered: input.outputTokensCovered + steps * input.stepTokens,
  };
}

/**
 * What to do when the provider sends no usage, or the caller leaves mid-stream:
 * `counted` (default) captures the estimated input and the output tokens counted so far;
 * `estimate` captures the estimate (or what was counted, if more); `release` charges nothing.
 */
export type SettlePolicy = 'counted' | 'estimate' | 'release';

/** How the call ended: it ran to its end, the provider failed, or the caller aborted or stopped reading. */
export type CallEnding = 'completed' | 'failed' | 'aborted';

export type SettlementDecision =
  | { readonly kind: 'capture'; readonly basis: 'usage' | 'counted' | 'estimate'; readonly usage: TokenUsage }
  | { readonly kind: 'release'; readonly basis: 'no_output' | 'policy' };

/**
 * The settlement of a call: the provider's usage when it sent one; a release when the call failed or
 * was aborted before any output; otherwise the settle policy, whose input side is the provider's
 * `inputUsage` when it reported one as the stream began, and the estimate's input otherwise.
 */
export function decideSettlement(input: {
  readonly ending: CallEnding;
  readonly usage: TokenUsage | undefined;
  readonly inputUsage?: InputUsage | undefined;
  readonly outputTokensCounted: number;
  readonly estimate: Estimate;
  readonly policy: SettlePolicy;
}): SettlementDecision {
  if (input.usage !== undefined) return { kind: 'capture', basis: 'usage', usage: input.usage };
  if (input.ending !== 'completed' && input.outputTokensCounted === 0) return { kind: 'release', basis: 'no_output' };
  const inputSide = input.inputUsage ?? { inputTokens: input.estimate.inputTokens };
  switch (input.policy) {
    case 'release':
      return { kind: 'release', basis: 'policy' };
    case 'estimate':
      return {
        kind: 'capture',
        basis: 'estimate',
        usage: { ...inputSide, outputTokens: Math.max(input.estimate.outputTokens, input.outputTokensCounted) },
      };
    case 'counted':
      return {
        kind: 'capture',
        basis: 'counted',
        usage: { ...inputSide, outputTokens: input.outputTokensCounted },
      };
  }
}
