/**
 * The published shape works: the built package packed with npm, installed from the tarball alone in
 * an empty folder, imported by plain Node (no tsx) to call a real server, and type-checked as a consumer
 * with tsc and no @types/node.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { TestServer } from '../../server/test/harness.ts';
import { adminKey, seedCustomer, startTestServer } from '../../server/test/harness.ts';
import { buildPackage, distDirectory } from '../scripts/build.ts';

let server: TestServer;
const folder = mkdtempSync(path.join(tmpdir(), 'bursar-sdk-consumer-'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const execFileAsync = promisify(execFile);
const quiet = ['--no-audit', '--no-fund', '--loglevel=error'];

before(async () => {
  server = await startTestServer();
  await seedCustomer(server, 'acme');
});
after(async () => {
  rmSync(folder, { recursive: true, force: true });
  await server.close();
});

test('npm pack of the built package installs, imports and type-checks in an empty folder', async () => {
  buildPackage();
  const [packed] = JSON.parse(
    execFileSync(npm, ['pack', distDirectory, '--pack-destination', folder, '--json', ...quiet], { encoding: 'utf8' }),
  ) as { filename: string; files: { path: string }[] }[];
  assert.ok(packed !== undefined);
  const files = packed.files.map((file) => file.path);
  assert.ok(files.includes('index.js') && files.includes('index.d.ts') && files.includes('README.md'));
  assert.ok(!files.some((file) => file.endsWith('.ts') && !file.endsWith('.d.ts')), 'no TypeScript source');

  writeFileSync(path.join(folder, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // --offline: the tarball has no dependencies, so the install needs nothing from a registry.
  execFileSync(npm, ['install', path.join(folder, packed.filename), '--offline', ...quiet], { cwd: folder });

  const script = `
    import { Bursar, BursarError } from '@bursar/sdk';
    const bursar = new Bursar({ baseUrl: process.argv[1], apiKey: process.argv[2] });
    await bursar.createGrant({ customer: 'acme', asset: 'credits', amount: '9', category: 'paid' });
    const balances = await bursar.getBalances({ customer: 'acme' });
    const refusal = await bursar.createDebit({ customer: 'acme', asset: 'credits', amount: '10' }).catch((error) => error);
    console.log(JSON.stringify({ available: balances.balances[0].available, typed: refusal instanceof BursarError, code: refusal.code }));
  `;
  // Plain node with no loader, as any consumer runs it; asynchronously, as the server lives in this process.
  const { stdout: output } = await execFileAsync(
    process.execPath,
    ['--input-type=module', '-e', script, server.url, adminKey],
    {
      cwd: folder,
      encoding: 'utf8',
    },
  );
  assert.deepEqual(JSON.parse(output), { available: '9', typed: true, code: 'insufficient_balance' });

  writeFileSync(
    path.join(folder, 'consumer.ts'),
    `import { Bursar, BursarError, verifyWebhook } from '@bursar/sdk';
import type { WebhookEvent } from '@bursar/sdk';
const bursar = new Bursar({ baseUrl: 'http://127.0.0.1:1', apiKey: 'key' });
export async function spend(): Promise<string> {
  try {
    const result = await bursar.createDebit({ customer: 'acme', asset: 'credits', amount: '1' }, { idempotencyKey: 'k' });
    for await (const grant of bursar.listGrants.all({ customer: 'acme' })) console.log(grant.remaining);
    return result.balance.available;
  } catch (error) {
    if (error instanceof BursarError && error.code === 'insufficient_balance') return error.problem.available;
    throw error;
  }
}
export async function receive(body: string, headers: Headers): Promise<string> {
  const event: WebhookEvent = await verifyWebhook(body, headers, 'whsec_c2VjcmV0');
  return event.type === 'grant.created' ? event.data.grant : event.type;
}
export async function amountsAreText(): Promise<number> {
  const balances = await bursar.getBalances({ customer: 'acme' });
  // @ts-expect-error an amount in an answer is a decimal string, never a number
  return balances.balances[0].available;
}
`,
  );
  writeFileSync(
    path.join(folder, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        noEmit: true,
        strict: true,
        exactOptionalPropertyTypes: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        lib: ['es2022', 'dom', 'dom.iterable'],
        types: [],
      },
      files: ['consumer.ts'],
    }),
  );
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', folder], { cwd: folder, encoding: 'utf8' });
});
