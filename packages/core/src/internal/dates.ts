/**
 * Instants for the `before` and `after` condition operators.
 *
 * Every evaluator must turn the same value into the same instant, whatever
 * its clock zone and JavaScript engine. So this does not use `Date.parse` (whose
 * handling of anything but the exact ECMAScript format is engine-defined, and
 * which reads a date-time without zone as local time); it reads a strict
 * ISO 8601 subset by hand and computes with `Date.UTC`.
 */

const CH_0 = 48;

/** 400 Gregorian years are exactly 146,097 days: shifting by them keeps every calendar rule. */
const MS_PER_400_YEARS = 146_097 * 86_400_000;

/** Two decimal digits at `i`, or -1. */
function twoDigits(s: string, i: number): number {
  const a = s.charCodeAt(i) - CH_0;
  const b = s.charCodeAt(i + 1) - CH_0;
  // NaN (past the end) fails both comparisons, so it is refused too.
  if (!(a >= 0 && a <= 9 && b >= 0 && b <= 9)) return -1;
  return a * 10 + b;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Epoch milliseconds of a UTC calendar date-time. Date.UTC maps years 0..99
 * to 1900..1999, so the year is shifted by 400 years and shifted back.
 */
function utc(year: number, month: number, day: number, hour: number, minute: number, second: number, ms: number): number {
  return Date.UTC(year + 400, month - 1, day, hour, minute, second, ms) - MS_PER_400_YEARS;
}

/**
 * Parses a strict ISO 8601 string (see `parseInstant`) into epoch ms, or undefined.
 *
 * Accepted, exactly (T and Z in upper case, `.` as the decimal sign):
 * - `YYYY-MM-DD`, midnight UTC of that day;
 * - `YYYY-MM-DDTHH:MM`, `...:SS` or `...:SS.fff` (one or more fraction digits,
 *   truncated to milliseconds), followed by `Z` or an offset `+HH:MM`/`-HH:MM`.
 */
function parseIsoString(s: string): number | undefined {
  const len = s.length;
  if (len < 10) return undefined;
  const y1 = twoDigits(s, 0);
  const y2 = twoDigits(s, 2);
  if (y1 < 0 || y2 < 0 || s.charCodeAt(4) !== 45 /* - */ || s.charCodeAt(7) !== 45) return undefined;
  const year = y1 * 100 + y2;
  const month = twoDigits(s, 5);
  const day = twoDigits(s, 8);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (len === 10) return utc(year, month, day, 0, 0, 0, 0);

  // A date-time: `T`, hours and minutes are required.
  if (len < 17 || s.charCodeAt(10) !== 84 /* T */ || s.charCodeAt(13) !== 58 /* : */) return undefined;
  const hour = twoDigits(s, 11);
  const minute = twoDigits(s, 14);
  // 24:00 and leap seconds (:60) are refused: neither has one agreed instant in every evaluator.
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return undefined;
  let i = 16;
  let second = 0;
  let ms = 0;
  if (s.charCodeAt(i) === 58 /* : */) {
    second = twoDigits(s, i + 1);
    if (second < 0 || second > 59) return undefined;
    i += 3;
    if (s.charCodeAt(i) === 46 /* . */) {
      i++;
      const start = i;
      let scale = 100;
      while (i < len) {
        const d = s.charCodeAt(i) - CH_0;
        if (d < 0 || d > 9) break;
        // Digits past milliseconds are read (they must be digits) and dropped.
        ms += d * scale;
        scale = scale >= 10 ? scale / 10 : 0;
        i++;
      }
      if (i === start) return undefined;
    }
  }

  // The zone is required: without one the meaning depends on the evaluator's clock zone.
  const zone = s.charCodeAt(i);
  let offsetMinutes = 0;
  if (zone === 90 /* Z */) {
    i++;
  } else if (zone === 43 /* + */ || zone === 45 /* - */) {
    const oh = twoDigits(s, i + 1);
    const om = twoDigits(s, i + 4);
    if (oh < 0 || oh > 23 || s.charCodeAt(i + 3) !== 58 /* : */ || om < 0 || om > 59) return undefined;
    offsetMinutes = zone === 43 ? oh * 60 + om : -(oh * 60 + om);
    i += 6;
  } else {
    return undefined;
  }
  if (i !== len) return undefined;
  return utc(year, month, day, hour, minute, second, ms) - offsetMinutes * 60_000;
}

/**
 * The instant `value` stands for, in epoch milliseconds, or undefined when it
 * stands for none.
 *
 * - A finite number is already epoch milliseconds and is returned as is.
 * - A string must be strict ISO 8601: `YYYY-MM-DD` (midnight UTC), or
 *   `YYYY-MM-DDTHH:MM`, optionally `:SS` and `.fraction`, then `Z` or
 *   `±HH:MM`. A date-time without a zone is refused, because its meaning would
 *   depend on the evaluator's clock zone. Impossible dates (`2023-02-30`),
 *   hours 24, leap seconds, week or ordinal dates, the basic format
 *   (`20230101`), expanded years, a lower-case `t` or `z`, a space instead of
 *   `T`, surrounding whitespace and numeric strings (`"1700000000000"`) are
 *   refused.
 * - Anything else (NaN, Infinity, booleans, Date objects, null) is undefined.
 */
export function parseInstant(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') return parseIsoString(value);
  return undefined;
}
