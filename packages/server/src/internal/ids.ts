import { randomBytes } from 'node:crypto';

/**
 * A new id: `prefix_` + 26 characters of a time-ordered UUIDv7-style value in
 * Crockford base32, so ids sort by creation time.
 *
 * @example
 * newId('flg'); // 'flg_01jd6...'
 */
export function newId(prefix: string, now = Date.now()): string {
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = alphabet[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = randomBytes(16);
  let rest = '';
  for (let i = 0; i < 16; i++) rest += alphabet[(random[i] as number) % 32];
  return `${prefix}_${time}${rest}`;
}
