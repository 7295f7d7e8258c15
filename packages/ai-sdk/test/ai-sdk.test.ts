/** bursarMiddleware in the real `ai` package's wrapLanguageModel over `@ai-sdk/openai`, pointed at a local fake provider, against a real Bursar server. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import type { Settlement } from '@bursar/model-calls';
import { InsufficientCreditError, providerUserId } from '@bursar/model-calls';
import { generateText, streamText, wrapLanguageModel } from 'ai';
import type { BursarFixture } from '../../model-calls/test/bursar-setup.ts';
import { startBursar, testModel } from '../../model-calls/test/bursar-setup.ts';
import type { FakeProvider, Scenario } from '../../model-calls/test/fake-provider.ts';
import { promptTokensReported, scenario, startFakeProvider } from '../../model-calls/test/fake-provider.ts';
import { bursarMiddleware } from '../src/index.ts';

let fixture: BursarFixture;
let fake: FakeProvider;
let provider: ReturnType<typeof createOpenAI>;
const settlements: Settlement[] = [];

before(async () => {
  fixture = await startBursar();
  fake = await startFakeProvider();
  provider = createOpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1` });
});
after(async () => {
  await fake.close();
  await fixture.server.close();
});

function model(
  customer: string,
  api: 'chat' | 'responses',
  extra: Partial<Parameters<typeof bursarMiddleware>[0]> = {},
) {
  return wrapLanguageModel({
    model: api === 'chat' ? provider.chat(testModel) : provider.responses(testModel),
    middleware: bursarMiddleware({
      bursar: fixture.bursar,
      customer,
      feature: 'chat',
      onSettled: (settlement) => settlements.push(settlement),
      ...extra,
    }),
  });
}

const prompt = (s: Scenario) => scenario(s);
const last = () => settlements[settlements.length - 1];
const usageCost = (output: number) =>
  fixture.cost({ model: testModel, input_tokens: promptTokensReported, output_tokens: output });

test('generateText within its estimate captures the usage, with per-call overrides removed', async () => {
  await fixture.fund('ai_within', '100000');
  await fixture.fund('ai_override', '100000');
  const result = await generateText({
    model: model('ai_within', 'chat'),
    prompt: prompt({ reply: 5 }),
    maxOutputTokens: 50,
    maxRetries: 0,
    providerOptions: { bursar: { customer: 'ai_override', session: 's_1', endUser: 'carol' } },
  });
  assert.equal(result.text, 'ababababab');
  const expected = await usageCost(5);
  assert.equal(last()?.basis, 'usage');
  assert.equal(last()?.captured, expected);
  assert.equal(await fixture.available('ai_override'), String(100000 - Number(expected)));
  assert.equal(await fixture.available('ai_within'), '100000');
  const sent = fake.requests[fake.requests.length - 1]?.body;
  assert.equal(JSON.stringify(sent).includes('bursar'), false);
  assert.equal(sent?.user, await providerUserId('carol'));
  const events = await fixture.bursar.listEvents({ customer: 'ai_override' });
  assert.equal(events.data[0]?.properties.user, 'carol');
  assert.equal(events.data[0]?.properties.session, 's_1');
});

test('streamText past its estimate is extended and captured exactly (Responses API)', async () => {
  await fixture.fund('ai_long', '100000');
  const result = streamText({
    model: model('ai_long', 'responses', { defaultOutputTokens: 5 }),
    prompt: prompt({ reply: 25 }),
    maxRetries: 0,
  });
  let text = '';
  for await (const delta of result.textStream) text += delta;
  assert.equal(text, 'ab'.repeat(25));
  await result.consumeStream();
  const transactions = await fixture.bursar.listTransactions({ customer: 'ai_long', asset: 'credits' });
  assert.ok(
    transactions.data.some((transaction) => transaction.kind === 'extend'),
    'the hold was extended',
  );
  const expected = await usageCost(25);
  assert.equal(last()?.captured, expected);
  assert.equal(await fixture.available('ai_long'), String(100000 - Number(expected)));
});

test('a provider error releases the hold', async () => {
  await fixture.fund('ai_error', '100000');
  await assert.rejects(
    generateText({ model: model('ai_error', 'chat'), prompt: prompt({ status: 400 }), maxRetries: 0 }),
  );
  assert.equal(last()?.basis, 'no_output');
  assert.equal(await fixture.available('ai_error'), '100000');
});

test('an abort mid-stream settles the tokens counted so far', async () => {
  await fixture.fund('ai_abort', '100000');
  const controller = new AbortController();
  const result = streamText({
    model: model('ai_abort', 'chat'),
    prompt: prompt({ reply: 5, hang: true }),
    abortSignal: controller.signal,
    maxRetries: 0,
  });
  let deltas = 0;
  try {
    for await (const _delta of result.textStream) if (++deltas === 5) controller.abort();
  } catch {
    // the AI SDK may end an aborted stream with an AbortError
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(last()?.basis, 'counted');
  const hold = await fixture.bursar.getHold({ id: last()?.holdId ?? '' });
  assert.equal(hold.status, 'captured');
  assert.ok(Number(hold.captured) > 0);
});

test('a stream without usage is settled by the policy', async () => {
  await fixture.fund('ai_nousage', '100000');
  const result = streamText({
    model: model('ai_nousage', 'chat'),
    prompt: prompt({ reply: 3, usage: false }),
    maxRetries: 0,
  });
  await result.consumeStream();
  await result.text;
  assert.equal(last()?.basis, 'counted');
  assert.ok(Number(last()?.captured) > 0);
});

test('a customer who cannot afford the call is refused and the provider gets no request', async () => {
  await fixture.fund('ai_poor', '10');
  const before = fake.requests.length;
  const refusal = await generateText({
    model: model('ai_poor', 'chat'),
    prompt: prompt({ reply: 1 }),
    maxOutputTokens: 100,
    maxRetries: 0,
  }).then(
    () => assert.fail('should be refused'),
    (error: unknown) => error,
  );
  assert.ok(refusal instanceof InsufficientCreditError, String(refusal));
  assert.equal(fake.requests.length, before);
});

test('50 concurrent streams for one customer never overspend and leave no hold open', async () => {
  const start = 2500;
  await fixture.fund('ai_busy', String(start));
  const mine: Settlement[] = [];
  const busy = wrapLanguageModel({
    model: provider.chat(testModel),
    middleware: bursarMiddleware({
      bursar: fixture.bursar,
      customer: 'ai_busy',
      feature: 'chat',
      defaultOutputTokens: 8,
      onSettled: (settlement) => mine.push(settlement),
    }),
  });
  // streamText hands a refusal to onError (and ends the stream) rather than rejecting.
  const refused: unknown[] = [];
  await Promise.all(
    Array.from({ length: 50 }, async (_, index) => {
      const result = streamText({
        model: busy,
        prompt: prompt({ reply: 5 + (index % 4) * 10 }),
        maxRetries: 0,
        onError: ({ error }) => {
          refused.push(error);
        },
      });
      await result.consumeStream();
    }),
  );
  for (const error of refused) assert.ok(error instanceof InsufficientCreditError, String(error));
  assert.ok(refused.length > 0 && refused.length < 50, `some calls ran, some were refused (${refused.length})`);
  assert.equal(mine.length, 50 - refused.length);
  let captured = 0;
  for (const settlement of mine) {
    const hold = await fixture.bursar.getHold({ id: settlement.holdId });
    assert.notEqual(hold.status, 'open');
    captured += Number(hold.captured);
  }
  const available = Number(await fixture.available('ai_busy'));
  assert.ok(available >= 0, 'never overspent');
  assert.equal(available, start - captured);
});
