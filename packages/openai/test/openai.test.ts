/** withBursar over the real `openai` client, pointed at a local fake provider, against a real Bursar server. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Settlement } from '@bursar/model-calls';
import { InsufficientCreditError, providerUserId } from '@bursar/model-calls';
import { Bursar } from '@bursar/sdk';
import OpenAI from 'openai';
import type { BursarFixture } from '../../model-calls/test/bursar-setup.ts';
import { startBursar, testModel } from '../../model-calls/test/bursar-setup.ts';
import type { FakeProvider, Scenario } from '../../model-calls/test/fake-provider.ts';
import { promptTokensReported, scenario, startFakeProvider } from '../../model-calls/test/fake-provider.ts';
import { adminKey } from '../../server/test/harness.ts';
import { withBursar } from '../src/index.ts';

let fixture: BursarFixture;
let fake: FakeProvider;
let client: OpenAI;
const settlements: Settlement[] = [];

before(async () => {
  fixture = await startBursar();
  fake = await startFakeProvider();
  client = new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1`, maxRetries: 0 });
});
after(async () => {
  await fake.close();
  await fixture.server.close();
});

function wrap(customer: string, extra: Partial<Parameters<typeof withBursar>[1]> = {}) {
  return withBursar(client, {
    bursar: fixture.bursar,
    customer,
    feature: 'chat',
    onSettled: (settlement) => settlements.push(settlement),
    ...extra,
  });
}

const ask = (s: Scenario) => [{ role: 'user' as const, content: scenario(s) }];
const last = () => settlements[settlements.length - 1];
const usageCost = (input: number, output: number) =>
  fixture.cost({ model: testModel, input_tokens: input, output_tokens: output });

async function assertClosed(holdId: string, captured: string) {
  const hold = await fixture.bursar.getHold({ id: holdId });
  assert.notEqual(hold.status, 'open');
  assert.equal(hold.captured, captured);
}

test('a call within its estimate captures the usage the provider reported', async () => {
  await fixture.fund('org_within', '100000');
  const openai = wrap('org_within', { endUser: 'alice@example.com', session: 'task_1' });
  const completion = await openai.chat.completions.create({
    model: testModel,
    messages: ask({ reply: 5 }),
    max_tokens: 50,
  });
  assert.equal(completion.choices[0]?.message.content, 'ababababab');
  const expected = await usageCost(promptTokensReported, 5);
  assert.equal(last()?.basis, 'usage');
  assert.equal(last()?.captured, expected);
  assert.equal(await fixture.available('org_within'), String(100000 - Number(expected)));
  const sent = fake.requests[fake.requests.length - 1]?.body;
  assert.equal(sent?.user, await providerUserId('alice@example.com'));
  assert.equal(sent?.bursar, undefined);
  const events = await fixture.bursar.listEvents({ customer: 'org_within' });
  assert.equal(events.data[0]?.properties.user, 'alice@example.com');
  assert.equal(events.data[0]?.properties.session, 'task_1');
});

test('a stream past its estimate is extended and captured exactly, chunks arriving one by one', async () => {
  await fixture.fund('org_long', '100000');
  const openai = wrap('org_long', { defaultOutputTokens: 8 });
  const stream = await openai.chat.completions.create({ model: testModel, messages: ask({ reply: 40 }), stream: true });
  let chunks = 0;
  for await (const chunk of stream) if (chunk.choices[0]?.delta.content === 'ab') chunks++;
  assert.equal(chunks, 40);
  const sent = fake.requests[fake.requests.length - 1]?.body as { stream_options?: { include_usage?: boolean } };
  assert.equal(sent.stream_options?.include_usage, true);
  const settlement = last();
  assert.ok(settlement);
  const hold = await fixture.bursar.getHold({ id: settlement.holdId });
  const transactions = await fixture.bursar.listTransactions({ customer: 'org_long', asset: 'credits' });
  assert.ok(
    transactions.data.some((transaction) => transaction.kind === 'extend'),
    'the hold was extended',
  );
  const expected = await usageCost(promptTokensReported, 40);
  assert.equal(hold.captured, expected);
  assert.equal(await fixture.available('org_long'), String(100000 - Number(expected)));
});

test('a provider error releases the hold', async () => {
  await fixture.fund('org_error', '100000');
  const openai = wrap('org_error');
  await assert.rejects(
    openai.chat.completions.create({ model: testModel, messages: ask({ status: 400 }), stream: true }),
    OpenAI.BadRequestError,
  );
  assert.equal(last()?.basis, 'no_output');
  await assertClosed(last()?.holdId ?? '', '0');
  assert.equal(await fixture.available('org_error'), '100000');
});

test('a caller who stops reading mid-stream is charged the tokens counted so far', async () => {
  await fixture.fund('org_abort', '100000');
  const openai = wrap('org_abort');
  const stream = await openai.chat.completions.create({
    model: testModel,
    messages: ask({ reply: 6, hang: true }),
    stream: true,
  });
  let seen = 0;
  for await (const chunk of stream) {
    if (chunk.choices[0]?.delta.content === 'ab') seen++;
    if (seen === 6) break;
  }
  const settlement = last();
  assert.equal(settlement?.basis, 'counted');
  assert.ok(Number(settlement?.captured) >= Number(await usageCost(0, 6)), 'at least the output counted');
  await assertClosed(settlement?.holdId ?? '', settlement?.captured ?? '');
  assert.equal(await fixture.available('org_abort'), String(100000 - Number(settlement?.captured)));
});

test('an abort through the stream controller before any output releases the hold', async () => {
  await fixture.fund('org_abort_early', '100000');
  const openai = wrap('org_abort_early');
  const stream = await openai.chat.completions.create({
    model: testModel,
    messages: ask({ hang: true }),
    stream: true,
  });
  // The client ends an aborted stream without an error, or with its APIUserAbortError.
  try {
    for await (const _chunk of stream) stream.controller.abort();
  } catch (error) {
    assert.ok(error instanceof OpenAI.APIUserAbortError);
  }
  assert.equal(last()?.basis, 'no_output');
  assert.equal(await fixture.available('org_abort_early'), '100000');
});

test('a provider that omits usage is settled by the policy: counted by default, the estimate when asked', async () => {
  await fixture.fund('org_nousage', '100000');
  const counted = wrap('org_nousage');
  const stream = await counted.chat.completions.create({
    model: testModel,
    messages: ask({ reply: 4, usage: false }),
    stream: true,
  });
  for await (const _chunk of stream);
  assert.equal(last()?.basis, 'counted');
  assert.ok(Number(last()?.captured) > 0, 'never free by default');

  const estimated = wrap('org_nousage', { settle: 'estimate' });
  await estimated.chat.completions.create({
    model: testModel,
    messages: ask({ reply: 4, usage: false }),
    max_tokens: 30,
  });
  assert.equal(last()?.basis, 'estimate');
  const hold = await fixture.bursar.getHold({ id: last()?.holdId ?? '' });
  assert.equal(hold.captured, hold.amount, 'the estimate is what was held');
});

test('a customer who cannot afford the call is refused and the provider gets no request', async () => {
  await fixture.fund('org_poor', '50');
  const before = fake.requests.length;
  const openai = wrap('org_poor');
  const refusal = await openai.chat.completions
    .create({ model: testModel, messages: ask({ reply: 5 }), max_tokens: 100 })
    .then(
      () => assert.fail('should be refused'),
      (error: unknown) => error,
    );
  assert.ok(refusal instanceof InsufficientCreditError);
  assert.equal(refusal.available, '50');
  assert.equal(fake.requests.length, before);
  assert.equal(await fixture.available('org_poor'), '50');
});

test('with caps, max_tokens is lowered to what the balance affords', async () => {
  await fixture.fund('org_capped', '1500');
  const openai = wrap('org_capped', { whenUnaffordable: 'cap' });
  await openai.chat.completions.create({ model: testModel, messages: ask({ reply: 3 }), max_tokens: 1000 });
  const sent = fake.requests[fake.requests.length - 1]?.body as { max_tokens?: number };
  assert.ok(
    sent.max_tokens !== undefined && sent.max_tokens < 1000 && sent.max_tokens > 0,
    `capped: ${sent.max_tokens}`,
  );
  assert.equal(last()?.captured, await usageCost(promptTokensReported, 3));
});

test('per-call overrides in the `bursar` field pick the customer and are not sent to OpenAI', async () => {
  await fixture.fund('org_other', '100000');
  const openai = wrap('org_nobody');
  await openai.chat.completions.create({
    model: testModel,
    messages: ask({ reply: 2 }),
    bursar: { customer: 'org_other', endUser: 'u_7' },
  });
  const sent = fake.requests[fake.requests.length - 1]?.body;
  assert.equal(sent?.bursar, undefined);
  assert.equal(sent?.user, await providerUserId('u_7'));
  assert.equal(await fixture.available('org_other'), String(100000 - Number(await usageCost(promptTokensReported, 2))));
});

test('the Responses API, streamed and not, is held and captured from its usage', async () => {
  await fixture.fund('org_responses', '100000');
  const openai = wrap('org_responses', { defaultOutputTokens: 4 });
  const response = await openai.responses.create({ model: testModel, input: scenario({ reply: 3 }) });
  assert.equal(response.output_text, 'ababab');
  assert.equal(last()?.captured, await usageCost(promptTokensReported, 3));
  const stream = await openai.responses.create({ model: testModel, input: scenario({ reply: 20 }), stream: true });
  let deltas = 0;
  for await (const event of stream) if (event.type === 'response.output_text.delta') deltas++;
  assert.equal(deltas, 20);
  assert.equal(last()?.basis, 'usage');
  assert.equal(last()?.captured, await usageCost(promptTokensReported, 20));
});

test('50 concurrent streams for one customer never overspend and leave no hold open', async () => {
  const start = 3000;
  await fixture.fund('org_busy', String(start));
  const mine: Settlement[] = [];
  const openai = withBursar(client, {
    bursar: fixture.bursar,
    customer: 'org_busy',
    feature: 'chat',
    defaultOutputTokens: 10,
    onSettled: (settlement) => mine.push(settlement),
  });
  const outcomes = await Promise.allSettled(
    Array.from({ length: 50 }, async (_, index) => {
      const stream = await openai.chat.completions.create({
        model: testModel,
        messages: ask({ reply: 10 + (index % 5) * 10 }),
        stream: true,
      });
      for await (const _chunk of stream);
    }),
  );
  const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
  for (const outcome of refused)
    assert.ok((outcome as PromiseRejectedResult).reason instanceof InsufficientCreditError);
  assert.ok(refused.length > 0 && refused.length < 50, `some calls ran, some were refused (${refused.length})`);
  assert.equal(mine.length, 50 - refused.length);
  let captured = 0;
  for (const settlement of mine) {
    const hold = await fixture.bursar.getHold({ id: settlement.holdId });
    assert.notEqual(hold.status, 'open');
    captured += Number(hold.captured);
  }
  const available = Number(await fixture.available('org_busy'));
  assert.ok(available >= 0, 'never overspent');
  assert.equal(available, start - captured);
});

test('every Bursar request of a call keeps its idempotency key across retries, so a lost answer never charges twice', async () => {
  await fixture.fund('org_flaky', '100000');
  const keysSeen = new Map<string, number>();
  // The server commits each write, then the answer is "lost" once: the SDK must retry with the same key.
  const flakyFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const key = new Headers(init?.headers).get('idempotency-key');
    if (key === null) return response;
    const seen = (keysSeen.get(key) ?? 0) + 1;
    keysSeen.set(key, seen);
    if (seen === 1) throw new TypeError('connection reset after the server answered');
    return response;
  };
  const bursar = new Bursar({
    baseUrl: fixture.server.url,
    apiKey: adminKey,
    fetch: flakyFetch,
    retry: { baseDelayMs: 1 },
  });
  const mine: Settlement[] = [];
  const openai = withBursar(client, {
    bursar,
    customer: 'org_flaky',
    feature: 'chat',
    defaultOutputTokens: 4,
    onSettled: (settlement) => mine.push(settlement),
  });
  const stream = await openai.chat.completions.create({ model: testModel, messages: ask({ reply: 12 }), stream: true });
  for await (const _chunk of stream);
  const kinds = [...keysSeen.keys()].map((key) => key.split(':').slice(1).join(':')).sort();
  assert.deepEqual(kinds, ['capture', 'extend:1', 'extend:2', 'hold']);
  for (const count of keysSeen.values()) assert.equal(count, 2);
  const expected = await usageCost(promptTokensReported, 12);
  assert.equal(mine[0]?.captured, expected);
  assert.equal(await fixture.available('org_flaky'), String(100000 - Number(expected)));
});
