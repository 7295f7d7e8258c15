/**
 * The MCP server over Streamable HTTP, started as users start it (`npm run bursar -- mcp --http`),
 * driven by the MCP SDK's Client against a real server: the agent script, and the tools each key's
 * scopes list (a read key lists no write tool and cannot call one).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { TestServer } from '../../server/test/harness.ts';
import { adminKey, startTestServer } from '../../server/test/harness.ts';
import { serveHttp } from '../src/index.ts';
import { callTool, runAgentScript } from './agent-script.ts';

const repositoryRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../..');

let server: TestServer;
let mcpProcess: ChildProcess;
let mcpUrl: URL;
const clients: Client[] = [];

/** Starts `bursar mcp --http --port 0` and reads the address it listens on from its stderr. */
async function startMcpProcess(): Promise<URL> {
  mcpProcess = spawn('npm', ['run', '--silent', 'bursar', '--', 'mcp', '--http', '--port', '0'], {
    cwd: repositoryRoot,
    env: { ...process.env, BURSAR_URL: server.url, BURSAR_API_KEY: adminKey },
    stdio: ['ignore', 'ignore', 'pipe'],
    // Its own process group, so the stop below reaches the node process npm starts, not only npm.
    detached: true,
  });
  let stderr = '';
  for await (const chunk of mcpProcess.stderr ?? []) {
    stderr += String(chunk);
    const found = /on (http:\/\/\S+\/mcp) /.exec(stderr);
    if (found?.[1] !== undefined) return new URL(found[1]);
  }
  throw new Error(`bursar mcp --http stopped: ${stderr}`);
}

async function connect(apiKey?: string): Promise<Client> {
  const headers: Record<string, string> = apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` };
  const client = new Client({ name: 'bursar-test-agent', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(mcpUrl, { requestInit: { headers } }));
  clients.push(client);
  return client;
}

async function createKey(name: string, scope: string): Promise<string> {
  const reply = await server.call('POST', '/v1/api-keys', { name, scopes: [scope] });
  assert.equal(reply.status, 201, reply.text);
  return reply.body.key;
}

const readTools = [
  'check',
  'check_entitlement',
  'get_balance',
  'get_hold',
  'get_usage',
  'list_transactions',
  'preview_subscription_change',
  'quote_cost',
];
const runtimeWriteTools = ['capture_hold', 'debit', 'extend_hold', 'hold', 'release_hold'];

before(async () => {
  server = await startTestServer();
  mcpUrl = await startMcpProcess();
});

after(async () => {
  for (const client of clients) await client.close();
  if (mcpProcess !== undefined && mcpProcess.exitCode === null) {
    const exited = once(mcpProcess, 'exit');
    if (mcpProcess.pid !== undefined) process.kill(-mcpProcess.pid, 'SIGTERM');
    await exited;
  }
  await server?.close();
});

test('over Streamable HTTP an agent sets up, subscribes, holds, extends and captures', async () => {
  await runAgentScript(await connect(), server);
});

test('a read key lists no write tool, and a write tool is no tool for it', async () => {
  const client = await connect(await createKey('reader', 'read'));
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((tool) => tool.name).sort(), readTools);
  for (const tool of tools) assert.equal(tool.annotations?.readOnlyHint, true, tool.name);
  // An unknown tool is a protocol error (-32602), as MCP specifies, not a tool result.
  await assert.rejects(
    callTool(client, 'hold', {
      customer: 'org_42',
      asset: 'credits',
      amount: '1',
      idempotency_key: 'reader-hold',
      preview: true,
    }),
    /No tool "hold" for this API key/,
  );
});

test('an ingest key lists the runtime writes but no set-up tool', async () => {
  const client = await connect(await createKey('backend', 'ingest'));
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((tool) => tool.name).sort(), [...readTools, ...runtimeWriteTools].sort());
});

test('a key the server does not know lists nothing and says why', async () => {
  const client = await connect(`bk_live_${'X'.repeat(43)}`);
  await assert.rejects(client.listTools(), /Cannot learn the API key's scopes/);
});

test('without BURSAR_API_KEY a request must bring a key; GET is not served; a foreign Host is refused', async () => {
  const listener = await serveHttp({ baseUrl: server.url, port: 0 });
  try {
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'probe', version: '1' } },
    };
    const post = (headers: Record<string, string>) =>
      fetch(listener.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body: JSON.stringify(initialize),
      });
    assert.equal((await post({})).status, 401);
    assert.equal((await post({ authorization: `Bearer ${adminKey}` })).status, 200);
    assert.equal((await fetch(listener.url)).status, 405);
    // DNS rebinding: a page on another name that resolves here must not reach the tools.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const probe = request(listener.url, { method: 'POST', headers: { host: 'evil.example' } }, (response) => {
        response.resume();
        resolve(response.statusCode);
      });
      probe.on('error', reject);
      probe.end(JSON.stringify(initialize));
    });
    assert.equal(status, 403);
  } finally {
    await listener.close();
  }
});
