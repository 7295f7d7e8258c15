/**
 * Tool results: an answer as structured content with its JSON as text, and every failure as
 * `isError` with the problem document (code, status, detail and its facts) an agent can act on.
 */

import { BursarError, BursarRequestError } from '@bursar/sdk';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FieldError } from './input-schema.ts';

function result(content: Record<string, unknown>, isError: boolean): CallToolResult {
  return {
    content: [{ type: 'text', text: JSON.stringify(content, null, 2) }],
    structuredContent: content,
    ...(isError ? { isError: true } : {}),
  };
}

export function answer(body: unknown): CallToolResult {
  // Every answer of the API is an object; anything else is wrapped so structuredContent stays one.
  return result(typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : { value: body }, false);
}

/** Arguments the tool's schemas refuse: the API's own validation_failed problem, checked before any request. */
export function invalidArguments(errors: readonly FieldError[]): CallToolResult {
  return result(
    {
      code: 'validation_failed',
      status: 400,
      title: 'The request is not valid',
      detail: errors.map((error) => `${error.field}: ${error.message}`).join('; '),
      retryable: false,
      errors,
    },
    true,
  );
}

/**
 * A failed call. A problem keeps every field the server sent (e.g. available and requested of
 * insufficient_balance) plus its HTTP status. A request with no answer (network, timeout) is
 * `bursar_unreachable`: the change may or may not have been applied, so retry with the same key.
 */
export function failure(error: unknown): CallToolResult {
  if (error instanceof BursarError) return result({ ...error.problem, status: error.status }, true);
  if (error instanceof BursarRequestError) {
    return result(
      {
        code: 'bursar_unreachable',
        title: 'No answer from the Bursar server',
        detail: `${error.message}. A write may or may not have been applied: retry it with the same idempotency_key.`,
        retryable: true,
        kind: error.name,
      },
      true,
    );
  }
  throw error;
}
