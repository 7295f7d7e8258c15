/**
 * The request's query string and JSON body as the handlers' schemas receive them: decoded by hand,
 * so bytes that are not UTF-8, bad percent-encoding and text the server refuses are a 400 naming the
 * field rather than a silent U+FFFD.
 */
import { isUtf8 } from 'node:buffer';
import type { FieldError } from '../contract.ts';
import { describeRefusedText, findRefusedJson, mayHoldRefusedText } from './request-text.ts';
import { fieldErrorsProblem, ProblemError } from './write-reply.ts';

/** The query as an object (a repeated name becomes an array, which the schemas refuse by name), or why not. */
export type QueryRead =
  | { readonly ok: true; readonly value: Readonly<Record<string, string | string[]>>; readonly empty: boolean }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

const jsonContentTypePattern = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;
const queryNone: QueryRead = { ok: true, value: Object.freeze({}), empty: true };
const bodyEmpty = { value: {} } as const;

/** Fastify's query parser: runs for every request, so an absent query costs nothing. */
export function toQueryObject(search: string): QueryRead {
  if (search === '') return queryNone;
  // A null prototype, so a parameter named __proto__ is an unknown field rather than a prototype.
  const query: Record<string, string | string[]> = Object.create(null);
  const errors: FieldError[] = [];
  for (const pair of search.split('&')) {
    if (pair === '') continue;
    const separator = pair.indexOf('=');
    const nameEncoded = separator === -1 ? pair : pair.slice(0, separator);
    const name = decodeQueryPart(nameEncoded);
    const value = decodeQueryPart(separator === -1 ? '' : pair.slice(separator + 1));
    if (name === null || value === null) {
      errors.push({ field: name ?? nameEncoded.slice(0, 100), message: 'is not valid percent-encoded UTF-8' });
      continue;
    }
    const refusal = describeRefusedText(name) ?? describeRefusedText(value);
    if (refusal !== null) {
      errors.push({ field: name, message: refusal });
      continue;
    }
    const existing = query[name];
    query[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return errors.length === 0 ? { ok: true, value: query, empty: false } : { ok: false, errors };
}

/** One name or value of a query string, `+` as a space; null when its percent-encoding is not UTF-8. */
function decodeQueryPart(encoded: string): string | null {
  const spaced = encoded.includes('+') ? encoded.replaceAll('+', ' ') : encoded;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return null;
  }
}

/**
 * A request body (whatever its declared type, since Fastify hands every type here) as a JSON
 * value, or the refusal to send: 415 for a type other than JSON in UTF-8, 400 for bytes that are
 * not UTF-8, text that is not JSON, or a string or number the server refuses. Empty stands for {}.
 */
export function parseJsonBody(
  contentType: string | undefined,
  body: Buffer,
): { readonly value: unknown } | ProblemError {
  if (body.length === 0) return bodyEmpty;
  if (!jsonContentTypePattern.test(contentType ?? '')) {
    return new ProblemError('unsupported_media_type', 'Send the body as JSON with `Content-Type: application/json`.');
  }
  if (!isUtf8(body)) return new ProblemError('malformed_json', 'The body is not valid UTF-8.');
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    const reason = error instanceof SyntaxError ? error.message : 'it could not be parsed';
    return new ProblemError('malformed_json', `The body is not valid JSON: ${reason}`);
  }
  // Before any schema, so no operation ever sees text or a number the server refuses.
  const refused = findRefusedJson(value, mayHoldRefusedText(body));
  return refused.length === 0 ? { value } : fieldErrorsProblem(refused);
}
