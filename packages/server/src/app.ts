/**
 * The composition root: opens storage, migrates, bootstraps the first environment, and wires
 * the committer, the ledger service, the background jobs and the HTTP server together.
 */

import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram } from 'prom-client';
import type { Config } from './config.ts';
import { ApiKeyAuthenticator, bootstrap, ConsoleSessions, loadAuditKey } from './domains/access/index.ts';
import { openStripeAccount, StripePaymentProvider } from './domains/payments/index.ts';
import { PortalAuthenticator, PortalEvents, portalPageRoutes } from './domains/portal/index.ts';
import type { PaymentProvider } from './domains/top-ups/index.ts';
import { TopUpWorker, topUpRequests } from './domains/top-ups/index.ts';
import { usageBatchPart } from './domains/usage/index.ts';
import { Sweeper } from './domains/wallets/index.ts';
import type { HostResolver } from './domains/webhooks/index.ts';
import {
  defaultWebhookTiming,
  sealStoredWebhookSecrets,
  WebhookDispatcher,
  type WebhookTiming,
} from './domains/webhooks/index.ts';
import type { Clock } from './platform/clock.ts';
import { systemClock } from './platform/clock.ts';
import { Committer } from './platform/commit/committer.ts';
import { IdempotencyPruner } from './platform/commit/idempotency-pruner.ts';
import type { Logger } from './platform/http/logger.ts';
import { createLogger } from './platform/http/logger.ts';
import { createMetricsRegistry } from './platform/http/metrics.ts';
import { buildOpenApiDocument } from './platform/http/openapi.ts';
import { RateLimiter } from './platform/http/rate-limit.ts';
import type { HttpServer } from './platform/http/server.ts';
import { createHttpServer } from './platform/http/server.ts';
import type { WebApp } from './platform/http/web-apps.ts';
import type { ClaimedWork } from './platform/jobs/claims.ts';
import { JobFailures } from './platform/jobs/failures.ts';
import type { JobRun } from './platform/jobs/runner.ts';
import { JobRunner } from './platform/jobs/runner.ts';
import { LedgerService } from './platform/service.ts';
import type { Database } from './platform/storage/database.ts';
import { migrate } from './platform/storage/migrations.ts';
import { openPostgres } from './platform/storage/postgres.ts';
import { openSqlite } from './platform/storage/sqlite.ts';
import { ledgerRoutes } from './routes.ts';
import type { SchedulerRunSummary } from './scheduler.ts';
import { Scheduler } from './scheduler.ts';
import { upgradeFromUnkeyedVersion } from './upgrade.ts';

/** Expired idempotency keys are looked for at most this often; each look deletes all of them, in small transactions. */
const idempotencyPruneIntervalMinMs = 60_000;

/** A claiming run's result: the work on what it claimed is handed off, so a shutdown waits for it. */
async function handOffClaimed(run: JobRun, claiming: Promise<ClaimedWork>): Promise<ClaimedWork> {
  const claimed = await claiming;
  run.handOff(claimed.done);
  return claimed;
}

/** How many rows a run claimed, once the work on them is done too. */
async function awaitClaimed(running: Promise<ClaimedWork>): Promise<number> {
  const { claimed, done } = await running;
  await done;
  return claimed;
}

/**
 * Opens the configured database. `server`: a server claims a PostgreSQL database as its sole writer
 * when no other process writes to it, so its reads answer from memory (docs/performance.md); tools
 * (verify, reports, migrations) write as any other process.
 */
export async function openDatabase(
  config: Pick<Config, 'databaseUrl' | 'postgresWritersMax'>,
  options: { server?: boolean } = {},
): Promise<Database> {
  return config.databaseUrl.startsWith('sqlite:')
    ? openSqlite(config.databaseUrl.slice('sqlite:'.length))
    : openPostgres(config.databaseUrl, {
        writersMax: config.postgresWritersMax,
        claimSoleWriter: options.server === true,
      });
}

export interface RunningServer {
  readonly url: string;
  /** Answers a request in-process, through every hook and handler but no socket (Fastify's inject). */
  readonly inject: FastifyInstance['inject'];
  readonly service: LedgerService;
  readonly database: Database;
  /** Books due expiries now instead of at the next tick (the scheduler also runs every sweepIntervalMs). */
  sweep(): Promise<number>;
  /** Runs every due scheduler job now: renewals, trial ends, expiring-soon notices, expiries. */
  runScheduler(): Promise<SchedulerRunSummary>;
  /** Fans out and sends due webhooks now instead of at the next tick. */
  dispatchWebhooks(): Promise<number>;
  /**
   * Deletes the idempotency keys older than the retention now instead of at the next interval;
   * returns how many, and tells `onTransaction` the count of each small transaction.
   */
  pruneIdempotencyKeys(onTransaction?: (rowsPruned: number) => void): Promise<number>;
  /** Hands requested top-ups to the payment provider now; 0 without a provider. */
  runTopUps(): Promise<number>;
  /** The admin key generated at first start (null when it existed or came from BURSAR_BOOTSTRAP_KEY). */
  readonly generatedAdminKey: string | null;
  close(): Promise<void>;
}

export interface ServerOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Charges auto top-ups (default: Stripe, when configured); without one they stay requested for settleTopUp. */
  readonly paymentProvider?: PaymentProvider;
  /** How long a top-up handed to the provider is left to this process (default 60 s). */
  readonly topUpLeaseMs?: number;
  /** The webhook dispatcher's retry schedule and leases (tests shrink them). */
  readonly webhookTiming?: WebhookTiming;
  /** Resolves webhook host names (tests answer a chosen address for a public-looking name). */
  readonly webhookResolver?: HostResolver;
  /** How often an open event stream sends its keep-alive comment (default 15 s; tests shrink it). */
  readonly eventHeartbeatMs?: number;
}

/** The web apps' builds, beside this package in the workspace (`npm run build:web` makes them). */
const webApps: readonly WebApp[] = ['console', 'portal'].map((name) => ({
  prefix: `/${name}`,
  root: fileURLToPath(new URL(`../../${name}/dist`, import.meta.url)),
}));

/** The kernel caps it at net.core.somaxconn (4096 on current Linux). */
const connectionBacklog = 4096;

export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const database = await openDatabase(config, { server: true });
  const auditKey = loadAuditKey(config, { create: true });
  await migrate(database, clock.now(), { onColumnsAdded: upgradeFromUnkeyedVersion(clock.now(), auditKey) });
  const generatedAdminKey = await bootstrap(database, clock.now(), config.bootstrapKey, auditKey);
  const secrets = await sealStoredWebhookSecrets(database, auditKey);
  if (secrets.valuesSealed > 0) logger.info('webhook signing secrets encrypted', { values: secrets.valuesSealed });
  if (secrets.endpointsUnopenable.length > 0) {
    logger.error('webhook secrets do not decrypt with this audit key', {
      endpoints: secrets.endpointsUnopenable,
      reason:
        'their signing secrets do not decrypt with this audit key (BURSAR_AUDIT_KEY or BURSAR_AUDIT_KEY_FILE); start with the key they were encrypted with, or rotate each secret',
    });
  }
  const metrics = createMetricsRegistry();
  const registers = [metrics];
  const batchSize = new Histogram({
    name: 'bursar_commit_batch_size',
    help: 'Commands per group-commit batch',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    registers,
  });
  const batchSeconds = new Histogram({
    name: 'bursar_commit_duration_seconds',
    help: 'Time to decide and commit one batch',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers,
  });
  const topUps = new Counter({
    name: 'bursar_top_ups_total',
    help: 'Auto top-ups settled, or charges that threw',
    labelNames: ['outcome'],
    registers,
  });
  const committer = new Committer({
    database,
    clock,
    batchSizeMax: config.batchSizeMax,
    queueMax: config.commitQueueMax,
    walletCacheMax: config.walletCacheMax,
    auditKey,
    onBatch: (size, durationMs) => {
      batchSize.observe(size);
      batchSeconds.observe(durationMs / 1000);
    },
    onError: (error, size) =>
      logger.error(size > 1 ? 'batch failed; its commands run again one by one' : 'command failed', {
        error: String(error),
        stack: (error as Error).stack,
      }),
  });
  committer.registerPart(usageBatchPart);
  committer.registerObserver(topUpRequests);
  const service = new LedgerService({
    database,
    committer,
    clock,
    readStalenessMs: config.readStalenessMs,
    limits: { holdTtlDefaultMs: config.holdTtlDefaultSeconds * 1000, holdTtlMaxMs: config.holdTtlMaxSeconds * 1000 },
    webhooksAllowPrivate: config.webhooksAllowPrivate,
    auditKey,
    onTopUpSettled: (outcome) => topUps.labels(outcome).inc(),
  });
  const authenticator = new ApiKeyAuthenticator(database.reader, config.apiKeyCacheMs);
  const stripe = openStripeAccount({
    secretKey: config.stripeSecretKey,
    webhookSecret: config.stripeWebhookSecret,
    apiBase: config.stripeApiBase,
  });
  const consoleSessions = new ConsoleSessions(database.reader, authenticator, {
    cacheMs: config.apiKeyCacheMs,
    ttlSeconds: config.consoleSessionTtlSeconds,
    now: () => clock.now(),
    secureCookies: config.publicUrl?.startsWith('https:') === true,
  });
  const jobFailures = new JobFailures(committer);
  const jobs = new JobRunner({
    failureLog: jobFailures.runFailureLog(),
    onError: (message, fields) => logger.error(message, fields),
    now: () => clock.now(),
  });
  const portalEvents = new PortalEvents(service);
  committer.onCommitted((changed) => portalEvents.walletsCommitted(changed));
  const portalAuthenticator = new PortalAuthenticator(service, config.apiKeyCacheMs);
  const routes = ledgerRoutes(service, { apiKeys: authenticator, consoleSessions }, jobs, stripe, {
    publicUrl: config.publicUrl,
    events: portalEvents,
  });
  let ready = true;
  const server: HttpServer = createHttpServer({
    routes,
    authenticate: (token: string) => authenticator.authenticate(token),
    authenticateCookies: (cookies) => consoleSessions.authenticate(cookies),
    authenticatePortal: (token: string) => portalAuthenticator.authenticate(token),
    pageRoutes: portalPageRoutes(service, { publicUrl: config.publicUrl }),
    ...(options.eventHeartbeatMs === undefined ? {} : { heartbeatMs: options.eventHeartbeatMs }),
    logger,
    metrics,
    bodyBytesMax: config.bodyBytesMax,
    webApps,
    ...(config.rateLimitPerSecond === 0
      ? {}
      : {
          rateLimit: {
            limiter: new RateLimiter({ perSecond: config.rateLimitPerSecond, burst: config.rateLimitBurst }),
            now: () => clock.now(),
          },
        }),
    isReady: () => ready,
    openApiDocument: buildOpenApiDocument(),
    corsOrigins: config.corsOrigins,
  });
  // A burst of new connections (thousands of clients at once) must wait in the accept queue, not be
  // reset: Node's default backlog of 511 overflows while the event loop is busy committing.
  const address = await server.listen({ port: config.port, host: config.host, backlog: connectionBacklog });
  const dispatcher = new WebhookDispatcher(
    service,
    committer,
    clock,
    logger,
    options.webhookTiming ?? defaultWebhookTiming,
    options.webhookResolver,
  );
  const webhookDelivery = jobs.add({
    name: 'webhook_delivery',
    intervalMs: config.webhookIntervalMs,
    runAtStart: false,
    run: (run) => handOffClaimed(run, dispatcher.claimDue()),
  });
  const sweeper = new Sweeper(database, committer, clock);
  const jobRuns = new Counter({
    name: 'bursar_jobs_total',
    help: 'Scheduler jobs run, by kind and outcome',
    labelNames: ['kind', 'outcome'],
    registers,
  });
  const scheduler = new Scheduler(service, sweeper, jobFailures, {
    expiringSoonLeadMs: config.expiringSoonDays * 86_400_000,
    onJob: (kind, outcome) => jobRuns.labels(kind, outcome).inc(),
  });
  // At start: after downtime, renewals and expiries are due before the first interval.
  const scheduling = jobs.add({
    name: 'scheduler',
    intervalMs: config.sweepIntervalMs,
    runAtStart: true,
    run: () => scheduler.run(),
  });
  // With Stripe on, auto top-ups are charged through it unless start-up was handed another provider.
  const paymentProvider =
    options.paymentProvider ?? (stripe === null ? undefined : new StripePaymentProvider(service, stripe));
  const topUpWorker =
    paymentProvider === undefined
      ? null
      : new TopUpWorker({
          service,
          provider: paymentProvider,
          leaseMs: options.topUpLeaseMs ?? 60_000,
          onChargeError: (error, topUpId) => {
            topUps.labels('charge_error').inc();
            logger.error('top-up charge failed', { topUpId, error: String(error) });
          },
        });
  const charging =
    topUpWorker === null
      ? null
      : jobs.add({
          name: 'top_ups',
          intervalMs: config.topUpIntervalMs,
          runAtStart: false,
          run: (run) => handOffClaimed(run, topUpWorker.claimDue()),
        });
  const prunedKeys = new Counter({
    name: 'bursar_idempotency_keys_pruned_total',
    help: 'Idempotency keys deleted after their retention',
    registers,
  });
  const pruner = new IdempotencyPruner({
    committer,
    clock,
    retentionDays: config.idempotencyRetentionDays,
    onPruned: (rows) => prunedKeys.inc(rows),
  });
  const pruning = jobs.add({
    name: 'idempotency_pruning',
    // Never more often than the scheduler runs, so a configuration that parks the scheduler parks this too.
    intervalMs: Math.max(config.sweepIntervalMs, idempotencyPruneIntervalMinMs),
    runAtStart: true,
    run: () => pruner.prune(),
  });
  return {
    url: `http://${config.host}:${address.port}`,
    inject: server.app.inject.bind(server.app),
    service,
    database,
    generatedAdminKey,
    // By hand, each under its job's overlap guard; the sends and charges a run claimed are awaited too.
    sweep: () => scheduling.runWith(() => sweeper.sweep()),
    runScheduler: () => scheduling.runNow(),
    dispatchWebhooks: () => awaitClaimed(webhookDelivery.runNow()),
    pruneIdempotencyKeys: (onTransaction) => pruning.runWith(() => pruner.prune(onTransaction)),
    runTopUps: () => (charging === null ? Promise.resolve(0) : awaitClaimed(charging.runNow())),
    async close() {
      // Order matters: requests in flight are answered after their commit, and jobs finish their
      // run, before the committer and then the database close; config.shutdownTimeoutMs bounds it.
      ready = false;
      // The runner starts nothing more at once; runs in flight finish while requests drain.
      const jobsStopped = jobs.stop(config.shutdownTimeoutMs);
      const drained = await server.close(config.shutdownTimeoutMs);
      portalEvents.close();
      if (!drained) logger.warn('shutdown timeout: connections with requests in flight were closed');
      if (!(await jobsStopped)) logger.warn('shutdown timeout: background jobs still running are cut off');
      await committer.close();
      await database.close();
      logger.flush();
    },
  };
}
