/**
 * Dot and bracket paths into JSON documents, for the HTTP JSON source:
 * `data.items[0].value`, `$.result["error-rate"]`, `['p95']`. A leading `$`
 * (the document) is optional.
 */

export type JsonPath = readonly (string | number)[];

/** Why a path cannot be parsed, with the position. */
export class JsonPathError extends Error {}

const IDENTIFIER = /^[^.[\]"'\s]+/;

/**
 * Parses a path; throws JsonPathError saying where it goes wrong.
 *
 * @example
 * parseJsonPath('data.items[0]["p95 ms"]'); // ['data', 'items', 0, 'p95 ms']
 */
export function parseJsonPath(path: string): JsonPath {
  const out: (string | number)[] = [];
  let i = 0;
  const rest = () => path.slice(i);
  if (path.startsWith('$')) i = 1;
  let first = true;
  while (i < path.length) {
    const c = path[i];
    if (c === '[') {
      const index = /^\[(\d{1,9})\]/.exec(rest());
      if (index !== null) {
        out.push(Number(index[1]));
        i += index[0].length;
      } else {
        const quote = path[i + 1];
        if (quote !== '"' && quote !== "'") throw new JsonPathError(`at ${i}: "[" must hold an index ([0]) or a quoted name (["name"])`);
        let j = i + 2;
        let name = '';
        for (; j < path.length && path[j] !== quote; j++) {
          if (path[j] === '\\' && j + 1 < path.length) j++;
          name += path[j];
        }
        if (j >= path.length) throw new JsonPathError(`at ${i}: the quoted name is not closed`);
        if (path[j + 1] !== ']') throw new JsonPathError(`at ${j + 1}: expected "]" after the quoted name`);
        out.push(name);
        i = j + 2;
      }
    } else {
      if (c === '.') {
        i++;
      } else if (!first || path.startsWith('$')) {
        throw new JsonPathError(`at ${i}: expected "." or "[" before ${JSON.stringify(rest().slice(0, 20))}`);
      }
      const name = IDENTIFIER.exec(rest());
      if (name === null) throw new JsonPathError(`at ${i}: expected a name after "."`);
      out.push(name[0]);
      i += name[0].length;
    }
    first = false;
  }
  if (out.length === 0 && !path.startsWith('$')) throw new JsonPathError('the path is empty');
  return out;
}

/** The value at `path` in `document`, or undefined when any step is missing. Own properties only. */
export function readJsonPath(document: unknown, path: JsonPath): unknown {
  let value: unknown = document;
  for (const step of path) {
    if (typeof step === 'number') {
      if (!Array.isArray(value) || step >= value.length) return undefined;
      value = value[step];
    } else {
      if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, step)) return undefined;
      value = (value as Record<string, unknown>)[step];
    }
  }
  return value;
}

/** What a value is, for messages ("a string", "missing"), without its content. */
export function describeJsonValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  // Never the content: error messages are shown to people and logged, and the document may hold anything.
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return Number.isFinite(value) ? `the number ${value}` : 'not a finite number';
  return `a ${typeof value}`;
}
