// The Vercel AI SDK's streamText over a model wrapped with bursarMiddleware; caps max tokens when the balance is short.
import { openai } from '@ai-sdk/openai';
import { bursarMiddleware } from '@bursar/ai-sdk';
import { Bursar } from '@bursar/sdk';
import { streamText, wrapLanguageModel } from 'ai';

const bursar = new Bursar({ baseUrl: process.env.BURSAR_URL ?? '', apiKey: process.env.BURSAR_API_KEY ?? '' });
const model = wrapLanguageModel({
  model: openai('gpt-4o-mini'),
  middleware: bursarMiddleware({ bursar, customer: 'org_42', feature: 'chat', whenUnaffordable: 'cap' }),
});
const result = streamText({ model, prompt: process.argv[2] ?? 'Say hello', maxOutputTokens: 512 });
for await (const text of result.textStream) process.stdout.write(text);
