/**
 * Bursar servers as child processes for tests that need real processes: crash-restart cycles
 * and several servers on one database.
 */

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import type { ApiResponse } from './harness.ts';
import { adminKey, callApi } from './harness.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export interface Child {
  readonly process: ChildProcess;
  readonly output: string[];
  readonly exited: Promise<void>;
}

/** Runs `bursar serve`, or another entry script (with extra environment) where a test needs one. */
export function spawnServer(
  databaseUrl: string,
  port: number,
  options: { script?: string; env?: Record<string, string> } = {},
): Child {
  const output: string[] = [];
  const script = options.script === undefined ? ['packages/server/src/cli.ts', 'serve'] : [options.script];
  const child = spawn(process.execPath, ['--import', 'tsx', ...script], {
    cwd: repoRoot,
    env: {
      ...process.env,
      ...options.env,
      BURSAR_DATABASE_URL: databaseUrl,
      BURSAR_PORT: String(port),
      BURSAR_BOOTSTRAP_KEY: adminKey,
      BURSAR_LOG_LEVEL: 'silent',
      BURSAR_RATE_LIMIT_PER_SECOND: '0',
      BURSAR_AUDIT_KEY: 'test-audit-key-0123456789abcdefghijklmnopqrstuvwxyz',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  return { process: child, output, exited };
}

export async function waitHealthy(url: string, child: Child, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null)
      throw new Error(`server exited (${child.process.exitCode}): ${child.output.join('')}`);
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (response.status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server did not become healthy in ${timeoutMs} ms: ${child.output.join('')}`);
}

export async function kill(child: Child | null): Promise<void> {
  if (child === null || child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill('SIGKILL');
  await child.exited;
}

/** Every debit of `customer` the server at `url` has, walked page by page (what survived a kill or a stop). */
export async function listAllDebits(url: string, customer: string): Promise<Array<{ id: string; amount: string }>> {
  const all: Array<{ id: string; amount: string }> = [];
  let cursor: string | null = null;
  for (;;) {
    const query: string = `/v1/transactions?kind=debit&customer=${customer}&limit=100${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const page: ApiResponse = await callApi(url, 'GET', query, undefined, { key: adminKey });
    assert.equal(page.status, 200, page.text);
    all.push(...page.body.data.map((t: { id: string; amount: string }) => ({ id: t.id, amount: t.amount })));
    cursor = page.body.next_cursor;
    if (cursor === null) return all;
  }
}
