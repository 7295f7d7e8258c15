import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { outcomes } from '../src/outcomes.ts';

const errorsDoc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

/** Rows of the form `| \`code\` | status | retryable | meaning |`. */
const documented = new Map<string, { status: number; retryable: string }>();
for (const line of errorsDoc.split('\n')) {
  const match = /^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|\s*(yes|no)\s*\|\s*(.+?)\s*\|\s*$/.exec(line);
  if (match === null) continue;
  const [, code = '', status = '', retryable = ''] = match;
  assert.equal(documented.has(code), false, `docs/errors.md lists ${code} twice`);
  documented.set(code, { status: Number(status), retryable });
}

describe('docs/errors.md and the outcome catalogue', () => {
  it('has table rows', () => assert.ok(documented.size > 0));

  it('documents every code in the catalogue', () => {
    const missing = Object.keys(outcomes).filter((code) => !documented.has(code));
    assert.deepEqual(missing, []);
  });

  it('documents no code the catalogue lacks', () => {
    const extra = [...documented.keys()].filter((code) => !(code in outcomes));
    assert.deepEqual(extra, []);
  });

  it('gives each code the catalogue status and retryability', () => {
    for (const [code, spec] of Object.entries(outcomes)) {
      const row = documented.get(code);
      assert.ok(row, code);
      assert.equal(row.status, spec.status, `${code} status`);
      assert.equal(row.retryable, spec.retryable ? 'yes' : 'no', `${code} retryable`);
    }
  });
});
