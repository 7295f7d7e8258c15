/**
 * The job runner's guarantees on a test clock: a run never overlaps the same job's previous run,
 * failed runs back off and are logged, and a stop waits for runs in flight and their handed-off work.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobTimers, RunFailureLog } from '../runner.ts';
import { JobRunner, JobRunnerStopped } from '../runner.ts';

/** Timers that fire only when the test advances its clock, in due order. */
class TestTimers implements JobTimers {
  now = 0;
  #nextHandle = 1;
  readonly #pending = new Map<number, { at: number; callback: () => void }>();

  setTimeout(callback: () => void, ms: number): unknown {
    const handle = this.#nextHandle++;
    this.#pending.set(handle, { at: this.now + ms, callback });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  /** Moves the clock forward, firing each timer due on the way and letting what it starts settle. */
  async advance(ms: number): Promise<void> {
    const until = this.now + ms;
    for (;;) {
      await settle();
      const due = [...this.#pending.entries()]
        .filter(([, timer]) => timer.at <= until)
        .sort(([a, left], [b, right]) => left.at - right.at || a - b)[0];
      if (due === undefined) break;
      this.#pending.delete(due[0]);
      this.now = due[1].at;
      due[1].callback();
    }
    this.now = until;
    await settle();
  }
}

/** Lets promise callbacks run (a turn of the event loop). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A promise the test resolves or rejects when it chooses. */
function gate<T = undefined>() {
  let open!: (value: T) => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<T>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

describe('overlap guard', () => {
  it('a timer run is skipped while the previous run is going, and the next one comes an interval after it ends', async () => {
    const timers = new TestTimers();
    const runner = new JobRunner({ timers });
    const gates: ReturnType<typeof gate<undefined>>[] = [];
    const startedAt: number[] = [];
    runner.add({
      name: 'slow',
      intervalMs: 100,
      runAtStart: false,
      run: () => {
        startedAt.push(timers.now);
        const next = gate<undefined>();
        gates.push(next);
        return next.promise;
      },
    });
    await timers.advance(99);
    assert.deepEqual(startedAt, [], 'not before its interval');
    await timers.advance(1);
    assert.deepEqual(startedAt, [100]);
    await timers.advance(1000);
    assert.deepEqual(startedAt, [100], 'no second run while the first is going');
    timers.now = 1100;
    gates[0]?.open(undefined);
    await timers.advance(99);
    assert.deepEqual(startedAt, [100]);
    await timers.advance(1);
    assert.deepEqual(startedAt, [100, 1200], 'an interval after the first run ended');
    gates[1]?.open(undefined);
    assert.equal(await runner.stop(0), true);
  });

  it('a run by hand waits for the run in progress, then runs itself', async () => {
    const timers = new TestTimers();
    const runner = new JobRunner({ timers });
    let running = 0;
    let overlapped = false;
    const gates: ReturnType<typeof gate<number>>[] = [];
    const job = runner.add({
      name: 'by-hand',
      intervalMs: 60_000,
      runAtStart: true,
      run: () => {
        running += 1;
        if (running > 1) overlapped = true;
        const next = gate<number>();
        gates.push(next);
        return next.promise.finally(() => {
          running -= 1;
        });
      },
    });
    await settle();
    assert.equal(gates.length, 1, 'ran at start');
    const byHand = job.runNow();
    const other = job.runWith(async () => 'part of it');
    await settle();
    assert.equal(gates.length, 1, 'the run by hand has not started');
    gates[0]?.open(1);
    await settle();
    assert.equal(gates.length, 2, 'it starts once the first has ended');
    gates[1]?.open(2);
    assert.equal(await byHand, 2, 'it resolves with its own run');
    assert.equal(await other, 'part of it');
    assert.equal(overlapped, false);
    assert.equal(await runner.stop(0), true);
  });
});

describe('backoff', () => {
  it('after failed runs the next timer run waits the retry delay; a success clears it', async () => {
    const timers = new TestTimers();
    const logged: string[] = [];
    const failureLog: RunFailureLog = {
      record: async (job, error) => logged.push(`record ${job}: ${(error as Error).message}`),
      clear: async (job) => logged.push(`clear ${job}`),
    };
    const errors: { job: string; retry_in_ms?: number }[] = [];
    const runner = new JobRunner({
      timers,
      retryDelaysMs: [1000, 5000],
      failureLog,
      onError: (_message, fields) => errors.push(fields),
    });
    const outcomes = ['fail', 'fail', 'fail', 'ok', 'ok'];
    const startedAt: number[] = [];
    runner.add({
      name: 'flaky',
      intervalMs: 100,
      runAtStart: true,
      run: async () => {
        startedAt.push(timers.now);
        if (outcomes.shift() === 'fail') throw new Error('database unreachable');
      },
    });
    await timers.advance(999);
    assert.deepEqual(startedAt, [0], 'no retry before the first delay');
    await timers.advance(1);
    assert.deepEqual(startedAt, [0, 1000]);
    await timers.advance(4999);
    assert.deepEqual(startedAt, [0, 1000], 'the second delay is longer');
    await timers.advance(1);
    assert.deepEqual(startedAt, [0, 1000, 6000]);
    await timers.advance(5000);
    assert.deepEqual(startedAt, [0, 1000, 6000, 11000], 'the last delay repeats');
    await timers.advance(100);
    assert.deepEqual(startedAt, [0, 1000, 6000, 11000, 11100], 'after a success, the interval again');
    assert.deepEqual(
      errors.map((error) => [error.job, error.retry_in_ms]),
      [
        ['flaky', 1000],
        ['flaky', 5000],
        ['flaky', 5000],
      ],
    );
    assert.deepEqual(logged, [
      'record flaky: database unreachable',
      'record flaky: database unreachable',
      'record flaky: database unreachable',
      'clear flaky',
    ]);
    assert.equal(await runner.stop(0), true);
  });

  it('a failed run by hand rejects for its caller and counts toward the backoff', async () => {
    const timers = new TestTimers();
    const runner = new JobRunner({ timers, retryDelaysMs: [10_000] });
    let runs = 0;
    const job = runner.add({
      name: 'by-hand-fails',
      intervalMs: 100,
      runAtStart: false,
      run: async () => {
        runs += 1;
        throw new Error('nope');
      },
    });
    await assert.rejects(job.runNow(), /nope/);
    await timers.advance(100);
    assert.equal(runs, 2, 'the timer run was armed before the failure');
    await timers.advance(9_999);
    assert.equal(runs, 2, 'then it backs off');
    await timers.advance(1);
    assert.equal(runs, 3);
    assert.equal(await runner.stop(0), true);
  });
});

describe('stop', () => {
  it('waits for the run in flight and the work it handed off, then starts nothing more', async () => {
    const timers = new TestTimers();
    const runner = new JobRunner({ timers });
    const run = gate();
    const handed = gate();
    let runs = 0;
    const job = runner.add({
      name: 'sender',
      intervalMs: 100,
      runAtStart: true,
      run: async (context) => {
        runs += 1;
        context.handOff(handed.promise);
        await run.promise;
      },
    });
    await settle();
    let stopped: boolean | null = null;
    void runner.stop(10_000).then((finished) => {
      stopped = finished;
    });
    await timers.advance(1000);
    assert.equal(stopped, null, 'the run is still going');
    run.open(undefined);
    await timers.advance(1000);
    assert.equal(stopped, null, 'the work it handed off is still going');
    handed.open(undefined);
    await settle();
    assert.equal(stopped, true);
    await timers.advance(10_000);
    assert.equal(runs, 1, 'no timer run after the stop');
    await assert.rejects(job.runNow(), JobRunnerStopped);
  });

  it('gives up waiting after its timeout and says so', async () => {
    const timers = new TestTimers();
    const runner = new JobRunner({ timers });
    runner.add({ name: 'hung', intervalMs: 100, runAtStart: true, run: () => gate().promise });
    await settle();
    let stopped: boolean | null = null;
    void runner.stop(500).then((finished) => {
      stopped = finished;
    });
    await timers.advance(499);
    assert.equal(stopped, null);
    await timers.advance(1);
    assert.equal(stopped, false);
  });
});

describe('describe()', () => {
  it("tells each job's last start, finish and error and its next timer run, as listJobs shows them", async () => {
    const timers = new TestTimers();
    const runner = new JobRunner({ timers, retryDelaysMs: [5000], now: () => timers.now });
    let fail = true;
    runner.add({
      name: 'flaky',
      intervalMs: 1000,
      runAtStart: false,
      run: async () => {
        if (fail) throw new Error('database away');
      },
    });
    assert.deepEqual(runner.describe(), [
      {
        name: 'flaky',
        intervalMs: 1000,
        lastStartedAt: null,
        lastFinishedAt: null,
        lastError: null,
        nextRunAt: 1000,
      },
    ]);
    await timers.advance(1000);
    const failed = runner.describe()[0];
    assert.equal(failed?.lastStartedAt, 1000);
    assert.equal(failed?.lastError, 'database away');
    assert.equal(failed?.nextRunAt, 6000, 'the next run waits out the backoff');
    fail = false;
    await timers.advance(5000);
    const recovered = runner.describe()[0];
    assert.equal(recovered?.lastFinishedAt, 6000);
    assert.equal(recovered?.lastError, null);
    assert.equal(recovered?.nextRunAt, 7000);
    await runner.stop(1000);
    assert.equal(runner.describe()[0]?.nextRunAt, null, 'nothing runs after stop');
  });
});
