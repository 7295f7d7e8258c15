/**
 * The `bursar` command: `serve` (the default) runs the API; `migrate` applies migrations and
 * exits; `verify` checks the audit chains and the ledger invariants of the whole database;
 * `audit-head` prints a signed copy of every chain head to keep elsewhere; `jobs` shows the
 * scheduler's due and failing work.
 */
import { readFileSync } from 'node:fs';
import { mcpCommand } from '@bursar/mcp/command';
import { Command, CommanderError } from 'commander';
import { openDatabase, startServer } from './app.ts';
import type { Config } from './config.ts';
import { addConfigOptions, configFromOptions } from './config.ts';
import { loadAuditKey, verifyDatabase } from './domains/access/index.ts';
import { addReportCommand } from './domains/finance/index.ts';
import type { ExportedChainHead } from './platform/commit/audit-chain.ts';
import { exportAuditHead, readAuditHead } from './platform/commit/audit-chain.ts';
import { migrate } from './platform/storage/migrations.ts';
import { sqliteDriverName } from './platform/storage/sqlite-driver.ts';
import { describeJobs } from './scheduler.ts';
import { upgradeFromUnkeyedVersion } from './upgrade.ts';

/** Each command's work; resolves with the exit code, or -1 while the server keeps running. */
type CommandWork = (config: Config, options: Readonly<Record<string, unknown>>) => Promise<number>;

/**
 * The program: every command takes every configuration flag (listed by `--help` with its
 * environment variable and default); an invalid configuration exits 2 listing every problem.
 */
function program(exit: (code: number) => void): Command {
  const bursar = new Command('bursar')
    .description('Bursar: real-time credits and usage billing on a double-entry ledger')
    .exitOverride()
    .on('command:*', ([name]: string[]) => {
      process.stderr.write(`bursar: unknown command "${name}" (serve, migrate, verify, audit-head, jobs)\n`);
      exit(2);
    });
  const command = (name: string, description: string, work: CommandWork): Command =>
    addConfigOptions(bursar.command(name).description(description)).action(
      async (options: Record<string, unknown>, self: Command) => {
        const parsed = configFromOptions(options, self.args);
        if (!parsed.ok) {
          process.stderr.write(
            `bursar: invalid configuration:\n${parsed.problems.map((problem) => `  - ${problem}`).join('\n')}\n`,
          );
          exit(2);
          return;
        }
        const code = await work(parsed.config, options);
        if (code >= 0) exit(code);
      },
    );
  command('serve', 'run the API and the background jobs (the default command)', serve);
  command('migrate', 'apply the migrations not applied yet, then exit', migrateOnly);
  command('verify', 'check the audit chains and the ledger invariants of the whole database', (config, options) =>
    verify(config, typeof options.head === 'string' ? options.head : null),
  ).option('--head <file>', 'also check the chains against a head exported earlier by audit-head');
  command('audit-head', 'print a signed copy of every chain head, to keep elsewhere', auditHead);
  command('jobs', "show the scheduler's due and failing work, one JSON line per kind", jobs);
  addReportCommand(bursar, { addConfigOptions, configFromOptions, openDatabase, exit });
  bursar.addCommand(mcpCommand());
  return bursar;
}

async function migrateOnly(config: Config): Promise<number> {
  const database = await openDatabase(config);
  const auditKey = loadAuditKey(config, { create: true });
  const applied = await migrate(database, Date.now(), {
    onColumnsAdded: upgradeFromUnkeyedVersion(Date.now(), auditKey),
  });
  process.stdout.write(`${JSON.stringify({ migrated: applied })}\n`);
  await database.close();
  return 0;
}

async function auditHead(config: Config): Promise<number> {
  const auditKey = checkingKey('audit-head', config);
  if (auditKey === null) return 2;
  const database = await openDatabase(config);
  try {
    process.stdout.write(`${JSON.stringify(await exportAuditHead(database.reader, Date.now(), auditKey), null, 2)}\n`);
  } finally {
    await database.close();
  }
  return 0;
}

async function jobs(config: Config): Promise<number> {
  const database = await openDatabase(config);
  const auditKey = loadAuditKey(config, { create: true });
  await migrate(database, Date.now(), { onColumnsAdded: upgradeFromUnkeyedVersion(Date.now(), auditKey) });
  for (const line of await describeJobs(database.reader, Date.now())) process.stdout.write(`${JSON.stringify(line)}\n`);
  await database.close();
  return 0;
}

async function serve(config: Config): Promise<number> {
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
function checkingKey(command: string, config: Config): Buffer | null {
  try {
    return loadAuditKey(config, { create: false });
  } catch (error) {
    process.stderr.write(`bursar ${command}: ${(error as Error).message}\n`);
    return null;
  }
}

/** Reads only: exits 0 when everything holds, 1 naming the first violation, 2 when it cannot check. */
async function verify(config: Config, headFile: string | null): Promise<number> {
  const auditKey = checkingKey('verify', config);
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

// No command is `serve`; anything else names a command (`bursar --port 9000` is not a command).
const args = process.argv.slice(2);
program((code) => process.exit(code))
  .parseAsync(args.length === 0 ? ['serve'] : args, { from: 'user' })
  .catch((error: unknown) => {
    // Commander has written its own message (help, a missing option value); help and version exit 0.
    if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
    process.stderr.write(`bursar: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
