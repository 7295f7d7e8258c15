/** Runs every file in examples/ as its own process against a real server and a local fake provider, so the examples cannot rot. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { adminKey } from '../../server/test/harness.ts';
import type { BursarFixture } from './bursar-setup.ts';
import { startBursar } from './bursar-setup.ts';
import type { FakeProvider } from './fake-provider.ts';
import { scenario, startFakeProvider } from './fake-provider.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..', '..');
const examples = readdirSync(join(root, 'examples')).filter((name) => name.endsWith('.ts'));

let fixture: BursarFixture;
let fake: FakeProvider;

before(async () => {
  fixture = await startBursar(['gpt-4o-mini', 'claude-sonnet-4-5']);
  fake = await startFakeProvider();
  await fixture.fund('org_42', '1000000');
});
after(async () => {
  await fake.close();
  await fixture.server.close();
});

test('there are examples to run', () => {
  assert.ok(examples.length >= 3, examples.join(', '));
});

for (const example of examples) {
  test(`examples/${example} streams the answer and settles it in Bursar`, async () => {
    const before = await fixture.available('org_42');
    const eventsBefore = (await fixture.bursar.listEvents({ customer: 'org_42' })).data.length;
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', join('examples', example), scenario({ reply: 7 })],
      {
        cwd: root,
        timeout: 60_000,
        env: {
          ...process.env,
          BURSAR_URL: fixture.server.url,
          BURSAR_API_KEY: adminKey,
          OPENAI_API_KEY: 'sk-example',
          OPENAI_BASE_URL: `${fake.url}/v1`,
          ANTHROPIC_API_KEY: 'sk-ant-example',
          ANTHROPIC_BASE_URL: fake.url,
        },
      },
    );
    assert.equal(stdout, 'ab'.repeat(7));
    const events = await fixture.bursar.listEvents({ customer: 'org_42' });
    assert.equal(events.data.length, eventsBefore + 1, 'one usage event recorded');
    assert.equal(events.data[0]?.properties.output_tokens, 7);
    assert.ok(Number(await fixture.available('org_42')) < Number(before), 'the call was charged');
  });
}
