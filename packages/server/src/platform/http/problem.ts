/**
 * The one place that writes an application/problem+json document (RFC 9457): every refusal and
 * error on the wire, whether decided by the framework or by the ledger service, has this shape.
 */
import type { OutcomeCode } from '@bursar/core';
import { outcomes } from '@bursar/core';
import { z } from 'zod';
import type { FieldError } from '../contract.ts';

export const problemContentType = 'application/problem+json';
const problemTypeBase = 'https://bursar.dev/problems/';

export interface ProblemOptions {
  readonly requestId: string;
  readonly errors?: readonly FieldError[];
  /** Machine-readable extras, already in wire form: amounts as decimal strings, never bigint. */
  readonly facts?: Readonly<Record<string, unknown>>;
}

/** The document's shape, for the OpenAPI reference. Loose: refusals add facts such as `available`. */
export const problemSchema = z.looseObject({
  type: z.string().describe(`${problemTypeBase}<code>`),
  title: z.string(),
  status: z.int(),
  code: z.enum(Object.keys(outcomes) as [OutcomeCode, ...OutcomeCode[]]),
  detail: z.string(),
  request_id: z.string(),
  retryable: z.boolean().describe('Whether the same request may succeed if retried later, with a new Idempotency-Key.'),
  errors: z
    .array(z.object({ field: z.string(), message: z.string() }))
    .optional()
    .describe('Present on validation_failed: one entry per field.'),
});

const reservedMembers = new Set(['type', 'title', 'status', 'code', 'detail', 'request_id', 'retryable', 'errors']);

/** A bigint reaching JSON means a caller forgot to format an amount in the asset's unit: a bug. */
function refuseBigint(key: string, value: unknown): unknown {
  if (typeof value === 'bigint')
    throw new TypeError(`problem fact "${key}" is a bigint; format it as a decimal string first`);
  return value;
}

export function toProblem(
  code: OutcomeCode,
  detail: string,
  options: ProblemOptions,
): { status: number; bodyText: string } {
  const outcome = outcomes[code];
  const document: Record<string, unknown> = {
    type: problemTypeBase + code,
    title: outcome.title,
    status: outcome.status,
    code,
    detail,
    request_id: options.requestId,
    retryable: outcome.retryable,
  };
  if (options.errors !== undefined) {
    document.errors = options.errors.map((error) => ({ field: error.field, message: error.message }));
  }
  if (options.facts !== undefined) {
    for (const [key, value] of Object.entries(options.facts)) {
      if (reservedMembers.has(key)) throw new TypeError(`problem fact "${key}" would overwrite a standard member`);
      document[key] = value;
    }
  }
  return { status: outcome.status, bodyText: JSON.stringify(document, refuseBigint) };
}
