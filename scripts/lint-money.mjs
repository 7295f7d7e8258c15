#!/usr/bin/env node
// Fails when a float conversion or float arithmetic sits next to money (`npm run lint` runs it
// after Biome). Amounts are bigint units and rates exact decimals (SPEC §3); a `Number(`,
// `parseFloat(`, `parseInt(` or `Math.` on the same line as a word for money is how a double
// slips back in (`Number(rule.percent) > 100` let "100.000000000000000001" through).
//
// The rule is per line, so it is cheap and easy to read in a report: a line of code (not a
// comment) is flagged when it calls one of those and mentions amount, balance, cost, price,
// rate(s), quantity, percent or units. A legitimate use goes in the allow-list below with its
// reason; keep the list short, and prefer rewriting the line with the core's decimals.
//
// Usage: node scripts/lint-money.mjs [file...]   (no files: every source file of the packages and bench)

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const scannedDirectories = [
  'packages/api/src',
  'packages/core/src',
  'packages/server/src',
  'packages/react/src',
  'packages/portal/src',
  'bench',
];
const sourceExtensions = new Set(['.ts', '.tsx', '.mts', '.js', '.mjs']);

const floatCallPattern = /\b(?:Number|parseFloat|parseInt|Number\.parseFloat|Number\.parseInt)\(|\bMath\.[a-z0-9]+\b/i;
const moneyWordPattern = /amount|balance|cost|price|\brates?\b|quantit|percent|\bunits\b/i;
const commentPattern = /^\s*(?:\/\/|\/\*|\*)/;

/** Lines allowed by file and a piece of their text (not by number, which moves), each with why. */
const allowed = [
  {
    file: 'packages/server/src/domains/payments/decisions.ts',
    text: 'return Number(units);',
    reason: 'the Stripe SDK takes amounts as numbers; minor units are checked to at most 8 digits first',
  },
  {
    file: 'packages/server/src/domains/usage/events.ts',
    text: 'price_version: Number(row.price_version)',
    reason: 'a version number, a small integer column',
  },
  {
    file: 'bench/ceiling-http-server.mjs',
    text: 'balance -= Number(body.amount)',
    reason: 'the bare HTTP server the benchmark measures its ceiling with; it is not Bursar and keeps no money',
  },
];

function listSourceFiles(directory) {
  const files = [];
  for (const entry of readdirSync(path.join(root, directory), { withFileTypes: true })) {
    const relative = path.posix.join(directory, entry.name);
    // Tests (a domain's sit in its test/ folder) compute expected values freely; the code under test may not.
    if (entry.isDirectory()) {
      if (entry.name !== 'test') files.push(...listSourceFiles(relative));
    } else if (sourceExtensions.has(path.extname(entry.name))) files.push(relative);
  }
  return files;
}

function isAllowed(file, line) {
  return allowed.some((entry) => entry.file === file && line.includes(entry.text));
}

/** The flagged lines of one file as `file:line: text`. */
function findMoneyFloats(file, text) {
  const findings = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index] ?? '';
    if (commentPattern.test(line) || !floatCallPattern.test(line) || !moneyWordPattern.test(line)) continue;
    if (isAllowed(file, line)) continue;
    findings.push(`${file}:${index + 1}: ${line.trim()}`);
  }
  return findings;
}

const wholeTree = process.argv.length <= 2;
const files = wholeTree ? scannedDirectories.flatMap(listSourceFiles) : process.argv.slice(2);
const findings = files.flatMap((file) => findMoneyFloats(file, readFileSync(path.resolve(root, file), 'utf8')));
if (wholeTree) {
  // An entry whose line is gone would quietly allow the next line written like it.
  for (const entry of allowed) {
    const text = readFileSync(path.join(root, entry.file), 'utf8');
    if (!text.includes(entry.text))
      findings.push(`${entry.file}: allow-list entry "${entry.text}" matches no line; remove it`);
  }
}
if (findings.length > 0) {
  process.stderr.write(
    `lint-money: a float conversion or Math. next to money (use the core's bigint units and decimals, or allow-list it in scripts/lint-money.mjs with a reason):\n${findings.join('\n')}\n`,
  );
  process.exit(1);
}
process.stdout.write(`lint-money: ${files.length} files, no float next to money\n`);
