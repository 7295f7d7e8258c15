/**
 * Reads a request body as text with a size bound that holds while reading: a Content-Length over
 * the bound is refused before a byte is read, and a chunked body is cut off as soon as it passes it.
 */
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { mayHoldRefusedText } from './request-text.ts';

export type BodyRead =
  | {
      readonly kind: 'read';
      readonly text: string;
      /** False when no string in it can be one the server refuses (see mayHoldRefusedText). */
      readonly mayHoldRefusedText: boolean;
    }
  | { readonly kind: 'too_large' }
  /** Bytes that are not UTF-8, which decoding would silently turn into U+FFFD. */
  | { readonly kind: 'not_utf8' }
  /** The client went away mid-body; there is no one left to answer. */
  | { readonly kind: 'aborted' };

const tooLarge: BodyRead = { kind: 'too_large' };
const aborted: BodyRead = { kind: 'aborted' };
const empty: BodyRead = { kind: 'read', text: '', mayHoldRefusedText: false };
const notUtf8: BodyRead = { kind: 'not_utf8' };

function toText(buffer: Buffer): BodyRead {
  if (!isUtf8(buffer)) return notUtf8;
  return { kind: 'read', text: buffer.toString('utf8'), mayHoldRefusedText: mayHoldRefusedText(buffer) };
}

/** Whether the request carries a body at all: a non-zero Content-Length or a Transfer-Encoding. */
export function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}

/**
 * Answers synchronously when every byte of the body is already buffered, which is the usual case
 * for a small body by the time authentication has been awaited: no promise, no listeners. (node
 * marks the message complete a little later than that, so a declared length is compared instead.)
 * A body still arriving is collected by `collectBodyText`.
 */
export function readBodyText(request: IncomingMessage, bytesMax: number): BodyRead | Promise<BodyRead> {
  const declared = request.headers['content-length'];
  const bytesDeclared = declared === undefined ? undefined : Number(declared);
  if (bytesDeclared !== undefined && bytesDeclared > bytesMax) return tooLarge;
  if (!hasBody(request)) return empty;
  const arrived = request.complete || (bytesDeclared !== undefined && request.readableLength >= bytesDeclared);
  if (arrived && request.readableFlowing !== true) {
    if (request.readableLength > bytesMax) return tooLarge;
    const buffered: Buffer | null = request.read();
    return buffered === null ? empty : toText(buffered);
  }
  return collectBodyText(request, bytesMax);
}

function collectBodyText(request: IncomingMessage, bytesMax: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    function settle(result: BodyRead): void {
      if (settled) return;
      settled = true;
      request.removeListener('data', onData);
      resolve(result);
    }
    function onData(chunk: Buffer): void {
      bytes += chunk.length;
      if (bytes > bytesMax) {
        // Stop buffering; the answer goes out with `connection: close`, which ends the rest.
        settle(tooLarge);
        return;
      }
      chunks.push(chunk);
    }
    request.on('data', onData);
    request.once('end', () => {
      const buffer = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      settle(buffer === undefined ? empty : toText(buffer));
    });
    request.once('error', () => settle(aborted));
    request.once('close', () => settle(aborted));
  });
}
