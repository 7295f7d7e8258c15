/** A conservative token count with no tokenizer: every three UTF-8 bytes (or fewer) count as one token. */

const encoder = new TextEncoder();

/**
 * Tokenizers of current models average about four bytes of English per token, and about three bytes
 * (one character) of Chinese or Japanese; one token per three bytes therefore errs high for ordinary
 * text, which is the safe side for a hold. It is exact for no model and needs no vocabulary file
 * (docs/integrate.md, "How a call is estimated").
 */
export function countTokens(text: string): number {
  return text === '' ? 0 : Math.ceil(encoder.encode(text).length / 3);
}

/** The prompt's tokens: the JSON of everything the provider reads (messages, system, tools), counted as text. */
export function countPromptTokens(prompt: unknown): number {
  return countTokens(JSON.stringify(prompt) ?? '');
}
