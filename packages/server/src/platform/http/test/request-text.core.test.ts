/**
 * The input rule of platform/http/request-text.ts as a pure function over a table of strings and JSON values:
 * which text and numbers are refused, and the field path each refusal names.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom, testSeed } from '../../../../test/harness.ts';
import { describeRefusedText, findRefusedJson, mayHoldRefusedText } from '../request-text.ts';

describe('describeRefusedText', () => {
  const accepted: readonly [string, string][] = [
    ['plain ASCII', 'a refund for order 42'],
    ['tab, line feed and carriage return', 'one\ttwo\nthree\r\n'],
    ['a surrogate pair (an emoji)', 'ok 😀'],
    ['accents and CJK', 'é 中文'],
    ['U+FEFF and U+2028', '\ufeff\u2028'],
    ['no-break space U+00A0, just past C1', '\u00a0'],
    ['the empty string', ''],
  ];
  for (const [name, text] of accepted) {
    it(`accepts ${name}`, () => assert.equal(describeRefusedText(text), null));
  }
  const refused: readonly [string, string][] = [
    ['U+0000', 'a\u0000b'],
    ['U+0001', '\u0001'],
    ['U+000B (vertical tab)', '\u000b'],
    ['U+001F', '\u001f'],
    ['DEL', '\u007f'],
    ['C1 U+0085', '\u0085'],
    ['C1 U+009F', '\u009f'],
    ['a high surrogate at the end', 'x\ud83d'],
    ['a low surrogate alone', '\ude00x'],
    ['a pair in the wrong order', '\ude00\ud83d'],
    ['two high surrogates', '\ud83d\ud83d\ude00'],
  ];
  for (const [name, text] of refused) {
    it(`refuses ${name}`, () => assert.notEqual(describeRefusedText(text), null));
  }
});

describe('findRefusedJson', () => {
  const fields = (value: unknown) => findRefusedJson(value).map((error) => error.field);

  it('names nested fields with dots for keys and brackets for items', () => {
    const body = { events: [{ id: 'a' }, { properties: { model: 'x\u0000', tokens: 2 ** 53 } }], note: '\ud800' };
    assert.deepEqual(fields(body), ['events[1].properties.model', 'events[1].properties.tokens', 'note']);
  });

  it('reports a refused key at the object holding it, and the whole value as ""', () => {
    assert.deepEqual(fields({ metadata: { 'bad\u0000key': 'v' } }), ['metadata']);
    assert.deepEqual(fields('\u0000'), ['']);
    assert.deepEqual(fields([['\u0000']]), ['[0][0]']);
  });

  it('accepts safe integers and finite fractions, refuses integers past 2^53 and non-finite numbers', () => {
    assert.deepEqual(
      fields({ a: 9007199254740991, b: -9007199254740991, c: 0.1, d: 1e-7, e: -0, f: 1.5e300 / 1e300 }),
      [],
    );
    assert.deepEqual(fields({ a: 9007199254740992, b: -9007199254740992, c: 1e21, d: Number.POSITIVE_INFINITY }), [
      'a',
      'b',
      'c',
      'd',
    ]);
  });

  it('stops after 20 errors', () => {
    assert.equal(findRefusedJson(Array.from({ length: 50 }, () => '\u0000')).length, 20);
  });
});

describe('mayHoldRefusedText', () => {
  const cases: readonly [string, string, boolean][] = [
    ['plain ASCII', '{"reason":"a refund","amount":"12.5"}', false],
    ['é and an emoji, written raw', '{"reason":"é 😀"}', false],
    ['an escaped NUL', '{"reason":"a\\u0000"}', true],
    ['an escaped lone surrogate', '{"reason":"\\ud800"}', true],
    ['a harmless escape (a false alarm, so the full check runs)', '{"reason":"a\\nb"}', true],
    ['a raw DEL', '{"reason":"a\u007f"}', true],
    ['a raw C1 control', '{"reason":"a\u0085"}', true],
    ['a raw © (a false alarm: same lead byte as C1)', '{"reason":"©"}', true],
  ];
  for (const [name, json, expected] of cases) {
    it(`${expected ? 'flags' : 'clears'} ${name}`, () => assert.equal(mayHoldRefusedText(Buffer.from(json)), expected));
  }

  it('never clears a body whose text the full check refuses (random strings)', () => {
    const random = seededRandom(testSeed('mayHoldRefusedText'));
    // Code units from the ranges that matter: controls, ASCII, C1 and Latin-1, surrogates, the rest.
    const ranges: readonly [number, number][] = [
      [0x00, 0x20],
      [0x20, 0x7f],
      [0x7f, 0xc0],
      [0xd800, 0xe000],
      [0xe000, 0x10000],
    ];
    for (let trial = 0; trial < 2000; trial += 1) {
      const units = Array.from({ length: 1 + Math.floor(random() * 6) }, () => {
        const [low, high] = ranges[Math.floor(random() * ranges.length)] ?? [0x20, 0x7f];
        return low + Math.floor(random() * (high - low));
      });
      const text = String.fromCharCode(...units);
      const json = JSON.stringify({ [text]: text });
      const bytes = Buffer.from(json);
      // Only bodies that arrive as UTF-8 reach the check; a lone surrogate arrives escaped.
      const refused = findRefusedJson(JSON.parse(bytes.toString('utf8'))).length > 0;
      if (refused) assert.equal(mayHoldRefusedText(bytes), true, `cleared ${JSON.stringify(json)}`);
    }
  });
});
