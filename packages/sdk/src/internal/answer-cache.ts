/**
 * The browser client's cache of its last answers, in localStorage (or any
 * Storage-like object): one storage item per server URL and token, holding
 * the answers for the last few contexts, newest first. Contexts are stored
 * as hashes, not as themselves (they may hold personal data). A storage that
 * throws (private browsing, quota, blocked cookies) only disables the cache.
 */
import type { FrontendEvaluation } from './frontend-evaluation.js';
import { isFrontendEvaluation, isRecord } from './frontend-evaluation.js';

/** What the cache needs of `window.localStorage`. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** A cached answer and when the server gave it (ms since the epoch). */
export interface CachedAnswer extends FrontendEvaluation {
  readonly at: number;
}

interface Entry {
  c: string;
  a: CachedAnswer;
}

/** Answers kept per URL and token: the contexts a page switches between (signed out, signed in...). */
export const CACHED_CONTEXTS = 5;
const PREFIX = 'rollgate:';
const FORMAT = 1;

/** A 64-bit string hash (two 32-bit multiply-xorshift lanes), as base-36 text. Not cryptographic. */
export function hashText(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(36) + (h1 >>> 0).toString(36);
}

/** The page's localStorage, if it has one that may be used. */
export function defaultStorage(): StorageLike | undefined {
  try {
    return (globalThis as { localStorage?: StorageLike }).localStorage;
  } catch {
    return undefined; // reading localStorage throws where storage is blocked
  }
}

export class AnswerCache {
  /** The storage item's key: `rollgate:` and a hash of the URL and token. */
  readonly key: string;

  constructor(
    private readonly storage: StorageLike,
    url: string,
    token: string,
  ) {
    this.key = PREFIX + hashText(`${url}\n${token}`);
  }

  /** The cached answer for a context (by its contextKeyOf), if any. */
  read(contextKey: string): CachedAnswer | undefined {
    const c = hashText(contextKey);
    return this.entries().find((e) => e.c === c)?.a;
  }

  /** Stores the answer for a context, first; keeps the CACHED_CONTEXTS newest. */
  write(contextKey: string, answer: CachedAnswer): void {
    const c = hashText(contextKey);
    const entries = [{ c, a: answer }, ...this.entries().filter((e) => e.c !== c)].slice(0, CACHED_CONTEXTS);
    try {
      this.storage.setItem(this.key, JSON.stringify({ v: FORMAT, e: entries }));
    } catch {
      // Full or blocked: the cache only makes starts faster.
    }
  }

  private entries(): Entry[] {
    try {
      const stored = JSON.parse(this.storage.getItem(this.key) ?? 'null') as unknown;
      if (!isRecord(stored) || stored.v !== FORMAT || !Array.isArray(stored.e)) return [];
      return (stored.e as unknown[]).filter((e): e is Entry => isRecord(e) && typeof e.c === 'string' && isFrontendEvaluation(e.a) && typeof (e.a as { at?: unknown }).at === 'number');
    } catch {
      return [];
    }
  }
}
