/**
 * A Bursar server for the top-up crash test, run as a child process: `bursar serve` plus a payment
 * provider that forwards each charge to the test's fake provider over HTTP, with a short lease so
 * a restarted process takes over a top-up its killed predecessor was charging.
 */
import type { Decimal } from '@bursar/core';
import { startServer } from '../src/app.ts';
import { parseConfig } from '../src/config.ts';
import type { ChargeOutcome, PaymentProvider } from '../src/domains/top-ups/payment-provider.ts';

const providerUrl = process.env.BURSAR_TEST_PROVIDER_URL ?? '';
const parsed = parseConfig([]);
if (!parsed.ok) throw new Error(parsed.problems.join('\n'));

const provider: PaymentProvider = {
  async charge(charge) {
    const response = await fetch(providerUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...charge, amount: charge.amount.toString() }),
    });
    const answer = (await response.json()) as
      | { outcome: 'succeeded'; reference: string; cost: { currency: string; units: string; scale: number } | null }
      | { outcome: 'failed'; reason: string };
    if (answer.outcome === 'failed') return answer;
    const costBasis: { currency: string; total: Decimal } | null =
      answer.cost === null
        ? null
        : { currency: answer.cost.currency, total: { units: BigInt(answer.cost.units), scale: answer.cost.scale } };
    return { outcome: 'succeeded', reference: answer.reference, costBasis } satisfies ChargeOutcome;
  },
};

await startServer(parsed.config, { paymentProvider: provider, topUpLeaseMs: 1000 });
