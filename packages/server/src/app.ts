/**
 * The composition root: opens storage, migrates, bootstraps the first environment, and wires
 * the committer, the ledger service, the sweeper and the HTTP server together.
 */

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import type { Config } from './config.ts';
import type { Logger } from './http/logger.ts';
import { createLogger } from './http/logger.ts';
import { createMetricsRegistry } from './http/metrics.ts';
import { buildOpenApiDocument } from './http/openapi.ts';
import { ledgerRoutes } from './http/routes.ts';
import { createHttpServer } from './http/server.ts';
import { ApiKeyAuthenticator } from './ledger/api-keys.ts';
import { keyAuditChainsOnUpgrade } from './ledger/audit.ts';
import { loadAuditKey } from './ledger/audit-key.ts';
import { bootstrap } from './ledger/bootstrap.ts';
import { Committer } from './ledger/committer.ts';
import type { PaymentProvider } from './ledger/payment-provider.ts';
import type { TickSummary } from './ledger/scheduler.ts';
import { Scheduler } from './ledger/scheduler.ts';
import { LedgerService } from './ledger/service.ts';
import { Sweeper } from './ledger/sweeper.ts';
import { TopUpWorker } from './ledger/top-up-worker.ts';
import { defaultWebhookTiming, WebhookDispatcher, type WebhookTiming } from './ledger/webhook-dispatcher.ts';
import type { Database } from './storage/database.ts';
import { migrate } from './storage/migrations.ts';
import { openPostgres } from './storage/postgres.ts';
import { openSqlite } from './storage/sqlite.ts';

export async function openDatabase(config: Pick<Config, 'databaseUrl' | 'postgresWritersMax'>): Promise<Database> {
  return config.databaseUrl.startsWith('sqlite:')
    ? openSqlite(config.databaseUrl.slice('sqlite:'.length))
    : openPostgres(config.databaseUrl, { writersMax: config.postgresWritersMax });
}

export interface RunningServer {
  readonly url: string;
  readonly service: LedgerService;
  readonly database: Database;
  /** Books due expiries now instead of at the next tick (the scheduler also runs every sweepIntervalMs). */
  sweep(): Promise<number>;
  /** Runs every due scheduler job now: renewals, trial ends, expiring-soon notices, expiries. */
  runScheduler(): Promise<TickSummary>;
  /** Fans out and sends due webhooks now instead of at the next tick. */
  dispatchWebhooks(): Promise<number>;
  /** Hands requested top-ups to the payment provider now; 0 without a provider. */
  runTopUps(): Promise<number>;
  /** The admin key generated at first start (null when it existed or came from BURSAR_BOOTSTRAP_KEY). */
  readonly generatedAdminKey: string | null;
  close(): Promise<void>;
}

export interface ServerOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Charges auto top-ups; without one they stay requested for the integrator's settleTopUp. */
  readonly paymentProvider?: PaymentProvider;
  /** How long a top-up handed to the provider is left to this process (default 60 s). */
  readonly topUpLeaseMs?: number;
  /** The webhook dispatcher's retry schedule and leases (tests shrink them). */
  readonly webhookTiming?: WebhookTiming;
}

export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const database = await openDatabase(config);
  const auditKey = loadAuditKey(config, { create: true });
  await migrate(database, clock.now(), { onColumnsAdded: keyAuditChainsOnUpgrade(clock.now(), auditKey) });
  const generatedAdminKey = await bootstrap(database, clock.now(), config.bootstrapKey, auditKey);
  const metrics = createMetricsRegistry();
  const batchSize = metrics
    .histogram(
      'bursar_commit_batch_size',
      'Commands per group-commit batch',
      [],
      [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    )
    .labels();
  const batchSeconds = metrics
    .histogram(
      'bursar_commit_duration_seconds',
      'Time to decide and commit one batch',
      [],
      [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    )
    .labels();
  const topUps = metrics.counter('bursar_top_ups_total', 'Auto top-ups settled, or charges that threw', ['outcome']);
  const committer = new Committer({
    database,
    clock,
    batchSizeMax: config.batchSizeMax,
    auditKey,
    onBatch: (size, durationMs) => {
      batchSize.observe(size);
      batchSeconds.observe(durationMs / 1000);
    },
    onError: (error) => logger.error('batch failed', { error: String(error), stack: (error as Error).stack }),
  });
  const service = new LedgerService({
    database,
    committer,
    clock,
    limits: { holdTtlDefaultMs: config.holdTtlDefaultSeconds * 1000, holdTtlMaxMs: config.holdTtlMaxSeconds * 1000 },
    webhooksAllowPrivate: config.webhooksAllowPrivate,
    auditKey,
    onTopUpSettled: (outcome) => topUps.labels(outcome).inc(),
  });
  const authenticator = new ApiKeyAuthenticator(database.reader);
  const routes = ledgerRoutes(service, () => authenticator.forget());
  let ready = true;
  const server: Server = createHttpServer({
    routes,
    authenticate: (token: string) => authenticator.authenticate(token),
    logger,
    metrics,
    bodyBytesMax: config.bodyBytesMax,
    isReady: () => ready,
    openApiDocument: buildOpenApiDocument(routes),
  });
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const dispatcher = new WebhookDispatcher(service, committer, clock, options.webhookTiming ?? defaultWebhookTiming);
  const dispatching = setInterval(() => {
    dispatcher.tick().catch((error: unknown) => logger.error('webhook dispatch failed', { error: String(error) }));
  }, config.webhookIntervalMs);
  dispatching.unref();
  const sweeper = new Sweeper(database, committer, clock);
  const jobRuns = metrics.counter('bursar_jobs_total', 'Scheduler jobs run, by kind and outcome', ['kind', 'outcome']);
  const scheduler = new Scheduler(service, sweeper, {
    expiringSoonLeadMs: config.expiringSoonDays * 86_400_000,
    onJob: (kind, outcome) => jobRuns.labels(kind, outcome).inc(),
  });
  const runScheduler = () =>
    scheduler.tick().catch((error: unknown) => {
      logger.error('scheduler run failed', { error: String(error) });
      return { subscriptions: 0, notices: 0, settled: 0, failed: 1 };
    });
  // Catch up at once: after downtime, renewals and expiries are due before the first interval.
  void runScheduler();
  const sweeping = setInterval(() => {
    if (!scheduler.busy) void runScheduler();
  }, config.sweepIntervalMs);
  sweeping.unref();
  const { paymentProvider } = options;
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
  const chargingTopUps = setInterval(() => {
    topUpWorker?.tick().catch((error: unknown) => logger.error('top-ups failed', { error: String(error) }));
  }, config.topUpIntervalMs);
  chargingTopUps.unref();
  const address = server.address() as AddressInfo;
  return {
    url: `http://${config.host}:${address.port}`,
    service,
    database,
    generatedAdminKey,
    sweep: () => sweeper.sweep(),
    runScheduler: () => scheduler.tick(),
    dispatchWebhooks: () => dispatcher.tick(),
    runTopUps: () => topUpWorker?.tick() ?? Promise.resolve(0),
    async close() {
      ready = false;
      clearInterval(sweeping);
      clearInterval(dispatching);
      clearInterval(chargingTopUps);
      await scheduler.idle();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await committer.close();
      await database.close();
    },
  };
}
