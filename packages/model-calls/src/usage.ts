/** The usage of one model call, as the wrappers report it to Bursar: exclusive token pools plus attribution. */

/**
 * Every input token is in exactly one of `inputTokens` (uncached), `cachedInputTokens` (read from the
 * provider's prompt cache) and `cacheWriteTokens` (written to it), so a price book can rate each at its
 * own price. `outputTokens` includes `reasoningTokens`, which providers bill as output; the reasoning
 * count is reported for analysis.
 */
export interface TokenUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cachedInputTokens?: number;
  readonly cacheWriteTokens?: number;
  readonly reasoningTokens?: number;
}

/** The input side of a usage, which some providers report when a stream starts (Anthropic's `message_start`). */
export type InputUsage = Pick<TokenUsage, 'inputTokens' | 'cachedInputTokens' | 'cacheWriteTokens'>;

/** Who and what a call is for. `endUser` and `session` land on the usage event as `user` and `session`. */
export interface Attribution {
  readonly customer: string;
  readonly feature: string;
  readonly endUser?: string | undefined;
  readonly session?: string | undefined;
}

/** The usage event's properties: the names a feature's quantities read (docs/integrate.md). */
export function toEventProperties(
  model: string,
  usage: TokenUsage,
  attribution: Attribution,
): Record<string, string | number> {
  const properties: Record<string, string | number> = {
    model,
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    cached_input_tokens: usage.cachedInputTokens ?? 0,
    cache_write_tokens: usage.cacheWriteTokens ?? 0,
    reasoning_tokens: usage.reasoningTokens ?? 0,
  };
  if (attribution.endUser !== undefined) properties.user = attribution.endUser;
  if (attribution.session !== undefined) properties.session = attribution.session;
  return properties;
}

/**
 * The end-user id a provider sees: the SHA-256 of the integrator's id, so an email or name passed as
 * `endUser` never leaves for the provider, while one user still maps to one stable id there.
 */
export async function providerUserId(endUser: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(endUser));
  return Array.from(new Uint8Array(digest).slice(0, 16), (byte) => byte.toString(16).padStart(2, '0')).join('');
}
