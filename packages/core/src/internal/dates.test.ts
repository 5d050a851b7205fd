import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseInstant } from './dates.js';

describe('parseInstant: numbers', () => {
  it('takes a finite number as epoch milliseconds', () => {
    expect(parseInstant(0)).toBe(0);
    expect(parseInstant(1_700_000_000_000)).toBe(1_700_000_000_000);
    expect(parseInstant(-86_400_000)).toBe(-86_400_000);
    expect(parseInstant(1.5)).toBe(1.5);
  });

  it('refuses non-finite numbers', () => {
    expect(parseInstant(Number.NaN)).toBeUndefined();
    expect(parseInstant(Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(parseInstant(Number.NEGATIVE_INFINITY)).toBeUndefined();
  });

  it('refuses values that are neither numbers nor strings', () => {
    for (const v of [undefined, null, true, false, {}, [], [0], new Date(0), 0n, Symbol('x'), () => 0]) {
      expect(parseInstant(v), String(typeof v)).toBeUndefined();
    }
  });
});

describe('parseInstant: dates', () => {
  it('reads YYYY-MM-DD as midnight UTC', () => {
    expect(parseInstant('1970-01-01')).toBe(0);
    expect(parseInstant('2024-03-15')).toBe(Date.UTC(2024, 2, 15));
    expect(parseInstant('1969-12-31')).toBe(-86_400_000);
    expect(parseInstant('9999-12-31')).toBe(Date.UTC(9999, 11, 31));
  });

  it('handles years before 100 (which Date.UTC alone maps to the 1900s)', () => {
    expect(parseInstant('0000-01-01')).toBe(Date.parse('0000-01-01T00:00:00Z'));
    expect(parseInstant('0001-01-01')).toBe(-62_135_596_800_000);
    expect(parseInstant('0050-06-15T12:00Z')).toBe(Date.parse('0050-06-15T12:00:00.000Z'));
    expect(parseInstant('0099-12-31')).toBe(Date.parse('0099-12-31T00:00:00Z'));
  });

  it('follows the leap-year rules', () => {
    expect(parseInstant('2024-02-29')).toBe(Date.UTC(2024, 1, 29));
    expect(parseInstant('2000-02-29')).toBe(Date.UTC(2000, 1, 29));
    expect(parseInstant('0000-02-29')).toBeDefined();
    expect(parseInstant('2023-02-29')).toBeUndefined();
    expect(parseInstant('1900-02-29')).toBeUndefined();
    expect(parseInstant('2100-02-29')).toBeUndefined();
  });

  it.each([
    '2023-02-30',
    '2023-04-31',
    '2023-06-31',
    '2023-09-31',
    '2023-11-31',
    '2023-01-32',
    '2023-00-10',
    '2023-13-01',
    '2023-01-00',
    '2023-1-01',
    '2023-01-1',
    '23-01-01',
    '20230101',
    '+002023-01-01',
    '-000001-01-01',
    '2023/01/01',
    '2023-W01-1',
    '2023-001',
    '2023-01',
    '2023',
    '',
    ' 2023-01-01',
    '2023-01-01 ',
    '2023-01-01Z',
    '2023-01-01T',
    '２０２３-01-01',
    '1700000000000',
    'yesterday',
    'Tue, 01 Jan 2023 00:00:00 GMT',
  ])('refuses %j', (input) => {
    expect(parseInstant(input)).toBeUndefined();
  });
});

describe('parseInstant: date-times', () => {
  it('reads UTC date-times at every precision', () => {
    expect(parseInstant('2024-03-15T10:20Z')).toBe(Date.UTC(2024, 2, 15, 10, 20));
    expect(parseInstant('2024-03-15T10:20:30Z')).toBe(Date.UTC(2024, 2, 15, 10, 20, 30));
    expect(parseInstant('2024-03-15T10:20:30.5Z')).toBe(Date.UTC(2024, 2, 15, 10, 20, 30, 500));
    expect(parseInstant('2024-03-15T10:20:30.05Z')).toBe(Date.UTC(2024, 2, 15, 10, 20, 30, 50));
    expect(parseInstant('2024-03-15T10:20:30.123Z')).toBe(Date.UTC(2024, 2, 15, 10, 20, 30, 123));
    expect(parseInstant('2024-03-15T23:59:59.999Z')).toBe(Date.UTC(2024, 2, 15, 23, 59, 59, 999));
    expect(parseInstant('2024-03-15T00:00:00.000Z')).toBe(Date.UTC(2024, 2, 15));
  });

  it('truncates fractions below the millisecond', () => {
    expect(parseInstant('2024-03-15T10:20:30.1239Z')).toBe(Date.UTC(2024, 2, 15, 10, 20, 30, 123));
    expect(parseInstant('2024-03-15T10:20:30.999999999Z')).toBe(Date.UTC(2024, 2, 15, 10, 20, 30, 999));
    expect(parseInstant('2024-03-15T10:20:30.000000001Z')).toBe(Date.UTC(2024, 2, 15, 10, 20, 30));
  });

  it('applies offsets', () => {
    const utc = Date.UTC(2024, 2, 15, 10, 20);
    expect(parseInstant('2024-03-15T12:20+02:00')).toBe(utc);
    expect(parseInstant('2024-03-15T05:50-04:30')).toBe(utc);
    expect(parseInstant('2024-03-15T10:20+00:00')).toBe(utc);
    expect(parseInstant('2024-03-15T10:20-00:00')).toBe(utc);
    expect(parseInstant('2024-03-16T00:05+13:45')).toBe(Date.UTC(2024, 2, 15, 10, 20));
    expect(parseInstant('2024-03-15T10:20:30.250+05:30')).toBe(Date.UTC(2024, 2, 15, 4, 50, 30, 250));
    // Offsets may cross a day, month or year boundary.
    expect(parseInstant('2024-01-01T00:30+01:00')).toBe(Date.UTC(2023, 11, 31, 23, 30));
    expect(parseInstant('2023-12-31T23:30-01:00')).toBe(Date.UTC(2024, 0, 1, 0, 30));
  });

  it('agrees with the ECMAScript date-time parser on its own format', () => {
    const pad = (n: number, width: number) => String(n).padStart(width, '0');
    const fields = fc.record({
      year: fc.integer({ min: 0, max: 9999 }),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 31 }),
      hour: fc.integer({ min: 0, max: 23 }),
      minute: fc.integer({ min: 0, max: 59 }),
      second: fc.integer({ min: 0, max: 59 }),
      ms: fc.integer({ min: 0, max: 999 }),
      zone: fc.oneof(fc.constant('Z'), fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([s, h, m]) => `${s}${pad(h, 2)}:${pad(m, 2)}`)),
    });
    fc.assert(
      fc.property(fields, (f) => {
        const date = `${pad(f.year, 4)}-${pad(f.month, 2)}-${pad(f.day, 2)}`;
        const dateTime = `${date}T${pad(f.hour, 2)}:${pad(f.minute, 2)}:${pad(f.second, 2)}.${pad(f.ms, 3)}${f.zone}`;
        // Date.parse rolls impossible days over into the next month; parseInstant refuses them.
        const valid = new Date(Date.parse(`${date}T00:00:00Z`)).getUTCDate() === f.day;
        if (!valid) {
          expect(parseInstant(date), date).toBeUndefined();
          expect(parseInstant(dateTime), dateTime).toBeUndefined();
          return;
        }
        expect(parseInstant(date), date).toBe(Date.parse(`${date}T00:00:00Z`));
        expect(parseInstant(dateTime), dateTime).toBe(Date.parse(dateTime));
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['no zone', '2024-03-15T10:20:30'],
    ['no zone, minutes', '2024-03-15T10:20'],
    ['no zone, fraction', '2024-03-15T10:20:30.123'],
    ['hours only', '2024-03-15T10Z'],
    ['hour 24', '2024-03-15T24:00Z'],
    ['minute 60', '2024-03-15T10:60Z'],
    ['leap second', '2016-12-31T23:59:60Z'],
    ['one-digit hour', '2024-03-15T1:20Z'],
    ['one-digit second', '2024-03-15T10:20:3Z'],
    ['empty fraction', '2024-03-15T10:20:30.Z'],
    ['comma fraction', '2024-03-15T10:20:30,5Z'],
    ['fraction without seconds', '2024-03-15T10:20.5Z'],
    ['lower-case t', '2024-03-15t10:20Z'],
    ['lower-case z', '2024-03-15T10:20z'],
    ['space separator', '2024-03-15 10:20Z'],
    ['basic time', '2024-03-15T1020Z'],
    ['offset without colon', '2024-03-15T10:20+0200'],
    ['offset hours only', '2024-03-15T10:20+02'],
    ['offset hour 24', '2024-03-15T10:20+24:00'],
    ['offset minute 60', '2024-03-15T10:20+01:60'],
    ['unicode minus offset', '2024-03-15T10:20\u221202:00'],
    ['zone name', '2024-03-15T10:20 UTC'],
    ['Z then offset', '2024-03-15T10:20Z+01:00'],
    ['trailing text', '2024-03-15T10:20Zx'],
    ['trailing space', '2024-03-15T10:20Z '],
    ['impossible date', '2023-02-30T10:20Z'],
  ])('refuses a date-time with %s', (_label, input) => {
    expect(parseInstant(input)).toBeUndefined();
  });
});
