#!/usr/bin/env node
// Builds the web packages (the widgets, then the console and the portal) with their own `build`
// script (Vite), so `bursar serve` can serve them. Run by the root `postinstall` (every `npm install`
// and `npm ci`), by `npm run build:web`, and by `npm start` with --if-missing, which builds only the
// packages whose build is missing. Build output is never committed.
//
// Usage: node scripts/build-web.mjs [--if-missing]

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Widgets first: the portal is made of them. Each with the file its build makes.
const WEB_PACKAGES = [
  { name: 'react', built: 'dist/bursar-elements.js' },
  { name: 'console', built: 'dist/index.html' },
  { name: 'portal', built: 'dist/index.html' },
];
const ifMissing = process.argv.includes('--if-missing');

function buildScriptOf(folder) {
  const manifest = path.join(folder, 'package.json');
  if (!existsSync(manifest)) return null;
  const parsed = JSON.parse(readFileSync(manifest, 'utf8'));
  return typeof parsed.scripts?.build === 'string' ? parsed.name : null;
}

let failed = false;
for (const { name, built } of WEB_PACKAGES) {
  const folder = path.join(ROOT, 'packages', name);
  const workspace = buildScriptOf(folder);
  if (workspace === null) continue;
  if (ifMissing && existsSync(path.join(folder, built))) continue;
  process.stdout.write(`build-web: building ${workspace}\n`);
  const result = spawnSync('npm', ['run', 'build', '--silent', '-w', workspace], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`build-web: ${workspace} failed to build (exit ${result.status})\n`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
