/**
 * `bursar report revenue|margin`: the revenue or margin report of one environment, read straight
 * from the database, as CSV or JSON on stdout, with a progress bar (cli-progress) on stderr.
 */
import { marginReportQuery, revenueReportQuery } from '@bursar/api';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { AssetInfo } from '../../platform/service.ts';
import { toBigint } from '../../platform/storage/codecs.ts';
import type { Database } from '../../platform/storage/database.ts';
import { toCsv } from './csv.ts';
import type { FinanceReader } from './ledger-history.ts';
import { buildMarginReport } from './margin.ts';
import { buildRevenueReport } from './revenue.ts';

/** What the command needs from the composition root: the configuration and how to open its database. */
export interface ReportCommandDeps<Config> {
  readonly addConfigOptions: (command: Command) => Command;
  readonly configFromOptions: (
    options: Readonly<Record<string, unknown>>,
    unparsed: readonly string[],
  ) => { ok: true; config: Config } | { ok: false; problems: readonly string[] };
  readonly openDatabase: (config: Config) => Promise<Database>;
  readonly exit: (code: number) => void;
}

const revenueColumns = [
  'period',
  'customer',
  'asset',
  'currency',
  'opening',
  'additions',
  'recognized',
  'breakage',
  'refunds',
  'closing',
];
const marginColumns = [
  'day',
  'customer',
  'feature',
  'model',
  'events',
  'revenue',
  'provider_cost',
  'gross_margin',
  'margin_percent',
];

export function addReportCommand<Config>(bursar: Command, deps: ReportCommandDeps<Config>): void {
  deps
    .addConfigOptions(bursar.command('report').description('print the revenue or margin report of one environment'))
    .argument('<kind>', 'revenue or margin')
    .option('--from <day>', 'first day, inclusive (YYYY-MM-DD)')
    .option('--to <day>', 'day after the last, exclusive (YYYY-MM-DD)')
    .option('--format <format>', 'csv or json', 'json')
    .option('--environment <name>', 'the environment to report on', 'live')
    .option('--time-zone <zone>', 'IANA time zone of the days and months', 'UTC')
    .option('--granularity <period>', 'revenue: day or month')
    .option('--customer <id>', 'one customer only')
    .option('--currency <asset>', 'only this currency asset (margin: the currency revenue is counted in)')
    .option('--breakage <policy>', 'revenue: at_expiry or spread')
    .option('--expected-breakage <fraction>', 'revenue with --breakage spread: the expected share unused')
    .option('--top <n>', 'margin: how many customers top_by_cost lists')
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .action(async (kind: string, options: Record<string, unknown>, self: Command) => {
      const parsed = deps.configFromOptions(options, self.args.slice(1));
      if (!parsed.ok) {
        process.stderr.write(
          `bursar: invalid configuration:\n${parsed.problems.map((problem) => `  - ${problem}`).join('\n')}\n`,
        );
        deps.exit(2);
        return;
      }
      deps.exit(await runReport(kind, options, await deps.openDatabase(parsed.config)));
    });
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

async function runReport(kind: string, options: Record<string, unknown>, database: Database): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`bursar report: ${message}\n`);
    return 2;
  };
  try {
    if (kind !== 'revenue' && kind !== 'margin') return fail(`the report is "revenue" or "margin", not "${kind}"`);
    const format = text(options.format);
    if (format !== 'csv' && format !== 'json') return fail('--format is csv or json');
    const [environment] = await database.reader.all('SELECT id FROM environments WHERE name = ?', [
      text(options.environment) ?? 'live',
    ]);
    if (environment === undefined) return fail(`there is no environment "${text(options.environment)}"`);
    const environmentId = String(environment.id);
    const raw = {
      from: text(options.from),
      to: text(options.to),
      time_zone: text(options.timeZone),
      customer: text(options.customer),
      currency: text(options.currency),
    };
    const defined = (fields: Record<string, string | undefined>) =>
      Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
    const progress = progressBar(kind, options.progress === true || process.stderr.isTTY === true);
    const reader = readerOf(database);
    let report: Awaited<ReturnType<typeof buildRevenueReport | typeof buildMarginReport>>;
    if (kind === 'revenue') {
      const query = revenueReportQuery.safeParse(
        defined({
          ...raw,
          granularity: text(options.granularity),
          breakage: text(options.breakage),
          expected_breakage: text(options.expectedBreakage),
        }),
      );
      if (!query.success) return fail(issuesText(query.error.issues));
      report = await buildRevenueReport(reader, environmentId, query.data, progress.update);
    } else {
      const query = marginReportQuery.safeParse(defined({ ...raw, top: text(options.top) }));
      if (!query.success) return fail(issuesText(query.error.issues));
      report = await buildMarginReport(reader, environmentId, query.data, progress.update);
    }
    progress.stop();
    if ('field' in report) return fail(`--${report.field.replaceAll('_', '-')}: ${report.message}`);
    if (format === 'json') process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else process.stdout.write(toCsv(report.rows.map(asText), kind === 'revenue' ? revenueColumns : marginColumns));
    return 0;
  } finally {
    await database.close();
  }
}

/** Zod's issues as the flags they name: `--to: must be a later day than from`. */
function issuesText(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((issue) => `--${String(issue.path[0] ?? '').replaceAll('_', '-')}: ${issue.message}`).join('; ');
}

function asText(row: object): Record<string, string> {
  return Object.fromEntries(Object.entries(row).map(([name, value]) => [name, value === null ? '' : String(value)]));
}

/** A bar over the lots (revenue) or events (margin) decided; silent unless shown. */
function progressBar(kind: string, shown: boolean) {
  if (!shown) return { update: () => {}, stop: () => {} };
  const bar = new SingleBar({
    format: `${kind} |{bar}| {value}/{total} ${kind === 'revenue' ? 'grants' : 'events'}`,
    noTTYOutput: true,
    stream: process.stderr,
  });
  let started = false;
  return {
    update(done: number, total: number) {
      if (!started) bar.start(total, 0);
      started = true;
      bar.update(done);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** Finance's reads over a database opened by the CLI, with the asset lookup the service would cache. */
function readerOf(database: Database): FinanceReader {
  const assets = new Map<string, AssetInfo | undefined>();
  return {
    database,
    async asset(environmentId: string, code: string) {
      const key = `${environmentId}\u0000${code}`;
      if (!assets.has(key)) {
        const [row] = await database.reader.all('SELECT scale FROM assets WHERE environment_id = ? AND code = ?', [
          environmentId,
          code,
        ]);
        assets.set(key, row === undefined ? undefined : { code, scale: Number(toBigint(row.scale)) });
      }
      return assets.get(key);
    },
  };
}
