/**
 * A local HTTP server that speaks the wire formats of OpenAI (chat completions and the Responses API)
 * and Anthropic (messages), streamed and not, for tests, examples and the bench. The last user message
 * is the scenario, as JSON: `{"reply": 40, "usage": false, "status": 400, "hang": true}`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the fake answers; every field optional. */
export interface Scenario {
  /** Output chunks to send, each the two-byte text "ab" (one token by the wrappers' count and by the fake's usage). */
  readonly reply?: number;
  /** Whether to report usage (default true). */
  readonly usage?: boolean;
  /** An error status to answer with instead. */
  readonly status?: number;
  /** Keep the stream open after the chunks, until the client goes away. */
  readonly hang?: boolean;
  readonly cachedTokens?: number;
  readonly cacheWriteTokens?: number;
}

/** Input tokens the fake reports for every prompt. */
export const promptTokensReported = 12;

export interface FakeProvider {
  readonly url: string;
  /** Every request body received, in order. */
  readonly requests: { path: string; body: Record<string, unknown> }[];
  close(): Promise<void>;
}

/** The JSON text of a scenario, to put as the user's message. */
export function scenario(value: Scenario): string {
  return JSON.stringify(value);
}

function lastText(body: Record<string, unknown>): string {
  const messages = (body.messages ?? body.input) as unknown;
  if (typeof messages === 'string') return messages;
  if (!Array.isArray(messages)) return '{}';
  const last = messages[messages.length - 1] as { content?: unknown } | undefined;
  const content = last?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    const part = content.find((item: { text?: unknown }) => typeof item?.text === 'string') as { text: string };
    return part?.text ?? '{}';
  }
  return '{}';
}

function parseScenario(body: Record<string, unknown>): Scenario {
  try {
    return JSON.parse(lastText(body)) as Scenario;
  } catch {
    return {};
  }
}

type Send = (event: string | null, data: unknown) => void;

function chatStream(body: Record<string, unknown>, s: Scenario, send: Send): void {
  const base = { id: 'chatcmpl_1', object: 'chat.completion.chunk', created: 1_700_000_000, model: body.model };
  send(null, { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
  for (let index = 0; index < (s.reply ?? 0); index++)
    send(null, { ...base, choices: [{ index: 0, delta: { content: 'ab' }, finish_reason: null }] });
  if (s.hang) return;
  send(null, { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
  if (s.usage !== false) send(null, { ...base, choices: [], usage: chatUsage(s) });
  send(null, '[DONE]');
}

function chatUsage(s: Scenario) {
  const cached = s.cachedTokens ?? 0;
  return {
    prompt_tokens: promptTokensReported + cached,
    completion_tokens: s.reply ?? 0,
    total_tokens: promptTokensReported + cached + (s.reply ?? 0),
    prompt_tokens_details: { cached_tokens: cached },
    completion_tokens_details: { reasoning_tokens: 0 },
  };
}

function responseObject(body: Record<string, unknown>, s: Scenario, status: string) {
  const text = 'ab'.repeat(s.reply ?? 0);
  const cached = s.cachedTokens ?? 0;
  return {
    id: 'resp_1',
    object: 'response',
    created_at: 1_700_000_000,
    status,
    model: body.model,
    output:
      status === 'completed'
        ? [
            {
              type: 'message',
              id: 'msg_1',
              status: 'completed',
              role: 'assistant',
              content: [{ type: 'output_text', text, annotations: [] }],
            },
          ]
        : [],
    usage:
      status === 'completed' && s.usage !== false
        ? {
            input_tokens: promptTokensReported + cached,
            input_tokens_details: { cached_tokens: cached },
            output_tokens: s.reply ?? 0,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: promptTokensReported + cached + (s.reply ?? 0),
          }
        : null,
  };
}

function responsesStream(body: Record<string, unknown>, s: Scenario, send: Send): void {
  let sequence = 0;
  const event = (type: string, fields: object) => send(type, { type, sequence_number: sequence++, ...fields });
  event('response.created', { response: responseObject(body, s, 'in_progress') });
  event('response.output_item.added', {
    output_index: 0,
    item: { type: 'message', id: 'msg_1', status: 'in_progress', role: 'assistant', content: [] },
  });
  event('response.content_part.added', {
    item_id: 'msg_1',
    output_index: 0,
    content_index: 0,
    part: { type: 'output_text', text: '', annotations: [] },
  });
  for (let index = 0; index < (s.reply ?? 0); index++)
    event('response.output_text.delta', {
      item_id: 'msg_1',
      output_index: 0,
      content_index: 0,
      delta: 'ab',
      logprobs: [],
    });
  if (s.hang) return;
  event('response.output_item.done', {
    output_index: 0,
    item: {
      type: 'message',
      id: 'msg_1',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: 'ab'.repeat(s.reply ?? 0), annotations: [] }],
    },
  });
  event('response.completed', { response: responseObject(body, s, 'completed') });
}

function anthropicUsage(s: Scenario, output: number) {
  return {
    input_tokens: promptTokensReported,
    output_tokens: output,
    cache_read_input_tokens: s.cachedTokens ?? 0,
    cache_creation_input_tokens: s.cacheWriteTokens ?? 0,
  };
}

function anthropicStream(body: Record<string, unknown>, s: Scenario, send: Send): void {
  const usage = s.usage === false ? {} : anthropicUsage(s, 1);
  send('message_start', {
    type: 'message_start',
    message: {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: body.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage,
    },
  });
  send('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
  for (let index = 0; index < (s.reply ?? 0); index++)
    send('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'ab' } });
  if (s.hang) return;
  send('content_block_stop', { type: 'content_block_stop', index: 0 });
  send('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: s.usage === false ? {} : { output_tokens: s.reply ?? 0 },
  });
  send('message_stop', { type: 'message_stop' });
}

function anthropicMessage(body: Record<string, unknown>, s: Scenario) {
  return {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: body.model,
    content: [{ type: 'text', text: 'ab'.repeat(s.reply ?? 0) }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    ...(s.usage === false ? {} : { usage: anthropicUsage(s, s.reply ?? 0) }),
  };
}

function chatCompletion(body: Record<string, unknown>, s: Scenario) {
  return {
    id: 'chatcmpl_1',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: body.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'ab'.repeat(s.reply ?? 0) },
        finish_reason: 'stop',
        logprobs: null,
      },
    ],
    ...(s.usage === false ? {} : { usage: chatUsage(s) }),
  };
}

export async function startFakeProvider(): Promise<FakeProvider> {
  const requests: FakeProvider['requests'] = [];
  const server = http.createServer((request, response) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      text += chunk;
    });
    request.on('end', () => {
      const body = JSON.parse(text === '' ? '{}' : text) as Record<string, unknown>;
      const path = (request.url ?? '').replace(/\?.*$/, '');
      requests.push({ path, body });
      const s = parseScenario(body);
      if (s.status !== undefined) {
        response.writeHead(s.status, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'scripted failure' } }),
        );
        return;
      }
      if (body.stream !== true) {
        const answer = path.endsWith('/messages')
          ? anthropicMessage(body, s)
          : path.endsWith('/responses')
            ? responseObject(body, s, 'completed')
            : chatCompletion(body, s);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(answer));
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const send: Send = (event, data) =>
        response.write(
          `${event === null ? '' : `event: ${event}\n`}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`,
        );
      if (path.endsWith('/messages')) anthropicStream(body, s, send);
      else if (path.endsWith('/responses')) responsesStream(body, s, send);
      else chatStream(body, s, send);
      if (!s.hang) response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
