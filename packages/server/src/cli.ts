/**
 * The `bursar` command: `serve` (the default) runs the API; `migrate` applies migrations and
 * exits; `verify-audit` checks every environment's audit hash chain; `jobs` shows the
 * scheduler's due and failing work.
 */
import { openDatabase, startServer } from './app.ts';
import { parseConfig } from './config.ts';
import { verifyAuditChain } from './ledger/audit.ts';
import { describeJobs } from './ledger/scheduler.ts';
import { migrate } from './storage/migrations.ts';
import { sqliteDriverName } from './storage/sqlite-driver.ts';

const [command = 'serve', ...args] = process.argv.slice(2);

async function main(): Promise<number> {
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
    const applied = await migrate(database, Date.now());
    process.stdout.write(`${JSON.stringify({ migrated: applied })}\n`);
    await database.close();
    return 0;
  }
  if (command === 'verify-audit') {
    const database = await openDatabase(config);
    let valid = true;
    for (const row of await database.reader.all('SELECT id, name FROM environments ORDER BY name')) {
      const result = await verifyAuditChain(database.reader, String(row.id));
      valid &&= result.valid;
      process.stdout.write(
        `${JSON.stringify({ environment: row.name, ...result, brokenAtSeq: result.brokenAtSeq?.toString() ?? null })}\n`,
      );
    }
    await database.close();
    return valid ? 0 : 1;
  }
  if (command === 'jobs') {
    const database = await openDatabase(config);
    await migrate(database, Date.now());
    for (const line of await describeJobs(database.reader, Date.now()))
      process.stdout.write(`${JSON.stringify(line)}\n`);
    await database.close();
    return 0;
  }
  if (command !== 'serve') {
    process.stderr.write(`bursar: unknown command "${command}" (serve, migrate, verify-audit, jobs)\n`);
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

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`bursar: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
