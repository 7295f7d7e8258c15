/**
 * The one place that writes an application/problem+json document (RFC 9457): every refusal and
 * error on the wire, whether decided by the framework or by the ledger service, has this shape.
 */
import type { ProblemCode } from '@bursar/api';
import { problemContentType, problems, problemTypeBase } from '@bursar/api';
import type { FieldError } from '../contract.ts';

export { problemContentType };

export interface ProblemOptions {
  readonly requestId: string;
  readonly errors?: readonly FieldError[];
  /** Machine-readable extras, already in wire form: amounts as decimal strings, never bigint. */
  readonly facts?: Readonly<Record<string, unknown>>;
}

const reservedMembers = new Set(['type', 'title', 'status', 'code', 'detail', 'request_id', 'retryable', 'errors']);

/** A bigint reaching JSON means a caller forgot to format an amount in the asset's unit: a bug. */
function refuseBigint(key: string, value: unknown): unknown {
  if (typeof value === 'bigint')
    throw new TypeError(`problem fact "${key}" is a bigint; format it as a decimal string first`);
  return value;
}

export function toProblem(
  code: ProblemCode,
  detail: string,
  options: ProblemOptions,
): { status: number; bodyText: string } {
  const outcome = problems[code];
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
