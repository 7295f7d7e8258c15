/**
 * Sending the framework's own refusals (401, 404, 413, 415, 400…) as problem documents rendered
 * by toProblem, with the request id header every reply carries.
 */
import type { OutcomeCode } from '@bursar/core';
import type { FastifyReply } from 'fastify';
import type { FieldError } from '../contract.ts';
import { problemContentType, toProblem } from './problem.ts';

/**
 * Sends JSON text already built (a domain's reply, stored byte for byte for idempotent replays)
 * as it is, under exactly the content type given: an identity serializer keeps Fastify from
 * appending `; charset=utf-8` to it.
 */
export function sendJsonText(reply: FastifyReply, status: number, contentType: string, text: string): FastifyReply {
  return reply.code(status).header('content-type', contentType).serializer(asIs).send(text);
}

function asIs(text: unknown): string {
  return text as string;
}

/** Sends a problem document; the reply's status is the problem's. */
export function sendProblem(
  reply: FastifyReply,
  code: OutcomeCode,
  detail: string,
  errors?: readonly FieldError[],
): FastifyReply {
  const requestId = reply.request.id;
  const problem = toProblem(code, detail, errors === undefined ? { requestId } : { requestId, errors });
  reply.header('x-request-id', requestId);
  return sendJsonText(reply, problem.status, problemContentType, problem.bodyText);
}

/** The answer to a request that arrives while the server is closing: 503, and the connection closed. */
export function sendShuttingDown(reply: FastifyReply): FastifyReply {
  reply.header('connection', 'close');
  return sendProblem(reply, 'unavailable', 'The server is shutting down; retry the request.');
}

/** A 400 validation_failed naming every field; the detail quotes the first so a log line alone is useful. */
export function sendFieldErrors(reply: FastifyReply, errors: readonly FieldError[]): FastifyReply {
  return fieldErrorsProblem(errors).send(reply);
}

/** A refusal decided before the handler runs (in the body parser), thrown to the error handler to send. */
export class ProblemError extends Error {
  readonly code: OutcomeCode;
  readonly detail: string;
  readonly errors: readonly FieldError[] | undefined;

  constructor(code: OutcomeCode, detail: string, errors?: readonly FieldError[]) {
    super(detail);
    this.code = code;
    this.detail = detail;
    this.errors = errors;
  }

  send(reply: FastifyReply): FastifyReply {
    return sendProblem(reply, this.code, this.detail, this.errors);
  }
}

export function fieldErrorsProblem(errors: readonly FieldError[]): ProblemError {
  const [first] = errors;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more in \`errors\`)` : '';
  const detail = first === undefined ? 'The request is not valid.' : `${first.field}: ${first.message}${more}`;
  return new ProblemError('validation_failed', detail, errors);
}
