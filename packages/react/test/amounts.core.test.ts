/** The widgets' decimal arithmetic and formatting are exact: no amount passes through a float on its way to the screen. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareDecimals,
  formatDecimal,
  isDecimal,
  multiplyDecimals,
  percentOf,
  subtractDecimals,
  sumDecimals,
} from '../src/amounts.ts';

describe('amounts', () => {
  it('formats a decimal digit for digit, beyond what a double holds', () => {
    // 2^53 + 1 and 17 significant fraction digits: a Number would round both.
    assert.equal(formatDecimal('9007199254740993', 'en-US'), '9,007,199,254,740,993');
    assert.equal(formatDecimal('0.12345678901234567', 'en-US'), '0.12345678901234567');
    assert.equal(formatDecimal('1234.50', 'de-DE'), '1.234,5');
    assert.equal(formatDecimal('-7.25', 'en-US'), '-7.25');
    assert.equal(formatDecimal('7.25', 'en-US', { signed: true }), '+7.25');
  });

  it('adds, subtracts and multiplies exactly', () => {
    assert.equal(sumDecimals(['0.1', '0.2']), '0.3');
    assert.equal(sumDecimals([]), '0');
    assert.equal(sumDecimals(['9007199254740993', '0.000000000000000001']), '9007199254740993.000000000000000001');
    assert.equal(subtractDecimals('500', '466.25'), '33.75');
    assert.equal(subtractDecimals('1', '1.5'), '-0.5');
    assert.equal(multiplyDecimals('120.5', '0.1'), '12.05');
    assert.equal(multiplyDecimals('3', '0.333333333333333333'), '0.999999999999999999');
  });

  it('compares exactly, and reads only plain decimals', () => {
    assert.equal(compareDecimals('100.000000000000000001', '100'), 1);
    assert.equal(compareDecimals('2.50', '2.5'), 0);
    assert.equal(compareDecimals('-1', '0'), -1);
    assert.equal(isDecimal('12.5'), true);
    for (const text of ['1e3', '', '.5', '1.', '0x10', 'NaN', '1,5']) assert.equal(isDecimal(text), false, text);
    assert.throws(() => sumDecimals(['1e3']), /not a decimal/);
  });

  it('rounds a share down to a whole percent within 0–100', () => {
    assert.equal(percentOf('91', '580'), 15);
    assert.equal(percentOf('0', '0'), 0);
    assert.equal(percentOf('600', '580'), 100);
    assert.equal(percentOf('0.999', '1'), 99);
  });
});
