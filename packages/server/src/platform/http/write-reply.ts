/**
 * Writing a whole reply in one go: the body, its length, and the request id header every reply
 * carries. Framework refusals go through writeProblem, which renders them with toProblem.
 */
import type { ServerResponse } from 'node:http';
import type { OutcomeCode } from '@bursar/core';
import type { FieldError } from '../contract.ts';
import { problemContentType, toProblem } from './problem.ts';

/** Writes a whole reply; `headers` is a fresh object owned by this call, which adds content-length to it. */
export function writeReply(
  response: ServerResponse,
  status: number,
  headers: Record<string, string>,
  bodyText: string,
): void {
  if (response.destroyed) return;
  // An explicit length spares the chunked framing node would otherwise use once the head is written.
  headers['content-length'] = String(Buffer.byteLength(bodyText));
  response.writeHead(status, headers);
  response.end(bodyText);
}

/** Answers with a problem document; returns its status, for counting and logging. */
export function writeProblem(
  response: ServerResponse,
  requestId: string,
  code: OutcomeCode,
  detail: string,
  extra?: { readonly errors?: readonly FieldError[]; readonly headers?: Readonly<Record<string, string>> },
): number {
  const problem = toProblem(
    code,
    detail,
    extra?.errors === undefined ? { requestId } : { requestId, errors: extra.errors },
  );
  writeReply(
    response,
    problem.status,
    { 'content-type': problemContentType, 'x-request-id': requestId, ...extra?.headers },
    problem.bodyText,
  );
  return problem.status;
}

/** A 400 validation_failed naming every field; the detail quotes the first so a log line alone is useful. */
export function writeFieldErrors(response: ServerResponse, requestId: string, errors: readonly FieldError[]): number {
  const [first] = errors;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more in \`errors\`)` : '';
  const detail = first === undefined ? 'The request is not valid.' : `${first.field}: ${first.message}${more}`;
  return writeProblem(response, requestId, 'validation_failed', detail, { errors });
}
