/** withBursar over the real `@anthropic-ai/sdk` client, pointed at a local fake provider, against a real Bursar server. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import type { Settlement } from '@bursar/model-calls';
import { InsufficientCreditError, providerUserId } from '@bursar/model-calls';
import type { BursarFixture } from '../../model-calls/test/bursar-setup.ts';
import { startBursar, testModel } from '../../model-calls/test/bursar-setup.ts';
import type { FakeProvider, Scenario } from '../../model-calls/test/fake-provider.ts';
import { promptTokensReported, scenario, startFakeProvider } from '../../model-calls/test/fake-provider.ts';
import { withBursar } from '../src/index.ts';

let fixture: BursarFixture;
let fake: FakeProvider;
let client: Anthropic;
const settlements: Settlement[] = [];

before(async () => {
  fixture = await startBursar();
  fake = await startFakeProvider();
  client = new Anthropic({ apiKey: 'sk-ant-test', baseURL: fake.url, maxRetries: 0 });
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
const cost = (output: number, cached: number, written: number) =>
  fixture.cost({
    model: testModel,
    input_tokens: promptTokensReported,
    output_tokens: output,
    cached_input_tokens: cached,
    cache_write_tokens: written,
  });

test('a message within its estimate captures input, output and cache tokens', async () => {
  await fixture.fund('ant_within', '100000');
  const anthropic = wrap('ant_within', { endUser: 'bob@example.com' });
  const message = await anthropic.messages.create({
    model: testModel,
    max_tokens: 100,
    messages: ask({ reply: 5, cachedTokens: 30, cacheWriteTokens: 20 }),
  });
  assert.equal(message.content[0]?.type, 'text');
  const expected = await cost(5, 30, 20);
  assert.equal(last()?.basis, 'usage');
  assert.equal(last()?.captured, expected);
  assert.equal(await fixture.available('ant_within'), String(100000 - Number(expected)));
  const sent = fake.requests[fake.requests.length - 1]?.body as { metadata?: { user_id?: string }; bursar?: unknown };
  assert.equal(sent.metadata?.user_id, await providerUserId('bob@example.com'));
  assert.equal(sent.bursar, undefined);
  const events = await fixture.bursar.listEvents({ customer: 'ant_within' });
  assert.equal(events.data[0]?.properties.cache_write_tokens, 20);
});

test('a stream past its estimate is extended and captured exactly from message_start and message_delta', async () => {
  await fixture.fund('ant_long', '100000');
  const anthropic = wrap('ant_long');
  const stream = await anthropic.messages.create({
    model: testModel,
    max_tokens: 8,
    messages: ask({ reply: 30, cachedTokens: 10, cacheWriteTokens: 4 }),
    stream: true,
  });
  let deltas = 0;
  for await (const event of stream) if (event.type === 'content_block_delta') deltas++;
  assert.equal(deltas, 30);
  const transactions = await fixture.bursar.listTransactions({ customer: 'ant_long', asset: 'credits' });
  assert.ok(
    transactions.data.some((transaction) => transaction.kind === 'extend'),
    'the hold was extended',
  );
  const expected = await cost(30, 10, 4);
  assert.equal(last()?.captured, expected);
  assert.equal(await fixture.available('ant_long'), String(100000 - Number(expected)));
});

test('a provider error releases the hold', async () => {
  await fixture.fund('ant_error', '100000');
  await assert.rejects(
    wrap('ant_error').messages.create({ model: testModel, max_tokens: 10, messages: ask({ status: 400 }) }),
    Anthropic.BadRequestError,
  );
  assert.equal(last()?.basis, 'no_output');
  assert.equal(await fixture.available('ant_error'), '100000');
});

test('a caller who leaves mid-stream pays for the input message_start reported and the output counted so far', async () => {
  await fixture.fund('ant_abort', '100000');
  const stream = await wrap('ant_abort').messages.create({
    model: testModel,
    max_tokens: 100,
    messages: ask({ reply: 4, hang: true, cachedTokens: 10 }),
    stream: true,
  });
  let deltas = 0;
  for await (const event of stream) if (event.type === 'content_block_delta' && ++deltas === 4) break;
  assert.equal(last()?.basis, 'counted');
  const hold = await fixture.bursar.getHold({ id: last()?.holdId ?? '' });
  assert.equal(hold.status, 'captured');
  assert.equal(hold.captured, await cost(4, 10, 0));
  assert.equal(await fixture.available('ant_abort'), String(100000 - Number(hold.captured)));
});

test('a stream without usage is settled by the policy, never free by default', async () => {
  await fixture.fund('ant_nousage', '100000');
  const stream = await wrap('ant_nousage').messages.create({
    model: testModel,
    max_tokens: 100,
    messages: ask({ reply: 3, usage: false }),
    stream: true,
  });
  for await (const _event of stream);
  assert.equal(last()?.basis, 'counted');
  assert.ok(Number(last()?.captured) > 0);
});

test('a customer who cannot afford the message is refused and Anthropic gets no request', async () => {
  await fixture.fund('ant_poor', '10');
  const before = fake.requests.length;
  await assert.rejects(
    wrap('ant_poor').messages.create({ model: testModel, max_tokens: 100, messages: ask({ reply: 1 }) }),
    InsufficientCreditError,
  );
  assert.equal(fake.requests.length, before);
});

test('50 concurrent streams for one customer never overspend and leave no hold open', async () => {
  const start = 2500;
  await fixture.fund('ant_busy', String(start));
  const mine: Settlement[] = [];
  const anthropic = withBursar(client, {
    bursar: fixture.bursar,
    customer: 'ant_busy',
    feature: 'chat',
    onSettled: (settlement) => mine.push(settlement),
  });
  const outcomes = await Promise.allSettled(
    Array.from({ length: 50 }, async (_, index) => {
      const stream = await anthropic.messages.create({
        model: testModel,
        max_tokens: 8,
        messages: ask({ reply: 5 + (index % 4) * 10 }),
        stream: true,
      });
      for await (const _event of stream);
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
  const available = Number(await fixture.available('ant_busy'));
  assert.ok(available >= 0, 'never overspent');
  assert.equal(available, start - captured);
});
