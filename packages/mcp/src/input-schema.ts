/**
 * A tool's arguments, built from its operation's zod schemas in @bursar/api: the path parameters,
 * the query and the body side by side in one object, plus `preview` and `idempotency_key` on writes.
 */
import type { Operation } from '@bursar/api';
import { z } from 'zod';

/** The Idempotency-Key header's own rule on the server: 1–255 printable ASCII characters. */
const idempotencyKeyField = z
  .string()
  .regex(/^[\x20-\x7e]{1,255}$/, 'must be 1–255 printable ASCII characters')
  .describe(
    'A key you choose for this one change, such as a UUID. Retrying the same change (after an error, a timeout or any doubt whether it went through)? Send the SAME key: the server applies it once and answers the retry with the first reply. A new key means a new change.',
  );

const previewField = z
  .boolean()
  .optional()
  .describe('true: change nothing; answer what this call would change and the current state it would change.');

/** The arguments a write tool takes besides its operation's fields. */
export const writeArgumentNames = ['idempotency_key', 'preview'] as const;

type Part = 'params' | 'query' | 'body';
const parts: readonly Part[] = ['params', 'query', 'body'];

/** The fields of one part of an operation; each part is a zod object in @bursar/api. */
function shapeOf(operation: Operation, part: Part): Readonly<Record<string, z.ZodType>> {
  const schema = operation[part];
  if (schema === undefined) return {};
  if (!(schema instanceof z.ZodObject)) throw new TypeError(`${operation.operationId}.${part} is not an object schema`);
  return schema.shape as Record<string, z.ZodType>;
}

/** Every field name of the operation, by the part it travels in. */
export function fieldParts(operation: Operation): ReadonlyMap<string, Part> {
  const owners = new Map<string, Part>();
  for (const part of parts) {
    for (const name of Object.keys(shapeOf(operation, part))) {
      if (owners.has(name)) throw new TypeError(`${operation.operationId}: "${name}" is in two parts`);
      owners.set(name, part);
    }
  }
  return owners;
}

/** The tool's input as one strict zod object: what tools/list shows (its input side as JSON Schema). */
export function toolInputSchema(operation: Operation, isWrite: boolean): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const part of parts) Object.assign(shape, shapeOf(operation, part));
  if (isWrite) {
    for (const name of writeArgumentNames) {
      if (name in shape) throw new TypeError(`${operation.operationId} has its own "${name}"`);
    }
    shape.idempotency_key = idempotencyKeyField;
    shape.preview = previewField;
  }
  return z.strictObject(shape);
}

/** The JSON Schema of a tool's arguments, as a client fills them in (zod's input side). */
export function toolJsonSchema(operation: Operation, isWrite: boolean): { type: 'object'; [key: string]: unknown } {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(toolInputSchema(operation, isWrite), { io: 'input' });
  return { ...schema, type: 'object' };
}

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

/** A zod path in the API's notation: keys joined by dots, array items by their index in brackets. */
function toFieldPath(path: readonly PropertyKey[]): string {
  let field = '';
  for (const segment of path) {
    if (typeof segment === 'number') field += `[${segment}]`;
    else field += field === '' ? String(segment) : `.${String(segment)}`;
  }
  return field;
}

/** "is required" for a missing field, as the server words it; zod's own message otherwise. */
const errorMap: z.core.$ZodErrorMap = (issue) =>
  issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined;

/**
 * Checks raw arguments with the operation's own schemas, part by part (so a body's cross-field
 * rules apply too), and the write arguments with theirs; one error per field. The raw values are
 * what is sent, never zod's output, whose timestamps are already epoch milliseconds.
 */
export function checkArguments(
  operation: Operation,
  isWrite: boolean,
  args: Readonly<Record<string, unknown>>,
): readonly FieldError[] {
  const owners = fieldParts(operation);
  const split: Record<Part, Record<string, unknown>> = { params: {}, query: {}, body: {} };
  const errors: FieldError[] = [];
  const fieldsSeen = new Set<string>();
  const add = (field: string, message: string) => {
    if (fieldsSeen.has(field)) return;
    fieldsSeen.add(field);
    errors.push({ field, message });
  };
  for (const [name, value] of Object.entries(args)) {
    if (isWrite && (writeArgumentNames as readonly string[]).includes(name)) continue;
    const part = owners.get(name);
    if (part === undefined) add(name, 'is not a field of this tool');
    else split[part][name] = value;
  }
  for (const part of parts) {
    const schema = operation[part];
    if (schema === undefined) continue;
    const parsed = schema.safeParse(split[part], { error: errorMap });
    if (!parsed.success) for (const issue of parsed.error.issues) add(toFieldPath(issue.path), issue.message);
  }
  if (isWrite) {
    const key = z
      .object({ idempotency_key: idempotencyKeyField, preview: previewField })
      .safeParse(args, { error: errorMap });
    if (!key.success) for (const issue of key.error.issues) add(toFieldPath(issue.path), issue.message);
  }
  return errors;
}
