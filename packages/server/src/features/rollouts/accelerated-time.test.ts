import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../app.js';
import { ConfigError, defaultConfig } from '../../config.js';
import { acceleratedClock } from '../../internal/time.js';
import { createTestApp, testBackends, type TestApp } from '../../testing.test-helpers.js';
import { rolloutFeatureOf, type RolloutFeature } from './rollout-feature.js';
import { FakeSource, HOUR, MINUTE, T0 } from './rollouts.test-helpers.js';

const P = '/api/projects/shop';

/** One stage whose success criterion must hold for a sustained hour, then everyone. */
const SUSTAINED = {
  source: 'test',
  stages: [
    {
      id: 'pilot',
      name: 'Pilot',
      audience: { percentage: 10 },
      minDuration: 10 * MINUTE,
      gates: [{ id: 'errors', metric: 'error-rate', role: 'success', condition: { type: 'absolute', op: '<', value: 1 }, sustainedFor: HOUR }],
    },
    { id: 'ga', name: 'Everyone', audience: { percentage: 100 }, minDuration: 0 },
  ],
};

describe.each(testBackends())('the accelerated clock (%s)', (backend) => {
  let t: TestApp;
  let feature: RolloutFeature;
  /** Real time, moved by hand; the server's clock runs 60 times faster. */
  let real = T0;
  const fake = new FakeSource();

  beforeAll(async () => {
    t = await createTestApp(backend, { clock: acceleratedClock(60, () => real), config: { mode: 'demo', timeScale: 60, rolloutTickMs: 0 } });
    feature = rolloutFeatureOf(t.app);
    fake.step = MINUTE;
    feature.setObservationSource(fake.source);
    expect((await t.request('POST', '/api/projects', { key: 'shop', name: 'Shop' })).status).toBe(201);
    expect((await t.request('POST', `${P}/environments`, { key: 'production', name: 'Production' })).status).toBe(201);
    expect((await t.request('POST', `${P}/flags`, { key: 'new-checkout', name: 'New checkout' })).status).toBe(201);
    expect((await t.request('POST', `${P}/plans`, { key: 'sustained', name: 'Sustained hour', definition: SUSTAINED })).status).toBe(201);
  });
  afterAll(() => t.close());

  it('a 1-hour sustained window at scale 60 takes one real minute', async () => {
    const started = await t.request('POST', `${P}/rollouts`, { flagKey: 'new-checkout', environmentKey: 'production', planKey: 'sustained' });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const id = started.body.id as string;
    const stageAt = async (realMs: number) => {
      real = T0 + realMs;
      await feature.controller.tick();
      return (await t.request('GET', `${P}/rollouts/${id}`)).body;
    };
    expect((await stageAt(30_000)).stageIndex).toBe(0);
    const before = await stageAt(59_000);
    expect(before.stageIndex).toBe(0);
    expect(before.status).toBe('running');
    const after = await stageAt(61_000);
    expect(after.stageIndex).toBe(1);
    const decisions = (await t.request('GET', `${P}/rollouts/${id}/decisions`)).body.items as { kind: string; at: string }[];
    const advance = decisions.find((d) => d.kind === 'advance');
    // The decision is dated on the server's clock: 61 simulated minutes after the start.
    expect(Date.parse(advance?.at ?? '')).toBe(T0 + 61 * MINUTE);
  });

  it('shows the mode, the scale and the clock in /healthz', async () => {
    real = T0 + 120_000;
    const res = await t.request('GET', '/healthz', undefined, null);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', mode: 'demo', timeScale: 60, time: new Date(T0 + 120 * MINUTE).toISOString() });
  });

  it('dates pushed metrics at their arrival on the server clock, not at the client’s real-time stamp', async () => {
    real = T0 + 180_000;
    const token = (await t.request('POST', '/api/tokens', { kind: 'server', name: 'server', projectKey: 'shop', environmentKey: 'production' })).body.secret as string;
    const clientStamp = new Date(T0 + 180_000).toISOString(); // what an SDK on real time writes
    const res = await t.request(
      'POST',
      '/api/client/metrics',
      { batchId: 'accelerated-1', items: [{ kind: 'metric', flag: 'new-checkout', metric: 'error-rate', cohort: 'treatment', value: 0.5, at: clientStamp }] },
      token,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.accepted).toBe(1);
    const rows = await t.db.query<{ minute: Date | string }>("select minute from metric_minutes where metric = 'error-rate'");
    expect(rows.map((r) => new Date(r.minute).getTime())).toEqual([T0 + 180 * MINUTE]);
  });

  it('is refused in production mode when an app is built', async () => {
    await expect(buildApp({ config: defaultConfig({ timeScale: 60 }), db: t.db })).rejects.toThrow(ConfigError);
    await expect(buildApp({ config: defaultConfig({ timeScale: 60 }), db: t.db })).rejects.toThrow(/production refuses/);
  });
});
