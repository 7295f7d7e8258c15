/**
 * Calendar arithmetic of periods: month ends, leap years, the anchor's time zone across DST, and
 * periodIndexAt agreeing with addCadence over random anchors, cadences and decades.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Cadence } from '../src/index.ts';
import { addCadence, isTimeZone, periodIndexAt } from '../src/index.ts';

const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
// biome-ignore lint/suspicious/noConsole: the seed is printed so a failing run replays
console.log(`periods.core.test seed=${seed} (replay with FC_SEED=${seed})`);

const at = (iso: string) => Date.parse(iso);
const day: Cadence = { interval: 'day', count: 1 };
const week: Cadence = { interval: 'week', count: 1 };
const month: Cadence = { interval: 'month', count: 1 };
const quarter: Cadence = { interval: 'month', count: 3 };
const year: Cadence = { interval: 'year', count: 1 };

describe('addCadence', () => {
  // [why, anchor, cadence, times, time zone, expected instant]; expectations worked out by hand from
  // the zone's offsets (New York −5/−4, Kolkata +5:30, Auckland +13/+12).
  const table: [string, string, Cadence, number, string, string][] = [
    ['zero times is the anchor', '2023-01-31T00:00:00Z', month, 0, 'UTC', '2023-01-31T00:00:00Z'],
    ['Jan 31 + 1 month: Feb 28', '2023-01-31T00:00:00Z', month, 1, 'UTC', '2023-02-28T00:00:00Z'],
    ['Jan 31 + 2 months: Mar 31, not Mar 28', '2023-01-31T00:00:00Z', month, 2, 'UTC', '2023-03-31T00:00:00Z'],
    ['Jan 31 + 3 months: Apr 30', '2023-01-31T00:00:00Z', month, 3, 'UTC', '2023-04-30T00:00:00Z'],
    ['Jan 31 + 1 month in a leap year: Feb 29', '2024-01-31T10:00:00Z', month, 1, 'UTC', '2024-02-29T10:00:00Z'],
    ['Mar 31 − 1 month: Feb 29', '2024-03-31T00:00:00Z', month, -1, 'UTC', '2024-02-29T00:00:00Z'],
    ['Jan 31 − 2 months: Nov 30', '2024-01-31T00:00:00Z', month, -2, 'UTC', '2023-11-30T00:00:00Z'],
    ['Nov 30 + 1 quarter: Feb 28', '2024-11-30T00:00:00Z', quarter, 1, 'UTC', '2025-02-28T00:00:00Z'],
    ['Feb 29 + 1 year: Feb 28', '2024-02-29T00:00:00Z', year, 1, 'UTC', '2025-02-28T00:00:00Z'],
    ['Feb 29 + 4 years: Feb 29', '2024-02-29T00:00:00Z', year, 4, 'UTC', '2028-02-29T00:00:00Z'],
    ['Feb 29 − 1 year: Feb 28', '2024-02-29T00:00:00Z', year, -1, 'UTC', '2023-02-28T00:00:00Z'],
    ['Dec 31 + 1 year', '2024-12-31T23:59:59.999Z', year, 1, 'UTC', '2025-12-31T23:59:59.999Z'],
    ['a week is 7 days across Feb 29', '2024-02-26T00:00:00Z', week, 1, 'UTC', '2024-03-04T00:00:00Z'],
    [
      'NY midnight EST + 1 day (DST starts at 2:00)',
      '2024-03-09T05:00:00Z',
      day,
      1,
      'America/New_York',
      '2024-03-10T05:00:00Z',
    ],
    [
      'NY midnight + 2 days is midnight EDT: 23 h later',
      '2024-03-09T05:00:00Z',
      day,
      2,
      'America/New_York',
      '2024-03-11T04:00:00Z',
    ],
    [
      'NY 02:30 does not exist on Mar 10: 03:30 EDT',
      '2024-03-09T07:30:00Z',
      day,
      1,
      'America/New_York',
      '2024-03-10T07:30:00Z',
    ],
    [
      'NY 01:30 happens twice on Nov 3: the earlier',
      '2024-11-02T05:30:00Z',
      day,
      1,
      'America/New_York',
      '2024-11-03T05:30:00Z',
    ],
    [
      'NY midnight Nov 3 + 1 day: 25 h later',
      '2024-11-03T04:00:00Z',
      day,
      1,
      'America/New_York',
      '2024-11-04T05:00:00Z',
    ],
    [
      'NY Jan 31 midnight + 2 months: Mar 31 midnight EDT',
      '2024-01-31T05:00:00Z',
      month,
      2,
      'America/New_York',
      '2024-03-31T04:00:00Z',
    ],
    ['NY week across the spring change', '2024-03-08T17:00:00Z', week, 1, 'America/New_York', '2024-03-15T16:00:00Z'],
    [
      'Kolkata Jan 31 midnight + 1 month: Feb 29 midnight IST',
      '2024-01-30T18:30:00Z',
      month,
      1,
      'Asia/Kolkata',
      '2024-02-28T18:30:00Z',
    ],
    [
      'Kolkata month end differs from the UTC one',
      '2024-01-31T18:30:00Z',
      month,
      1,
      'Asia/Kolkata',
      '2024-02-29T18:30:00Z',
    ],
    [
      'Auckland Jan 15 midnight NZDT + 3 months: NZST',
      '2024-01-14T11:00:00Z',
      month,
      3,
      'Pacific/Auckland',
      '2024-04-14T12:00:00Z',
    ],
    [
      'Auckland Jul 31 midnight NZST + 2 months: Sep 30 NZDT',
      '2024-07-30T12:00:00Z',
      month,
      2,
      'Pacific/Auckland',
      '2024-09-29T11:00:00Z',
    ],
    [
      'Auckland 02:30 skipped on Sep 29: 03:30 NZDT',
      '2024-09-27T14:30:00Z',
      day,
      1,
      'Pacific/Auckland',
      '2024-09-28T14:30:00Z',
    ],
  ];
  for (const [why, anchor, cadence, times, timeZone, expected] of table) {
    it(why, () => {
      assert.equal(
        new Date(addCadence(at(anchor), cadence, times, timeZone)).toISOString(),
        new Date(expected).toISOString(),
      );
    });
  }

  it('computes from the anchor, never chained: 12 monthly steps from Jan 31 all land on month ends', () => {
    const ends = Array.from({ length: 12 }, (_, index) =>
      new Date(addCadence(at('2023-01-31T00:00:00Z'), month, index, 'UTC')).toISOString().slice(5, 10),
    );
    assert.deepEqual(ends, [
      '01-31',
      '02-28',
      '03-31',
      '04-30',
      '05-31',
      '06-30',
      '07-31',
      '08-31',
      '09-30',
      '10-31',
      '11-30',
      '12-31',
    ]);
  });
});

describe('isTimeZone', () => {
  for (const [name, expected] of [
    ['UTC', true],
    ['America/New_York', true],
    ['Asia/Kolkata', true],
    ['Mars/Olympus_Mons', false],
    ['', false],
    [' UTC', false],
  ] as const) {
    it(`${JSON.stringify(name)} → ${expected}`, () => assert.equal(isTimeZone(name), expected));
  }
});

const zones = ['UTC', 'America/New_York', 'Asia/Kolkata', 'Pacific/Auckland', 'Europe/London', 'Australia/Lord_Howe'];
const cadences = fc.record({
  interval: fc.constantFrom('day' as const, 'week' as const, 'month' as const, 'year' as const),
  count: fc.integer({ min: 1, max: 4 }),
});
const instants = fc.integer({ min: at('1990-01-01T00:00:00Z'), max: at('2040-01-01T00:00:00Z') });

describe('periodIndexAt', () => {
  it('Kolkata (no DST): decades of daily periods count calendar days', () => {
    const anchor = at('1999-12-31T18:30:00Z'); // 2000-01-01 00:00 IST
    const later = at('2039-06-15T18:29:59.999Z'); // 2039-06-15 23:59:59.999 IST
    const days = (Date.UTC(2039, 5, 15) - Date.UTC(2000, 0, 1)) / 86_400_000;
    assert.equal(periodIndexAt(anchor, day, later, 'Asia/Kolkata'), days);
    assert.equal(periodIndexAt(anchor, day, later + 1, 'Asia/Kolkata'), days + 1);
  });

  it('an instant before the anchor has a negative index', () => {
    assert.equal(periodIndexAt(at('2024-03-31T00:00:00Z'), month, at('2024-03-01T00:00:00Z'), 'UTC'), -1);
    assert.equal(periodIndexAt(at('2024-03-31T00:00:00Z'), month, at('2024-02-28T23:59:59Z'), 'UTC'), -2);
  });

  it('brackets the instant between two consecutive period starts, for random zones and cadences', () => {
    fc.assert(
      fc.property(instants, instants, cadences, fc.constantFrom(...zones), (anchor, instant, cadence, zone) => {
        const index = periodIndexAt(anchor, cadence, instant, zone);
        assert.ok(addCadence(anchor, cadence, index, zone) <= instant, 'the period starts at or before the instant');
        assert.ok(instant < addCadence(anchor, cadence, index + 1, zone), 'the next period starts after it');
      }),
      { seed, numRuns: 300 },
    );
  });

  it('period starts strictly increase', () => {
    fc.assert(
      fc.property(
        instants,
        cadences,
        fc.constantFrom(...zones),
        fc.integer({ min: -30, max: 30 }),
        (anchor, cadence, zone, times) => {
          assert.ok(addCadence(anchor, cadence, times, zone) < addCadence(anchor, cadence, times + 1, zone));
        },
      ),
      { seed, numRuns: 300 },
    );
  });
});
