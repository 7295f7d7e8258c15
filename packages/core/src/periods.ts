/**
 * Calendar arithmetic for subscription periods: "n months after the anchor" in the wall clock of
 * an IANA time zone, so a period that starts at midnight in Kolkata or New York keeps starting at
 * midnight there across month ends, leap years and daylight-saving changes. Time zone offsets come
 * from Intl, which is deterministic for a given tz database: no clock is read here.
 */

import { assert } from './outcomes.ts';
import type { Cadence } from './plans.ts';

const msPerDay = 86_400_000;

/** Average lengths, only used to guess a period index before checking it exactly. */
const averageIntervalMs = { day: msPerDay, week: 7 * msPerDay, month: 30.436875 * msPerDay, year: 365.2425 * msPerDay };

interface WallClock {
  readonly year: number;
  /** 1 to 12. */
  readonly month: number;
  readonly day: number;
  /** Milliseconds since the wall clock's midnight. */
  readonly timeOfDayMs: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** True when `name` is a time zone this runtime knows (IANA names such as `Europe/Paris`, or `UTC`). */
export function isTimeZone(name: string): boolean {
  if (name.trim() === '' || name !== name.trim()) return false;
  try {
    formatterFor(name);
    return true;
  } catch {
    return false;
  }
}

/** The zone's offset from UTC at `instant`, in ms (wall clock minus UTC), to the second. */
function offsetAt(instant: number, timeZone: string): number {
  const fields: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(instant)) {
    if (part.type !== 'literal') fields[part.type] = Number.parseInt(part.value, 10);
  }
  const wallAsUtc = Date.UTC(
    fields.year ?? 0,
    (fields.month ?? 1) - 1,
    fields.day ?? 1,
    fields.hour ?? 0,
    fields.minute ?? 0,
    fields.second ?? 0,
  );
  const wholeSecond = instant - (((instant % 1000) + 1000) % 1000);
  return wallAsUtc - wholeSecond;
}

function wallClockAt(instant: number, timeZone: string): WallClock {
  const wallAsUtc = instant + offsetAt(instant, timeZone);
  const date = new Date(wallAsUtc);
  const [year, monthIndex, day] = [date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()];
  return { year, month: monthIndex + 1, day, timeOfDayMs: wallAsUtc - utcMidnight(year, monthIndex, day) };
}

/** Midnight UTC of a calendar day; out-of-range days and months roll over (day 0 is the previous month's last). */
function utcMidnight(year: number, monthIndex: number, day: number): number {
  // setUTCFullYear, unlike Date.UTC, does not read years 0 to 99 as 1900 to 1999.
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex, day);
  return date.getTime();
}

/**
 * The instant a wall clock reading names in `timeZone`. A reading skipped by a DST gap moves
 * forward by the gap (02:30 on a spring-forward night is 03:30); a reading that happens twice
 * takes the earlier instant. Assumes at most one offset change within a day of the reading.
 */
function instantOf(wall: WallClock, timeZone: string): number {
  const wallAsUtc = utcMidnight(wall.year, wall.month - 1, wall.day) + wall.timeOfDayMs;
  const offsetBefore = offsetAt(wallAsUtc - msPerDay, timeZone);
  const offsetAfter = offsetAt(wallAsUtc + msPerDay, timeZone);
  const candidates = [wallAsUtc - offsetBefore, wallAsUtc - offsetAfter].filter(
    (instant) => instant + offsetAt(instant, timeZone) === wallAsUtc,
  );
  // No candidate: the reading falls in a gap; the offset before the gap carries it past it.
  if (candidates.length === 0) return wallAsUtc - offsetBefore;
  return Math.min(...candidates);
}

function daysInMonth(year: number, month: number): number {
  return new Date(utcMidnight(year, month, 0)).getUTCDate();
}

/** Adds whole months to a wall date; a day the target month lacks becomes its last day (Jan 31 → Feb 28). */
function addMonths(wall: WallClock, months: number): WallClock {
  const monthsSinceYearZero = wall.year * 12 + (wall.month - 1) + months;
  const year = Math.floor(monthsSinceYearZero / 12);
  const month = monthsSinceYearZero - year * 12 + 1;
  return { ...wall, year, month, day: Math.min(wall.day, daysInMonth(year, month)) };
}

function addDays(wall: WallClock, days: number): WallClock {
  const date = new Date(utcMidnight(wall.year, wall.month - 1, wall.day + days));
  return { ...wall, year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
}

function assertCadence(cadence: Cadence): void {
  assert(Number.isSafeInteger(cadence.count) && cadence.count >= 1, 'a cadence counts at least one interval');
}

/**
 * The instant `times` cadences after `anchor` (before it when negative), counted in the anchor's
 * wall clock in `timeZone`. Always computed from the anchor, never from the previous period, so
 * monthly periods from Jan 31 end on Feb 28, Mar 31, Apr 30 instead of drifting to the 28th.
 */
export function addCadence(anchor: number, cadence: Cadence, times: number, timeZone: string): number {
  assertCadence(cadence);
  assert(Number.isSafeInteger(times), 'a cadence is added a whole number of times');
  if (times === 0) return anchor;
  const wall = wallClockAt(anchor, timeZone);
  const steps = cadence.count * times;
  switch (cadence.interval) {
    case 'day':
      return instantOf(addDays(wall, steps), timeZone);
    case 'week':
      return instantOf(addDays(wall, 7 * steps), timeZone);
    case 'month':
      return instantOf(addMonths(wall, steps), timeZone);
    case 'year':
      return instantOf(addMonths(wall, 12 * steps), timeZone);
  }
}

/**
 * The index i of the period containing `at`: addCadence(anchor, cadence, i) ≤ at < addCadence(anchor, cadence, i + 1).
 * Negative before the anchor. Guesses from the average period length, then steps to the exact index,
 * so decades of daily periods cost a handful of calendar computations.
 */
export function periodIndexAt(anchor: number, cadence: Cadence, at: number, timeZone: string): number {
  assertCadence(cadence);
  let index = Math.floor((at - anchor) / (averageIntervalMs[cadence.interval] * cadence.count));
  while (addCadence(anchor, cadence, index, timeZone) > at) index -= 1;
  while (addCadence(anchor, cadence, index + 1, timeZone) <= at) index += 1;
  return index;
}

/** The calendar day (`YYYY-MM-DD`) an instant falls on in the wall clock of `timeZone`. */
export function localDateOf(instant: number, timeZone: string): string {
  const wall = wallClockAt(instant, timeZone);
  return `${String(wall.year).padStart(4, '0')}-${String(wall.month).padStart(2, '0')}-${String(wall.day).padStart(2, '0')}`;
}

/** The instant a calendar day (`YYYY-MM-DD`) begins in `timeZone` (its first wall-clock moment). */
export function startOfLocalDate(date: string, timeZone: string): number {
  const [year = 0, month = 1, day = 1] = date.split('-').map((part) => Number.parseInt(part, 10));
  return instantOf({ year, month, day, timeOfDayMs: 0 }, timeZone);
}

/** The calendar day after `date` (`YYYY-MM-DD`), by the proleptic Gregorian calendar. */
export function nextLocalDate(date: string): string {
  const [year = 0, month = 1, day = 1] = date.split('-').map((part) => Number.parseInt(part, 10));
  const next = new Date(utcMidnight(year, month - 1, day + 1));
  return `${String(next.getUTCFullYear()).padStart(4, '0')}-${String(next.getUTCMonth() + 1).padStart(2, '0')}-${String(next.getUTCDate()).padStart(2, '0')}`;
}
