/**
 * `bursar serve`, started at the wall-clock moment BURSAR_TEST_START_AT (epoch ms), so that
 * several child processes, whose loading takes uneven time, open the database together for the
 * bootstrap race test. Spawned by child-server.ts.
 */
const startAt = Number(process.env.BURSAR_TEST_START_AT ?? '0');
await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
await import('../src/cli.ts');
