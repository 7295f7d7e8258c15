/**
 * The MCP server over Streamable HTTP, stateless: each POST /mcp gets a fresh server and transport,
 * so any number of clients share one process. A request's `Authorization: Bearer <Bursar API key>`
 * picks the key its tools run under; without one, the process's BURSAR_API_KEY.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Bursar } from '@bursar/sdk';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createBursarMcpServer } from './server.ts';

export interface HttpOptions {
  readonly baseUrl: string;
  /** The key of requests without a bearer; absent: every request must bring its own. */
  readonly apiKey?: string;
  /** Default 127.0.0.1: a loopback address gets the SDK's DNS-rebinding protection (Host checked). */
  readonly host?: string;
  readonly port: number;
  readonly docsDirectory?: string;
}

export interface RunningHttpServer {
  /** The MCP endpoint, such as `http://127.0.0.1:8765/mcp`. */
  readonly url: string;
  close(): Promise<void>;
}

type JsonRequest = IncomingMessage & { body?: unknown };

function replyJsonRpcError(response: ServerResponse, status: number, message: string): void {
  response
    .writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

function bearerOf(request: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}

export async function serveHttp(options: HttpOptions): Promise<RunningHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const app = createMcpExpressApp({ host });
  app.post('/mcp', async (request: JsonRequest, response: ServerResponse) => {
    const apiKey = bearerOf(request) ?? options.apiKey;
    if (apiKey === undefined) {
      replyJsonRpcError(response, 401, 'Send a Bursar API key as Authorization: Bearer <key>.');
      return;
    }
    const mcp = createBursarMcpServer({
      bursar: new Bursar({ baseUrl: options.baseUrl, apiKey }),
      ...(options.docsDirectory === undefined ? {} : { docsDirectory: options.docsDirectory }),
    });
    // No sessionIdGenerator: the transport is stateless, one request and its answer.
    const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true });
    response.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    try {
      await mcp.connect(transport);
      await transport.handleRequest(request, response, request.body);
    } catch (error) {
      if (!response.headersSent) replyJsonRpcError(response, 500, `Internal error: ${(error as Error).message}`);
    }
  });
  // Stateless: there is no session to stream to (GET) or to end (DELETE).
  const notAllowed = (_request: IncomingMessage, response: ServerResponse) =>
    replyJsonRpcError(response, 405, 'Method not allowed: POST JSON-RPC to /mcp.');
  app.get('/mcp', notAllowed);
  app.delete('/mcp', notAllowed);

  const listener: Server = await new Promise((resolve, reject) => {
    const server: Server = app.listen(options.port, host, (error?: Error) => (error ? reject(error) : resolve(server)));
  });
  const { port } = listener.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/mcp`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        listener.close((error) => (error ? reject(error) : resolve()));
        listener.closeAllConnections();
      }),
  };
}
