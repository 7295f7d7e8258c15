/**
 * Runs examples/ as processes against a real server and a local fake provider, so they cannot rot:
 * setup.ts first (on an empty server), then every other example, each streaming an answer that is settled.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Bursar } from '@bursar/sdk';
import type { TestServer } from '../../server/test/harness.ts';
import { adminKey, startTestServer } from '../../server/test/harness.ts';
import type { FakeProvider } from './fake-provider.ts';
import { scenario, startFakeProvider } from './fake-provider.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..', '..');
const examples = readdirSync(join(root, 'examples')).filter((name) => name.endsWith('.ts') && name !== 'setup.ts');

let server: TestServer;
let fake: FakeProvider;
let bursar: Bursar;

function runExample(name: string, args: string[] = []) {
  return run(process.execPath, ['--import', 'tsx', join('examples', name), ...args], {
    cwd: root,
    timeout: 60_000,
    env: {
      ...process.env,
      BURSAR_URL: server.url,
      BURSAR_ADMIN_KEY: adminKey,
      BURSAR_API_KEY: adminKey,
      OPENAI_API_KEY: 'sk-example',
      OPENAI_BASE_URL: `${fake.url}/v1`,
      ANTHROPIC_API_KEY: 'sk-ant-example',
      ANTHROPIC_BASE_URL: fake.url,
    },
  });
}

async function available(): Promise<number> {
  const balances = await bursar.getBalances({ customer: 'org_42', asset: 'credits' });
  return Number(balances.balances[0]?.available);
}

before(async () => {
  server = await startTestServer();
  fake = await startFakeProvider();
  bursar = new Bursar({ baseUrl: server.url, apiKey: adminKey });
});
after(async () => {
  await fake.close();
  await server.close();
});

test('examples/setup.ts sets up an empty server: a funded customer and a price for the feature', async () => {
  await runExample('setup.ts');
  assert.equal(await available(), 5000);
  const quote = await bursar.quoteCost({
    feature: 'chat',
    properties: { model: 'gpt-4o-mini', input_tokens: 1_000_000, output_tokens: 1_000_000 },
  });
  assert.equal(quote.options[0]?.cost, '1125'); // (0.15 + 0.60) USD × 1.5 × 1,000
  assert.ok(examples.length >= 3, examples.join(', '));
});

for (const example of examples) {
  test(`examples/${example} streams the answer and settles it in Bursar`, async () => {
    const before = await available();
    const eventsBefore = (await bursar.listEvents({ customer: 'org_42' })).data.length;
    const { stdout } = await runExample(example, [scenario({ reply: 7 })]);
    assert.equal(stdout, 'ab'.repeat(7));
    const events = await bursar.listEvents({ customer: 'org_42' });
    assert.equal(events.data.length, eventsBefore + 1, 'one usage event recorded');
    assert.equal(events.data[0]?.properties.output_tokens, 7);
    assert.ok((await available()) < before, 'the call was charged');
  });
}
