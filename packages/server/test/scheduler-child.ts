/**
 * `bursar serve` on a clock moved forward by BURSAR_TEST_CLOCK_OFFSET_MS, for the scheduler crash
 * test: restarted a month "later", the server has a month of renewals to catch up, and the test
 * kills it while it does. Spawned by child-server.ts.
 */
import { startServer } from '../src/app.ts';
import { parseConfig } from '../src/config.ts';

const offsetMs = Number(process.env.BURSAR_TEST_CLOCK_OFFSET_MS ?? '0');
const parsed = parseConfig([]);
if (!parsed.ok) throw new Error(parsed.problems.join('; '));
await startServer(parsed.config, { clock: { now: () => Date.now() + offsetMs } });
