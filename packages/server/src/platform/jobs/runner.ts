/**
 * The one runner of the server's background jobs. Each job runs on its own timer and by hand
 * (`runNow`); a run never starts while the same job's previous run is still going (a timer run is
 * skipped, a run by hand waits its turn); after a failed run the next timer run waits out a
 * growing delay, and the failure is logged to `job_failures`; `stop` starts nothing more and waits
 * for the runs in flight and the work they handed off. Several processes sharing a database each
 * run every job: the rows a run works on are claimed under a lease (claims.ts), so they share it.
 */
import { decideRetryDelayMs, runRetryDelaysMs } from './backoff.ts';

/** Where the runner gets its timers: the system's, or a test clock's. */
export interface JobTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Timers that never keep the process alive on their own (the HTTP server does). */
const systemTimers: JobTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** What a run is handed. */
export interface JobRun {
  /** Work this run started that outlives it (sends under a lease): `stop` waits for it too. */
  handOff(work: Promise<unknown>): void;
}

export interface JobDefinition<T> {
  /** Also the `kind` of its rows in `job_failures`. */
  readonly name: string;
  readonly intervalMs: number;
  /** Runs once as soon as the job is added (catching up after downtime), not only after the first interval. */
  readonly runAtStart: boolean;
  run(run: JobRun): Promise<T>;
}

export interface Job<T> {
  /** Runs the job now, after its run in progress if there is one; resolves or rejects with this run. */
  runNow(): Promise<T>;
  /** Runs `work` in the job's place (a part of it, or it with other arguments), under the same guard. */
  runWith<R>(work: (run: JobRun) => Promise<R>): Promise<R>;
}

/** Where failed runs are recorded (job_failures, through failures.ts) and cleared once one succeeds. */
export interface RunFailureLog {
  record(job: string, error: unknown, retryDelaysMs: readonly number[]): Promise<unknown>;
  clear(job: string): Promise<unknown>;
}

export interface JobRunnerOptions {
  readonly timers?: JobTimers;
  /** Delays after 1, 2, … failed runs in a row (never shorter than the job's interval). */
  readonly retryDelaysMs?: readonly number[];
  readonly failureLog?: RunFailureLog;
  /** A run failed (`retryInMs` until the next timer run), or work it handed off did, or the failure log. */
  readonly onError?: (message: string, fields: { job: string; error: string; retry_in_ms?: number }) => void;
  /** The clock the times in `describe()` are read from (default: the system's). */
  readonly now?: () => number;
}

/** What one job did last and will do next, in this process, as listJobs shows it. */
export interface JobDescription {
  readonly name: string;
  readonly intervalMs: number;
  readonly lastStartedAt: number | null;
  readonly lastFinishedAt: number | null;
  /** The last run's error; null once a run succeeds. */
  readonly lastError: string | null;
  /** When the timer runs it next; null while a run is going or after stop. */
  readonly nextRunAt: number | null;
}

export class JobRunnerStopped extends Error {
  constructor(job: string) {
    super(`job runner stopped: ${job} does not run`);
    this.name = 'JobRunnerStopped';
  }
}

interface JobState {
  readonly definition: JobDefinition<unknown>;
  /** Settles when the last run queued so far has settled. */
  tail: Promise<void>;
  /** Runs queued or in progress. */
  queued: number;
  /** Failed runs in a row. */
  failures: number;
  timer: unknown;
  lastStartedAt: number | null;
  lastFinishedAt: number | null;
  lastError: string | null;
  nextRunAt: number | null;
}

const noop = () => undefined;

export class JobRunner {
  readonly #timers: JobTimers;
  readonly #retryDelaysMs: readonly number[];
  readonly #options: JobRunnerOptions;
  readonly #now: () => number;
  readonly #jobs = new Map<string, JobState>();
  readonly #handedOff = new Set<Promise<unknown>>();
  #stopped = false;

  constructor(options: JobRunnerOptions = {}) {
    this.#timers = options.timers ?? systemTimers;
    this.#retryDelaysMs = options.retryDelaysMs ?? runRetryDelaysMs;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Every job added, in the order added, with its last run and its next. */
  describe(): JobDescription[] {
    return [...this.#jobs.values()].map((state) => ({
      name: state.definition.name,
      intervalMs: state.definition.intervalMs,
      lastStartedAt: state.lastStartedAt,
      lastFinishedAt: state.lastFinishedAt,
      lastError: state.lastError,
      nextRunAt: state.timer === null ? null : state.nextRunAt,
    }));
  }

  /** Adds a job and starts its timer (running it at once when it runs at start). */
  add<T>(definition: JobDefinition<T>): Job<T> {
    if (this.#stopped) throw new JobRunnerStopped(definition.name);
    if (this.#jobs.has(definition.name)) throw new Error(`assertion failed: one job named ${definition.name}`);
    const state: JobState = {
      definition,
      tail: Promise.resolve(),
      queued: 0,
      failures: 0,
      timer: null,
      lastStartedAt: null,
      lastFinishedAt: null,
      lastError: null,
      nextRunAt: null,
    };
    this.#jobs.set(definition.name, state);
    if (definition.runAtStart) this.#runOnTimer(state);
    else this.#arm(state, definition.intervalMs);
    return {
      runNow: () => this.#enqueue(state, (run) => definition.run(run)),
      runWith: (work) => this.#enqueue(state, work),
    };
  }

  /**
   * Starts no more runs and waits for those in flight and the work they handed off; false when
   * `timeoutMs` passed first (the caller then closes what they use under them).
   */
  async stop(timeoutMs: number): Promise<boolean> {
    this.#stopped = true;
    for (const state of this.#jobs.values()) {
      if (state.timer !== null) this.#timers.clearTimeout(state.timer);
      state.timer = null;
    }
    let timer: unknown = null;
    const timedOut = new Promise<false>((resolve) => {
      timer = this.#timers.setTimeout(() => resolve(false), timeoutMs);
    });
    const finished = await Promise.race([this.#idle().then(() => true as const), timedOut]);
    this.#timers.clearTimeout(timer);
    return finished;
  }

  /** Settles once nothing runs and nothing handed off is left, however much runs add meanwhile. */
  async #idle(): Promise<void> {
    for (;;) {
      const states = [...this.#jobs.values()];
      if (states.every((state) => state.queued === 0) && this.#handedOff.size === 0) return;
      await Promise.all([...states.map((state) => state.tail), ...this.#handedOff]);
    }
  }

  #enqueue<R>(state: JobState, work: (run: JobRun) => Promise<R>): Promise<R> {
    if (this.#stopped) return Promise.reject(new JobRunnerStopped(state.definition.name));
    state.queued += 1;
    const result = state.tail.then(() => this.#execute(state, work));
    state.tail = result.then(noop, noop).then(() => {
      state.queued -= 1;
    });
    return result;
  }

  async #execute<R>(state: JobState, work: (run: JobRun) => Promise<R>): Promise<R> {
    const job = state.definition.name;
    const run: JobRun = { handOff: (handed) => this.#track(job, handed, 'job work failed') };
    state.lastStartedAt = this.#now();
    try {
      const value = await work(run);
      state.lastFinishedAt = this.#now();
      state.lastError = null;
      if (state.failures > 0) {
        state.failures = 0;
        const log = this.#options.failureLog;
        if (log !== undefined) this.#track(job, log.clear(job), 'job failure log failed');
      }
      return value;
    } catch (error) {
      state.lastFinishedAt = this.#now();
      state.lastError = error instanceof Error ? error.message : String(error);
      state.failures += 1;
      this.#options.onError?.('job run failed', { job, error: String(error), retry_in_ms: this.#nextDelay(state) });
      const log = this.#options.failureLog;
      if (log !== undefined) this.#track(job, log.record(job, error, this.#retryDelaysMs), 'job failure log failed');
      throw error;
    }
  }

  #track(job: string, work: Promise<unknown>, message: string): void {
    const tracked = work.then(noop, (error: unknown) =>
      this.#options.onError?.(message, { job, error: String(error) }),
    );
    this.#handedOff.add(tracked);
    void tracked.finally(() => this.#handedOff.delete(tracked));
  }

  /** The overlap guard: a timer run while a run is queued or going is skipped, and the timer re-armed. */
  #runOnTimer(state: JobState): void {
    state.timer = null;
    if (this.#stopped) return;
    if (state.queued > 0) {
      this.#arm(state, state.definition.intervalMs);
      return;
    }
    void this.#enqueue(state, (run) => state.definition.run(run))
      .then(noop, noop)
      .then(() => this.#arm(state, this.#nextDelay(state)));
  }

  #arm(state: JobState, ms: number): void {
    if (this.#stopped) return;
    state.nextRunAt = this.#now() + ms;
    state.timer = this.#timers.setTimeout(() => this.#runOnTimer(state), ms);
  }

  #nextDelay(state: JobState): number {
    const { intervalMs } = state.definition;
    if (state.failures === 0) return intervalMs;
    return Math.max(intervalMs, decideRetryDelayMs(state.failures, this.#retryDelaysMs));
  }
}
