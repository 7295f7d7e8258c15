/**
 * The server's logger: pino, writing JSON lines with `level` (by name), `time` (ISO 8601) and
 * `msg`, with every secret redacted wherever it sits. Code logs through the small `Logger` port
 * below, message first, so no module depends on pino's call shape.
 */
import pino from 'pino';

export const logLevels = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/** Fields of a line. Never put a request body here; secrets are redacted by name, as a second guard. */
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Whether lines at `level` are written; lets a caller skip building fields nobody will read. */
  isEnabled(level: Exclude<LogLevel, 'silent'>): boolean;
  /** A logger whose every line carries `bindings` (a request id, say). */
  child(bindings: LogFields): Logger;
  /** Writes whatever is buffered now; call before the process exits. */
  flush(): void;
}

export interface LogStream {
  write(text: string): unknown;
}

/** Wherever these names appear (at the top of a line or one level down), the value is replaced. */
const secretNames = ['authorization', 'secret', 'api_key', 'apiKey', 'key', 'token', 'password', 'signing_secret'];
const redactedPaths = [...secretNames, ...secretNames.map((name) => `*.${name}`)];

function toLogger(base: pino.Logger): Logger {
  return {
    debug: (msg, fields) => base.debug(fields ?? {}, msg),
    info: (msg, fields) => base.info(fields ?? {}, msg),
    warn: (msg, fields) => base.warn(fields ?? {}, msg),
    // Written at once: the process may be about to die.
    error: (msg, fields) => {
      base.error(fields ?? {}, msg);
      base.flush();
    },
    isEnabled: (level) => base.isLevelEnabled(level),
    child: (bindings) => toLogger(base.child(bindings)),
    flush: () => base.flush(),
  };
}

/**
 * `stream` defaults to stdout, written asynchronously (lines logged while a write is in flight go
 * out together in the next); errors are flushed at once, since the process may be about to die.
 */
export function createLogger(options: { level: LogLevel; stream?: LogStream }): Logger {
  const destination = options.stream ?? pino.destination({ dest: 1, sync: false });
  const base = pino(
    {
      level: options.level,
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactedPaths, censor: '[redacted]' },
    },
    destination as pino.DestinationStream,
  );
  return toLogger(base);
}
