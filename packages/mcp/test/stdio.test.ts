/** The MCP server over stdio, started as users start it (`npm run bursar -- mcp`), driven by the MCP SDK's Client against a real server. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { TestServer } from '../../server/test/harness.ts';
import { adminKey, startTestServer } from '../../server/test/harness.ts';
import { runAgentScript } from './agent-script.ts';

const repositoryRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../..');

let server: TestServer;
let client: Client;
let stderr = '';

before(async () => {
  server = await startTestServer();
  // --silent: npm's banner would otherwise go to stdout, which is the MCP channel.
  const transport = new StdioClientTransport({
    command: 'npm',
    args: ['run', '--silent', 'bursar', '--', 'mcp'],
    cwd: repositoryRoot,
    env: { ...getDefaultEnvironment(), BURSAR_URL: server.url, BURSAR_API_KEY: adminKey },
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  client = new Client({ name: 'bursar-test-agent', version: '1.0.0' });
  await client.connect(transport);
});

after(async () => {
  await client?.close();
  await server?.close();
});

test('over stdio an owner key lists every tool, each write with idempotency_key required and preview', async () => {
  const { tools } = await client.listTools();
  const names = tools.map((tool) => tool.name);
  for (const name of ['check', 'hold', 'extend_hold', 'capture_hold', 'release_hold', 'debit', 'get_balance']) {
    assert.ok(names.includes(name), `${name} is listed`);
  }
  for (const name of ['get_usage', 'quote_cost', 'list_transactions', 'create_asset', 'create_feature']) {
    assert.ok(names.includes(name), `${name} is listed`);
  }
  for (const name of ['create_price_book', 'publish_price_version', 'set_model_price', 'create_plan']) {
    assert.ok(names.includes(name), `${name} is listed`);
  }
  for (const name of ['publish_plan_version', 'create_subscription', 'create_grant', 'create_webhook_endpoint']) {
    assert.ok(names.includes(name), `${name} is listed`);
  }
  for (const tool of tools) {
    const properties = tool.inputSchema.properties ?? {};
    if (tool.annotations?.readOnlyHint) {
      assert.equal('idempotency_key' in properties, false, `${tool.name} is a read`);
      continue;
    }
    assert.ok(tool.inputSchema.required?.includes('idempotency_key'), `${tool.name} requires idempotency_key`);
    assert.ok('preview' in properties, `${tool.name} has preview`);
    assert.match(String(tool.description), /retrying this change .* send the SAME key/, tool.name);
  }
  // The input schema is the API's: the hold's amount is its decimal field.
  const hold = tools.find((tool) => tool.name === 'hold');
  assert.match(JSON.stringify(hold?.inputSchema.properties?.amount), /decimal string/);
});

test('over stdio an agent sets up, subscribes, holds, extends and captures', async () => {
  await runAgentScript(client, server);
  assert.equal(stderr, '', 'nothing is logged on a clean run');
});
