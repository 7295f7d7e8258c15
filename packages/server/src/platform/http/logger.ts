/**
 * A JSON-lines logger: one object per line with `level`, `time` and `msg`. Lines are gathered and
 * written once per turn of the event loop, so a busy server makes one write call per turn rather
 * than one per request; errors are written at once, since the process may be about to die.
 */

export const logLevels = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/** Fields of a line. Never put a secret (an Authorization header, an API key) or a request body here. */
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Whether lines at `level` are written; lets a caller skip building fields nobody will read. */
  isEnabled(level: Exclude<LogLevel, 'silent'>): boolean;
  /** Writes whatever is gathered now; call before the process exits. */
  flush(): void;
}

export interface LogStream {
  write(text: string): unknown;
}

const levelRanks: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Past this many gathered characters the logger writes without waiting for the turn to end. */
const pendingCharsMax = 64 * 1024;

/** Logging must never fail a request: bigints become strings, and anything else unwritable is named. */
function toJson(fields: LogFields): string {
  try {
    return JSON.stringify(fields);
  } catch {
    try {
      return JSON.stringify(fields, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
    } catch {
      return '{"log_fields":"not serialisable"}';
    }
  }
}

export function createLogger(options: { level: LogLevel; stream?: LogStream }): Logger {
  const stream = options.stream ?? process.stdout;
  const rankMin = levelRanks[options.level];
  let pending = '';
  let flushScheduled = false;
  // Formatting a date costs about as much as the rest of a line; lines in the same millisecond share it.
  let timeMs = 0;
  let timeText = '';

  function flush(): void {
    flushScheduled = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    stream.write(text);
  }

  function write(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    if (levelRanks[level] < rankMin) return;
    // Splicing the fields' JSON after the fixed members spares copying them into a new object.
    const now = Date.now();
    if (now !== timeMs) {
      timeMs = now;
      timeText = new Date(now).toISOString();
    }
    const head = `{"level":"${level}","time":"${timeText}","msg":${JSON.stringify(msg)}`;
    const rest = fields === undefined ? '}' : toJson(fields);
    pending += rest.length > 2 ? `${head},${rest.slice(1)}\n` : `${head}}\n`;
    if (level === 'error' || pending.length > pendingCharsMax) {
      flush();
    } else if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  }

  return {
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
    isEnabled: (level) => levelRanks[level] >= rankMin,
    flush,
  };
}
