/** The errors a call can end in: a problem the server answered with, or a request that got no usable answer. */
import type { Problem, ProblemCode } from './generated/contract.ts';

/** The problem document of one code: its own variant when the code carries facts, the plain one otherwise. */
export type ProblemOf<Code extends ProblemCode> =
  Extract<Problem, { code: Code }> extends never ? Problem & { code: Code } : Extract<Problem, { code: Code }>;

/** What every problem error has, whatever its code. */
class ProblemError extends Error {
  override readonly name = 'BursarError';
  readonly status: number;
  readonly code: ProblemCode;
  readonly title: string;
  readonly detail: string;
  /** Whether the server says the same request may succeed later. */
  readonly retryable: boolean;
  readonly requestId: string | undefined;
  /** The whole application/problem+json body, facts included. */
  readonly problem: Problem;

  constructor(problem: Problem, status: number) {
    super(`${problem.code}: ${problem.detail}`);
    this.status = status;
    this.code = problem.code;
    this.title = problem.title;
    this.detail = problem.detail;
    this.retryable = problem.retryable;
    this.requestId = problem.request_id;
    this.problem = problem;
  }
}

/**
 * A refusal or failure the server answered with a problem document. `code` discriminates it, so
 * `if (error.code === 'insufficient_balance') error.problem.available` type-checks.
 */
export type BursarError = {
  [Code in ProblemCode]: ProblemError & { readonly code: Code; readonly problem: ProblemOf<Code> };
}[ProblemCode];

interface BursarErrorConstructor {
  new (problem: Problem, status: number): BursarError;
  readonly prototype: BursarError;
}

/** `error instanceof BursarError` narrows to the union above, so checking `code` narrows `problem`. */
export const BursarError = ProblemError as unknown as BursarErrorConstructor;

/** The request got no problem document back: the network failed, it timed out, or it was aborted. */
export class BursarRequestError extends Error {
  override readonly name: string = 'BursarRequestError';
}

/** The connection failed, or the answer was not Bursar's (a proxy's HTML page, a body that is not JSON). */
export class BursarConnectionError extends BursarRequestError {
  override readonly name = 'BursarConnectionError';
  /** The HTTP status when an answer came that was not a problem document. */
  readonly status: number | undefined;
  constructor(message: string, options: { cause?: unknown; status?: number } = {}) {
    super(message, { cause: options.cause });
    this.status = options.status;
  }
}

/** An attempt took longer than `timeoutMs` (after the retries, when there were any). */
export class BursarTimeoutError extends BursarRequestError {
  override readonly name = 'BursarTimeoutError';
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`The request took longer than ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** The caller's AbortSignal fired; `cause` is its reason. */
export class BursarAbortError extends BursarRequestError {
  override readonly name = 'BursarAbortError';
  constructor(reason: unknown) {
    super('The request was aborted', { cause: reason });
  }
}
