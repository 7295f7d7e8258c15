/** What `bursar mcp` runs: the MCP server over stdio (default) or Streamable HTTP, pointed at a server by BURSAR_URL and BURSAR_API_KEY. */
import { Bursar } from '@bursar/sdk';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { serveHttp } from './http.ts';
import { createBursarMcpServer } from './server.ts';

const baseUrlDefault = 'http://127.0.0.1:8080';

export interface McpOptions {
  readonly http?: boolean;
  readonly port: number;
  readonly host: string;
}

/** Runs until stdin closes (stdio) or a signal stops it (HTTP). Only MCP messages go to stdout. */
export async function runMcp(options: McpOptions): Promise<void> {
  const baseUrl = process.env.BURSAR_URL || baseUrlDefault;
  const apiKey = process.env.BURSAR_API_KEY || undefined;
  if (options.http) {
    const running = await serveHttp({
      baseUrl,
      port: options.port,
      host: options.host,
      ...(apiKey === undefined ? {} : { apiKey }),
    });
    process.stderr.write(`Bursar MCP server on ${running.url} (Streamable HTTP) for ${baseUrl}\n`);
    const stop = () => void running.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return;
  }
  if (apiKey === undefined) {
    process.stderr.write('bursar mcp: set BURSAR_API_KEY to the key the tools run under\n');
    process.exitCode = 2;
    return;
  }
  const mcp = createBursarMcpServer({ bursar: new Bursar({ baseUrl, apiKey }) });
  await mcp.connect(new StdioServerTransport());
}
