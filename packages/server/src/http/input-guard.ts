/**
 * The request pipeline's one check of input encoding, before any route sees
 * it: JSON bodies nested deeper than {@link MAX_JSON_DEPTH}, and strings (in
 * the body, its keys, the query and the path) holding a NUL character or a
 * lone UTF-16 surrogate are refused with a 400. PostgreSQL stores neither
 * (NUL fails text and jsonb columns; a lone surrogate fails jsonb and is
 * silently replaced by U+FFFD in text, so two distinct ids would collapse
 * into one), and deep nesting overflows the stack of recursive validation.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

/** Deepest accepted JSON body: `{"a":[1]}` is 2 deep. */
export const MAX_JSON_DEPTH = 64;

type Where = 'body' | 'query' | 'params';

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What is wrong with `s`, if anything: a NUL character or a lone surrogate. */
function badCharacter(s: string): 'NUL' | 'lone surrogate' | undefined {
  if (s.includes('\u0000')) return 'NUL';
  if (LONE_SURROGATE.test(s)) return 'lone surrogate';
  return undefined;
}

function refuseCharacter(where: Where, path: string, found: 'NUL' | 'lone surrogate', inKey: boolean): ApiError {
  const what = found === 'NUL' ? 'a NUL character (U+0000)' : 'a lone UTF-16 surrogate (half of a pair, e.g. \\udc01)';
  const at = path === '' ? where : `${where} ${path}`;
  return new ApiError('INVALID_CHARACTER', `Invalid ${where}: ${inKey ? 'a key' : 'a string'} at ${at} contains ${what}, which cannot be stored: send well-formed Unicode text without NUL`, {
    where,
    path,
    character: found,
  });
}

const pathOf = (parent: string, key: string | number): string =>
  typeof key === 'number' ? `${parent}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? (parent === '' ? key : `${parent}.${key}`) : `${parent}[${JSON.stringify(key)}]`;

/**
 * Throws INVALID_CHARACTER or JSON_TOO_DEEP for the first problem of a parsed
 * value. Iterative, so no input can overflow the stack here.
 */
export function checkInputValue(value: unknown, where: Where, maxDepth = MAX_JSON_DEPTH): void {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value: v, path, depth } = stack.pop() as { value: unknown; path: string; depth: number };
    if (typeof v === 'string') {
      const found = badCharacter(v);
      if (found !== undefined) throw refuseCharacter(where, path, found, false);
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > maxDepth) {
      throw new ApiError('JSON_TOO_DEEP', `Invalid ${where}: nested more than ${maxDepth} levels deep (at ${path === '' ? 'the top' : path})`, { where, path, maxDepth });
    }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], path: pathOf(path, i), depth: depth + 1 });
      continue;
    }
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as string;
      const found = badCharacter(key);
      if (found !== undefined) throw refuseCharacter(where, pathOf(path, key), found, true);
      stack.push({ value: (v as Record<string, unknown>)[key], path: pathOf(path, key), depth: depth + 1 });
    }
  }
}

/**
 * Parses a JSON body as `JSON.parse` does (a `__proto__` key stays an own
 * property and changes no prototype, so a strict schema refuses it as an
 * unknown field where it appears: one metric item, not the whole batch) and
 * checks it. An empty body (what many HTTP clients send with
 * `Content-Type: application/json` on a POST without data) reads as no body:
 * routes whose fields are all optional accept it (see `bodyOrEmpty`), the
 * others answer 400 VALIDATION_FAILED naming the fields they need.
 */
export function parseJsonBody(text: string): unknown {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (source.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (error) {
    throw new ApiError('INVALID_JSON', `The body is not valid JSON: ${(error as Error).message}`);
  }
  checkInputValue(value, 'body');
  return value;
}

/**
 * Installs the JSON body parser and the check of the query and path
 * parameters on every route of `app`.
 */
export function installInputGuard(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request: FastifyRequest, body: string | Buffer, done: (error: Error | null, value?: unknown) => void) => {
    try {
      done(null, parseJsonBody(typeof body === 'string' ? body : body.toString('utf8')));
    } catch (error) {
      done(error as Error);
    }
  });
  app.addHook('preValidation', async (request) => {
    checkInputValue(request.params, 'params', 2);
    checkInputValue(request.query, 'query', 2);
  });
}
