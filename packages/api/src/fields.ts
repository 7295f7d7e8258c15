/**
 * The wire's field types, shared by every request schema: amounts as decimal strings, RFC 3339
 * timestamps, integrators' keys, asset codes, ids, metadata and paging. Each is defined once here
 * so a customer key or an amount means the same thing in every operation.
 */
import { z } from 'zod';
import { pageLimitDefault, pageLimitMax } from './limits.ts';

const amountUnsignedPattern = /^\d{1,30}(\.\d{1,30})?$/;
const amountSignedPattern = /^-?\d{1,30}(\.\d{1,30})?$/;
const nonZeroDigitPattern = /[1-9]/;

/** How an amount field may be signed: most are positive; a few allow zero; adjustments are signed. */
type AmountSign = 'positive' | 'non_negative' | 'non_zero';

/**
 * Builds a message function that says "is required" when the field is missing, `message` otherwise.
 * Only for schemas whose every issue deserves `message`: a schema-level message also replaces its checks' messages.
 */
function requiredOr(message: string): (issue: { readonly input?: unknown }) => string {
  return (issue) => (issue.input === undefined ? 'is required' : message);
}

/**
 * An amount or exact decimal on the wire: a decimal string, or a JSON number only when it is a safe
 * integer (it converts exactly); the parsed value is always the string. Decimals beyond the asset's
 * scale are the service's to refuse, since only it knows the asset.
 */
function decimalField(sign: AmountSign): z.ZodType<string, string | number> {
  const signed = sign === 'non_zero';
  const message = signed
    ? 'must be a signed decimal string such as "-12.5" (or a JSON integer within ±2^53)'
    : 'must be a decimal string such as "12.5" (or a non-negative JSON integer within 2^53)';
  const text = z.string().regex(signed ? amountSignedPattern : amountUnsignedPattern, message);
  const integer = signed ? z.int({ error: message }) : z.int({ error: message }).min(0, message);
  const field = z
    .union([text, integer.transform(String)], { error: requiredOr(message) })
    .describe(
      'A decimal string in the asset unit, such as "12.5"; a JSON number only when it is an integer within ±2^53.',
    );
  if (sign === 'non_negative') return field;
  return field.refine((value) => nonZeroDigitPattern.test(value), {
    message: sign === 'positive' ? 'must be greater than zero' : 'must not be zero',
  });
}

export const amountPositiveField = decimalField('positive');
export const amountNonNegativeField = decimalField('non_negative');
export const amountSignedField = decimalField('non_zero');
/** An exact non-negative decimal such as a cost basis; its precision is checked by the service. */
export const decimalNonNegativeField = decimalField('non_negative');

const timestampPattern =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;
const timestampMessage = 'must be an RFC 3339 timestamp with a timezone, such as "2025-01-31T12:00:00Z"';

/** Whether `day` exists in that month; Date.parse would quietly roll 2025-02-30 into March. */
function isCalendarDay(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** An RFC 3339 timestamp with a timezone, parsed to epoch milliseconds. */
export const timestampField = z
  .string()
  .regex(timestampPattern, timestampMessage)
  .meta({ format: 'date-time' })
  .transform((text, context) => {
    const [, year = '', month = '', day = ''] = timestampPattern.exec(text) ?? [];
    const epochMs = Date.parse(text.toUpperCase());
    if (!isCalendarDay(Number(year), Number(month), Number(day)) || Number.isNaN(epochMs)) {
      context.issues.push({ code: 'custom', message: timestampMessage, input: text });
      return z.NEVER;
    }
    return epochMs;
  });

/** An integrator's customer key. No slash, so it sits in a URL path segment as it is. */
export const customerKeyField = z
  .string()
  .regex(/^[A-Za-z0-9_.:@-]{1,200}$/, 'must be 1–200 characters of A–Z a–z 0–9 _ . : @ -');

/** An integrator's feature key, such as `chat.completion` or `images/generate`. */
export const featureKeyField = z
  .string()
  .regex(/^[A-Za-z0-9_.:@/-]{1,200}$/, 'must be 1–200 characters of A–Z a–z 0–9 _ . : @ / -');

const codePattern = /^[a-z][a-z0-9_]{0,31}$/;
const codeMessage = 'must start with a–z and have 1–32 characters of a–z 0–9 _';

/** An asset code such as `credits` or `usd`. */
export const assetCodeField = z.string().regex(codePattern, codeMessage);

/** An environment name such as `live` or `test`: the same shape as an asset code. */
export const environmentNameField = z.string().regex(codePattern, codeMessage);

/** A server-assigned id such as `grt_01J…`, as it appears in a path or a filter. */
export const idField = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,100}$/, 'must be an id of 1–100 characters of A–Z a–z 0–9 _ -');

/** A human-readable reason, kept in the ledger and the audit log. */
export const reasonField = z.string().min(1).max(1000);

const metadataKeyMessage = 'keys must have 1–40 characters (and not be __proto__)';

/** Free-form string pairs the integrator attaches to a resource; bounded so rows stay small. */
export const metadataField = z
  .record(
    z
      .string()
      .min(1, metadataKeyMessage)
      .max(40, metadataKeyMessage)
      .refine((key) => key !== '__proto__', metadataKeyMessage),
    z.string().max(500),
  )
  .refine((metadata) => Object.keys(metadata).length <= 50, 'must have at most 50 keys');

const pageLimitMessage = `must be an integer from 1 to ${pageLimitMax}`;

/**
 * A page size from the query string: digits only, 1–200, default 50. The digits are turned into a
 * number before the integer check, so the document describes the parameter as the integer it is
 * (a query string only carries text; clients send the integer's digits).
 */
export const pageLimitField = z
  .preprocess(
    (text) => (typeof text === 'string' && /^\d{1,3}$/.test(text) ? Number(text) : text),
    z.int({ error: pageLimitMessage }).min(1, pageLimitMessage).max(pageLimitMax, pageLimitMessage),
  )
  .default(pageLimitDefault)
  .describe(`Page size, 1–${pageLimitMax}; default ${pageLimitDefault}.`);

/** The opaque cursor from a page's `next_cursor`; which list handed it out is checked where the list is read. */
export const cursorField = z
  .string()
  // Long enough for the longest key a list resumes after (a 200-character event id, escaped in JSON, in base64url).
  .regex(/^[\x21-\x7e]{1,2048}$/, 'must be a cursor returned as next_cursor')
  .describe('The next_cursor of the previous page of this list; absent: the first page.');

/** An integer within bounds, with the bounds in its message. */
export function integerField(minimum: number, maximum: number): z.ZodInt {
  const message = `must be an integer from ${minimum} to ${maximum}`;
  return z
    .int({ error: requiredOr(message) })
    .min(minimum, message)
    .max(maximum, message);
}

/** An array whose items appear once each. */
export function uniqueArrayField<T extends z.ZodType>(item: T, lengthMin: number, lengthMax: number) {
  return z
    .array(item)
    .min(lengthMin)
    .max(lengthMax)
    .refine((items) => new Set(items).size === items.length, 'must not repeat a value');
}

/** A usage event's properties: the meter reads quantities from them, rates match on them, usage groups by them. */
export const eventPropertiesField = z
  .record(z.string().max(100), z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]))
  .refine((properties) => Object.keys(properties).length <= 64, { message: 'must have at most 64 properties' });
