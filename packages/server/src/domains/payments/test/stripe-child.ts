/**
 * A Bursar server for the Stripe crash test, run as a child process: `bursar serve` configured for
 * Stripe by the environment (the test's stand-in), with a short top-up lease so a restarted process
 * takes over a top-up its killed predecessor was charging.
 */
import { startServer } from '../../../app.ts';
import { parseConfig } from '../../../config.ts';

const parsed = parseConfig([]);
if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
await startServer(parsed.config, { topUpLeaseMs: 1000 });
