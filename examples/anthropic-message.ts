// An Anthropic message streamed through Bursar, with the end user and session named for this call only.
import Anthropic from '@anthropic-ai/sdk';
import { withBursar } from '@bursar/anthropic';
import { Bursar } from '@bursar/sdk';

const bursar = new Bursar({ baseUrl: process.env.BURSAR_URL ?? '', apiKey: process.env.BURSAR_API_KEY ?? '' });
const anthropic = withBursar(new Anthropic(), { bursar, customer: 'org_42', feature: 'chat' });
const stream = await anthropic.messages.create({
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  messages: [{ role: 'user', content: process.argv[2] ?? 'Say hello' }],
  stream: true,
  bursar: { endUser: 'user_981', session: 'task_17' },
});
for await (const event of stream)
  if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') process.stdout.write(event.delta.text);
