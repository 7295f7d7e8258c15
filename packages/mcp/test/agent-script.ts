/**
 * What an agent does with the MCP server, from an empty environment: set up an asset, a feature, a
 * model price and a plan, preview each write (and see that nothing changed), subscribe a customer,
 * then hold, extend and capture a call; retry with the same key; meet errors by their code. The
 * stdio and Streamable HTTP tests run it through the MCP SDK's own Client.
 */
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { TestServer } from '../../server/test/harness.ts';

// biome-ignore lint/suspicious/noExplicitAny: tool answers are inspected field by field
type Structured = Record<string, any>;

interface ToolResult {
  readonly structuredContent?: Structured;
  readonly isError?: boolean;
  readonly content?: unknown;
}

export async function callTool(client: Client, name: string, args: Record<string, unknown>): Promise<ToolResult> {
  return (await client.callTool({ name, arguments: args })) as ToolResult;
}

/** A tool's answer, failing the test when it is an error. */
export async function succeed(client: Client, name: string, args: Record<string, unknown>): Promise<Structured> {
  const result = await callTool(client, name, args);
  assert.notEqual(result.isError, true, `${name}: ${JSON.stringify(result.structuredContent ?? result.content)}`);
  assert.ok(result.structuredContent, `${name} answers structured content`);
  return result.structuredContent;
}

/** A tool's error, failing the test when it succeeds. */
export async function fail(client: Client, name: string, args: Record<string, unknown>): Promise<Structured> {
  const result = await callTool(client, name, args);
  assert.equal(result.isError, true, `${name} should fail: ${JSON.stringify(result.structuredContent)}`);
  assert.ok(result.structuredContent, `${name}'s error is structured`);
  return result.structuredContent;
}

/** A write previewed first: the preview must change nothing (`unchanged` reads the state before and after). */
async function previewThenWrite(
  client: Client,
  name: string,
  args: Record<string, unknown>,
  readState: () => Promise<unknown>,
): Promise<{ preview: Structured; written: Structured }> {
  const before = await readState();
  const preview = await succeed(client, name, { ...args, preview: true });
  assert.equal(preview.preview, true, `${name}: the preview says so`);
  assert.equal(preview.changed, 'nothing');
  assert.equal(typeof preview.would_change, 'string');
  assert.equal(preview.would_send.headers['Idempotency-Key'], args.idempotency_key);
  assert.deepEqual(await readState(), before, `${name}: the preview changed nothing`);
  const written = await succeed(client, name, args);
  assert.notDeepEqual(await readState(), before, `${name}: the write changed something`);
  return { preview, written };
}

export async function runAgentScript(client: Client, server: TestServer): Promise<void> {
  const read = async (path: string) => {
    const reply = await server.call('GET', path);
    // A problem's request_id differs on every read; the state is the rest.
    const { request_id: _requestId, ...body } = reply.body;
    return { status: reply.status, body };
  };

  // The docs are resources.
  const { resources } = await client.listResources();
  const architecture = resources.find((resource) => resource.uri === 'bursar://docs/architecture');
  assert.ok(architecture, 'docs/architecture.md is a resource');
  const page = await client.readResource({ uri: architecture.uri });
  const [contents] = page.contents;
  assert.ok(contents !== undefined && 'text' in contents, 'a doc is text');
  assert.match(contents.text, /^# Architecture/);

  // Set-up from nothing.
  const asset = await previewThenWrite(
    client,
    'create_asset',
    { code: 'credits', scale: 2, idempotency_key: 'setup-asset-1' },
    () => read('/v1/assets'),
  );
  assert.match(asset.preview.would_change, /^Creates asset "credits"/);
  assert.equal(asset.preview.current.existing, null);
  assert.equal(asset.written.code, 'credits');

  const feature = await previewThenWrite(
    client,
    'create_feature',
    { key: 'chat', name: 'Chat', idempotency_key: 'setup-feature-1' },
    () => read('/v1/features/chat'),
  );
  assert.equal(feature.preview.current.existing, null);

  const modelPrice = await previewThenWrite(
    client,
    'set_model_price',
    {
      model: 'gpt-test',
      provider: 'openai',
      input_per_million: '2.5',
      output_per_million: '10',
      idempotency_key: 'setup-model-1',
    },
    () => read('/v1/model-prices'),
  );
  assert.deepEqual(modelPrice.preview.current.model_prices, []);
  assert.equal(modelPrice.written.output_per_million, '10');

  const plan = await previewThenWrite(
    client,
    'create_plan',
    {
      id: 'pro',
      name: 'Pro',
      version: { period: { interval: 'month' }, allowances: [{ asset: 'credits', amount: '100' }] },
      idempotency_key: 'setup-plan-1',
    },
    () => read('/v1/plans/pro'),
  );
  assert.equal(plan.written.id, 'pro');

  // A second preview of the same create now sees what exists, and says it would be refused.
  const again = await succeed(client, 'create_asset', {
    code: 'credits',
    scale: 2,
    idempotency_key: 'setup-asset-2',
    preview: true,
  });
  assert.match(again.would_change, /^Refused: asset "credits" exists/);
  assert.equal(again.current.existing.code, 'credits');

  await previewThenWrite(client, 'create_customer', { id: 'org_42', idempotency_key: 'setup-customer-1' }, () =>
    read('/v1/customers/org_42'),
  );
  const subscription = await previewThenWrite(
    client,
    'create_subscription',
    { customer: 'org_42', plan: 'pro', idempotency_key: 'setup-subscription-1' },
    () => read('/v1/customers/org_42/balances?asset=credits'),
  );
  assert.match(subscription.preview.would_change, /plan "pro" version 1/);
  const funded = await succeed(client, 'get_balance', { customer: 'org_42', asset: 'credits' });
  assert.equal(funded.balances[0].available, '100');

  // A model call: hold, extend past the estimate, capture what it cost.
  const balance = () => read('/v1/customers/org_42/balances?asset=credits');
  const hold = await previewThenWrite(
    client,
    'hold',
    { customer: 'org_42', asset: 'credits', amount: '10', idempotency_key: 'call-1-hold' },
    balance,
  );
  assert.equal(hold.preview.dry_run.allowed, true);
  assert.equal(hold.written.balance.held, '10');
  const holdId: string = hold.written.hold.id;
  const holdState = () => read(`/v1/holds/${holdId}`);

  const extended = await previewThenWrite(
    client,
    'extend_hold',
    { id: holdId, amount: '5', ttl_seconds: 1800, idempotency_key: 'call-1-extend' },
    holdState,
  );
  assert.match(extended.preview.would_change, /adds 5 credits to the 10 held/);
  assert.equal(extended.written.hold.amount, '15');

  const captureArgs = { id: holdId, amount: '12.34', idempotency_key: 'call-1-capture' };
  const captured = await previewThenWrite(client, 'capture_hold', captureArgs, holdState);
  assert.match(captured.preview.would_change, /^Captures 12.34 credits from hold/);
  assert.equal(captured.written.hold.status, 'captured');
  assert.equal(captured.written.balance.available, '87.66');
  assert.equal(captured.written.balance.held, '0');

  // The agent retries the capture with the same key: the first answer, no second effect.
  const retried = await succeed(client, 'capture_hold', captureArgs);
  assert.deepEqual(retried, captured.written);
  const debitArgs = { customer: 'org_42', asset: 'credits', amount: '1', idempotency_key: 'call-2-debit' };
  await succeed(client, 'debit', debitArgs);
  await succeed(client, 'debit', debitArgs);
  const debits = await succeed(client, 'list_transactions', { customer: 'org_42', kind: 'debit' });
  assert.equal(debits.data.length, 1, 'two sends of one key are one debit');
  assert.equal((await balance()).body.balances[0].available, '86.66');

  // Errors come back with their problem code and facts.
  const refused = await fail(client, 'debit', { ...debitArgs, amount: '1000', idempotency_key: 'call-3-debit' });
  assert.equal(refused.code, 'insufficient_balance');
  assert.equal(refused.status, 402);
  assert.equal(refused.available, '86.66');
  assert.equal(refused.requested, '1000');
  const missing = await fail(client, 'release_hold', { id: 'hld_nothing', idempotency_key: 'call-4-release' });
  assert.equal(missing.code, 'hold_not_found');
  assert.equal(missing.status, 404);
  const invalid = await fail(client, 'create_asset', { code: 'Not A Code', scale: 2 });
  assert.equal(invalid.code, 'validation_failed');
  assert.deepEqual(
    invalid.errors.map((error: { field: string }) => error.field),
    ['code', 'idempotency_key'],
  );
  assert.equal((await read('/v1/assets')).body.data.length, 1, 'a refused write changed nothing');
}
