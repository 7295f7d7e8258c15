/**
 * The one rule every piece of request text and every JSON number passes before a schema sees it:
 * strings and keys must be well-formed Unicode without control characters, and numbers must
 * convert exactly. Applied to the parsed body, each query parameter and each path parameter.
 */
import { isExactJsonNumber } from '@bursar/core';
import type { FieldError } from '../contract.ts';
import { toFieldPath } from './validation.ts';

/**
 * A lone surrogate (not well-formed Unicode: it has no UTF-8 form, so a database stores U+FFFD and
 * the audit hash no longer matches), or a control character of Unicode's Cc category (C0, DEL, C1)
 * other than tab, line feed and carriage return: PostgreSQL's text refuses U+0000, and the others
 * only ever smuggle terminal escapes into logs and exports.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its purpose.
const controlCharacterPattern = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/;

/** Two checks rather than one Unicode-aware pattern, which costs twice as much on a 1 KB body. */
function isRefusedText(text: string): boolean {
  return controlCharacterPattern.test(text) || !text.isWellFormed();
}

const refusedTextMessage =
  'must be well-formed Unicode without control characters (U+0000–U+001F except tab, line feed and carriage return, U+007F–U+009F, lone surrogates)';
const refusedKeyMessage = `has a key that ${refusedTextMessage}`;
const inexactNumberMessage =
  'is a JSON number beyond ±(2^53−1), which cannot be read exactly: send it as a decimal string';

/** A body with many bad strings is told about the first few; the rest would only lengthen the reply. */
const errorsMax = 20;

/** Why `text` is refused, or null when it may be used as it is. */
export function describeRefusedText(text: string): string | null {
  return isRefusedText(text) ? refusedTextMessage : null;
}

const backslashByte = 0x5c;
const deleteByte = 0x7f;
/** The first byte of U+0080–U+00BF in UTF-8, so of every C1 control (and of a few signs such as ©). */
const c1LeadByte = 0xc2;

/**
 * Whether a JSON body, already known to be UTF-8, may hold a string the server refuses: false lets
 * the text checks be skipped, which is most of their cost. Inside a JSON string a raw U+0000–U+001F
 * is a syntax error, so a refused character can only be written as an escape (a backslash), as a
 * raw DEL, or as a raw C1 control (lead byte 0xC2). Each is one memchr over the bytes.
 */
export function mayHoldRefusedText(json: Buffer): boolean {
  return json.includes(backslashByte) || json.includes(deleteByte) || json.includes(c1LeadByte);
}

/**
 * Every string, object key and number of a parsed JSON value that the server refuses, named by
 * field path (`events[0].properties.model`). A refused key is reported at the object holding it.
 * With `checkText` false (see mayHoldRefusedText) only the numbers are checked.
 */
export function findRefusedJson(value: unknown, checkText = true): FieldError[] {
  const errors: FieldError[] = [];
  const path: (string | number)[] = [];
  function visit(node: unknown): void {
    if (errors.length >= errorsMax) return;
    if (typeof node === 'string') {
      if (checkText && isRefusedText(node)) errors.push({ field: toFieldPath(path), message: refusedTextMessage });
    } else if (typeof node === 'number') {
      if (!isExactJsonNumber(node)) errors.push({ field: toFieldPath(path), message: inexactNumberMessage });
    } else if (Array.isArray(node)) {
      for (let index = 0; index < node.length; index += 1) {
        path.push(index);
        visit(node[index]);
        path.pop();
      }
    } else if (typeof node === 'object' && node !== null) {
      for (const key in node) {
        if (checkText && isRefusedText(key)) {
          errors.push({ field: toFieldPath(path), message: refusedKeyMessage });
          continue;
        }
        path.push(key);
        visit((node as Record<string, unknown>)[key]);
        path.pop();
      }
    }
  }
  visit(value);
  return errors;
}
