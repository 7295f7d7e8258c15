#!/usr/bin/env node
// The `bursar` command: registers the TypeScript loader, then runs the CLI from source.
const { register } = await import('tsx/esm/api');
register();
await import('../src/cli.ts');
