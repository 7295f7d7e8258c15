/**
 * Builds the publishable package into dist/: tsc's ESM and .d.ts, plus a package.json whose exports
 * point at them (the workspace's own package.json points at src/ so the monorepo needs no build).
 * Publish or pack that folder: `npm pack ./packages/sdk/dist`.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const distDirectory = path.join(packageDirectory, 'dist');

export function buildPackage(): void {
  rmSync(distDirectory, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const compiled = spawnSync(process.execPath, [tsc, '-p', path.join(packageDirectory, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  if (compiled.status !== 0) throw new Error(`tsc failed with status ${compiled.status}`);
  const source = JSON.parse(readFileSync(path.join(packageDirectory, 'package.json'), 'utf8'));
  const published = {
    name: source.name,
    version: source.version,
    description: source.description,
    license: source.license,
    type: 'module',
    exports: { '.': { types: './index.d.ts', default: './index.js' } },
    types: './index.d.ts',
    sideEffects: false,
    engines: source.engines,
  };
  writeFileSync(path.join(distDirectory, 'package.json'), `${JSON.stringify(published, null, 2)}\n`);
  copyFileSync(path.join(packageDirectory, 'README.md'), path.join(distDirectory, 'README.md'));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildPackage();
