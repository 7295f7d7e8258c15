/**
 * The latency a model-call wrapper adds per call (hold before, capture after), against a local fake
 * provider and a Bursar server on the same machine, with the unwrapped call as the ceiling.
 */
import OpenAI from 'openai';
import { startBursar, testModel } from '../packages/model-calls/test/bursar-setup.ts';
import { scenario, startFakeProvider } from '../packages/model-calls/test/fake-provider.ts';
import { withBursar } from '../packages/openai/src/index.ts';

const callsPerVariant = Number(process.env.BURSAR_BENCH_WRAPPER_CALLS ?? '200');

function percentileMs(samples: number[], fraction: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const value = sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? 0;
  return Math.round(value * 1000) / 1000;
}

async function time(calls: number, run: () => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  for (let index = 0; index < calls; index++) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  return samples;
}

/** One record per mode (a single answer, a 20-chunk stream): p50/p99 added, wrapped and unwrapped. */
export async function benchWrappers(emit: (record: object) => void): Promise<void> {
  const fixture = await startBursar();
  const fake = await startFakeProvider();
  try {
    await fixture.fund('bench_org', '1000000000000');
    const plain = new OpenAI({ apiKey: 'sk-bench', baseURL: `${fake.url}/v1`, maxRetries: 0 });
    const wrapped = withBursar(plain, { bursar: fixture.bursar, customer: 'bench_org', feature: 'chat' });
    const messages = [{ role: 'user' as const, content: scenario({ reply: 20 }) }];
    const modes = {
      answer: async (client: typeof plain | typeof wrapped) => {
        await client.chat.completions.create({ model: testModel, messages, max_tokens: 64 });
      },
      stream: async (client: typeof plain | typeof wrapped) => {
        const stream = await client.chat.completions.create({
          model: testModel,
          messages,
          max_tokens: 64,
          stream: true,
        });
        for await (const _chunk of stream);
      },
    };
    for (const [mode, run] of Object.entries(modes)) {
      await time(20, () => run(plain)); // warm-up: connections, JIT
      await time(20, () => run(wrapped));
      const unwrapped = await time(callsPerVariant, () => run(plain));
      const metered = await time(callsPerVariant, () => run(wrapped));
      emit({
        name: 'wrappers.openai.added_latency',
        backend: 'sqlite',
        mode,
        calls: callsPerVariant,
        p50_ms: toMicrosecondsPrecision(percentileMs(metered, 0.5) - percentileMs(unwrapped, 0.5)),
        p99_ms: toMicrosecondsPrecision(percentileMs(metered, 0.99) - percentileMs(unwrapped, 0.99)),
        wrapped_p50_ms: percentileMs(metered, 0.5),
        wrapped_p99_ms: percentileMs(metered, 0.99),
        ceiling_unwrapped_p50_ms: percentileMs(unwrapped, 0.5),
        ceiling_unwrapped_p99_ms: percentileMs(unwrapped, 0.99),
      });
    }
  } finally {
    await fake.close();
    await fixture.server.close();
  }
}

/** Milliseconds rounded to the microsecond, as the other records print them. */
function toMicrosecondsPrecision(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
