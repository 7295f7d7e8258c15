/** The `Bursar` client: one method per operation of the API, named after its operationId, each list method with an `all` iterator. */
import type { StreamEvent, StreamOptions } from './events.ts';
import { streamOperation } from './events.ts';
import type { ListOperationId, OperationId, OperationTypes, StreamOperationId } from './generated/contract.ts';
import { operationTable } from './generated/contract.ts';
import type { CallOptions, ClientSettings } from './request.ts';
import { send } from './request.ts';
import type { RetryPolicy } from './retry.ts';
import { defaultRetryPolicy } from './retry.ts';
import { verifyWebhook } from './webhooks.ts';

export interface BursarOptions {
  /** The server's origin, e.g. `https://bursar.example.com`; paths start at /v1. */
  readonly baseUrl: string;
  readonly apiKey: string;
  /** Default: the runtime's global fetch. */
  readonly fetch?: typeof globalThis.fetch;
  /** Per attempt. Default 30 000. */
  readonly timeoutMs?: number;
  /** Default: 3 attempts, 250 ms base, 8 s cap, Retry-After up to 60 s; `false`: never retry. */
  readonly retry?: Partial<RetryPolicy> | false;
}

export type OperationInput<Id extends OperationId> = OperationTypes[Id]['input'];
export type OperationOutput<Id extends OperationId> = OperationTypes[Id]['output'];

/** The arguments of a method: the input may be left out when none of its fields is required. */
export type OperationArguments<Id extends OperationId> =
  // biome-ignore lint/complexity/noBannedTypes: `{}` asks "is every field optional"
  {} extends OperationInput<Id>
    ? [input?: OperationInput<Id>, options?: CallOptions]
    : [input: OperationInput<Id>, options?: CallOptions];

/** One item of a list operation's pages. */
export type ListItem<Id extends ListOperationId> = OperationOutput<Id>['data'][number];

/** A list operation's input without the cursor, which the iterator follows itself. */
export type ListInput<Id extends ListOperationId> = Omit<OperationInput<Id>, 'cursor'>;

export type OperationMethod<Id extends OperationId> = (...args: OperationArguments<Id>) => Promise<OperationOutput<Id>>;

export type ListMethod<Id extends ListOperationId> = OperationMethod<Id> & {
  /** Every item over every page, fetching the next page as the loop reaches it. */
  all(
    // biome-ignore lint/complexity/noBannedTypes: see OperationArguments
    ...args: {} extends ListInput<Id>
      ? [input?: ListInput<Id>, options?: CallOptions]
      : [input: ListInput<Id>, options?: CallOptions]
  ): AsyncIterableIterator<ListItem<Id>>;
};

/** An event-stream operation's method: its events, as they come, until the loop stops or the signal fires. */
export type StreamMethod<Id extends StreamOperationId> = (
  options?: StreamOptions,
) => AsyncGenerator<StreamEvent<OperationOutput<Id>>>;

export type OperationMethods = {
  readonly [Id in OperationId]: Id extends StreamOperationId
    ? StreamMethod<Id>
    : Id extends ListOperationId
      ? ListMethod<Id>
      : OperationMethod<Id>;
};

// The class's methods are built from the operation table in the constructor; this declares their types.
export interface Bursar extends OperationMethods {}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface types the methods the constructor adds
export class Bursar {
  readonly #settings: ClientSettings;
  /** The standalone `verifyWebhook`, here too for convenience. */
  readonly verifyWebhook = verifyWebhook;

  constructor(options: BursarOptions) {
    if (typeof options.baseUrl !== 'string' || options.baseUrl === '') throw new TypeError('baseUrl is required');
    if (typeof options.apiKey !== 'string' || options.apiKey === '') throw new TypeError('apiKey is required');
    const fetchFunction = options.fetch ?? globalThis.fetch;
    if (typeof fetchFunction !== 'function') throw new TypeError('No fetch: pass options.fetch');
    this.#settings = {
      baseUrl: options.baseUrl,
      apiKey: options.apiKey,
      // Called unbound: some runtimes' fetch refuses a `this` other than the global.
      fetch: (url, init) => fetchFunction(url, init),
      timeoutMs: options.timeoutMs ?? 30_000,
      retry: options.retry === false ? false : { ...defaultRetryPolicy, ...options.retry },
    };
    const methods = this as unknown as Record<string, unknown>;
    for (const [id, row] of Object.entries(operationTable)) {
      const operationId = id as OperationId;
      if ('stream' in row) {
        methods[id] = (streamOptions?: StreamOptions) => streamOperation(this.#settings, operationId, streamOptions);
        continue;
      }
      const method = (input?: Record<string, unknown>, callOptions?: CallOptions) =>
        send(this.#settings, operationId, input ?? {}, callOptions);
      methods[id] = row.list
        ? Object.assign(method, {
            all: (input?: Record<string, unknown>, callOptions?: CallOptions) =>
              this.#pages(operationId, input ?? {}, callOptions),
          })
        : method;
    }
  }

  /** Calls an operation by its id: the same as `bursar[operationId](input, options)`, for code that picks the operation at run time. */
  request<Id extends OperationId>(operationId: Id, ...args: OperationArguments<Id>): Promise<OperationOutput<Id>> {
    const [input, options] = args;
    return send(this.#settings, operationId, (input ?? {}) as Record<string, unknown>, options) as Promise<
      OperationOutput<Id>
    >;
  }

  async *#pages(operationId: OperationId, input: Record<string, unknown>, options?: CallOptions) {
    let cursor: string | null | undefined;
    do {
      const page = (await send(this.#settings, operationId, cursor ? { ...input, cursor } : input, options)) as {
        data: unknown[];
        next_cursor: string | null;
      };
      yield* page.data;
      cursor = page.next_cursor;
    } while (cursor);
  }
}
