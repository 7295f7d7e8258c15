/** @bursar/mcp: Bursar's MCP server, its `bursar mcp` command and its Streamable HTTP listener. */
export { mcpCommand } from './command.ts';
export type { HttpOptions, RunningHttpServer } from './http.ts';
export { serveHttp } from './http.ts';
export type { BursarMcpOptions } from './server.ts';
export { createBursarMcpServer } from './server.ts';
