import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config.js';
import { acceleratedClock, clockFor, realIntervalMs, systemClock, timeScaleOf } from './time.js';

describe('acceleratedClock', () => {
  it('runs `scale` times faster than real time from its creation', () => {
    let real = 1_000_000;
    const clock = acceleratedClock(60, () => real);
    expect(clock().getTime()).toBe(1_000_000);
    real += 1000;
    expect(clock().getTime()).toBe(1_000_000 + 60_000);
    real += 59_000;
    expect(clock().getTime()).toBe(1_000_000 + 3_600_000);
    expect(timeScaleOf(clock)).toBe(60);
  });

  it('resumes from a later recorded time instead of going back to real time, and ignores an earlier one', () => {
    let real = 1_000_000;
    const resumed = acceleratedClock(60, () => real, 5_000_000);
    expect(resumed().getTime()).toBe(5_000_000);
    real += 1000;
    expect(resumed().getTime()).toBe(5_000_000 + 60_000);
    expect(acceleratedClock(60, () => real, 5)().getTime()).toBe(real);
  });

  it('refuses a scale that is not a positive number', () => {
    for (const scale of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => acceleratedClock(scale)).toThrow(RangeError);
  });
});

describe('realIntervalMs', () => {
  it('divides a timer interval by the scale, with a floor', () => {
    expect(realIntervalMs(systemClock, 10_000)).toBe(10_000);
    expect(realIntervalMs(acceleratedClock(60), 10_000)).toBe(167);
    expect(realIntervalMs(acceleratedClock(1000), 10_000)).toBe(100);
    expect(realIntervalMs(acceleratedClock(1000), 10_000, 5)).toBe(10);
  });
});

describe('clockFor', () => {
  it('gives real time at scale 1, and an accelerated clock in development and demo mode', () => {
    expect(clockFor({ mode: 'production', timeScale: 1 })).toBe(systemClock);
    expect(timeScaleOf(clockFor({ mode: 'demo', timeScale: 60 }))).toBe(60);
    expect(timeScaleOf(clockFor({ mode: 'development', timeScale: 2.5 }))).toBe(2.5);
  });

  it('refuses an accelerated clock in production mode, saying how to allow it', () => {
    expect(() => clockFor({ mode: 'production', timeScale: 60 })).toThrow(ConfigError);
    expect(() => clockFor({ mode: 'production', timeScale: 60 })).toThrow(/ROLLGATE_MODE=development/);
  });
});
