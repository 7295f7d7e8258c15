/** The `Bursar` client: one method per operation of the API, named after its operationId, each list method with an `all` iterator. */
import type { ListOperationId, OperationId, OperationTypes } from './generated/contract.ts';
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

/** The writes that can be previewed: their `dryRun` decides the call and commits nothing. */
export type DryRunOperationId = {
  [Id in OperationId]: OperationTypes[Id] extends { dryRun: unknown } ? Id : never;
}[OperationId];

export type DryRunOutput<Id extends DryRunOperationId> = OperationTypes[Id] extends { dryRun: infer Output }
  ? Output
  : never;

export type DryRunMethod<Id extends DryRunOperationId> = OperationMethod<Id> & {
  /** Sends the call with `?dry_run=true`: the balances before and after and the answer it would give; nothing is written. */
  dryRun(...args: OperationArguments<Id>): Promise<DryRunOutput<Id>>;
};

export type OperationMethods = {
  readonly [Id in OperationId]: Id extends ListOperationId
    ? ListMethod<Id>
    : Id extends DryRunOperationId
      ? DryRunMethod<Id>
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
      const method = (input?: Record<string, unknown>, callOptions?: CallOptions) =>
        send(this.#settings, operationId, input ?? {}, callOptions);
      if (row.list) {
        methods[id] = Object.assign(method, {
          all: (input?: Record<string, unknown>, callOptions?: CallOptions) =>
            this.#pages(operationId, input ?? {}, callOptions),
        });
      } else if (row.dryRun !== null) {
        methods[id] = Object.assign(method, {
          dryRun: (input?: Record<string, unknown>, callOptions?: CallOptions) =>
            send(this.#settings, operationId, { ...input, dry_run: 'true' }, callOptions),
        });
      } else {
        methods[id] = method;
      }
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
