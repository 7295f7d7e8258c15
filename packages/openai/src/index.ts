/** @bursar/openai: `withBursar(new OpenAI(), options)`, whose chat completions and responses are held, extended and settled in Bursar. */
import type { BursarCallOptions, CallOverrides, Reading, TokenUsage } from '@bursar/model-calls';
import {
  ModelCall as Call,
  countPromptTokens,
  meterAnswer,
  openMeteredStream,
  overlay,
  providerUserId,
  resolveOptions,
} from '@bursar/model-calls';
import type OpenAI from 'openai';
import { Stream } from 'openai/core/streaming';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsBase,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
} from 'openai/resources/chat/completions';
import type {
  Response,
  ResponseCreateParamsBase,
  ResponseCreateParamsNonStreaming,
  ResponseCreateParamsStreaming,
  ResponseStreamEvent,
  ResponseUsage,
} from 'openai/resources/responses/responses';

export type { BursarCallOptions, CallOverrides, Settlement } from '@bursar/model-calls';

/** The client's own per-request options (headers, signal, timeout), which the package does not export by name. */
type RequestOptions = NonNullable<Parameters<OpenAI['chat']['completions']['create']>[1]>;

export { InsufficientCreditError, SettlementError } from '@bursar/model-calls';

/** A request body with the per-call overrides in a `bursar` field, which is removed before the request is sent. */
export type WithOverrides<Body> = Body & { readonly bursar?: CallOverrides };

export interface BursarChatCompletions {
  create(
    body: WithOverrides<ChatCompletionCreateParamsNonStreaming>,
    options?: RequestOptions,
  ): Promise<ChatCompletion>;
  create(
    body: WithOverrides<ChatCompletionCreateParamsStreaming>,
    options?: RequestOptions,
  ): Promise<Stream<ChatCompletionChunk>>;
  create(
    body: WithOverrides<ChatCompletionCreateParamsBase>,
    options?: RequestOptions,
  ): Promise<Stream<ChatCompletionChunk> | ChatCompletion>;
}

export interface BursarResponses {
  create(body: WithOverrides<ResponseCreateParamsNonStreaming>, options?: RequestOptions): Promise<Response>;
  create(
    body: WithOverrides<ResponseCreateParamsStreaming>,
    options?: RequestOptions,
  ): Promise<Stream<ResponseStreamEvent>>;
  create(
    body: WithOverrides<ResponseCreateParamsBase>,
    options?: RequestOptions,
  ): Promise<Stream<ResponseStreamEvent> | Response>;
}

/** The client with its metered methods; everything else is the client's own. */
export type BursarOpenAI<Client extends OpenAI> = Omit<Client, 'chat' | 'responses'> & {
  readonly chat: Omit<Client['chat'], 'completions'> & {
    readonly completions: Omit<Client['chat']['completions'], 'create'> & BursarChatCompletions;
  };
  readonly responses: Omit<Client['responses'], 'create'> & BursarResponses;
};

function chatUsage(usage: ChatCompletion['usage'] | null | undefined): TokenUsage | undefined {
  if (usage === undefined || usage === null) return undefined;
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  const written = usage.prompt_tokens_details?.cache_write_tokens ?? 0;
  return {
    inputTokens: Math.max(0, usage.prompt_tokens - cached - written),
    cachedInputTokens: cached,
    cacheWriteTokens: written,
    outputTokens: usage.completion_tokens,
    reasoningTokens: usage.completion_tokens_details?.reasoning_tokens ?? 0,
  };
}

function responseUsage(usage: ResponseUsage | null | undefined): TokenUsage | undefined {
  if (usage === undefined || usage === null) return undefined;
  const cached = usage.input_tokens_details?.cached_tokens ?? 0;
  const written = usage.input_tokens_details?.cache_write_tokens ?? 0;
  return {
    inputTokens: Math.max(0, usage.input_tokens - cached - written),
    cachedInputTokens: cached,
    cacheWriteTokens: written,
    outputTokens: usage.output_tokens,
    reasoningTokens: usage.output_tokens_details?.reasoning_tokens ?? 0,
  };
}

function readChunk(chunk: ChatCompletionChunk): Reading {
  let text = '';
  for (const choice of chunk.choices ?? []) {
    text += choice.delta?.content ?? '';
    for (const call of choice.delta?.tool_calls ?? []) text += call.function?.arguments ?? '';
  }
  const usage = chatUsage(chunk.usage);
  return usage === undefined ? { text } : { text, usage };
}

function readCompletion(completion: ChatCompletion): Reading {
  const text = completion.choices
    .map((choice) => (choice.message.content ?? '') + JSON.stringify(choice.message.tool_calls ?? ''))
    .join('');
  const usage = chatUsage(completion.usage);
  return usage === undefined ? { text } : { text, usage };
}

function readResponseEvent(event: ResponseStreamEvent): Reading | undefined {
  switch (event.type) {
    case 'response.output_text.delta':
    case 'response.function_call_arguments.delta':
    case 'response.reasoning_text.delta':
    case 'response.refusal.delta':
      return { text: event.delta };
    case 'response.completed':
    case 'response.incomplete':
    case 'response.failed': {
      const usage = responseUsage(event.response.usage);
      return usage === undefined ? undefined : { usage };
    }
    default:
      return undefined;
  }
}

function readResponse(response: Response): Reading {
  const text = response.output_text ?? JSON.stringify(response.output ?? '');
  const usage = responseUsage(response.usage);
  return usage === undefined ? { text } : { text, usage };
}

/** The body without its `bursar` field, and the call's options with those overrides. */
function split<Body extends { readonly bursar?: CallOverrides }>(options: BursarCallOptions, body: Body) {
  const { bursar: overrides, ...rest } = body;
  return { settings: resolveOptions(options, overrides), request: rest };
}

async function withUser<Body extends { user?: string }>(body: Body, endUser: string | undefined): Promise<Body> {
  return endUser === undefined || body.user !== undefined ? body : { ...body, user: await providerUserId(endUser) };
}

/**
 * Wraps an OpenAI client: `chat.completions.create` and `responses.create`, streamed or not, hold the
 * estimate first (a customer who cannot afford it gets InsufficientCreditError and the request is never
 * sent), extend while a stream passes it, and capture the usage the provider reports. Streams always
 * ask for usage (`stream_options.include_usage`). Per call, a `bursar` field in the body overrides
 * customer, feature, end user, session and the settle rules; it is not sent to OpenAI.
 */
export function withBursar<Client extends OpenAI>(client: Client, options: BursarCallOptions): BursarOpenAI<Client> {
  const completions = client.chat.completions;
  const responses = client.responses;

  async function createCompletion(
    body: WithOverrides<ChatCompletionCreateParamsBase>,
    requestOptions?: RequestOptions,
  ) {
    const { settings, request } = split(options, body);
    const maxOutputTokens = request.max_completion_tokens ?? request.max_tokens ?? undefined;
    const call = await Call.open(settings, {
      model: request.model,
      promptTokens: countPromptTokens([request.messages, request.tools ?? null]),
      maxOutputTokens,
      choices: request.n ?? 1,
    });
    let sent = await withUser(request, settings.endUser);
    if (call.outputTokensCap !== undefined)
      sent =
        request.max_tokens !== undefined && request.max_tokens !== null && request.max_completion_tokens === undefined
          ? { ...sent, max_tokens: call.outputTokensCap }
          : { ...sent, max_completion_tokens: call.outputTokensCap };
    const signal = requestOptions?.signal;
    if (sent.stream === true) {
      const streamed = {
        ...sent,
        stream: true as const,
        stream_options: { ...sent.stream_options, include_usage: true },
      };
      const { source, metered } = await openMeteredStream(
        call,
        () => completions.create(streamed, requestOptions),
        readChunk,
        signal,
      );
      return new Stream(() => metered, source.controller);
    }
    const answered = { ...sent, stream: false as const };
    return meterAnswer(call, () => completions.create(answered, requestOptions), readCompletion, signal);
  }

  async function createResponse(body: WithOverrides<ResponseCreateParamsBase>, requestOptions?: RequestOptions) {
    const { settings, request } = split(options, body);
    if (typeof request.model !== 'string') throw new TypeError('model is required to price the call');
    const call = await Call.open(settings, {
      model: request.model,
      promptTokens: countPromptTokens([request.instructions ?? null, request.input ?? null, request.tools ?? null]),
      maxOutputTokens: request.max_output_tokens ?? undefined,
    });
    let sent = await withUser(request, settings.endUser);
    if (call.outputTokensCap !== undefined) sent = { ...sent, max_output_tokens: call.outputTokensCap };
    const signal = requestOptions?.signal;
    if (sent.stream === true) {
      const streamed = { ...sent, stream: true as const };
      const { source, metered } = await openMeteredStream(
        call,
        () => responses.create(streamed, requestOptions),
        readResponseEvent,
        signal,
      );
      return new Stream(() => metered, source.controller);
    }
    const answered = { ...sent, stream: false as const };
    return meterAnswer(call, () => responses.create(answered, requestOptions), readResponse, signal);
  }

  const wrapped = overlay(client, {
    chat: overlay(client.chat, { completions: overlay(completions, { create: createCompletion }) }),
    responses: overlay(responses, { create: createResponse }),
  });
  return wrapped as unknown as BursarOpenAI<Client>;
}
