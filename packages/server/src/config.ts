/**
 * Configuration: the only reader of process.env. Flags of `bursar serve` win over environment
 * variables; an invalid configuration stops start-up with every problem listed at once.
 */
import { bodyBytesDefault } from '@bursar/api';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Config {
  readonly host: string;
  readonly port: number;
  /** `sqlite:<path>` (the default, ./data/bursar.db) or `postgres://…`. */
  readonly databaseUrl: string;
  readonly logLevel: LogLevel;
  readonly bootstrapKey: string | null;
  readonly bodyBytesMax: number;
  readonly batchSizeMax: number;
  /** PostgreSQL only: batches written at once, each on its own connection (SQLite has one writer). */
  readonly postgresWritersMax: number;
  readonly holdTtlDefaultSeconds: number;
  readonly holdTtlMaxSeconds: number;
  /** How often the scheduler runs: renewals, expiring-soon notices and expiry booking. */
  readonly sweepIntervalMs: number;
  /** `grant.expiring_soon` is sent this many days before a grant expires. */
  readonly expiringSoonDays: number;
  /** How often the webhook dispatcher fans out new events and sends due deliveries. */
  readonly webhookIntervalMs: number;
  /** How often the top-up worker hands requested top-ups to the payment provider (when one is configured). */
  readonly topUpIntervalMs: number;
  /** Let webhook endpoints target loopback and private addresses (off by default: SSRF). */
  readonly webhooksAllowPrivate: boolean;
  /** Days an idempotency key and its stored reply are kept; null keeps them forever. */
  readonly idempotencyRetentionDays: number | null;
  /** Requests per second one API key may make on average (0: no limit). */
  readonly rateLimitPerSecond: number;
  /** Requests one API key may make at once above the average rate. */
  readonly rateLimitBurst: number;
  /** The secret that keys the audit chain's HMAC; null: read or create `auditKeyFile`. */
  readonly auditKey: string | null;
  /** Where the generated audit key is kept (owner-only permissions) when `auditKey` is not given. */
  readonly auditKeyFile: string;
  /** How long another process may keep accepting a revoked API key (its key cache's lifetime). */
  readonly apiKeyCacheMs: number;
  /** How long a shutdown waits for requests in flight and running jobs before it closes them. */
  readonly shutdownTimeoutMs: number;
}

const settings = {
  host: { env: 'BURSAR_HOST', flag: '--host', fallback: '127.0.0.1' },
  port: { env: 'BURSAR_PORT', flag: '--port', fallback: '8080' },
  databaseUrl: { env: 'BURSAR_DATABASE_URL', flag: '--database-url', fallback: 'sqlite:./data/bursar.db' },
  logLevel: { env: 'BURSAR_LOG_LEVEL', flag: '--log-level', fallback: 'info' },
  bootstrapKey: { env: 'BURSAR_BOOTSTRAP_KEY', flag: '--bootstrap-key', fallback: '' },
  bodyBytesMax: { env: 'BURSAR_BODY_BYTES_MAX', flag: '--body-bytes-max', fallback: String(bodyBytesDefault) },
  batchSizeMax: { env: 'BURSAR_BATCH_SIZE_MAX', flag: '--batch-size-max', fallback: '1000' },
  postgresWritersMax: { env: 'BURSAR_POSTGRES_WRITERS_MAX', flag: '--postgres-writers-max', fallback: '4' },
  holdTtlDefaultSeconds: {
    env: 'BURSAR_HOLD_TTL_DEFAULT_SECONDS',
    flag: '--hold-ttl-default-seconds',
    fallback: '900',
  },
  holdTtlMaxSeconds: { env: 'BURSAR_HOLD_TTL_MAX_SECONDS', flag: '--hold-ttl-max-seconds', fallback: '86400' },
  sweepIntervalMs: { env: 'BURSAR_SWEEP_INTERVAL_MS', flag: '--sweep-interval-ms', fallback: '1000' },
  expiringSoonDays: { env: 'BURSAR_EXPIRING_SOON_DAYS', flag: '--expiring-soon-days', fallback: '7' },
  webhookIntervalMs: { env: 'BURSAR_WEBHOOK_INTERVAL_MS', flag: '--webhook-interval-ms', fallback: '1000' },
  topUpIntervalMs: { env: 'BURSAR_TOP_UP_INTERVAL_MS', flag: '--top-up-interval-ms', fallback: '1000' },
  webhooksAllowPrivate: { env: 'BURSAR_WEBHOOKS_ALLOW_PRIVATE', flag: '--webhooks-allow-private', fallback: 'false' },
  idempotencyRetentionDays: {
    env: 'BURSAR_IDEMPOTENCY_RETENTION_DAYS',
    flag: '--idempotency-retention-days',
    fallback: '35',
  },
  rateLimitPerSecond: { env: 'BURSAR_RATE_LIMIT_PER_SECOND', flag: '--rate-limit-per-second', fallback: '10000' },
  rateLimitBurst: { env: 'BURSAR_RATE_LIMIT_BURST', flag: '--rate-limit-burst', fallback: '20000' },
  auditKey: { env: 'BURSAR_AUDIT_KEY', flag: '--audit-key', fallback: '' },
  auditKeyFile: { env: 'BURSAR_AUDIT_KEY_FILE', flag: '--audit-key-file', fallback: './data/audit.key' },
  apiKeyCacheMs: { env: 'BURSAR_API_KEY_CACHE_MS', flag: '--api-key-cache-ms', fallback: '5000' },
  shutdownTimeoutMs: { env: 'BURSAR_SHUTDOWN_TIMEOUT_MS', flag: '--shutdown-timeout-ms', fallback: '10000' },
} as const;

type SettingName = keyof typeof settings;

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

export function parseConfig(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): ConfigResult {
  const problems: string[] = [];
  const flags = new Map<string, string>();
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] as string;
    const [name, inline] = arg.split(/=(.*)/s, 2) as [string, string | undefined];
    if (!Object.values(settings).some((setting) => setting.flag === name)) {
      problems.push(`unknown option ${name}`);
      continue;
    }
    const value = inline ?? args[index + 1];
    if (inline === undefined) index += 1;
    if (value === undefined) problems.push(`${name} needs a value`);
    else flags.set(name, value);
  }
  const raw = (name: SettingName): string =>
    flags.get(settings[name].flag) ?? env[settings[name].env] ?? settings[name].fallback;
  const integer = (name: SettingName, min: number, max: number): number => {
    const text = raw(name);
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
      problems.push(
        `${settings[name].env} (${settings[name].flag}) must be an integer from ${min} to ${max}, got "${text}"`,
      );
    }
    return value;
  };
  const boolean = (name: SettingName): boolean => {
    const text = raw(name);
    if (text !== 'true' && text !== 'false')
      problems.push(`${settings[name].env} (${settings[name].flag}) must be true or false, got "${text}"`);
    return text === 'true';
  };
  const databaseUrl = raw('databaseUrl');
  if (!/^(sqlite:.+|postgres(ql)?:\/\/.+)$/.test(databaseUrl)) {
    problems.push(`BURSAR_DATABASE_URL must be sqlite:<path> or postgres://…, got "${databaseUrl}"`);
  }
  const logLevel = raw('logLevel');
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) {
    problems.push(`BURSAR_LOG_LEVEL must be one of debug, info, warn, error, silent, got "${logLevel}"`);
  }
  const bootstrapKey = raw('bootstrapKey');
  if (bootstrapKey !== '' && !/^bk_live_[0-9A-Za-z]{32,64}$/.test(bootstrapKey)) {
    problems.push('BURSAR_BOOTSTRAP_KEY must look like bk_live_ followed by 32 to 64 letters and digits');
  }
  const config: Config = {
    host: raw('host'),
    port: integer('port', 0, 65535),
    databaseUrl,
    logLevel: logLevel as LogLevel,
    bootstrapKey: bootstrapKey === '' ? null : bootstrapKey,
    bodyBytesMax: integer('bodyBytesMax', 1024, 64 * 1024 * 1024),
    batchSizeMax: integer('batchSizeMax', 1, 10_000),
    postgresWritersMax: integer('postgresWritersMax', 1, 32),
    holdTtlDefaultSeconds: integer('holdTtlDefaultSeconds', 1, 7 * 86400),
    holdTtlMaxSeconds: integer('holdTtlMaxSeconds', 1, 30 * 86400),
    sweepIntervalMs: integer('sweepIntervalMs', 10, 3_600_000),
    expiringSoonDays: integer('expiringSoonDays', 0, 365),
    webhookIntervalMs: integer('webhookIntervalMs', 10, 3_600_000),
    topUpIntervalMs: integer('topUpIntervalMs', 10, 3_600_000),
    webhooksAllowPrivate: boolean('webhooksAllowPrivate'),
    idempotencyRetentionDays:
      raw('idempotencyRetentionDays') === 'forever' ? null : integer('idempotencyRetentionDays', 1, 36_500),
    rateLimitPerSecond: integer('rateLimitPerSecond', 0, 10_000_000),
    rateLimitBurst: integer('rateLimitBurst', 1, 10_000_000),
    auditKey: raw('auditKey') === '' ? null : raw('auditKey'),
    auditKeyFile: raw('auditKeyFile'),
    apiKeyCacheMs: integer('apiKeyCacheMs', 0, 60_000),
    shutdownTimeoutMs: integer('shutdownTimeoutMs', 0, 600_000),
  };
  if (config.auditKey !== null && config.auditKey.length < 32)
    problems.push('BURSAR_AUDIT_KEY (--audit-key) must be at least 32 characters');
  if (config.holdTtlDefaultSeconds > config.holdTtlMaxSeconds)
    problems.push('the default hold TTL must not exceed the maximum');
  return problems.length === 0 ? { ok: true, config } : { ok: false, problems };
}
