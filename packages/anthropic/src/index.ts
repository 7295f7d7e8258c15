/** @bursar/anthropic: `withBursar(new Anthropic(), options)`, whose messages are held, extended and settled in Bursar, cache tokens included. */
import type Anthropic from '@anthropic-ai/sdk';
import { Stream } from '@anthropic-ai/sdk/core/streaming';
import type {
  Message,
  MessageCreateParamsBase,
  MessageCreateParamsNonStreaming,
  MessageCreateParamsStreaming,
  MessageDeltaUsage,
  RawMessageStreamEvent,
  Usage,
} from '@anthropic-ai/sdk/resources/messages/messages';
import type { BursarCallOptions, CallOverrides, Reading, TokenUsage } from '@bursar/model-calls';
import {
  countPromptTokens,
  ModelCall,
  meterAnswer,
  openMeteredStream,
  overlay,
  providerUserId,
  resolveOptions,
} from '@bursar/model-calls';

export type { BursarCallOptions, CallOverrides, Settlement } from '@bursar/model-calls';
export { InsufficientCreditError, SettlementError } from '@bursar/model-calls';

/** The client's own per-request options (headers, signal, timeout), which the package does not export by name. */
type RequestOptions = NonNullable<Parameters<Anthropic['messages']['create']>[1]>;

/** A request body with the per-call overrides in a `bursar` field, which is removed before the request is sent. */
export type WithOverrides<Body> = Body & { readonly bursar?: CallOverrides };

export interface BursarMessages {
  create(body: WithOverrides<MessageCreateParamsNonStreaming>, options?: RequestOptions): Promise<Message>;
  create(
    body: WithOverrides<MessageCreateParamsStreaming>,
    options?: RequestOptions,
  ): Promise<Stream<RawMessageStreamEvent>>;
  create(
    body: WithOverrides<MessageCreateParamsBase>,
    options?: RequestOptions,
  ): Promise<Stream<RawMessageStreamEvent> | Message>;
}

/** The client with its metered `messages.create`; everything else is the client's own. */
export type BursarAnthropic<Client extends Anthropic> = Omit<Client, 'messages'> & {
  readonly messages: Omit<Client['messages'], 'create'> & BursarMessages;
};

type UsageFields = Pick<Usage, 'input_tokens' | 'cache_read_input_tokens' | 'cache_creation_input_tokens'> & {
  readonly output_tokens: number;
  readonly output_tokens_details?: { readonly thinking_tokens: number } | null;
};

/** Anthropic's input_tokens already leave out cache reads and writes: the pools are exclusive as reported. */
function toUsage(usage: UsageFields): TokenUsage {
  return {
    inputTokens: usage.input_tokens,
    cachedInputTokens: usage.cache_read_input_tokens ?? 0,
    cacheWriteTokens: usage.cache_creation_input_tokens ?? 0,
    outputTokens: usage.output_tokens,
    reasoningTokens: usage.output_tokens_details?.thinking_tokens ?? 0,
  };
}

/**
 * A reader of one stream: the input side of the usage comes with `message_start`, the output side
 * (cumulative) with `message_delta`; the usage is complete, and reported, only once both have come.
 */
function streamReader(): (event: RawMessageStreamEvent) => Reading | undefined {
  let started: Usage | undefined;
  return (event) => {
    switch (event.type) {
      case 'message_start': {
        started = typeof event.message.usage?.input_tokens === 'number' ? event.message.usage : undefined;
        if (started === undefined) return undefined;
        const { outputTokens: _unknownYet, reasoningTokens: _none, ...inputUsage } = toUsage(started);
        return { inputUsage };
      }
      case 'content_block_delta': {
        const { delta } = event;
        if (delta.type === 'text_delta') return { text: delta.text };
        if (delta.type === 'input_json_delta') return { text: delta.partial_json };
        if (delta.type === 'thinking_delta') return { text: delta.thinking };
        return undefined;
      }
      case 'message_delta': {
        const final: Partial<MessageDeltaUsage> = event.usage ?? {};
        if (started === undefined || typeof final.output_tokens !== 'number') return undefined;
        return {
          usage: toUsage({
            input_tokens: final.input_tokens ?? started.input_tokens,
            cache_read_input_tokens: final.cache_read_input_tokens ?? started.cache_read_input_tokens,
            cache_creation_input_tokens: final.cache_creation_input_tokens ?? started.cache_creation_input_tokens,
            output_tokens: final.output_tokens,
            output_tokens_details: final.output_tokens_details ?? null,
          }),
        };
      }
      default:
        return undefined;
    }
  };
}

function readMessage(message: Message): Reading {
  const text = message.content.map((block) => (block.type === 'text' ? block.text : JSON.stringify(block))).join('');
  return typeof message.usage?.input_tokens === 'number' ? { text, usage: toUsage(message.usage) } : { text };
}

/**
 * Wraps an Anthropic client: `messages.create`, streamed or not, holds the estimate first (a customer
 * who cannot afford it gets InsufficientCreditError and the request is never sent), extends while a
 * stream passes it, and captures the usage Anthropic reports, cache reads and writes included. The end
 * user's hashed id goes to `metadata.user_id`. Per call, a `bursar` field in the body overrides
 * customer, feature, end user, session and the settle rules; it is not sent to Anthropic.
 */
export function withBursar<Client extends Anthropic>(
  client: Client,
  options: BursarCallOptions,
): BursarAnthropic<Client> {
  const messages = client.messages;

  async function create(body: WithOverrides<MessageCreateParamsBase>, requestOptions?: RequestOptions) {
    const { bursar: overrides, ...request } = body;
    const settings = resolveOptions(options, overrides);
    const call = await ModelCall.open(settings, {
      model: request.model,
      promptTokens: countPromptTokens([request.system ?? null, request.messages, request.tools ?? null]),
      maxOutputTokens: request.max_tokens,
    });
    let sent: MessageCreateParamsBase = request;
    if (settings.endUser !== undefined && request.metadata?.user_id === undefined)
      sent = { ...sent, metadata: { ...sent.metadata, user_id: await providerUserId(settings.endUser) } };
    if (call.outputTokensCap !== undefined) sent = { ...sent, max_tokens: call.outputTokensCap };
    const signal = requestOptions?.signal;
    if (sent.stream === true) {
      const streamed = { ...sent, stream: true as const };
      const { source, metered } = await openMeteredStream(
        call,
        () => messages.create(streamed, requestOptions),
        streamReader(),
        signal,
      );
      return new Stream(() => metered, source.controller);
    }
    const answered = { ...sent, stream: false as const };
    return meterAnswer(call, () => messages.create(answered, requestOptions), readMessage, signal);
  }

  const wrapped = overlay(client, { messages: overlay(messages, { create }) });
  return wrapped as unknown as BursarAnthropic<Client>;
}
