// A streamed OpenAI chat completion, held, extended and settled in Bursar (docs/integrate.md).

import { withBursar } from '@bursar/openai';
import { Bursar } from '@bursar/sdk';
import OpenAI from 'openai';

const bursar = new Bursar({ baseUrl: process.env.BURSAR_URL ?? '', apiKey: process.env.BURSAR_API_KEY ?? '' });
const openai = withBursar(new OpenAI(), { bursar, customer: 'org_42', feature: 'chat' });
const messages = [{ role: 'user' as const, content: process.argv[2] ?? 'Say hello' }];
const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta.content ?? '');
