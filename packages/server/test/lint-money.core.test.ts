/**
 * The money lint of `npm run lint` (scripts/lint-money.mjs): it flags float conversions and Math.
 * next to money, passes other uses and comments, and passes the repository as it stands.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const script = path.join(root, 'scripts/lint-money.mjs');
const directory = mkdtempSync(path.join(tmpdir(), 'bursar-lint-money-'));

after(() => rmSync(directory, { recursive: true, force: true }));

function lint(files: readonly string[]) {
  const run = spawnSync(process.execPath, [script, ...files], { cwd: root, encoding: 'utf8' });
  return { status: run.status, output: run.stdout + run.stderr };
}

function fixture(name: string, text: string): string {
  const file = path.join(directory, name);
  writeFileSync(file, text);
  return file;
}

describe('lint-money', () => {
  const flagged: readonly [string, string][] = [
    ['Number( on a percent', 'if (Number(rule.percent) > 100) refuse();'],
    ['parseFloat( on an amount', 'const total = parseFloat(body.amount) + 1;'],
    ['parseInt( on a balance', 'const left = parseInt(row.balance, 10);'],
    ['Math. on a price', 'const cents = Math.round(unitPrice * 100);'],
    ['Math. on rates', 'const best = Math.min(...rates);'],
    ['Number( on a quantity', 'const tokens = Number(event.quantity);'],
    ['Number.parseFloat( on a cost', 'const spent = Number.parseFloat(costText);'],
  ];
  for (const [name, line] of flagged) {
    it(`flags ${name}`, () => {
      const file = fixture('flagged.ts', `const a = 1;\n${line}\n`);
      const result = lint([file]);
      assert.equal(result.status, 1, result.output);
      assert.match(result.output, new RegExp(`flagged\\.ts:2: ${line.slice(0, 12).replace(/[.()[\]*+?]/g, '\\$&')}`));
    });
  }

  it('passes floats away from money, comments and exact money code', () => {
    const file = fixture(
      'clean.ts',
      [
        'const port = Number(process.env.PORT);',
        'const delayMs = Math.min(1000, 2 ** attempt * 10);',
        '// Number(rule.percent) would round "100.000000000000000001" to 100.',
        ' * parseFloat(amount) is how a double slips in.',
        'const units = BigInt(amount);',
        'const generated = Math.random() > 0.5;',
        'const limit = Number(rateLimitPerSecond);',
      ].join('\n'),
    );
    const result = lint([file]);
    assert.equal(result.status, 0, result.output);
  });

  it('passes the repository as it stands', () => {
    const result = lint([]);
    assert.equal(result.status, 0, result.output);
  });
});
