/**
 * Reads a request body as text with a size bound that holds while reading: a Content-Length over
 * the bound is refused before a byte is read, and a chunked body is cut off as soon as it passes it.
 */
import type { IncomingMessage } from 'node:http';

export type BodyRead =
  | { readonly kind: 'read'; readonly text: string }
  | { readonly kind: 'too_large' }
  /** The client went away mid-body; there is no one left to answer. */
  | { readonly kind: 'aborted' };

const tooLarge: BodyRead = { kind: 'too_large' };
const aborted: BodyRead = { kind: 'aborted' };
const empty: BodyRead = { kind: 'read', text: '' };

/** Whether the request carries a body at all: a non-zero Content-Length or a Transfer-Encoding. */
export function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}

export function readBodyText(request: IncomingMessage, bytesMax: number): Promise<BodyRead> {
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > bytesMax) return Promise.resolve(tooLarge);
  if (!hasBody(request)) return Promise.resolve(empty);
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
      settle({ kind: 'read', text: buffer === undefined ? '' : buffer.toString('utf8') });
    });
    request.once('error', () => settle(aborted));
    request.once('close', () => settle(aborted));
  });
}
