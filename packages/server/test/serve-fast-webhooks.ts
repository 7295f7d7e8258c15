/**
 * `bursar serve` with the webhook dispatcher's schedule shrunk from minutes to a fraction of a
 * second (same configuration from the environment otherwise), so a test can kill and restart it
 * around pending retries and expiring leases in seconds. Spawned by child-server.ts.
 */
import { startServer } from '../src/app.ts';
import { parseConfig } from '../src/config.ts';

const parsed = parseConfig([]);
if (!parsed.ok) throw new Error(parsed.problems.join('; '));
await startServer(parsed.config, {
  webhookTiming: {
    retryDelaysMs: [200, 400, 800],
    deliveryWindowMs: 3 * 86_400_000,
    sendTimeoutMs: 1000,
    leaseMs: 1500,
  },
});
