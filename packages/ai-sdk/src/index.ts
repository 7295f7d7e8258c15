/** @bursar/ai-sdk: `bursarMiddleware(options)` for the Vercel AI SDK's `wrapLanguageModel`, holding, extending and settling every generate and stream. */
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Content,
  LanguageModelV3StreamPart,
  LanguageModelV3Usage,
} from '@ai-sdk/provider';
import type { BursarCallOptions, CallOverrides, Reading, TokenUsage } from '@bursar/model-calls';
import {
  countPromptTokens,
  ModelCall,
  meterAnswer,
  meterStream,
  providerUserId,
  resolveOptions,
} from '@bursar/model-calls';
import type { LanguageModelMiddleware } from 'ai';

export type { BursarCallOptions, CallOverrides, Settlement } from '@bursar/model-calls';
export { InsufficientCreditError, SettlementError } from '@bursar/model-calls';

function toUsage(usage: LanguageModelV3Usage | undefined): TokenUsage | undefined {
  const input = usage?.inputTokens;
  const output = usage?.outputTokens;
  if (input?.total === undefined || output?.total === undefined) return undefined;
  const cached = input.cacheRead ?? 0;
  const written = input.cacheWrite ?? 0;
  return {
    inputTokens: input.noCache ?? Math.max(0, input.total - cached - written),
    cachedInputTokens: cached,
    cacheWriteTokens: written,
    outputTokens: output.total,
    reasoningTokens: output.reasoning ?? 0,
  };
}

function contentText(part: LanguageModelV3Content): string {
  switch (part.type) {
    case 'text':
    case 'reasoning':
      return part.text;
    case 'tool-call':
      return part.input;
    default:
      return '';
  }
}

function readPart(part: LanguageModelV3StreamPart): Reading | undefined {
  switch (part.type) {
    case 'text-delta':
    case 'reasoning-delta':
    case 'tool-input-delta':
      return { text: part.delta };
    case 'finish': {
      const usage = toUsage(part.usage);
      return usage === undefined ? undefined : { usage };
    }
    case 'error':
      return { failed: true };
    default:
      return undefined;
  }
}

/** Reads a web stream as an async iterable, cancelling it when the reader stops early. */
async function* fromReadable<Item>(stream: ReadableStream<Item>): AsyncGenerator<Item, void, undefined> {
  const reader = stream.getReader();
  let done = false;
  try {
    while (true) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/** A web stream pulled from an async generator one item per read (no read-ahead), which a cancel returns. */
function toReadable<Item>(items: AsyncGenerator<Item, void, undefined>): ReadableStream<Item> {
  return new ReadableStream<Item>(
    {
      async pull(controller) {
        try {
          const next = await items.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        } catch (error) {
          controller.error(error);
        }
      },
      async cancel() {
        await items.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * The middleware: `wrapLanguageModel({ model, middleware: bursarMiddleware(options) })`. Each call holds
 * the estimate (priced for the model's id), extends while a stream passes it, and captures the usage the
 * AI SDK reports. Per call, `providerOptions: { bursar: { customer, endUser, … } }` overrides the
 * options; it is removed before the provider sees the call. For OpenAI models the end user's hashed id is
 * set as `providerOptions.openai.user`.
 */
export function bursarMiddleware(options: BursarCallOptions): LanguageModelMiddleware {
  async function open(params: LanguageModelV3CallOptions, model: LanguageModelV3) {
    const { bursar: overrides, ...providerOptions } = params.providerOptions ?? {};
    const settings = resolveOptions(options, overrides as CallOverrides | undefined);
    const call = await ModelCall.open(settings, {
      model: model.modelId,
      promptTokens: countPromptTokens([params.prompt, params.tools ?? null]),
      maxOutputTokens: params.maxOutputTokens,
    });
    if (
      settings.endUser !== undefined &&
      model.provider.startsWith('openai') &&
      providerOptions.openai?.user === undefined
    )
      providerOptions.openai = { ...providerOptions.openai, user: await providerUserId(settings.endUser) };
    const sent: LanguageModelV3CallOptions = { ...params, providerOptions };
    if (call.outputTokensCap !== undefined) sent.maxOutputTokens = call.outputTokensCap;
    return { call, sent };
  }

  return {
    specificationVersion: 'v3',
    async wrapGenerate({ params, model }) {
      const { call, sent } = await open(params, model);
      return meterAnswer(
        call,
        () => model.doGenerate(sent),
        (result) => {
          const usage = toUsage(result.usage);
          const text = result.content.map(contentText).join('');
          return usage === undefined ? { text } : { text, usage };
        },
        params.abortSignal,
      );
    },
    async wrapStream({ params, model }) {
      const { call, sent } = await open(params, model);
      let result: Awaited<ReturnType<LanguageModelV3['doStream']>>;
      try {
        result = await model.doStream(sent);
      } catch (error) {
        await call.finish(params.abortSignal?.aborted ? 'aborted' : 'failed').catch(() => undefined);
        throw error;
      }
      const metered = meterStream(call, fromReadable(result.stream), readPart, params.abortSignal);
      return { ...result, stream: toReadable(metered) };
    },
  };
}
