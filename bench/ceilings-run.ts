// Runs every raw-ceiling measurement and prints each record as one JSON line on stdout (progress goes to stderr).
//
// Usage: node --import tsx bench/ceilings-run.ts
// Env: BURSAR_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test),
//      BURSAR_BENCH_DURATION_S (measured seconds per variant, default 3).
import pg from 'pg';
import { measureHttpCeiling, measurePostgresRawDebits, measureSqliteRawDebits } from './ceilings.ts';

const databaseUrl = process.env.BURSAR_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const durationS = Number(process.env.BURSAR_BENCH_DURATION_S ?? '3');
if (!Number.isFinite(durationS) || durationS <= 0 || durationS > 60) {
  throw new RangeError(`BURSAR_BENCH_DURATION_S must be in (0, 60], got ${process.env.BURSAR_BENCH_DURATION_S}`);
}

const emit = (record: object): void => {
  process.stdout.write(`${JSON.stringify(record)}\n`);
};
const progress = (message: string): void => {
  process.stderr.write(`[ceilings] ${message}\n`);
};

/** Returns why PostgreSQL cannot be used, or null when a connection succeeds. */
async function postgresUnavailable(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return `unreachable: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    await client.end().catch(() => {});
  }
}

progress(`sqlite raw debit loop (${durationS} s per variant)`);
for (const record of await measureSqliteRawDebits({ durationS })) emit(record);

const pgProblem = await postgresUnavailable(databaseUrl);
if (pgProblem === null) {
  progress(`postgres raw debit loops (${durationS} s per variant)`);
  for (const record of await measurePostgresRawDebits({ databaseUrl, durationS })) emit(record);
} else {
  emit({ name: 'postgres.raw_debit', skipped: pgProblem });
}

progress(`bare node:http POST ceiling (${durationS} s per connection count)`);
for (const record of await measureHttpCeiling({ durationS })) emit(record);
