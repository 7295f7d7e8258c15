/** Runs a provider call inside a ModelCall: a single answer, or a stream whose items pass to the caller as they arrive. */
import type { CallEnding } from './decisions.ts';
import { SettlementError } from './errors.ts';
import type { ModelCall } from './model-call.ts';
import type { InputUsage, TokenUsage } from './usage.ts';

/** What one answer or stream item tells the meter: output text to count, and the provider's usage when it carries it. */
export interface Reading {
  readonly text?: string;
  readonly usage?: TokenUsage;
  /** The input side of the usage, reported before the output is known. */
  readonly inputUsage?: InputUsage;
  /** The item reports a provider error inside the stream (the AI SDK's `error` part). */
  readonly failed?: boolean;
}

/** Awaits a single answer, then settles: released when the provider fails, captured from its usage otherwise. */
export async function meterAnswer<Answer>(
  call: ModelCall,
  send: () => PromiseLike<Answer>,
  read: (answer: Answer) => Reading,
  signal?: AbortSignal | null,
): Promise<Answer> {
  let answer: Answer;
  try {
    answer = await send();
  } catch (error) {
    // The provider's error is what the caller needs; a failed release only leaves the hold to its TTL.
    await call.finish(signal?.aborted ? 'aborted' : 'failed').catch(() => undefined);
    throw error;
  }
  const reading = read(answer);
  if (reading.text !== undefined) call.countOutput(reading.text, { extend: false });
  try {
    await call.finish('completed', reading.usage);
  } catch (error) {
    if (error instanceof SettlementError) error.result = answer;
    throw error;
  }
  return answer;
}

/**
 * Yields each item the moment the provider's stream does, counting output on the way (which may
 * extend the hold in the background), and settles when the stream ends, fails, or the caller stops
 * reading (`break`, `return`, an abort): the usage the provider sent, or the settle policy.
 */
export async function* meterStream<Item>(
  call: ModelCall,
  source: AsyncIterable<Item>,
  read: (item: Item) => Reading | undefined,
  signal?: AbortSignal | null,
): AsyncGenerator<Item, void, undefined> {
  let usage: TokenUsage | undefined;
  let inputUsage: InputUsage | undefined;
  let ending: CallEnding = 'aborted';
  let failed = false;
  try {
    for await (const item of source) {
      const reading = read(item);
      if (reading?.failed === true) failed = true;
      if (reading?.usage !== undefined) usage = reading.usage;
      if (reading?.inputUsage !== undefined) inputUsage = reading.inputUsage;
      if (reading?.text !== undefined) call.countOutput(reading.text);
      yield item;
    }
    // Some clients end an aborted stream quietly instead of throwing.
    ending = signal?.aborted ? 'aborted' : failed ? 'failed' : 'completed';
  } catch (error) {
    ending = signal?.aborted ? 'aborted' : 'failed';
    throw error;
  } finally {
    await call.finish(ending, usage, inputUsage);
  }
}

/** A provider client's stream: items to iterate, and the controller that aborts the request. */
export interface ProviderStream<Item> extends AsyncIterable<Item> {
  readonly controller: AbortController;
}

/**
 * Opens a provider's stream (releasing the hold if that fails) and returns it with its metered
 * iteration, which the wrapper hands back inside the client's own Stream class.
 */
export async function openMeteredStream<Item, Source extends ProviderStream<Item>>(
  call: ModelCall,
  open: () => PromiseLike<Source>,
  read: (item: Item) => Reading | undefined,
  signal?: AbortSignal | null,
): Promise<{ readonly source: Source; readonly metered: AsyncGenerator<Item, void, undefined> }> {
  let source: Source;
  try {
    source = await open();
  } catch (error) {
    await call.finish(signal?.aborted ? 'aborted' : 'failed').catch(() => undefined);
    throw error;
  }
  return { source, metered: meterStream(call, source, read, source.controller.signal) };
}

/**
 * A view of `target` whose named members are replaced and whose other members are the target's own,
 * methods bound to it (so private fields keep working). The caller's client is left untouched.
 */
export function overlay<Target extends object>(target: Target, members: Readonly<Record<string, unknown>>): Target {
  return new Proxy(target, {
    get(object, property) {
      if (typeof property === 'string' && Object.hasOwn(members, property)) return members[property];
      const value: unknown = Reflect.get(object, property, object);
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}
