import { describe, expect, it } from 'vitest';
import { HTTP_PLACEHOLDERS, PROMQL_PLACEHOLDERS, placeholdersOf, promDuration, promqlString, renderTemplate, templateProblems, urlComponent, usesPlaceholder } from './templates.js';

describe('templates', () => {
  it('fill every placeholder, with spaces inside the braces allowed', () => {
    const template = 'sum(rate(x{flag="{{flag}}",cohort="{{ cohort }}",env="{{environment}}",project="{{project}}"}[{{window}}]))';
    expect(placeholdersOf(template)).toEqual(['flag', 'cohort', 'environment', 'project', 'window']);
    expect(renderTemplate(template, { flag: 'new-checkout', cohort: 'control', environment: 'production', project: 'shop', window: '5m' }, promqlString)).toBe(
      'sum(rate(x{flag="new-checkout",cohort="control",env="production",project="shop"}[5m]))',
    );
    expect(() => renderTemplate('{{flag}}', {}, promqlString)).toThrow('{{flag}}');
  });

  it('escape label values for double-quoted PromQL strings, so a value cannot end the string', () => {
    const hostile = 'a"}) or vector(1) # \\ \n';
    const rendered = renderTemplate('x{flag="{{flag}}"}', { flag: hostile }, promqlString);
    expect(rendered).toBe('x{flag="a\\"}) or vector(1) # \\\\ \\n"}');
    // Read back as a Go string literal (JSON's escapes are the same for these), the value is intact.
    expect(JSON.parse(rendered.slice('x{flag='.length, -1))).toBe(hostile);
    // The window is a duration, not a string.
    expect(promqlString('5m', 'window')).toBe('5m');
  });

  it('encode URL values', () => {
    expect(renderTemplate('https://s.example.com/m?flag={{flag}}&from={{from}}', { flag: 'a b&c=d', from: '2025-03-01T00:00:00.000Z' }, urlComponent)).toBe(
      'https://s.example.com/m?flag=a%20b%26c%3Dd&from=2025-03-01T00%3A00%3A00.000Z',
    );
  });

  it('name unknown placeholders and stray braces', () => {
    expect(templateProblems('rate(x{flag="{{flag}}"}[{{window}}])', PROMQL_PLACEHOLDERS)).toEqual([]);
    expect(templateProblems('x{flag="{{flg}}", c="{{cohort}}", f="{{from}}"}', PROMQL_PLACEHOLDERS)).toEqual([
      'unknown placeholders {{flg}}, {{from}}; the placeholders are {{cohort}}, {{flag}}, {{environment}}, {{project}}, {{window}}',
    ]);
    expect(templateProblems('https://x/?from={{from}}&to={{to}}', HTTP_PLACEHOLDERS)).toEqual([]);
    expect(templateProblems('x{flag="{{flag}"}', PROMQL_PLACEHOLDERS)).toEqual(['has a "{{" that does not open a placeholder such as {{flag}}']);
    expect(usesPlaceholder('x{c="{{ cohort }}"}', 'cohort')).toBe(true);
    expect(usesPlaceholder('x', 'cohort')).toBe(false);
    expect(usesPlaceholder(undefined, 'cohort')).toBe(false);
  });

  it('write windows as PromQL durations', () => {
    expect(promDuration(60_000)).toBe('1m');
    expect(promDuration(3_600_000)).toBe('1h');
    expect(promDuration(90_000)).toBe('90s');
    expect(promDuration(2 * 86_400_000)).toBe('48h');
    expect(promDuration(1_400)).toBe('1s');
    expect(promDuration(0)).toBe('1s');
  });
});
