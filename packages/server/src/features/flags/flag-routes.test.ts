import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, testBackends, type TestApp } from '../../testing.test-helpers.js';
import { addUser, auditActions, auditCount, lastSnapshotChange, snapshotVersions, stateOf, type TestUser } from './flag-testing.test-helpers.js';

const P = '/api/projects/flagz';

describe.each(testBackends())('flags (%s)', (backend) => {
  let t: TestApp;
  let viewer: TestUser;
  let editor: TestUser;
  beforeAll(async () => {
    t = await createTestApp(backend);
    expect((await t.request('POST', '/api/projects', { key: 'flagz', name: 'Flags' })).status).toBe(201);
    for (const key of ['dev', 'prod']) expect((await t.request('POST', `${P}/environments`, { key, name: key })).status).toBe(201);
    viewer = await addUser(t, 'viewer');
    editor = await addUser(t, 'editor');
  });
  afterAll(() => t.close());

  const configOf = async (flag: string, env: string) => (await t.request('GET', `${P}/flags/${flag}/environments/${env}`)).body;
  const put = (flag: string, env: string, body: unknown, token?: string) => t.request('PUT', `${P}/flags/${flag}/environments/${env}`, body, token);
  const setConfig = async (flag: string, env: string, config: unknown) => {
    const current = await configOf(flag, env);
    const res = await put(flag, env, { version: current.version, config });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };

  it('creates a boolean flag with on/off, disabled in every environment, and bumps every snapshot', async () => {
    const before = await snapshotVersions(t, 'flagz');
    const res = await t.request('POST', `${P}/flags`, { key: 'new-checkout', name: 'New checkout', tags: ['checkout'] });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      key: 'new-checkout',
      projectKey: 'flagz',
      type: 'boolean',
      variations: [
        { key: 'on', value: true },
        { key: 'off', value: false },
      ],
      tags: ['checkout'],
      archived: false,
      version: 1,
      description: '',
    });
    expect(Object.keys(res.body.environments)).toEqual(['dev', 'prod']);
    expect(res.body.environments.prod).toMatchObject({ environmentKey: 'prod', version: 1, config: { enabled: false, offVariation: 'off', fallthrough: { variation: 'off' } } });
    const after = await snapshotVersions(t, 'flagz');
    expect(after).toEqual({ dev: (before.dev as number) + 1, prod: (before.prod as number) + 1 });
    expect(await lastSnapshotChange(t, 'flagz', 'prod')).toEqual({ type: 'flag', key: 'new-checkout', removed: false });
    expect((await auditActions(t, 'flagz', 1))[0]).toBe('flag.created');
    expect((await t.request('GET', `${P}/flags/new-checkout`)).body).toEqual(res.body);
  });

  it('creates string, number and json flags with their variations', async () => {
    const cases = [
      { key: 'banner-text', type: 'string', variations: [{ key: 'a', value: 'Hello' }, { key: 'b', value: 'Hi' }] },
      { key: 'page-size', type: 'number', variations: [{ key: 'small', value: 10 }, { key: 'large', value: 50.5 }] },
      { key: 'theme', type: 'json', variations: [{ key: 'light', value: { bg: '#fff' } }, { key: 'list', value: [1, 2] }, { key: 'none', value: null }] },
    ];
    for (const c of cases) {
      const res = await t.request('POST', `${P}/flags`, { ...c, name: c.key });
      expect(res.status, c.key).toBe(201);
      expect(res.body).toMatchObject({ key: c.key, type: c.type, variations: c.variations });
      // The off variation is the last one when none is called "off".
      const last = c.variations[c.variations.length - 1]?.key;
      expect(res.body.environments.dev.config).toEqual({ enabled: false, offVariation: last, fallthrough: { variation: last } });
    }
  });

  it('refuses bad flags with a 4xx and changes nothing', async () => {
    const before = await stateOf(t, 'flagz');
    const cases: [unknown, number, string, string?][] = [
      [{ key: 'no-vars', name: 'x', type: 'string' }, 400, 'VALIDATION_FAILED', 'variations'],
      [{ key: 'bad-type', name: 'x', type: 'number', variations: [{ key: 'a', value: 1 }, { key: 'b', value: '2' }] }, 400, 'INVALID_CONFIGURATION', 'variations[1].value'],
      [{ key: 'bad-bool', name: 'x', type: 'boolean', variations: [{ key: 'on', value: 'yes' }] }, 400, 'INVALID_CONFIGURATION', 'variations[0].value'],
      [{ key: 'bad-json', name: 'x', type: 'json', variations: [{ key: 'a', value: 'text' }] }, 400, 'INVALID_CONFIGURATION', 'variations[0].value'],
      [{ key: 'dup-keys', name: 'x', type: 'string', variations: [{ key: 'a', value: 'x' }, { key: 'a', value: 'y' }] }, 400, 'INVALID_CONFIGURATION', 'variations[1].key'],
      [{ key: 'new-checkout', name: 'again' }, 409, 'ALREADY_EXISTS'],
      [{ key: 'bad key', name: 'x' }, 400, 'VALIDATION_FAILED', 'key'],
      [{ key: 'extra', name: 'x', color: 'red' }, 400, 'VALIDATION_FAILED'],
      [{ key: 'wrong-types', name: 5, tags: 'a' }, 400, 'VALIDATION_FAILED'],
      [{ key: 'bad-type-name', name: 'x', type: 'date' }, 400, 'VALIDATION_FAILED', 'type'],
      [{ key: 'no-vars-empty', name: 'x', variations: [] }, 400, 'VALIDATION_FAILED', 'variations'],
    ];
    for (const [body, status, code, path] of cases) {
      const res = await t.request('POST', `${P}/flags`, body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body.code).toBe(code);
      if (path !== undefined) expect(res.body.details.issues.map((i: { path: string }) => i.path)).toContain(path);
    }
    expect((await t.request('POST', '/api/projects/nope/flags', { key: 'x', name: 'x' })).status).toBe(404);
    expect(await stateOf(t, 'flagz')).toEqual(before);
  });

  it('lists flags by key, with cursor paging, tag and archived filters', async () => {
    for (const key of ['list-a', 'list-b', 'list-c']) {
      expect((await t.request('POST', `${P}/flags`, { key, name: key, tags: key === 'list-b' ? ['odd', 'x'] : ['x'] })).status).toBe(201);
    }
    const all = await t.request('GET', `${P}/flags?limit=500`);
    const keys = all.body.items.map((f: { key: string }) => f.key);
    expect(keys).toEqual([...keys].sort());
    expect(all.body.nextCursor).toBeNull();
    expect(all.body.items.every((f: { environments: object }) => Object.keys(f.environments).join() === 'dev,prod')).toBe(true);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: any } = await t.request('GET', `${P}/flags?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((f: { key: string }) => f.key));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(keys);
    const odd = await t.request('GET', `${P}/flags?tag=odd`);
    expect(odd.body.items.map((f: { key: string }) => f.key)).toEqual(['list-b']);
    expect((await t.request('GET', `${P}/flags?archived=true`)).body.items).toEqual([]);
    expect((await t.request('GET', `${P}/flags?archived=maybe`)).body.code).toBe('VALIDATION_FAILED');
    expect((await t.request('GET', `${P}/flags?limit=0`)).status).toBe(400);
    expect((await t.request('GET', `${P}/flags?sort=name`)).status).toBe(400);
  });

  it('updates name, tags and variations with optimistic concurrency', async () => {
    const before = await snapshotVersions(t, 'flagz');
    const renamed = await t.request('PATCH', `${P}/flags/banner-text`, { version: 1, name: 'Banner', tags: ['ui'] });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'Banner', tags: ['ui'], version: 2 });
    // Name and tags are not in the snapshots.
    expect(await snapshotVersions(t, 'flagz')).toEqual(before);
    const stale = await t.request('PATCH', `${P}/flags/banner-text`, { version: 1, name: 'Lost' });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ code: 'VERSION_CONFLICT', details: { currentVersion: 2 } });
    // Changing a variation's value is fine, and changes every snapshot.
    const changed = await t.request('PATCH', `${P}/flags/banner-text`, {
      version: 2,
      variations: [
        { key: 'a', value: 'Hello!' },
        { key: 'b', value: 'Hi' },
        { key: 'c', value: 'Hey', name: 'Third' },
      ],
    });
    expect(changed.status).toBe(200);
    expect(changed.body.variations).toHaveLength(3);
    expect(changed.body.version).toBe(3);
    expect(await snapshotVersions(t, 'flagz')).toEqual({ dev: (before.dev as number) + 1, prod: (before.prod as number) + 1 });
    expect((await auditActions(t, 'flagz', 1))[0]).toBe('flag.updated');
  });

  it('refuses variations that would break a configuration, in any environment or prerequisite', async () => {
    await setConfig('banner-text', 'prod', { enabled: true, offVariation: 'b', fallthrough: { variation: 'c' } });
    await setConfig('new-checkout', 'dev', { enabled: true, offVariation: 'off', prerequisites: [{ flag: 'banner-text', variations: ['a'] }], fallthrough: { variation: 'on' } });
    const before = await stateOf(t, 'flagz');
    const version = (await t.request('GET', `${P}/flags/banner-text`)).body.version;
    const dropC = await t.request('PATCH', `${P}/flags/banner-text`, { version, variations: [{ key: 'a', value: 'x' }, { key: 'b', value: 'y' }] });
    expect(dropC.status).toBe(400);
    expect(dropC.body.code).toBe('INVALID_CONFIGURATION');
    expect(dropC.body.details.issues).toContainEqual({ path: 'environments.prod.config.fallthrough.variation', message: 'unknown variation "c"' });
    const dropA = await t.request('PATCH', `${P}/flags/banner-text`, { version, variations: [{ key: 'b', value: 'y' }, { key: 'c', value: 'z' }] });
    expect(dropA.status).toBe(400);
    expect(dropA.body.details.issues.map((i: { path: string }) => i.path)).toEqual(['flags.new-checkout.environments.dev.config.prerequisites[0].variations[0]']);
    const wrongType = await t.request('PATCH', `${P}/flags/banner-text`, { version, variations: [{ key: 'a', value: 1 }, { key: 'b', value: 'y' }, { key: 'c', value: 'z' }] });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.details.issues.map((i: { path: string }) => i.path)).toEqual(['variations[0].value']);
    expect(await stateOf(t, 'flagz')).toEqual(before);
  });

  it('sets a configuration in one environment: version + 1, that snapshot bumped, audited with before and after', async () => {
    const before = await snapshotVersions(t, 'flagz');
    const current = await configOf('page-size', 'dev');
    const config = {
      enabled: true,
      offVariation: 'small',
      targets: [{ variation: 'large', values: ['alice'] }],
      rules: [
        { id: 'ca', conditions: [{ attribute: 'country', operator: 'in', values: ['CA'] }], serve: { variation: 'large' } },
        { id: 'beta', conditions: [{ attribute: 'email', operator: 'matches', values: ['@example\\.com$'] }], serve: { rollout: { percentage: 25.5, variation: 'large' } } },
      ],
      fallthrough: { rollout: { percentage: 100, variants: [{ variation: 'small', weight: 60_000 }, { variation: 'large', weight: 40_000 }] } },
    };
    const res = await put('page-size', 'dev', { version: current.version, config, comment: 'ramp up' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ environmentKey: 'dev', version: current.version + 1, config });
    expect(await snapshotVersions(t, 'flagz')).toEqual({ dev: (before.dev as number) + 1, prod: before.prod });
    expect(await lastSnapshotChange(t, 'flagz', 'dev')).toEqual({ type: 'flag', key: 'page-size', removed: false });
    const audit = (await t.request('GET', '/api/audit?projectKey=flagz&limit=1')).body.items[0];
    expect(audit).toMatchObject({ action: 'flag.environment.updated', resourceType: 'flag', resourceKey: 'page-size', environmentKey: 'dev' });
    expect(audit.before.version).toBe(current.version);
    expect(audit.after).toMatchObject({ version: current.version + 1, comment: 'ramp up', config });
    expect((await t.request('GET', `${P}/flags/page-size`)).body.environments.dev.config).toEqual(config);
  });

  it('refuses every kind of invalid configuration with a 4xx, changing nothing', async () => {
    expect((await t.request('POST', `${P}/segments`, { key: 'beta-users', name: 'Beta', definition: { included: ['u1'] } })).status).toBe(201);
    await setConfig('list-a', 'dev', { enabled: true, offVariation: 'off', prerequisites: [{ flag: 'list-b', variations: ['on'] }], fallthrough: { variation: 'on' } });
    const base = { enabled: true, offVariation: 'off', fallthrough: { variation: 'on' } };
    const rule = (r: object) => ({ ...base, rules: [{ id: 'r', serve: { variation: 'on' }, ...r }] });
    const current = await configOf('list-b', 'dev');
    const v = current.version;
    const cases: [string, unknown, number, string, string?][] = [
      ['unknown variation', { version: v, config: { ...base, fallthrough: { variation: 'maybe' } } }, 400, 'INVALID_CONFIGURATION', 'config.fallthrough.variation'],
      ['unknown off variation', { version: v, config: { ...base, offVariation: 'nope' } }, 400, 'INVALID_CONFIGURATION', 'config.offVariation'],
      [
        'a regex without an RE2 equivalent (lookbehind)',
        { version: v, config: rule({ conditions: [{ attribute: 'a', operator: 'in', values: ['x'] }, { attribute: 'email', operator: 'matches', values: ['(?<=a+)b'] }] }) },
        400,
        'INVALID_CONFIGURATION',
        'config.rules[0].conditions[1].values[0]',
      ],
      [
        'weights not summing to 100000',
        { version: v, config: { ...base, fallthrough: { rollout: { percentage: 50, variants: [{ variation: 'on', weight: 50_000 }, { variation: 'off', weight: 40_000 }] } } } },
        400,
        'INVALID_CONFIGURATION',
        'config.fallthrough.rollout.variants',
      ],
      ['unknown segment', { version: v, config: rule({ segments: ['beta-users', 'nobody'] }) }, 400, 'INVALID_CONFIGURATION', 'config.rules[0].segments[1]'],
      ['bad semver', { version: v, config: rule({ conditions: [{ attribute: 'app', operator: 'semverGt', values: ['1.2'] }] }) }, 400, 'INVALID_CONFIGURATION', 'config.rules[0].conditions[0].values[0]'],
      ['duplicate rule ids', { version: v, config: { ...base, rules: [{ id: 'r', serve: { variation: 'on' } }, { id: 'r', serve: { variation: 'off' } }] } }, 400, 'INVALID_CONFIGURATION', 'config.rules[1].id'],
      ['unknown prerequisite flag', { version: v, config: { ...base, prerequisites: [{ flag: 'ghost', variations: ['on'] }] } }, 400, 'INVALID_CONFIGURATION', 'config.prerequisites[0].flag'],
      ['unknown prerequisite variation', { version: v, config: { ...base, prerequisites: [{ flag: 'list-c', variations: ['on', 'maybe'] }] } }, 400, 'INVALID_CONFIGURATION', 'config.prerequisites[0].variations[1]'],
      ['prerequisite cycle across two flags', { version: v, config: { ...base, prerequisites: [{ flag: 'list-a', variations: ['on'] }] } }, 400, 'INVALID_CONFIGURATION', 'config.prerequisites'],
      ['prerequisite on itself', { version: v, config: { ...base, prerequisites: [{ flag: 'list-b', variations: ['on'] }] } }, 400, 'INVALID_CONFIGURATION', 'config.prerequisites'],
      ['stale version', { version: v - 1 || 99, config: base }, 409, 'VERSION_CONFLICT'],
      ['unknown field', { version: v, config: { ...base, colour: 'red' } }, 400, 'VALIDATION_FAILED', 'config'],
      ['unknown top-level field', { version: v, config: base, force: true }, 400, 'VALIDATION_FAILED'],
      ['wrong types', { version: v, config: { ...base, enabled: 'yes' } }, 400, 'VALIDATION_FAILED', 'config.enabled'],
      ['wrong version type', { version: '1', config: base }, 400, 'VALIDATION_FAILED', 'version'],
      ['no version', { config: base }, 400, 'VALIDATION_FAILED', 'version'],
      ['percentage over 100', { version: v, config: { ...base, fallthrough: { rollout: { percentage: 101, variation: 'on' } } } }, 400, 'VALIDATION_FAILED'],
      ['both variation and rollout', { version: v, config: { ...base, fallthrough: { variation: 'on', rollout: { percentage: 1, variation: 'on' } } } }, 400, 'VALIDATION_FAILED'],
      ['unknown operator', { version: v, config: rule({ conditions: [{ attribute: 'a', operator: 'like', values: ['x'] }] }) }, 400, 'VALIDATION_FAILED'],
      ['not an object', [1, 2, 3], 400, 'VALIDATION_FAILED'],
    ];
    const before = await stateOf(t, 'flagz');
    for (const [name, body, status, code, path] of cases) {
      const res = await put('list-b', 'dev', body);
      expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(status);
      expect(res.body.code, name).toBe(code);
      if (path !== undefined) expect(res.body.details.issues.map((i: { path: string }) => i.path), name).toContain(path);
      if (code === 'VERSION_CONFLICT') expect(res.body.details.currentVersion).toBe(v);
      if (name.includes('lookbehind')) {
        expect(res.body.details.issues).toContainEqual({ path: 'config.rules[0].conditions[1].values[0]', message: expect.stringMatching(/lookbehind.*not supported.*RE2/) as unknown });
      }
    }
    const cycle = await put('list-b', 'dev', cases[9]?.[1]);
    expect(cycle.body.details.issues[0].message).toMatch(/cycle: list-b -> list-a -> list-b|cycle: list-a -> list-b -> list-a/);
    expect((await put('nope', 'dev', { version: 1, config: base })).status).toBe(404);
    expect((await put('list-b', 'nope', { version: 1, config: base })).status).toBe(404);
    expect((await t.request('GET', `${P}/flags/list-b/environments/nope`)).status).toBe(404);
    expect(await stateOf(t, 'flagz')).toEqual(before);
    expect((await configOf('list-b', 'dev')).version).toBe(v);
    // The same prerequisite is fine in another environment, where there is no cycle.
    await setConfig('list-b', 'prod', { ...base, prerequisites: [{ flag: 'list-a', variations: ['on'] }] });
  });

  it('refuses a prerequisite chain deeper than 32 flags', async () => {
    const keys = Array.from({ length: 34 }, (_, i) => `chain-${String(i).padStart(2, '0')}`);
    for (const key of keys) expect((await t.request('POST', `${P}/flags`, { key, name: key })).status).toBe(201);
    for (let i = 32; i >= 1; i--) {
      await setConfig(keys[i] as string, 'dev', { enabled: true, offVariation: 'off', prerequisites: [{ flag: keys[i + 1], variations: ['on'] }], fallthrough: { variation: 'on' } });
    }
    const audit = await auditCount(t);
    const res = await put(keys[0] as string, 'dev', {
      version: 1,
      config: { enabled: true, offVariation: 'off', prerequisites: [{ flag: keys[1], variations: ['on'] }], fallthrough: { variation: 'on' } },
    });
    expect(res.status).toBe(400);
    expect(res.body.details.issues[0].message).toContain('deeper than 32');
    expect(await auditCount(t)).toBe(audit);
  });

  it('archives and unarchives flags: they leave and come back to every snapshot, frozen meanwhile', async () => {
    // list-b is a prerequisite of list-a (dev): it cannot be archived.
    const b = (await t.request('GET', `${P}/flags/list-b`)).body;
    const before = await stateOf(t, 'flagz');
    const refused = await t.request('POST', `${P}/flags/list-b/archive`, { version: b.version });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('INVALID_STATE');
    expect(refused.body.message).toContain('list-a');
    expect(refused.body.details.dependents).toEqual([{ flagKey: 'list-a', environmentKey: 'dev' }]);
    expect(await stateOf(t, 'flagz')).toEqual(before);

    const c = (await t.request('GET', `${P}/flags/list-c`)).body;
    const versions = await snapshotVersions(t, 'flagz');
    expect((await t.request('POST', `${P}/flags/list-c/archive`, { version: c.version + 5 })).body.code).toBe('VERSION_CONFLICT');
    const archived = await t.request('POST', `${P}/flags/list-c/archive`, { version: c.version });
    expect(archived.status).toBe(200);
    expect(archived.body).toMatchObject({ archived: true, version: c.version + 1 });
    expect(await snapshotVersions(t, 'flagz')).toEqual({ dev: (versions.dev as number) + 1, prod: (versions.prod as number) + 1 });
    expect(await lastSnapshotChange(t, 'flagz', 'prod')).toEqual({ type: 'flag', key: 'list-c', removed: true });
    expect((await auditActions(t, 'flagz', 1))[0]).toBe('flag.archived');
    expect((await t.request('GET', `${P}/flags`)).body.items.map((f: { key: string }) => f.key)).not.toContain('list-c');
    expect((await t.request('GET', `${P}/flags?archived=true`)).body.items.map((f: { key: string }) => f.key)).toEqual(['list-c']);

    const frozen = await stateOf(t, 'flagz');
    const again = await t.request('POST', `${P}/flags/list-c/archive`, { version: c.version + 1 });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'INVALID_STATE', details: { state: 'archived' } });
    const config = await put('list-c', 'dev', { version: 1, config: { enabled: true, offVariation: 'off', fallthrough: { variation: 'on' } } });
    expect(config.status).toBe(409);
    expect(config.body).toMatchObject({ code: 'INVALID_STATE', details: { state: 'archived' } });
    const vars = await t.request('PATCH', `${P}/flags/list-c`, { version: c.version + 1, variations: [{ key: 'yes', value: true }] });
    expect(vars.body.code).toBe('INVALID_STATE');
    // An archived flag cannot become a prerequisite.
    const prereq = await put('list-a', 'prod', { version: 1, config: { enabled: true, offVariation: 'off', prerequisites: [{ flag: 'list-c', variations: ['on'] }], fallthrough: { variation: 'on' } } });
    expect(prereq.status).toBe(400);
    expect(prereq.body.details.issues[0]).toMatchObject({ path: 'config.prerequisites[0].flag' });
    expect(await stateOf(t, 'flagz')).toEqual(frozen);

    const back = await t.request('POST', `${P}/flags/list-c/unarchive`, { version: c.version + 1 });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ archived: false, version: c.version + 2 });
    expect(await lastSnapshotChange(t, 'flagz', 'dev')).toEqual({ type: 'flag', key: 'list-c', removed: false });
    expect((await t.request('POST', `${P}/flags/list-c/unarchive`, { version: c.version + 2 })).body).toMatchObject({ code: 'INVALID_STATE', details: { state: 'active' } });
  });

  it('keeps archived flags from coming back with configurations that name archived flags or deleted segments', async () => {
    for (const key of ['arch-leaf', 'arch-user']) expect((await t.request('POST', `${P}/flags`, { key, name: key })).status).toBe(201);
    expect((await t.request('POST', `${P}/segments`, { key: 'temp-seg', name: 'Temp', definition: { included: ['x'] } })).status).toBe(201);
    await setConfig('arch-user', 'prod', {
      enabled: true,
      offVariation: 'off',
      prerequisites: [{ flag: 'arch-leaf', variations: ['on'] }],
      rules: [{ id: 'r', segments: ['temp-seg'], serve: { variation: 'on' } }],
      fallthrough: { variation: 'off' },
    });
    expect((await t.request('POST', `${P}/flags/arch-user/archive`, { version: 1 })).status).toBe(200);
    // Nothing active uses them any more.
    expect((await t.request('POST', `${P}/flags/arch-leaf/archive`, { version: 1 })).status).toBe(200);
    expect((await t.request('DELETE', `${P}/segments/temp-seg`)).status).toBe(204);
    const refused = await t.request('POST', `${P}/flags/arch-user/unarchive`, { version: 2 });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('INVALID_STATE');
    expect(refused.body.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['environments.prod.config.prerequisites[0].flag', 'environments.prod.config.rules[0].segments[0]']);
    expect((await t.request('POST', `${P}/flags/arch-leaf/unarchive`, { version: 2 })).status).toBe(200);
    expect((await t.request('POST', `${P}/segments`, { key: 'temp-seg', name: 'Temp again', definition: { included: ['y'] } })).status).toBe(201);
    expect((await t.request('POST', `${P}/flags/arch-user/unarchive`, { version: 2 })).status).toBe(200);
  });

  it('lets viewers read and editors write, and refuses writes to viewers with 403', async () => {
    const before = await stateOf(t, 'flagz');
    const writes: [string, string, unknown][] = [
      ['POST', `${P}/flags`, { key: 'by-viewer', name: 'x' }],
      ['PATCH', `${P}/flags/new-checkout`, { version: 1, name: 'x' }],
      ['PUT', `${P}/flags/new-checkout/environments/prod`, { version: 1, config: { enabled: true, offVariation: 'off', fallthrough: { variation: 'on' } } }],
      ['POST', `${P}/flags/new-checkout/archive`, { version: 1 }],
      ['POST', `${P}/flags/new-checkout/unarchive`, { version: 1 }],
    ];
    for (const [method, url, body] of writes) {
      const res = await t.request(method as 'POST', url, body, viewer.token);
      expect(res.status, `${method} ${url}`).toBe(403);
      expect(res.body.code).toBe('FORBIDDEN');
    }
    expect((await t.request('GET', `${P}/flags`, undefined, viewer.token)).status).toBe(200);
    expect((await t.request('GET', `${P}/flags/new-checkout`, undefined, viewer.token)).status).toBe(200);
    expect((await t.request('GET', `${P}/flags/new-checkout/environments/prod`, undefined, viewer.token)).status).toBe(200);
    expect((await t.request('GET', `${P}/flags`, undefined, null)).status).toBe(401);
    expect(await stateOf(t, 'flagz')).toEqual(before);
    const created = await t.request('POST', `${P}/flags`, { key: 'by-editor', name: 'x' }, editor.token);
    expect(created.status).toBe(201);
    const audit = (await t.request('GET', '/api/audit?projectKey=flagz&limit=1')).body.items[0];
    expect(audit.actor).toMatchObject({ kind: 'user', id: editor.id });
  });

  it('stays consistent under concurrent writes: one winner, the others refused with a 4xx', async () => {
    for (const key of ['race-x', 'race-y', 'race-z']) expect((await t.request('POST', `${P}/flags`, { key, name: key })).status).toBe(201);
    const requires = (flag: string) => ({ enabled: true, offVariation: 'off', prerequisites: [{ flag, variations: ['on'] }], fallthrough: { variation: 'on' } });
    // A cycle built from both sides at once: only one side may win.
    const [x, y] = await Promise.all([put('race-x', 'prod', { version: 1, config: requires('race-y') }), put('race-y', 'prod', { version: 1, config: requires('race-x') })]);
    expect([x.status, y.status].sort()).toEqual([200, 400]);
    // The same version sent many times: one write applies.
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => put('race-x', 'dev', { version: 1, config: { enabled: i % 2 === 0, offVariation: 'off', fallthrough: { variation: 'on' } } })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409 && r.body.code === 'VERSION_CONFLICT')).toHaveLength(11);
    // Archive while another flag starts requiring it: never both.
    const [archive, prereq] = await Promise.all([
      t.request('POST', `${P}/flags/race-y/archive`, { version: 1 }),
      put('race-z', 'prod', { version: 1, config: requires('race-y') }),
    ]);
    expect([archive.status, prereq.status].filter((s) => s >= 500)).toEqual([]);
    const archived = (await t.request('GET', `${P}/flags/race-y`)).body.archived;
    const required = ((await configOf('race-z', 'prod')).config.prerequisites ?? []).some((p: { flag: string }) => p.flag === 'race-y');
    expect(archived && required).toBe(false);
  });

  it('gives every environment created later a disabled configuration of existing flags', async () => {
    expect((await t.request('POST', `${P}/environments`, { key: 'qa', name: 'QA' })).status).toBe(201);
    const flag = (await t.request('GET', `${P}/flags/theme`)).body;
    expect(Object.keys(flag.environments)).toEqual(['dev', 'prod', 'qa']);
    expect(flag.environments.qa.config).toEqual({ enabled: false, offVariation: 'none', fallthrough: { variation: 'none' } });
  });
});
