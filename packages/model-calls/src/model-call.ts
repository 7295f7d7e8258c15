/** The imperative shell of one metered model call: hold before the provider is called, extend while it streams, then capture or release. */
import { BursarError } from '@bursar/sdk';
import type { CallEnding, Estimate, SettlementDecision } from './decisions.ts';
import { decideExtension, decideHoldAmount, decideSettlement } from './decisions.ts';
import { InsufficientCreditError, SettlementError } from './errors.ts';
import type { BursarCallOptions, Settlement } from './options.ts';
import { countTokens } from './tokens.ts';
import type { InputUsage, TokenUsage } from './usage.ts';
import { toEventProperties } from './usage.ts';

/** What a wrapper knows of a request before it is sent. */
export interface ModelRequest {
  readonly model: string;
  readonly promptTokens: number;
  /** The request's max_tokens (or its equivalent), if it sets one. */
  readonly maxOutputTokens: number | undefined;
  /** How many completions the request asks for (OpenAI's `n`). */
  readonly choices?: number | undefined;
}

interface HoldFacts {
  readonly id: string;
  readonly asset: string;
  readonly amount: string;
}

function isInsufficient(error: unknown): error is BursarError & { code: 'insufficient_balance' } {
  return error instanceof BursarError && error.code === 'insufficient_balance';
}

export class ModelCall {
  /** The output cap to send the provider when the balance capped the call; undefined when not capped. */
  readonly outputTokensCap: number | undefined;
  readonly #options: BursarCallOptions;
  readonly #model: string;
  readonly #callId: string;
  readonly #hold: HoldFacts;
  readonly #estimate: Estimate;
  #outputTokensCounted = 0;
  #outputTokensCovered: number;
  #extensions = 0;
  #pending: Promise<void> = Promise.resolve();
  #extensionError: unknown;
  #settled: Promise<Settlement> | undefined;

  private constructor(
    options: BursarCallOptions,
    model: string,
    callId: string,
    hold: HoldFacts,
    estimate: Estimate,
    capped: boolean,
  ) {
    this.#options = options;
    this.#model = model;
    this.#callId = callId;
    this.#hold = hold;
    this.#estimate = estimate;
    this.#outputTokensCovered = estimate.outputTokens;
    this.outputTokensCap = capped ? estimate.outputTokens : undefined;
  }

  /** Holds the request's estimate; throws InsufficientCreditError (or the server's refusal) so the provider is never called. */
  static async open(options: BursarCallOptions, request: ModelRequest): Promise<ModelCall> {
    const callId = globalThis.crypto.randomUUID();
    const first = decideHoldAmount({
      promptTokens: request.promptTokens,
      maxOutputTokens: request.maxOutputTokens,
      defaultOutputTokens: options.defaultOutputTokens ?? 1024,
      choices: request.choices,
    });
    // Without affordability facts the decision is always a hold; the narrowing says so to the compiler.
    if (first.kind !== 'hold') throw new TypeError('an estimate without affordability facts is always held');
    const refused = (cause: BursarError & { code: 'insufficient_balance' }) =>
      new InsufficientCreditError({
        customer: options.customer,
        feature: options.feature,
        available: cause.problem.available,
        requested: cause.problem.requested,
        cause,
      });
    try {
      const hold = await ModelCall.#createHold(options, request.model, callId, first.estimate, 'hold');
      return new ModelCall(options, request.model, callId, hold, first.estimate, false);
    } catch (error) {
      if (!isInsufficient(error)) throw error;
      if (options.whenUnaffordable !== 'cap') throw refused(error);
      const quote = await options.bursar.quoteCost({
        feature: options.feature,
        customer: options.customer,
        properties: ModelCall.#quantities(request.model, first.estimate),
      });
      const option = quote.options[0];
      if (option === undefined) throw refused(error);
      const capped = decideHoldAmount({
        promptTokens: request.promptTokens,
        maxOutputTokens: request.maxOutputTokens,
        defaultOutputTokens: options.defaultOutputTokens ?? 1024,
        choices: request.choices,
        affordability: {
          available: error.problem.available,
          exact: option.exact,
          lines: option.lines,
          minimumOutputTokens: options.minimumOutputTokens ?? 1,
        },
      });
      if (capped.kind === 'refuse') throw refused(error);
      try {
        const hold = await ModelCall.#createHold(options, request.model, callId, capped.estimate, 'hold-capped');
        return new ModelCall(options, request.model, callId, hold, capped.estimate, true);
      } catch (again) {
        throw isInsufficient(again) ? refused(again) : again;
      }
    }
  }

  static #quantities(model: string, estimate: Estimate) {
    return { model, input_tokens: estimate.inputTokens, output_tokens: estimate.outputTokens };
  }

  static async #createHold(
    options: BursarCallOptions,
    model: string,
    callId: string,
    estimate: Estimate,
    step: string,
  ): Promise<HoldFacts> {
    const metadata: Record<string, string> = { model_call: callId };
    if (options.endUser !== undefined) metadata.user = options.endUser;
    if (options.session !== undefined) metadata.session = options.session;
    const reply = await options.bursar.createHold(
      {
        customer: options.customer,
        feature: options.feature,
        quantities: ModelCall.#quantities(model, estimate),
        metadata,
        ...(options.holdTtlSeconds === undefined ? {} : { ttl_seconds: options.holdTtlSeconds }),
      },
      { idempotencyKey: `${callId}:${step}` },
    );
    return { id: reply.hold.id, asset: reply.hold.asset, amount: reply.hold.amount };
  }

  get holdId(): string {
    return this.#hold.id;
  }

  /**
   * Counts output as it streams past. When the count passes what the hold covers, an extension is
   * sent in the background: the caller's chunk is never held back for it. `extend: false` counts
   * only (a finished answer is captured at once, so extending first would be a wasted round trip).
   */
  countOutput(text: string, options: { extend?: boolean } = {}): void {
    if (text === '') return;
    this.#outputTokensCounted += countTokens(text);
    if (options.extend === false) return;
    const extension = decideExtension({
      outputTokensCounted: this.#outputTokensCounted,
      outputTokensCovered: this.#outputTokensCovered,
      stepTokens: this.#estimate.outputTokens,
      stepAmount: this.#hold.amount,
    });
    if (extension === null) return;
    this.#outputTokensCovered = extension.outputTokensCovered;
    const key = `${this.#callId}:extend:${++this.#extensions}`;
    const ttl = this.#options.holdTtlSeconds;
    this.#pending = this.#pending.then(() =>
      this.#options.bursar
        .extendHold(
          { id: this.#hold.id, amount: extension.amount, ...(ttl === undefined ? {} : { ttl_seconds: ttl }) },
          { idempotencyKey: key },
        )
        .then(
          () => undefined,
          // A refused extension leaves the stream running; the capture draws the excess or takes the hold.
          (error: unknown) => {
            this.#extensionError ??= error;
          },
        ),
    );
  }

  /** The first extension the server refused, if any (the customer ran out mid-stream). */
  get extensionError(): unknown {
    return this.#extensionError;
  }

  /** Settles once, however often it is called: waits for extensions in flight, then captures or releases. */
  finish(ending: CallEnding, usage?: TokenUsage, inputUsage?: InputUsage): Promise<Settlement> {
    this.#settled ??= this.#pending.then(() =>
      this.#settle(
        decideSettlement({
          ending,
          usage,
          inputUsage,
          outputTokensCounted: this.#outputTokensCounted,
          estimate: this.#estimate,
          policy: this.#options.settle ?? 'counted',
        }),
      ),
    );
    return this.#settled;
  }

  async #settle(decision: SettlementDecision): Promise<Settlement> {
    const { bursar } = this.#options;
    const id = this.#hold.id;
    let settlement: Settlement;
    try {
      if (decision.kind === 'release') {
        await bursar.releaseHold({ id }, { idempotencyKey: `${this.#callId}:release` });
        settlement = this.#record(decision.basis, '0');
      } else {
        const properties = toEventProperties(this.#model, decision.usage, this.#options);
        try {
          const reply = await bursar.captureHold(
            { id, event: { id: `model_call_${this.#callId}`, properties } },
            { idempotencyKey: `${this.#callId}:capture` },
          );
          settlement = this.#record(decision.basis, reply.hold.captured);
        } catch (error) {
          // The real cost passed the hold and the wallet cannot pay the excess: take what was held.
          if (!isInsufficient(error)) throw error;
          const reply = await bursar.captureHold({ id }, { idempotencyKey: `${this.#callId}:capture-held` });
          settlement = this.#record('held', reply.hold.captured);
        }
      }
    } catch (error) {
      throw new SettlementError(id, error);
    }
    this.#options.onSettled?.(settlement);
    return settlement;
  }

  #record(basis: Settlement['basis'], captured: string): Settlement {
    return { holdId: this.#hold.id, callId: this.#callId, basis, captured, asset: this.#hold.asset };
  }
}
