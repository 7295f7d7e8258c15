/** Reads an event-stream operation (server-sent events): one async iterator of `{ event, data }`, data parsed as JSON, until the caller stops or the server ends the stream. */
import { BursarAbortError, BursarConnectionError, BursarError } from './errors.ts';
import type { OperationId, Problem } from './generated/contract.ts';
import { operationTable } from './generated/contract.ts';
import type { ClientSettings } from './request.ts';

/** One server-sent event; comments (keep-alives) are skipped. */
export interface StreamEvent<Data> {
  readonly event: string;
  readonly data: Data;
}

export interface StreamOptions {
  /** Stops the stream (the iterator ends with BursarAbortError). */
  readonly signal?: AbortSignal;
}

/** Splits the text of a stream into its events (blocks ending with a blank line), keeping the rest. */
function takeEvents(buffer: string): { events: { event: string; data: string }[]; rest: string } {
  const events: { event: string; data: string }[] = [];
  const blocks = buffer.replace(/\r\n?/g, '\n').split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':') || line === '') continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) events.push({ event, data: data.join('\n') });
  }
  return { events, rest };
}

export async function* streamOperation(
  settings: ClientSettings,
  operationId: OperationId,
  options: StreamOptions = {},
): AsyncGenerator<StreamEvent<unknown>> {
  const row = operationTable[operationId];
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let response: Response;
  try {
    response = await settings.fetch(`${settings.baseUrl.replace(/\/+$/, '')}${row.path}`, {
      method: row.method,
      headers: { authorization: `Bearer ${settings.apiKey}`, accept: 'text/event-stream' },
      signal: controller.signal,
    });
  } catch (cause) {
    options.signal?.removeEventListener('abort', onAbort);
    if (options.signal?.aborted) throw new BursarAbortError(options.signal.reason);
    throw new BursarConnectionError(`The request failed: ${(cause as Error)?.message ?? cause}`, { cause });
  }
  try {
    if (!response.ok || response.body === null) {
      const text = await response.text();
      let problem: Problem | undefined;
      try {
        problem = JSON.parse(text) as Problem;
      } catch {
        problem = undefined;
      }
      if (problem !== undefined && typeof problem.code === 'string') throw new BursarError(problem, response.status);
      throw new BursarConnectionError(`HTTP ${response.status} without a problem document`, {
        status: response.status,
      });
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) return;
        const taken = takeEvents(buffer + chunk.value);
        buffer = taken.rest;
        for (const event of taken.events) yield { event: event.event, data: JSON.parse(event.data) as unknown };
      }
    } catch (cause) {
      if (options.signal?.aborted) throw new BursarAbortError(options.signal.reason);
      throw cause instanceof Error && cause.name !== 'TypeError'
        ? cause
        : new BursarConnectionError(`The stream failed: ${(cause as Error)?.message ?? cause}`, { cause });
    } finally {
      // The caller stopped (break, return) or the stream failed: let the server know at once.
      controller.abort();
      reader.releaseLock();
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}
