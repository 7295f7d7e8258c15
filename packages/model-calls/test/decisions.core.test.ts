/** The pure decisions of a model call on their own: the hold's estimate and its cap, extensions, and settlement by policy. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { countPromptTokens, countTokens, decideExtension, decideHoldAmount, decideSettlement } from '../src/index.ts';

const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`model-calls decisions seed=${seed} (replay with FC_SEED=${seed})`);

test('the token count errs high: one token per three UTF-8 bytes, rounded up', () => {
  assert.equal(countTokens(''), 0);
  assert.equal(countTokens('ab'), 1);
  assert.equal(countTokens('abcd'), 2);
  assert.equal(countTokens('日本'), 2);
  assert.equal(
    countPromptTokens([{ role: 'user', content: 'hi' }]),
    Math.ceil('[{"role":"user","content":"hi"}]'.length / 3),
  );
});

test('the hold covers max_tokens for every choice, or the default budget', () => {
  assert.deepEqual(
    decideHoldAmount({ promptTokens: 10, maxOutputTokens: 100, defaultOutputTokens: 1024, choices: 2 }),
    {
      kind: 'hold',
      estimate: { inputTokens: 10, outputTokens: 200 },
      capped: false,
    },
  );
  assert.deepEqual(decideHoldAmount({ promptTokens: 10, maxOutputTokens: undefined, defaultOutputTokens: 64 }), {
    kind: 'hold',
    estimate: { inputTokens: 10, outputTokens: 64 },
    capped: false,
  });
});

test('a cap buys the output the balance leaves after the input, never more than asked', () => {
  // 10 input tokens at 2 = 20; 100 output tokens at 8 = 800; 420 available leave 400: 50 output tokens.
  const affordability = {
    available: '420',
    exact: '820',
    lines: [
      { quantity: 'input_tokens', cost: '20' },
      { quantity: 'output_tokens', cost: '800' },
    ],
    minimumOutputTokens: 1,
  };
  const request = { promptTokens: 10, maxOutputTokens: 100, defaultOutputTokens: 1024 };
  assert.deepEqual(decideHoldAmount({ ...request, affordability }), {
    kind: 'hold',
    estimate: { inputTokens: 10, outputTokens: 50 },
    capped: true,
  });
  assert.deepEqual(decideHoldAmount({ ...request, affordability: { ...affordability, available: '20' } }), {
    kind: 'refuse',
  });
  assert.deepEqual(decideHoldAmount({ ...request, affordability: { ...affordability, minimumOutputTokens: 51 } }), {
    kind: 'refuse',
  });
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 10_000 }),
      fc.integer({ min: 1, max: 5000 }),
      (available, maxOutputTokens) => {
        const decision = decideHoldAmount({
          promptTokens: 10,
          maxOutputTokens,
          defaultOutputTokens: 1,
          affordability: {
            available: String(available),
            exact: String(20 + 8 * maxOutputTokens),
            lines: [
              { quantity: 'input_tokens', cost: '20' },
              { quantity: 'output_tokens', cost: String(8 * maxOutputTokens) },
            ],
            minimumOutputTokens: 1,
          },
        });
        if (decision.kind === 'refuse') return available < 28;
        const cost = 20 + 8 * decision.estimate.outputTokens;
        return (
          cost <= available &&
          decision.estimate.outputTokens <= maxOutputTokens &&
          (decision.estimate.outputTokens === maxOutputTokens || cost + 8 > available)
        );
      },
    ),
    { seed },
  );
});

test('an extension comes only once the count passes what is covered, and covers it again', () => {
  assert.equal(
    decideExtension({ outputTokensCounted: 10, outputTokensCovered: 10, stepTokens: 10, stepAmount: '5' }),
    null,
  );
  assert.deepEqual(
    decideExtension({ outputTokensCounted: 11, outputTokensCovered: 10, stepTokens: 10, stepAmount: '5.5' }),
    {
      amount: '5.5',
      outputTokensCovered: 20,
    },
  );
  assert.deepEqual(
    decideExtension({ outputTokensCounted: 35, outputTokensCovered: 10, stepTokens: 10, stepAmount: '2' }),
    {
      amount: '6',
      outputTokensCovered: 40,
    },
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1e6 }),
      fc.integer({ min: 0, max: 1e6 }),
      fc.integer({ min: 1, max: 1e4 }),
      (counted, covered, step) => {
        const decision = decideExtension({
          outputTokensCounted: counted,
          outputTokensCovered: covered,
          stepTokens: step,
          stepAmount: '3',
        });
        if (counted <= covered) return decision === null;
        return (
          decision !== null && decision.outputTokensCovered >= counted && decision.outputTokensCovered - step < counted
        );
      },
    ),
    { seed },
  );
});

test('settlement: the usage when sent, a release before any output, else the policy, never free by default', () => {
  const estimate = { inputTokens: 40, outputTokens: 100 };
  const usage = { inputTokens: 12, outputTokens: 7 };
  assert.deepEqual(
    decideSettlement({ ending: 'aborted', usage, outputTokensCounted: 3, estimate, policy: 'release' }),
    {
      kind: 'capture',
      basis: 'usage',
      usage,
    },
  );
  assert.deepEqual(
    decideSettlement({ ending: 'failed', usage: undefined, outputTokensCounted: 0, estimate, policy: 'estimate' }),
    {
      kind: 'release',
      basis: 'no_output',
    },
  );
  assert.deepEqual(
    decideSettlement({ ending: 'aborted', usage: undefined, outputTokensCounted: 9, estimate, policy: 'counted' }),
    {
      kind: 'capture',
      basis: 'counted',
      usage: { inputTokens: 40, outputTokens: 9 },
    },
  );
  assert.deepEqual(
    decideSettlement({ ending: 'completed', usage: undefined, outputTokensCounted: 130, estimate, policy: 'estimate' }),
    {
      kind: 'capture',
      basis: 'estimate',
      usage: { inputTokens: 40, outputTokens: 130 },
    },
  );
  assert.deepEqual(
    decideSettlement({
      ending: 'aborted',
      usage: undefined,
      inputUsage: { inputTokens: 12, cachedInputTokens: 30 },
      outputTokensCounted: 9,
      estimate,
      policy: 'counted',
    }),
    { kind: 'capture', basis: 'counted', usage: { inputTokens: 12, cachedInputTokens: 30, outputTokens: 9 } },
  );
  assert.deepEqual(
    decideSettlement({ ending: 'completed', usage: undefined, outputTokensCounted: 5, estimate, policy: 'release' }),
    {
      kind: 'release',
      basis: 'policy',
    },
  );
  fc.assert(
    fc.property(
      fc.constantFrom('completed' as const, 'failed' as const, 'aborted' as const),
      fc.constantFrom('counted' as const, 'estimate' as const),
      fc.integer({ min: 1, max: 1e6 }),
      (ending, policy, counted) => {
        const decision = decideSettlement({ ending, usage: undefined, outputTokensCounted: counted, estimate, policy });
        return (
          decision.kind === 'capture' && decision.usage.outputTokens >= counted && decision.usage.inputTokens === 40
        );
      },
    ),
    { seed },
  );
});
