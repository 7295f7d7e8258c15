/** The committed generated sources are what the generator writes from today's @bursar/api, so the SDK cannot drift from the contract. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { operationList } from '@bursar/api';
import { generatedDirectory, generateFiles } from '../scripts/generate.ts';
import { operationTable } from '../src/index.ts';

test('src/generated matches a fresh generation (run `npm run generate -w @bursar/sdk` if not)', async () => {
  const fresh = await generateFiles();
  assert.deepEqual(readdirSync(generatedDirectory).sort(), Object.keys(fresh).sort());
  for (const [name, text] of Object.entries(fresh)) {
    assert.ok(readFileSync(path.join(generatedDirectory, name), 'utf8') === text, `${name} is stale`);
  }
});

test('the operation table has every operation of the contract a client calls, with its method and path', () => {
  assert.deepEqual(
    Object.entries(operationTable).map(([id, row]) => `${row.method} ${row.path} ${id}`),
    operationList
      .filter((operation) => operation.signature === undefined)
      .map((operation) => `${operation.method} ${operation.path} ${operation.operationId}`),
  );
});
