/**
 * The live balance: `streamPortalEvents` read with fetch and eventsource-parser rather than EventSource,
 * because EventSource cannot send the bearer token's Authorization header. It reconnects on its own
 * with a growing pause, and the server sends the whole balances body on every connect.
 */
import { createParser } from 'eventsource-parser';
import type { PortalClient } from './client.ts';
import { PortalRequestError, requestErrorOf } from './client.ts';
import type { Balances } from './types.ts';

export interface BalanceStreamHandlers {
  readonly onBalances: (balances: Balances) => void;
  /** Called on every lost connection; `final` when retrying cannot help (the session ended). */
  readonly onError: (error: PortalRequestError, final: boolean) => void;
}

const retryDelaysMs = [500, 1000, 2000, 5000, 10_000];

/** Opens the stream and keeps it open until the returned function is called. */
export function openBalanceStream(client: PortalClient, handlers: BalanceStreamHandlers): () => void {
  const controller = new AbortController();
  let failures = 0;

  const connectOnce = async (): Promise<'retry' | 'stop'> => {
    const response = await fetch(
      client.url('/v1/portal/events'),
      client.requestInit('GET', { headers: { accept: 'text/event-stream' }, signal: controller.signal }),
    );
    if (!response.ok) {
      // An ended session or a refused token will not come back by retrying.
      const final = response.status === 401 || response.status === 403 || response.status === 404;
      handlers.onError(await requestErrorOf(response), final);
      return final ? 'stop' : 'retry';
    }
    if (!response.body) return 'retry';
    const parser = createParser({
      onEvent(message) {
        if (message.event !== 'balance') return;
        failures = 0;
        handlers.onBalances(JSON.parse(message.data) as Balances);
      },
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return 'retry';
      parser.feed(value);
    }
  };

  const run = async () => {
    while (!controller.signal.aborted) {
      let outcome: 'retry' | 'stop' = 'retry';
      try {
        outcome = await connectOnce();
      } catch (error) {
        if (controller.signal.aborted) return;
        handlers.onError(
          new PortalRequestError(0, null, error instanceof Error ? error.message : String(error), null),
          false,
        );
      }
      if (outcome === 'stop' || controller.signal.aborted) return;
      const delay = retryDelaysMs[Math.min(failures, retryDelaysMs.length - 1)] ?? 10_000;
      failures += 1;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  };
  void run();
  return () => controller.abort();
}
