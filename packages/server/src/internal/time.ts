import { checkTimeScale, type ServerConfig } from '../config.js';

/** Timestamps from either driver (Date objects or strings) as ISO 8601 strings. */
export function iso(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}

/** The same for nullable columns. */
export function isoOrNull(value: Date | string | null): string | null {
  return value === null ? null : iso(value);
}

/**
 * The server's clock, injectable so tests can move time. Everything that
 * decides by time (controller ticks, stage durations, sustained windows,
 * metric minutes, staleness, retention) reads this one clock. `scale` is how
 * many times faster than real time it runs (1 when absent).
 */
export type Clock = (() => Date) & { readonly scale?: number };

export const systemClock: Clock = () => new Date();

/**
 * A clock that runs `scale` times faster than `realNow`, starting at the
 * real time of its creation, or at `resumeAt` when that is later (a restarted
 * server goes on from the latest time it recorded instead of going back to
 * real time): at scale 60 one real minute is one hour.
 *
 * @example
 * const clock = acceleratedClock(60);
 * setTimeout(() => clock(), 1000); // one minute after creation
 */
export function acceleratedClock(scale: number, realNow: () => number = Date.now, resumeAt = -Infinity): Clock {
  if (!Number.isFinite(scale) || scale <= 0) throw new RangeError(`a clock's scale must be a positive number (got ${scale})`);
  const origin = realNow();
  const start = Math.max(origin, resumeAt);
  return Object.assign(() => new Date(start + (realNow() - origin) * scale), { scale });
}

/** How many times faster than real time `clock` runs. */
export function timeScaleOf(clock: Clock): number {
  return clock.scale ?? 1;
}

/**
 * The real interval of a timer that should fire every `ms` of `clock`'s
 * time, never below `floorMs` (so that a fast clock does not spin the CPU).
 */
export function realIntervalMs(clock: Clock, ms: number, floorMs = 100): number {
  return Math.max(floorMs, Math.round(ms / timeScaleOf(clock)));
}

/**
 * The clock `config` asks for: real time, or accelerated by `timeScale`
 * (refused in production mode with a ConfigError) from `resumeAt` when that
 * is later than now.
 */
export function clockFor(config: Pick<ServerConfig, 'mode' | 'timeScale'>, resumeAt?: number): Clock {
  checkTimeScale(config.mode, config.timeScale);
  return config.timeScale === 1 ? systemClock : acceleratedClock(config.timeScale, Date.now, resumeAt);
}
