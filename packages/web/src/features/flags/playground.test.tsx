import { describe, expect, it } from 'vitest';
import type { Flag } from '../../api/types.js';
import { environmentSnapshot, explain, parseContext, whatDoesItGet } from './playground.js';

const flag: Flag = {
  id: 'f',
  projectKey: 'shop',
  key: 'new-checkout',
  name: 'New checkout',
  description: '',
  type: 'boolean',
  variations: [
    { key: 'on', value: true },
    { key: 'off', value: false },
  ],
  tags: [],
  archived: false,
  version: 1,
  createdAt: '',
  updatedAt: '',
  environments: {
    production: {
      environmentKey: 'production',
      version: 3,
      updatedAt: '',
      config: {
        enabled: true,
        offVariation: 'off',
        rules: [
          { id: 'beta', segments: ['beta'], serve: { variation: 'on' } },
          { id: 'germany', conditions: [{ attribute: 'country', operator: 'in', values: ['DE'] }], serve: { variation: 'on' } },
        ],
        fallthrough: { variation: 'off' },
      },
    },
  },
};
const segments = [{ id: 's', projectKey: 'shop', key: 'beta', name: 'Beta', description: '', version: 1, createdAt: '', updatedAt: '', definition: { included: ['ann'] } }];

describe('what does this context get, and why', () => {
  const snapshot = environmentSnapshot([flag], segments, 'production');
  it('runs the core evaluator on the environment snapshot and names the rule that matched', () => {
    const de = whatDoesItGet(snapshot, 'new-checkout', { userId: 'u1', country: 'DE' });
    expect(de).toMatchObject({ value: true, variant: 'on', reason: 'TARGETING_MATCH', ruleId: 'germany' });
    expect(explain(de, snapshot.flags[0])).toBe('Rule 2 (germany) matched.');
    const beta = whatDoesItGet(snapshot, 'new-checkout', { userId: 'ann' });
    expect(beta.ruleId).toBe('beta');
    const other = whatDoesItGet(snapshot, 'new-checkout', { userId: 'u2', country: 'FR' });
    expect(other).toMatchObject({ variant: 'off', reason: 'DEFAULT' });
  });
  it('says when the flag is off there or the context is not JSON', () => {
    const off = environmentSnapshot([{ ...flag, environments: { production: { ...flag.environments.production!, config: { ...flag.environments.production!.config, enabled: false } } } }], segments, 'production');
    const r = whatDoesItGet(off, 'new-checkout', { userId: 'u1', country: 'DE' });
    expect(r.reason).toBe('DISABLED');
    expect(explain(r, off.flags[0])).toMatch(/kill switch/);
    expect(parseContext('{"userId": ')).toHaveProperty('error');
    expect(parseContext('[1]')).toEqual({ error: expect.stringMatching(/JSON object/) });
  });
});
