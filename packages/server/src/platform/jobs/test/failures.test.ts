/**
 * A run that fails as a whole is recorded in `job_failures` with its job's backoff, shown by
 * `bursar jobs` (describeJobs), and cleared by the next run that succeeds, on both backends.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { TestServer } from '../../../../test/harness.ts';
import { startTestServer } from '../../../../test/harness.ts';
import { describeJobs } from '../../../scheduler.ts';
import { JobFailures } from '../failures.ts';
import { JobRunner } from '../runner.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

const runFailures = () =>
  server.server.database.reader.all("SELECT * FROM job_failures WHERE kind = 'flaky_job' AND target = 'run'");

it('a failed run is recorded with its attempts and retry time, listed, and cleared once a run succeeds', async () => {
  const runner = new JobRunner({
    retryDelaysMs: [7_000, 11_000],
    failureLog: new JobFailures(server.server.service.committer).runFailureLog(),
  });
  const outcomes = [new Error('database unreachable'), new Error('still unreachable'), null];
  const job = runner.add({
    name: 'flaky_job',
    intervalMs: 3_600_000,
    runAtStart: false,
    run: async () => {
      const outcome = outcomes.shift();
      if (outcome !== null) throw outcome;
    },
  });
  await assert.rejects(job.runNow(), /database unreachable/);
  await assert.rejects(job.runNow(), /still unreachable/);
  // The log is written after the run settles; a stop waits for it. Run by hand here, so wait by polling.
  for (let waited = 0; Number((await runFailures())[0]?.attempts ?? 0) < 2; waited += 1) {
    assert.ok(waited < 200, 'both failures are recorded');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const [row] = await runFailures();
  assert.equal(row?.environment_id, '');
  assert.equal(row?.last_error, 'still unreachable');
  assert.equal(Number(row?.retry_at), server.clock.now() + 11_000, 'the second delay');
  const listed = await describeJobs(server.server.database.reader, server.clock.now());
  assert.ok(
    listed.some((line) => line.kind === 'flaky_job' && line.failing === 'run' && line.attempts === 2),
    JSON.stringify(listed),
  );
  await job.runNow();
  assert.equal(await runner.stop(10_000), true, 'the stop waits for the log to be cleared');
  assert.deepEqual(await runFailures(), []);
});
