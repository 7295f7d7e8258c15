/** The options of every wrapper, and the per-call overrides that refine them. */
import type { Bursar } from '@bursar/sdk';
import type { SettlePolicy } from './decisions.ts';

/** What one call settled as, for logs and tests: the hold, what was captured and on what basis. */
export interface Settlement {
  readonly holdId: string;
  /** The same for every Bursar request of this call (their idempotency keys start with it) and the usage event's id. */
  readonly callId: string;
  readonly basis: 'usage' | 'counted' | 'estimate' | 'held' | 'no_output' | 'policy';
  /** What the hold captured, in its asset ("0" for a release). */
  readonly captured: string;
  readonly asset: string;
}

/** The attribution and settle rules a call may override one by one. */
export interface CallOverrides {
  readonly customer?: string;
  readonly feature?: string;
  /** A stable id of the end user (not an email): `user` on the usage event; its hash goes to the provider. */
  readonly endUser?: string;
  /** The session, conversation or agent task: `session` on the usage event. */
  readonly session?: string;
  /** When the provider sends no usage or the caller leaves mid-stream. Default `counted`. */
  readonly settle?: SettlePolicy;
  /** `refuse` (default): throw InsufficientCreditError. `cap`: lower max_tokens to what the balance affords. */
  readonly whenUnaffordable?: 'refuse' | 'cap';
  /** The output budget held when the request sets no max_tokens. Default 1024. */
  readonly defaultOutputTokens?: number;
}

export interface BursarCallOptions extends CallOverrides {
  readonly bursar: Bursar;
  readonly customer: string;
  readonly feature: string;
  /** With `whenUnaffordable: 'cap'`: refuse rather than cap below this many output tokens. Default 1. */
  readonly minimumOutputTokens?: number;
  /** The hold's TTL, renewed by each extension. Default: the server's (15 minutes). */
  readonly holdTtlSeconds?: number;
  /** Called once per call when it has settled. */
  readonly onSettled?: (settlement: Settlement) => void;
}

/** The call's options: the wrapper's, with the call's overrides on top. */
export function resolveOptions(options: BursarCallOptions, overrides: CallOverrides | undefined): BursarCallOptions {
  if (overrides === undefined) return options;
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  return { ...options, ...defined };
}
