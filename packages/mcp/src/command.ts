/** `bursar mcp`: the command's flags; what it runs is loaded only when it runs, so other commands do not load the MCP SDK. */
import { Command, InvalidArgumentError } from 'commander';
import type { McpOptions } from './run.ts';

function portOf(text: string): number {
  const port = Number(text);
  if (!/^\d{1,5}$/.test(text) || port > 65535) throw new InvalidArgumentError('must be a port from 0 to 65535');
  return port;
}

/** The command `bursar mcp`, for the CLI to add. */
export function mcpCommand(): Command {
  return new Command('mcp')
    .description('run the MCP server (stdio, or --http) for the Bursar server at BURSAR_URL, with BURSAR_API_KEY')
    .option('--http', 'serve Streamable HTTP at /mcp instead of stdio')
    .option('--port <port>', 'the HTTP port (0: any free port)', portOf, 8765)
    .option('--host <host>', 'the HTTP address to listen on', '127.0.0.1')
    .action(async (options: McpOptions) => (await import('./run.ts')).runMcp(options));
}
