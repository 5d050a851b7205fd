import { describe, expect, it } from 'vitest';
import { describeJsonValue, JsonPathError, parseJsonPath, readJsonPath } from './json-path.js';

describe('JSON paths', () => {
  it('parse dots, indexes and quoted names, with an optional $', () => {
    expect(parseJsonPath('data.items[0].value')).toEqual(['data', 'items', 0, 'value']);
    expect(parseJsonPath('$.data["error-rate"][12]')).toEqual(['data', 'error-rate', 12]);
    expect(parseJsonPath("$['a.b']['it\\'s']")).toEqual(['a.b', "it's"]);
    expect(parseJsonPath('[1][2]')).toEqual([1, 2]);
    expect(parseJsonPath('$')).toEqual([]);
  });

  it('refuse what they cannot read, saying where', () => {
    for (const bad of ['', 'a..b', 'a[', 'a[x]', 'a["b"', 'a["b"x', '$a', 'a b', 'a.', 'a[-1]']) {
      expect(() => parseJsonPath(bad), bad).toThrow(JsonPathError);
    }
    expect(() => parseJsonPath('a[x]')).toThrow('at 1');
  });

  it('read own properties and array items only', () => {
    const doc = { data: { items: [{ value: 2.5 }, { value: null }] }, 'error-rate': 1 };
    expect(readJsonPath(doc, parseJsonPath('data.items[0].value'))).toBe(2.5);
    expect(readJsonPath(doc, parseJsonPath('data.items[1].value'))).toBeNull();
    expect(readJsonPath(doc, parseJsonPath('data.items[2].value'))).toBeUndefined();
    expect(readJsonPath(doc, parseJsonPath('["error-rate"]'))).toBe(1);
    expect(readJsonPath(doc, parseJsonPath('data.constructor'))).toBeUndefined();
    expect(readJsonPath(doc, parseJsonPath('data.items.length'))).toBeUndefined();
    expect(readJsonPath(7, parseJsonPath('$'))).toBe(7);
  });

  it('describe values without their content', () => {
    expect(describeJsonValue(undefined)).toBe('missing');
    expect(describeJsonValue('secret stuff')).toBe('a string');
    expect(describeJsonValue({ a: 1 })).toBe('an object');
    expect(describeJsonValue([1])).toBe('an array');
    expect(describeJsonValue(null)).toBe('null');
    expect(describeJsonValue(true)).toBe('a boolean');
  });
});
