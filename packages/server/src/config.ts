/**
 * Configuration: the only reader of process.env. Each setting comes from its flag, else its
 * environment variable, else its default, and is parsed by one zod schema; an invalid
 * configuration stops start-up with every problem listed at once.
 */
import { bodyBytesDefault } from '@bursar/api';
import { Command, CommanderError, Option } from 'commander';
import { z } from 'zod';

/** A setting: where it is read from, its default (as text, like what is read), and what it does. */
interface Setting {
  readonly env: string;
  readonly flag: string;
  readonly fallback: string;
  readonly help: string;
  /** Its value is never echoed in a problem (it is a key). */
  readonly secret?: true;
}

const settings = {
  host: { env: 'BURSAR_HOST', flag: '--host', fallback: '127.0.0.1', help: 'address to listen on' },
  port: { env: 'BURSAR_PORT', flag: '--port', fallback: '8080', help: 'port to listen on (0: any free port)' },
  databaseUrl: {
    env: 'BURSAR_DATABASE_URL',
    flag: '--database-url',
    fallback: 'sqlite:./data/bursar.db',
    help: 'sqlite:<path> or postgres://…',
  },
  logLevel: {
    env: 'BURSAR_LOG_LEVEL',
    flag: '--log-level',
    fallback: 'info',
    help: 'debug, info, warn, error or silent',
  },
  bootstrapKey: {
    env: 'BURSAR_BOOTSTRAP_KEY',
    flag: '--bootstrap-key',
    fallback: '',
    help: 'the first admin API key (bk_live_…); empty: one is generated and shown once',
    secret: true,
  },
  bodyBytesMax: {
    env: 'BURSAR_BODY_BYTES_MAX',
    flag: '--body-bytes-max',
    fallback: String(bodyBytesDefault),
    help: 'largest request body in bytes',
  },
  batchSizeMax: {
    env: 'BURSAR_BATCH_SIZE_MAX',
    flag: '--batch-size-max',
    fallback: '1000',
    help: 'commands per group-commit batch at most',
  },
  postgresWritersMax: {
    env: 'BURSAR_POSTGRES_WRITERS_MAX',
    flag: '--postgres-writers-max',
    fallback: '4',
    help: 'PostgreSQL only: batches written at once, each on its own connection',
  },
  commitQueueMax: {
    env: 'BURSAR_COMMIT_QUEUE_MAX',
    flag: '--commit-queue-max',
    fallback: '20000',
    help: 'commands waiting for the committer at most; past it requests are answered 503 overloaded',
  },
  walletCacheMax: {
    env: 'BURSAR_WALLET_CACHE_MAX',
    flag: '--wallet-cache-max',
    fallback: '100000',
    help: 'wallets kept in the committer’s cache at most',
  },
  readStalenessMs: {
    env: 'BURSAR_READ_STALENESS_MS',
    flag: '--read-staleness-ms',
    fallback: '0',
    help: 'PostgreSQL only: how long a read may answer from a cached wallet without checking its version (another process’s write is seen within this); 0 checks every read',
  },
  holdTtlDefaultSeconds: {
    env: 'BURSAR_HOLD_TTL_DEFAULT_SECONDS',
    flag: '--hold-ttl-default-seconds',
    fallback: '900',
    help: 'lifetime of a hold that names none',
  },
  holdTtlMaxSeconds: {
    env: 'BURSAR_HOLD_TTL_MAX_SECONDS',
    flag: '--hold-ttl-max-seconds',
    fallback: '86400',
    help: 'longest lifetime a hold may ask for',
  },
  sweepIntervalMs: {
    env: 'BURSAR_SWEEP_INTERVAL_MS',
    flag: '--sweep-interval-ms',
    fallback: '1000',
    help: 'how often the scheduler runs: renewals, expiring-soon notices and expiry booking',
  },
  expiringSoonDays: {
    env: 'BURSAR_EXPIRING_SOON_DAYS',
    flag: '--expiring-soon-days',
    fallback: '7',
    help: 'grant.expiring_soon is sent this many days before a grant expires',
  },
  webhookIntervalMs: {
    env: 'BURSAR_WEBHOOK_INTERVAL_MS',
    flag: '--webhook-interval-ms',
    fallback: '1000',
    help: 'how often new events are fanned out to webhook endpoints and due deliveries sent',
  },
  topUpIntervalMs: {
    env: 'BURSAR_TOP_UP_INTERVAL_MS',
    flag: '--top-up-interval-ms',
    fallback: '1000',
    help: 'how often requested top-ups are handed to the payment provider (when one is configured)',
  },
  webhooksAllowPrivate: {
    env: 'BURSAR_WEBHOOKS_ALLOW_PRIVATE',
    flag: '--webhooks-allow-private',
    fallback: 'false',
    help: 'let webhook endpoints target loopback and private addresses (true or false)',
  },
  idempotencyRetentionDays: {
    env: 'BURSAR_IDEMPOTENCY_RETENTION_DAYS',
    flag: '--idempotency-retention-days',
    fallback: '35',
    help: 'days an idempotency key and its reply are kept, or forever',
  },
  rateLimitPerSecond: {
    env: 'BURSAR_RATE_LIMIT_PER_SECOND',
    flag: '--rate-limit-per-second',
    fallback: '10000',
    help: 'requests per second one API key may make on average (0: no limit)',
  },
  rateLimitBurst: {
    env: 'BURSAR_RATE_LIMIT_BURST',
    flag: '--rate-limit-burst',
    fallback: '20000',
    help: 'requests one API key may make at once above the average rate',
  },
  corsOrigins: {
    env: 'BURSAR_CORS_ORIGINS',
    flag: '--cors-origins',
    fallback: '',
    help: 'browser origins allowed to call the portal API (/v1/portal/*), comma-separated (https://app.example.com); empty: no CORS',
  },
  auditKey: {
    env: 'BURSAR_AUDIT_KEY',
    flag: '--audit-key',
    fallback: '',
    help: 'the secret keying the audit chain (at least 32 characters); empty: read or create the key file',
    secret: true,
  },
  auditKeyFile: {
    env: 'BURSAR_AUDIT_KEY_FILE',
    flag: '--audit-key-file',
    fallback: './data/audit.key',
    help: 'where the generated audit key is kept',
  },
  apiKeyCacheMs: {
    env: 'BURSAR_API_KEY_CACHE_MS',
    flag: '--api-key-cache-ms',
    fallback: '5000',
    help: 'how long another process may keep accepting a revoked API key',
  },
  consoleSessionTtlSeconds: {
    env: 'BURSAR_CONSOLE_SESSION_TTL_S',
    flag: '--console-session-ttl-seconds',
    fallback: '28800',
    help: 'how long a console sign-in lasts, in seconds',
  },
  shutdownTimeoutMs: {
    env: 'BURSAR_SHUTDOWN_TIMEOUT_MS',
    flag: '--shutdown-timeout-ms',
    fallback: '10000',
    help: 'how long a shutdown waits for requests in flight and running jobs',
  },
  stripeSecretKey: {
    env: 'BURSAR_STRIPE_SECRET_KEY',
    flag: '--stripe-secret-key',
    fallback: '',
    help: 'Stripe secret key (sk_test_… or sk_live_…, or a restricted rk_…); empty: Stripe is off',
    secret: true,
  },
  stripeWebhookSecret: {
    env: 'BURSAR_STRIPE_WEBHOOK_SECRET',
    flag: '--stripe-webhook-secret',
    fallback: '',
    help: 'signing secret of the Stripe webhook endpoint (whsec_…); required with the secret key',
    secret: true,
  },
  stripeApiBase: {
    env: 'BURSAR_STRIPE_API_BASE',
    flag: '--stripe-api-base',
    fallback: '',
    help: "for tests only: the Stripe API's base URL (http://127.0.0.1:port); empty: Stripe's own",
  },
  publicUrl: {
    env: 'BURSAR_PUBLIC_URL',
    flag: '--public-url',
    fallback: '',
    help: "the URL browsers reach this server at (https://billing.example.com), used in portal links; https makes session cookies Secure; empty: the request's own",
  },
} as const satisfies Record<string, Setting>;

type SettingName = keyof typeof settings;

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, `must be an integer from ${min} to ${max}`)
        .max(max, `must be an integer from ${min} to ${max}`),
    );

/** `none` (empty, or a word such as `forever`) reads as null; anything else must pass `schema`. */
const orNull = <Schema extends z.ZodType<unknown, string>>(schema: Schema, none = '') =>
  z
    .string()
    .transform((text) => (text === none ? null : text))
    .pipe(schema.nullable());

const configSchema = z
  .object({
    host: z.string().min(1, 'must not be empty'),
    port: integer(0, 65535),
    databaseUrl: z.string().regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, 'must be sqlite:<path> or postgres://…'),
    logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent'], 'must be one of debug, info, warn, error, silent'),
    bootstrapKey: orNull(
      z
        .string()
        .regex(/^bk_live_[0-9A-Za-z]{32,64}$/, 'must look like bk_live_ followed by 32 to 64 letters and digits'),
    ),
    bodyBytesMax: integer(1024, 64 * 1024 * 1024),
    batchSizeMax: integer(1, 10_000),
    postgresWritersMax: integer(1, 32),
    commitQueueMax: integer(1, 10_000_000),
    walletCacheMax: integer(1, 100_000_000),
    readStalenessMs: integer(0, 60_000),
    holdTtlDefaultSeconds: integer(1, 7 * 86400),
    holdTtlMaxSeconds: integer(1, 30 * 86400),
    sweepIntervalMs: integer(10, 3_600_000),
    expiringSoonDays: integer(0, 365),
    webhookIntervalMs: integer(10, 3_600_000),
    topUpIntervalMs: integer(10, 3_600_000),
    webhooksAllowPrivate: z.enum(['true', 'false'], 'must be true or false').transform((text) => text === 'true'),
    idempotencyRetentionDays: orNull(integer(1, 36_500), 'forever'),
    rateLimitPerSecond: integer(0, 10_000_000),
    rateLimitBurst: integer(1, 10_000_000),
    corsOrigins: z
      .string()
      .transform((text) =>
        text
          .split(',')
          .map((origin) => origin.trim())
          .filter((origin) => origin !== ''),
      )
      .pipe(
        z.array(
          z
            .string()
            .regex(/^https?:\/\/[^/\s,]+$/, 'must be origins like https://app.example.com, comma-separated')
            // Browsers send an origin in this one form (lower case, no default port), and CORS compares it exactly.
            .refine((origin) => URL.canParse(origin) && new URL(origin).origin === origin, {
              message: 'must be written as browsers send it: lower case, without a default port or a path',
            }),
        ),
      ),
    auditKey: orNull(z.string().min(32, 'must be at least 32 characters')),
    auditKeyFile: z.string().min(1, 'must not be empty'),
    apiKeyCacheMs: integer(0, 60_000),
    consoleSessionTtlSeconds: integer(60, 30 * 86400),
    shutdownTimeoutMs: integer(0, 600_000),
    stripeSecretKey: orNull(z.string().regex(/^(sk|rk)_(test|live)_\S+$/, 'must look like sk_test_… or sk_live_…')),
    stripeWebhookSecret: orNull(z.string().regex(/^whsec_\S+$/, 'must look like whsec_…')),
    stripeApiBase: orNull(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })),
    publicUrl: orNull(
      z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).transform((url) => url.replace(/\/+$/, '')),
    ),
  } satisfies Record<SettingName, z.ZodType<unknown, string>>)
  .refine((config) => config.holdTtlDefaultSeconds <= config.holdTtlMaxSeconds, {
    message:
      'the default hold TTL (BURSAR_HOLD_TTL_DEFAULT_SECONDS) must not exceed the maximum (BURSAR_HOLD_TTL_MAX_SECONDS)',
    // Checked whenever both values are valid, so it is listed with problems of other settings.
    when: ({ value }) => {
      const { holdTtlDefaultSeconds, holdTtlMaxSeconds } = value as Record<string, unknown>;
      return typeof holdTtlDefaultSeconds === 'number' && typeof holdTtlMaxSeconds === 'number';
    },
  })
  .refine((config) => (config.stripeSecretKey === null) === (config.stripeWebhookSecret === null), {
    message: 'BURSAR_STRIPE_SECRET_KEY and BURSAR_STRIPE_WEBHOOK_SECRET are set together or not at all',
    when: ({ value }) => {
      const { stripeSecretKey, stripeWebhookSecret } = value as Record<string, unknown>;
      return stripeSecretKey !== undefined && stripeWebhookSecret !== undefined;
    },
  })
  .readonly();

export type Config = z.output<typeof configSchema>;

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/** Adds a flag for every setting to `command`; its help names the environment variable and the default. */
export function addConfigOptions(command: Command): Command {
  for (const [name, setting] of Object.entries(settings) as [SettingName, Setting][]) {
    const shown = setting.fallback === '' ? 'none' : setting.fallback;
    const option = new Option(`${setting.flag} <value>`, `${setting.help} [${setting.env}, default ${shown}]`);
    if (option.attributeName() !== name) throw new Error(`assertion failed: ${setting.flag} names ${name}`);
    command.addOption(option);
  }
  // Unknown options are configuration problems, listed with the others rather than stopping at the first.
  return command.allowUnknownOption().allowExcessArguments();
}

/**
 * The configuration from `args` (flags of any command, `--name value` or `--name=value`) and `env`.
 * Commander reads the flags, with the same definitions the CLI uses.
 */
export function parseConfig(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): ConfigResult {
  const command = addConfigOptions(new Command())
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  try {
    command.parse([...args], { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return { ok: false, problems: [error.message.replace(/^error: /, '')] };
  }
  return configFromOptions(command.opts(), command.args, env);
}

/**
 * The configuration from flags commander has read (`flags`, with `unparsed` what it did not
 * recognise) and `env`: every problem of either, or the typed configuration.
 */
export function configFromOptions(
  flags: Readonly<Record<string, unknown>>,
  unparsed: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): ConfigResult {
  const problems = unparsed.flatMap((arg, index) => {
    if (arg.startsWith('-')) return [`unknown option ${arg.split('=', 1)[0]}`];
    // The value of an unknown option before it is part of that problem.
    return unparsed[index - 1]?.startsWith('-') && !unparsed[index - 1]?.includes('=')
      ? []
      : [`unexpected argument "${arg}"`];
  });
  const raw = Object.fromEntries(
    (Object.entries(settings) as [SettingName, Setting][]).map(([name, setting]) => {
      const flag = flags[name];
      return [name, typeof flag === 'string' ? flag : (env[setting.env] ?? setting.fallback)];
    }),
  ) as Record<SettingName, string>;
  const parsed = configSchema.safeParse(raw);
  if (parsed.success && problems.length === 0) return { ok: true, config: parsed.data };
  for (const issue of parsed.error?.issues ?? []) {
    const name = issue.path[0] as SettingName | undefined;
    if (name === undefined) {
      problems.push(issue.message);
      continue;
    }
    const setting: Setting = settings[name];
    const got = setting.secret === true ? '' : `, got "${raw[name]}"`;
    problems.push(`${setting.env} (${setting.flag}) ${issue.message}${got}`);
  }
  return { ok: false, problems };
}
