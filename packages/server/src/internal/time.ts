/** Timestamps from either driver (Date objects or strings) as ISO 8601 strings. */
export function iso(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}

/** The same for nullable columns. */
export function isoOrNull(value: Date | string | null): string | null {
  return value === null ? null : iso(value);
}

/** The server's clock, injectable so tests can move time. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
