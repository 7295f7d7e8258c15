/**
 * One MCP server over one Bursar API key: the tools that key's scopes allow (learned from
 * getCurrentApiKey), each call checked with @bursar/api's schemas and sent through @bursar/sdk, and
 * the project's docs as resources.
 */
import type { Scope } from '@bursar/api';
import type { Bursar, OperationId } from '@bursar/sdk';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { registerDocs } from './docs.ts';
import { checkArguments, toolJsonSchema, writeArgumentNames } from './input-schema.ts';
import { answer, failure, invalidArguments } from './results.ts';
import { scopeIncludes } from './scopes.ts';
import type { ToolDefinition } from './tools.ts';
import { toolCatalogue } from './tools.ts';

export interface BursarMcpOptions {
  /** The client every tool calls through; its API key decides which tools are listed. */
  readonly bursar: Bursar;
  /** Where the docs served as resources are; default the repository's docs/. */
  readonly docsDirectory?: string;
}

const serverInfo = { name: 'bursar', title: 'Bursar', version: '0.1.0' } as const;

const instructions = [
  'Bursar is a credits and usage-billing ledger: customers hold wallets of assets (credits, usd, …) fed by grants and plans, spent by debits and by holds that are captured or released.',
  'Amounts are decimal strings in the asset unit ("12.5"), never floats.',
  'Around work of unknown cost (a model call): hold an estimate, extend_hold while it runs past it, then capture_hold what it really cost (or release_hold when it failed).',
  'Every write takes an idempotency_key: reuse the same key when you retry the same change; a new key is a new change. Pass preview: true to see what a write would change without changing anything.',
  'The resources bursar://docs/* are the project documentation.',
].join('\n');

function toListedTool(definition: ToolDefinition): Tool {
  return {
    name: definition.name,
    title: definition.title,
    description: definition.description,
    inputSchema: toolJsonSchema(definition.operation, definition.isWrite),
    annotations: {
      title: definition.title,
      readOnlyHint: !definition.isWrite,
      // With the same idempotency_key a write is applied once, however often it is sent.
      idempotentHint: true,
      destructiveHint: false,
      openWorldHint: false,
    },
  };
}

/** The wire form of the request a write would send, for its preview. */
function requestSent(definition: ToolDefinition, args: Readonly<Record<string, unknown>>, key: unknown) {
  const { operation } = definition;
  const body: Record<string, unknown> = { ...args };
  const path = operation.path.replace(/\{(\w+)\}/g, (_match, name: string) => {
    const value = String(body[name]);
    delete body[name];
    return encodeURIComponent(value);
  });
  return { method: operation.method, path, headers: { 'Idempotency-Key': key }, body };
}

/**
 * Builds the server. Tools are served by request handlers of their own rather than registerTool:
 * the raw arguments are checked with the operation's own zod schemas and sent as the agent wrote
 * them (zod's output turns timestamps into epoch milliseconds), and a refusal is the API's
 * validation_failed problem naming the field, like every other error.
 */
export function createBursarMcpServer(options: BursarMcpOptions): McpServer {
  const { bursar } = options;
  const mcp = new McpServer(serverInfo, { instructions });
  registerDocs(mcp, options.docsDirectory);
  mcp.server.registerCapabilities({ tools: { listChanged: false } });

  // Learned once per server; a failure is not kept, so the next request asks again.
  let scopesLearned: Promise<readonly Scope[]> | undefined;
  const keyScopes = (): Promise<readonly Scope[]> => {
    scopesLearned ??= bursar.getCurrentApiKey().then(
      (key) => key.scopes,
      (error: unknown) => {
        scopesLearned = undefined;
        throw new McpError(ErrorCode.InternalError, `Cannot learn the API key's scopes: ${(error as Error).message}`);
      },
    );
    return scopesLearned;
  };
  const allowedTools = async () => {
    const granted = await keyScopes();
    return toolCatalogue.filter((definition) => scopeIncludes(granted, definition.operation.scope));
  };

  mcp.server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: (await allowedTools()).map(toListedTool),
  }));

  mcp.server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const definition = (await allowedTools()).find((candidate) => candidate.name === request.params.name);
    if (definition === undefined) {
      throw new McpError(ErrorCode.InvalidParams, `No tool "${request.params.name}" for this API key`);
    }
    const args = request.params.arguments ?? {};
    const errors = checkArguments(definition.operation, definition.isWrite, args);
    if (errors.length > 0) return invalidArguments(errors);
    const operationArgs = Object.fromEntries(
      Object.entries(args).filter(([name]) => !(writeArgumentNames as readonly string[]).includes(name)),
    );
    try {
      if (definition.preview !== undefined && args.preview === true) {
        const findings = await definition.preview(bursar, operationArgs);
        return answer({
          preview: true,
          changed: 'nothing',
          would_change: findings.wouldChange,
          would_send: requestSent(definition, operationArgs, args.idempotency_key),
          current: findings.current,
          ...(findings.dryRun === undefined ? {} : { dry_run: findings.dryRun }),
        });
      }
      const operationId = definition.operation.operationId as OperationId;
      const callOptions = {
        signal: extra.signal,
        ...(definition.isWrite ? { idempotencyKey: String(args.idempotency_key) } : {}),
      };
      // The input's type depends on the tool picked at run time; the operation's schemas checked it above.
      return answer(await bursar.request(operationId, operationArgs as never, callOptions));
    } catch (error) {
      return failure(error);
    }
  });
  return mcp;
}
