/**
 * Turns zod's issues into the `errors` of a 400 problem: one entry per field, named by its path
 * (`cost_basis.total`, `events[0].timestamp`), with a message written for the integrator reading it.
 */
import type { z } from 'zod';
import type { FieldError } from '../contract.ts';

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

const typeNames: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

function describeSize(origin: string, bound: number | bigint, word: 'least' | 'most'): string {
  if (origin === 'string') return `must have at ${word} ${bound} character${bound === 1 ? '' : 's'}`;
  if (origin === 'array' || origin === 'set') return `must have at ${word} ${bound} item${bound === 1 ? '' : 's'}`;
  return `must be at ${word} ${bound}`;
}

/**
 * Messages for the issues a schema does not word itself; a schema's own message always wins.
 * Returning undefined keeps zod's default.
 */
const errorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${typeNames[issue.expected] ?? issue.expected}`;
    case 'too_small':
      return issue.inclusive === false
        ? `must be greater than ${issue.minimum}`
        : describeSize(issue.origin, issue.minimum, 'least');
    case 'too_big':
      return issue.inclusive === false
        ? `must be less than ${issue.maximum}`
        : describeSize(issue.origin, issue.maximum, 'most');
    case 'invalid_value':
      return `must be one of: ${issue.values.map(String).join(', ')}`;
    case 'invalid_format':
      return 'has an invalid format';
    default:
      return undefined;
  }
};

/**
 * The one notation for a field path in an error: object keys joined by dots, array items by their
 * index in brackets (`version.allowances[0].asset`). The whole value is the empty path.
 */
export function toFieldPath(path: readonly PropertyKey[]): string {
  let field = '';
  for (const segment of path) {
    if (typeof segment === 'number') field += `[${segment}]`;
    else field += field === '' ? String(segment) : `.${String(segment)}`;
  }
  return field;
}

/**
 * One error per field, the first found: zod may add a length issue after a type issue on the same
 * value ("must be an array", then "must have at most 4 characters"), and only the first makes sense.
 * A problem with the whole value (a body that is not an object) has the empty field name.
 */
function toFieldErrors(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  const errors: FieldError[] = [];
  const fieldsSeen = new Set<string>();
  function add(field: string, message: string): void {
    if (fieldsSeen.has(field)) return;
    fieldsSeen.add(field);
    errors.push({ field, message });
  }
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) add(toFieldPath([...issue.path, key]), 'unknown field');
    } else if (issue.code === 'invalid_key') {
      add(toFieldPath(issue.path), issue.issues[0]?.message ?? issue.message);
    } else {
      add(toFieldPath(issue.path), issue.message);
    }
  }
  return errors;
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown): Parsed<z.output<S>> {
  // Parsing with an error map costs zod several times more than without, so the map is only used
  // to word the issues of a value already known to be invalid.
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  const worded = schema.safeParse(value, { error: errorMap });
  return { ok: false, errors: toFieldErrors((worded.error ?? result.error).issues) };
}
