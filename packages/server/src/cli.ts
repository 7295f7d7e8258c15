/**
 * The `bursar` command: `serve` (the default) runs the API; `migrate` applies migrations and
 * exits; `verify` checks the audit chains and the ledger invariants of the whole database;
 * `audit-head` prints a signed copy of every chain head to keep elsewhere; `jobs` shows the
 * scheduler's due and failing work.
 */
import { readFileSync } from 'node:fs';
import { openDatabase, startServer } from './app.ts';
import type { Config } from './config.ts';
import { parseConfig } from './config.ts';
import { loadAuditKey, verifyDatabase } from './domains/access/index.ts';
import type { ExportedChainHead } from './platform/commit/audit-chain.ts';
import { exportAuditHead, readAuditHead } from './platform/commit/audit-chain.ts';
import { migrate } from './platform/storage/migrations.ts';
import { sqliteDriverName } from './platform/storage/sqlite-driver.ts';
import { describeJobs } from './scheduler.ts';
import { upgradeFromUnkeyedVersion } from './upgrade.ts';

const [command = 'serve', ...commandArgs] = process.argv.slice(2);

/** `--head <file>` (or `--head=<file>`) belongs to `verify`, not to the configuration. */
function takeHeadFlag(args: readonly string[]): { headFile: string | null; rest: string[] } {
  const rest: string[] = [];
  let headFile: string | null = null;
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] as string;
    if (arg === '--head') {
      headFile = args[index + 1] ?? '';
      index += 1;
    } else if (arg.startsWith('--head=')) headFile = arg.slice('--head='.length);
    else rest.push(arg);
  }
  return { headFile, rest };
}

async function main(): Promise<number> {
  const { headFile, rest: args } =
    command === 'verify' ? takeHeadFlag(commandArgs) : { headFile: null, rest: commandArgs };
  const parsed = parseConfig(args);
  if (!parsed.ok) {
    process.stderr.write(
      `bursar: invalid configuration:\n${parsed.problems.map((problem) => `  - ${problem}`).join('\n')}\n`,
    );
    return 2;
  }
  const { config } = parsed;
  if (command === 'migrate') {
    const database = await openDatabase(config);
    const auditKey = loadAuditKey(config, { create: true });
    const applied = await migrate(database, Date.now(), {
      onColumnsAdded: upgradeFromUnkeyedVersion(Date.now(), auditKey),
    });
    process.stdout.write(`${JSON.stringify({ migrated: applied })}\n`);
    await database.close();
    return 0;
  }
  if (command === 'verify') return verify(config, headFile);
  if (command === 'audit-head') {
    const auditKey = checkingKey(config);
    if (auditKey === null) return 2;
    const database = await openDatabase(config);
    try {
      process.stdout.write(
        `${JSON.stringify(await exportAuditHead(database.reader, Date.now(), auditKey), null, 2)}\n`,
      );
    } finally {
      await database.close();
    }
    return 0;
  }
  if (command === 'jobs') {
    const database = await openDatabase(config);
    const auditKey = loadAuditKey(config, { create: true });
    await migrate(database, Date.now(), { onColumnsAdded: upgradeFromUnkeyedVersion(Date.now(), auditKey) });
    for (const line of await describeJobs(database.reader, Date.now()))
      process.stdout.write(`${JSON.stringify(line)}\n`);
    await database.close();
    return 0;
  }
  if (command !== 'serve') {
    process.stderr.write(`bursar: unknown command "${command}" (serve, migrate, verify, audit-head, jobs)\n`);
    return 2;
  }
  const server = await startServer(config);
  if (server.generatedAdminKey !== null) {
    process.stdout.write(
      `\nBursar admin API key for environment "live" (shown once, only its hash is stored):\n\n  ${server.generatedAdminKey}\n\n`,
    );
  }
  process.stdout.write(
    `Bursar listening on ${server.url} (${config.databaseUrl.startsWith('sqlite:') ? `${config.databaseUrl} via ${sqliteDriverName}` : 'postgres'})\n`,
  );
  // `once`: a second signal takes the default action and ends the process at once.
  const stop = (signal: string) => {
    process.stdout.write(`Bursar: ${signal}, finishing requests in flight (at most ${config.shutdownTimeoutMs} ms)\n`);
    // A backstop in case closing itself hangs (a database that stopped answering).
    setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 5000).unref();
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`bursar: shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return -1;
}

/** The server's audit key for a command that only checks; null (reported) when there is none. */
function checkingKey(config: Config): Buffer | null {
  try {
    return loadAuditKey(config, { create: false });
  } catch (error) {
    process.stderr.write(`bursar ${command}: ${(error as Error).message}\n`);
    return null;
  }
}

/** Reads only: exits 0 when everything holds, 1 naming the first violation, 2 when it cannot check. */
async function verify(config: Config, headFile: string | null): Promise<number> {
  const auditKey = checkingKey(config);
  if (auditKey === null) return 2;
  let exportedHeads: ExportedChainHead[] | undefined;
  if (headFile !== null) {
    let exported: unknown;
    try {
      exported = JSON.parse(readFileSync(headFile, 'utf8'));
    } catch (error) {
      process.stderr.write(`bursar verify: ${headFile}: ${(error as Error).message}\n`);
      return 2;
    }
    const head = readAuditHead(exported, auditKey);
    if (!head.ok) {
      process.stderr.write(`bursar verify: ${headFile}: ${head.problem}\n`);
      return 2;
    }
    exportedHeads = head.heads;
  }
  const database = await openDatabase(config);
  let progressAt = Date.now();
  try {
    const result = await verifyDatabase(database.reader, {
      auditKey,
      ...(exportedHeads === undefined ? {} : { exportedHeads }),
      onProgress: (table, rowsChecked) => {
        if (Date.now() - progressAt < 1000) return;
        progressAt = Date.now();
        process.stderr.write(`bursar verify: ${table}: ${rowsChecked} rows checked\n`);
      },
    });
    process.stdout.write(
      `${JSON.stringify({ valid: result.valid, violation: result.violation, rows_checked: result.rowsChecked, exported_head: headFile !== null })}\n`,
    );
    if (result.violation !== null) {
      const { invariant, table, row, expected, found } = result.violation;
      process.stderr.write(
        `bursar verify: invariant ${invariant} is violated at ${table} ${row}: expected ${expected}, found ${found}\n`,
      );
    }
    return result.valid ? 0 : 1;
  } finally {
    await database.close();
  }
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`bursar: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
