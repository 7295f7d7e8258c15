/**
 * The problem catalogue on the wire: every code with its HTTP status and whether a retry can help
 * (taken from the core's outcome catalogue, which decides them), the facts some refusals carry by
 * name, and the application/problem+json document's schema, one variant per code that has facts.
 */
import type { OutcomeCode } from '@bursar/core';
import { outcomes } from '@bursar/core';
import { z } from 'zod';

export const problemContentType = 'application/problem+json';
export const problemTypeBase = 'https://bursar.dev/problems/';

export type ProblemCode = OutcomeCode;

/** Every code, its status, title and whether a retry can help. */
export const problems: Readonly<Record<ProblemCode, { status: number; title: string; retryable: boolean }>> = outcomes;

const amountText = z.string().describe('A decimal string in the asset unit, e.g. "12.5"');

/**
 * The extra members a refusal adds to its problem, by code. Amounts are decimal strings in the
 * asset's unit. Some codes carry their facts only when the decision that made them had them.
 */
export const problemFacts = {
  insufficient_balance: {
    available: amountText.describe('Usable credit plus the overdraft left, now.'),
    requested: amountText.describe('What the debit, hold, extension or capture excess needed.'),
  },
  capture_exceeds_hold: {
    held: amountText.describe("The hold's amount."),
    requested: amountText.describe('The capture asked for.'),
  },
  reversal_exceeds_remaining: {
    requested: amountText.describe('The reversal asked for (the whole transaction when no amount was given).'),
    remaining: amountText.describe('What is left to reverse.'),
  },
  invalid_quantity: {
    field: z.string().optional().describe('The event property that is not a non-negative number.'),
  },
  price_not_found: {
    quantity: z.string().optional().describe('The quantity no rate matched.'),
  },
  model_price_not_found: {
    model: z.string().nullable().optional().describe("The event's model, null when it named none."),
  },
} as const satisfies Partial<Record<ProblemCode, z.ZodRawShape>>;

type CodeWithFacts = keyof typeof problemFacts;

function toPascalCase(code: string): string {
  return code.replace(/(?:^|_)([a-z])/g, (_match, letter: string) => letter.toUpperCase());
}

const problemMembers = {
  type: z.string().describe(`${problemTypeBase}<code>`),
  title: z.string(),
  status: z.int(),
  detail: z.string(),
  request_id: z.string(),
  retryable: z.boolean().describe('Whether the same request may succeed if retried later, with a new Idempotency-Key.'),
  errors: z
    .array(z.object({ field: z.string(), message: z.string() }))
    .optional()
    .describe('Present on validation_failed: one entry per field.'),
};

const codesWithoutFacts = (Object.keys(outcomes) as ProblemCode[]).filter(
  (code): code is Exclude<ProblemCode, CodeWithFacts> => !(code in problemFacts),
);

/** The problem of a code with facts, a named schema such as `InsufficientBalanceProblem`. */
function factProblem<Code extends CodeWithFacts>(code: Code) {
  return z
    .object({ ...problemMembers, code: z.literal(code), ...problemFacts[code] })
    .meta({ id: `${toPascalCase(code)}Problem` });
}

/** Every other code: the standard members only. */
const plainProblem = z
  .object({ ...problemMembers, code: z.enum(codesWithoutFacts as [ProblemCode, ...ProblemCode[]]) })
  .meta({ id: 'PlainProblem' });

/** An application/problem+json document (RFC 9457): `code` says which variant it is. */
export const problemSchema = z
  .discriminatedUnion('code', [
    plainProblem,
    factProblem('insufficient_balance'),
    factProblem('capture_exceeds_hold'),
    factProblem('reversal_exceeds_remaining'),
    factProblem('invalid_quantity'),
    factProblem('price_not_found'),
    factProblem('model_price_not_found'),
  ])
  .meta({ id: 'Problem' });

export type Problem = z.output<typeof problemSchema>;
