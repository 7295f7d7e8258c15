/** A scriptable HTTP proxy on 127.0.0.1 in front of a test server: each request is answered by a rule, or forwarded. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  readonly idempotencyKey: string | undefined;
  readonly atMs: number;
}

/** What to do with the n-th request (0-based): answer it, forward it, forward it and drop the answer, or never answer. */
export type ProxyAction =
  | { readonly kind: 'forward' }
  | { readonly kind: 'forward-then-drop' }
  | { readonly kind: 'hang' }
  | {
      readonly kind: 'answer';
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: unknown;
    };

export interface TestProxy {
  readonly url: string;
  readonly requests: ProxiedRequest[];
  close(): Promise<void>;
}

/** A problem document as the server would write it, for answers the proxy makes up. */
export function problemBody(code: string, status: number) {
  return {
    type: `https://bursar.dev/problems/${code}`,
    title: code,
    status,
    detail: `made up by the test proxy (${code})`,
    code,
    request_id: 'req_proxy',
    retryable: true,
  };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startProxy(targetUrl: string, decide: (index: number, request: ProxiedRequest) => ProxyAction) {
  const requests: ProxiedRequest[] = [];
  const hanging = new Set<ServerResponse>();
  const server = createServer(async (request, response) => {
    const body = await readBody(request);
    const seen: ProxiedRequest = {
      method: request.method ?? 'GET',
      path: request.url ?? '/',
      idempotencyKey: request.headers['idempotency-key'] as string | undefined,
      atMs: Date.now(),
    };
    const action = decide(requests.length, seen);
    requests.push(seen);
    if (action.kind === 'hang') {
      hanging.add(response);
      return;
    }
    if (action.kind === 'answer') {
      const text = action.body === undefined ? '' : JSON.stringify(action.body);
      response.writeHead(action.status, { 'content-type': 'application/problem+json', ...action.headers });
      response.end(text);
      return;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (typeof value === 'string' && name !== 'host' && name !== 'connection') headers[name] = value;
    }
    const init: RequestInit = { method: seen.method, headers };
    if (body.length > 0) init.body = body;
    const answer = await fetch(`${targetUrl}${seen.path}`, init);
    const text = await answer.text();
    if (action.kind === 'forward-then-drop') {
      // The server did the work; the client never hears of it.
      response.socket?.destroy();
      return;
    }
    response.writeHead(answer.status, Object.fromEntries(answer.headers));
    response.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      for (const response of hanging) response.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  } satisfies TestProxy;
}
