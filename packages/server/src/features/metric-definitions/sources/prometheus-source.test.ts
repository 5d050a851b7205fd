/**
 * The Prometheus source against a real Prometheus (Debian's `prometheus`,
 * /usr/bin/prometheus; CI installs it), started on loopback and scraping a
 * target this test serves: the reader's values, its "no data" on every kind
 * of failure, and a rollout gated on a Prometheus metric through the app's
 * default (composite) observation source and one controller tick.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../../internal/logger.js';
import { createTestApp, testBackends, type TestApp } from '../../../testing.test-helpers.js';
import { rolloutFeatureOf } from '../../rollouts/rollout-feature.js';
import { getRollout, type RolloutRecord } from '../../rollouts/rollout-store.js';
import { MetricSources } from '../composite-source.js';
import { freePort, prometheusAvailable, ScrapeTarget, startPrometheus, waitFor, type RunningPrometheus } from '../prometheus.test-helpers.js';
import { jsonClient } from './json-client.js';
import { readPrometheus, type PrometheusSourceConfig } from './prometheus-source.js';
import type { ReadRequest } from './reading.js';

/** Error rate in percent per cohort: the template of the issue. */
const ERROR_RATE =
  'sum(rate(app_errors_total{flag="{{flag}}",cohort="{{cohort}}",environment="{{environment}}"}[{{window}}])) / sum(rate(app_requests_total{flag="{{flag}}",cohort="{{cohort}}",environment="{{environment}}"}[{{window}}])) * 100';
const REQUESTS = 'sum(increase(app_requests_total{flag="{{flag}}",cohort="{{cohort}}",environment="{{environment}}"}[{{window}}]))';
const CPU = 'avg(avg_over_time(app_cpu_percent{environment="{{environment}}"}[{{window}}]))';

const TARGET = new ScrapeTarget(
  [
    // new-checkout: 3% errors in the treatment, 1% in the control.
    { flag: 'new-checkout', cohort: 'treatment', environment: 'production', requests: 100, errors: 3 },
    { flag: 'new-checkout', cohort: 'control', environment: 'production', requests: 100, errors: 1 },
    // hot-checkout: the same rates at ten times the traffic, enough samples for a sequential test within seconds.
    { flag: 'hot-checkout', cohort: 'treatment', environment: 'production', requests: 1000, errors: 30 },
    { flag: 'hot-checkout', cohort: 'control', environment: 'production', requests: 1000, errors: 10 },
    // calm-checkout: 1% in both.
    { flag: 'calm-checkout', cohort: 'treatment', environment: 'production', requests: 100, errors: 1 },
    { flag: 'calm-checkout', cohort: 'control', environment: 'production', requests: 100, errors: 1 },
    // The same flag in another environment, which a production rollout must not read.
    { flag: 'new-checkout', cohort: 'treatment', environment: 'staging', requests: 10, errors: 5 },
  ],
  55,
);

const quiet = pino({ level: 'silent' }) as unknown as Logger;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!prometheusAvailable)(
  `the Prometheus source against a real Prometheus${prometheusAvailable ? '' : ' (skipped: /usr/bin/prometheus is missing; install Debian\'s "prometheus" package)'}`,
  () => {
    let prometheus: RunningPrometheus;
    const client = jsonClient();
    /** A stage that started `ago` ms before now, for `flag`. */
    const request = (flag: string, ago: number, changes: Partial<ReadRequest> = {}): ReadRequest => {
      const now = Date.now();
      return { metric: 'checkout-errors', kind: 'ratio', projectKey: 'shop', flagKey: flag, environmentKey: 'production', stageStartedAt: now - ago, now, ...changes };
    };
    const source = (changes: Partial<PrometheusSourceConfig> = {}): PrometheusSourceConfig => ({ type: 'prometheus', query: ERROR_RATE, samplesQuery: REQUESTS, baseUrl: prometheus.url, ...changes });

    beforeAll(async () => {
      await TARGET.start();
      prometheus = await startPrometheus(TARGET.port);
      // Queryable once the target has been scraped enough for rates over a few seconds.
      await waitFor('the target to be scraped', async () => {
        const [sample] = await prometheus.query('count_over_time(app_requests_total{flag="new-checkout",cohort="treatment",environment="production"}[1m])');
        return Number(sample?.value[1] ?? 0) >= 8;
      });
    }, 60_000);
    afterAll(async () => {
      await prometheus?.stop();
      await TARGET.stop();
    });

    it('reads the stage value of each cohort, with samples, and the series', async () => {
      const req = request('new-checkout', 9000);
      const reading = await readPrometheus(source(), req, { client, stepMs: 3000 });
      expect(reading.problems).toEqual([]);
      const { treatment, control, series } = reading.observation ?? {};
      expect(treatment?.value).toBeCloseTo(3, 9);
      expect(control?.value).toBeCloseTo(1, 9);
      // increase() over 9 s of 100 requests a second (extrapolated; whole numbers).
      for (const cohort of [treatment, control]) {
        expect(Number.isInteger(cohort?.samples)).toBe(true);
        expect(cohort?.samples).toBeGreaterThan(500);
        expect(cohort?.samples).toBeLessThan(1300);
      }
      // A point every 3 s with window 3s (the test's step; production's is 1 minute), none reaching back before the stage.
      expect(series?.length).toBeGreaterThanOrEqual(1);
      for (const interval of series ?? []) {
        expect(interval.end - interval.start).toBe(3000);
        expect(interval.end % 3000).toBe(0);
        expect(interval.start).toBeGreaterThanOrEqual(req.stageStartedAt);
        expect(interval.end).toBeLessThanOrEqual(req.now);
        if (interval.treatment !== undefined) expect(interval.treatment.value).toBeCloseTo(3, 9);
        if (interval.control !== undefined) expect(interval.control.value).toBeCloseTo(1, 9);
      }
      expect(series?.some((i) => i.treatment !== undefined && i.control !== undefined && i.treatment.samples > 0)).toBe(true);
    });

    it('fills flag and environment, so other flags and environments are not read', async () => {
      const calm = await readPrometheus(source(), request('calm-checkout', 6000), { client });
      expect(calm.observation?.treatment?.value).toBeCloseTo(1, 9);
      const staging = await readPrometheus(source(), request('new-checkout', 6000, { environmentKey: 'staging' }), { client });
      expect(staging.observation?.treatment?.value).toBeCloseTo(50, 9);
      // No control series in staging: the control has no data, and says why.
      expect(staging.observation?.control).toBeUndefined();
      expect(staging.problems).toEqual([{ cohort: 'control', message: 'stage value: the query gave an empty result (no series matched)' }]);
    });

    it('has unknown samples (1) without a samples query; a gauge counts its readings; a template without {{cohort}} reads the treatment only', async () => {
      const unknown = await readPrometheus(source({ samplesQuery: undefined }), request('new-checkout', 6000), { client });
      expect(unknown.observation?.treatment).toEqual({ value: expect.closeTo(3, 9), samples: 1 });
      expect(unknown.observation?.control).toEqual({ value: expect.closeTo(1, 9), samples: 1 });

      const cpu = await readPrometheus(source({ query: CPU, samplesQuery: undefined }), request('new-checkout', 8000, { metric: 'cpu-usage', kind: 'gauge' }), { client, stepMs: 2000 });
      expect(cpu.problems).toEqual([]);
      expect(cpu.observation?.treatment?.value).toBe(55);
      expect(cpu.observation?.control).toBeUndefined();
      const readings = cpu.observation?.series?.length ?? 0;
      expect(readings).toBeGreaterThanOrEqual(2);
      expect(cpu.observation?.treatment?.samples).toBe(readings);
      expect(cpu.observation?.series?.every((i) => i.control === undefined && i.treatment?.value === 55 && i.treatment.samples === 1)).toBe(true);
    });

    it('has no data, never zero or a pass, when Prometheus is unreachable, the query fails, or the result is empty, ambiguous or NaN', async () => {
      const closed = `http://127.0.0.1:${await freePort()}`;
      const cases: [string, Partial<PrometheusSourceConfig>, string, RegExp][] = [
        ['unreachable', { baseUrl: closed }, 'new-checkout', /^stage value: no answer from http:\/\/127\.0\.0\.1:\d+\/api\/v1\/query: the connection failed or no answer came within \d+ ms$/],
        ['query error', { query: 'sum(rate(app_errors_total{flag="{{flag}}",cohort="{{cohort}}"}[{{window}}])' }, 'new-checkout', /^stage value: Prometheus answered 400: bad_data: .*parse error/],
        ['empty result', {}, 'ghost-flag', /^stage value: the query gave an empty result \(no series matched\)$/],
        ['several series', { query: 'rate(app_requests_total{cohort="{{cohort}}"}[{{window}}])' }, 'new-checkout', /^stage value: the query gave \d+ series, not one: aggregate them/],
        ['NaN', { query: 'sum(rate(app_errors_total{cohort="{{cohort}}",flag="{{flag}}"}[{{window}}])) / 0 * 0' }, 'new-checkout', /^stage value: the query gave NaN, not a finite number$/],
        ['not a Prometheus', { baseUrl: `${prometheus.url}/nothing-here/` }, 'new-checkout', /^stage value: .*answered 404/],
      ];
      for (const [what, changes, flag, message] of cases) {
        const reading = await readPrometheus(source({ ...changes, samplesQuery: undefined }), request(flag, 6000), { client: jsonClient(), stepMs: 60_000 });
        expect(reading.observation, what).toBeUndefined();
        const stage = reading.problems.filter((p) => p.message.startsWith('stage value'));
        expect(stage.map((p) => p.cohort).sort(), what).toEqual(['control', 'treatment']);
        for (const p of stage) expect(p.message, what).toMatch(message);
      }
      // The samples failing leaves the value out too: a value without its counts is not reported as if it had them.
      const badSamples = await readPrometheus(source({ samplesQuery: 'sum(nothing_total{cohort="{{cohort}}"})' }), request('new-checkout', 6000), { client });
      expect(badSamples.observation?.treatment).toBeUndefined();
      expect(badSamples.problems).toContainEqual({ cohort: 'treatment', message: 'stage samples: the query gave an empty result (no series matched)' });
      // Without any Prometheus to ask.
      expect(await readPrometheus(source({ baseUrl: undefined }), request('new-checkout', 6000), { client })).toEqual({
        observation: undefined,
        problems: [{ cohort: null, message: 'no Prometheus to ask: give the source a baseUrl, or set ROLLGATE_PROMETHEUS_URL on the server' }],
      });
    });

    describe.each(testBackends())('a rollout gated on a Prometheus metric (%s)', (backend) => {
      let t: TestApp;
      const P = '/api/projects/shop';
      const plan = {
        stages: [
          {
            id: 'canary',
            name: 'Canary',
            audience: { percentage: 10 },
            minDuration: 0,
            minSamples: 100,
            gates: [
              { id: 'errors-low', metric: 'checkout-errors', role: 'success', condition: { type: 'absolute', op: '<', value: 5 } },
              { id: 'cpu', metric: 'cpu-usage', role: 'success', condition: { type: 'absolute', op: '<', value: 60 }, minSamples: 1 },
              { id: 'errors-vs-control', metric: 'checkout-errors', role: 'rollback', condition: { type: 'relative', op: '>', value: 50 }, onBreach: 'rollback_zero' },
            ],
          },
          { id: 'all', name: 'Everyone', audience: { percentage: 100 }, minDuration: 60_000 },
        ],
      };

      beforeAll(async () => {
        // The app's own clock and observation source: the composite, as in production.
        t = await createTestApp(backend, { config: { rolloutTickMs: 0 } });
        expect((await t.request('POST', '/api/projects', { key: 'shop', name: 'Shop' })).status).toBe(201);
        expect((await t.request('POST', `${P}/environments`, { key: 'production', name: 'Production' })).status).toBe(201);
        for (const key of ['hot-checkout', 'new-checkout', 'calm-checkout', 'ghost-flag']) expect((await t.request('POST', `${P}/flags`, { key, name: key })).status).toBe(201);
        const metric = await t.request('POST', `${P}/metric-definitions`, {
          key: 'checkout-errors',
          name: 'Checkout errors',
          kind: 'ratio',
          unit: 'percent',
          direction: 'lower',
          source: { type: 'prometheus', query: ERROR_RATE, samplesQuery: REQUESTS, baseUrl: prometheus.url },
        });
        expect(metric.status, JSON.stringify(metric.body)).toBe(201);
        const cpu = await t.request('POST', `${P}/metric-definitions`, { key: 'cpu-usage', source: { type: 'prometheus', query: CPU, baseUrl: prometheus.url } });
        expect(cpu.status, JSON.stringify(cpu.body)).toBe(201);
        expect((await t.request('POST', `${P}/plans`, { key: 'checkout', name: 'Checkout canary', definition: plan })).status).toBe(201);
      });
      afterAll(() => t.close());

      async function start(flagKey: string): Promise<string> {
        const res = await t.request('POST', `${P}/rollouts`, { flagKey, environmentKey: 'production', planKey: 'checkout' });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        return res.body.id as string;
      }
      const decisionsOf = async (id: string) => (await t.request('GET', `${P}/rollouts/${id}/decisions?limit=50`)).body.items as any[];

      it('rolls back a 3% treatment against a 1% control, with those numbers in the decision; advances a healthy one; holds on no data', async () => {
        const bad = await start('hot-checkout');
        const calm = await start('calm-checkout');
        const ghost = await start('ghost-flag');
        // Let the stage gather a few scrapes (the stage window is its elapsed time).
        await sleep(5000);
        const tick = await rolloutFeatureOf(t.app).controller.tick(new Date());
        expect(tick).toMatchObject({ leader: true, evaluated: 3, failed: 0 });

        const badRollout = (await t.request('GET', `${P}/rollouts/${bad}`)).body;
        expect(badRollout.status).toBe('rolled_back');
        const rollback = (await decisionsOf(bad)).find((d) => d.kind === 'rollback');
        expect(rollback?.reason).toContain('checkout-errors');
        const gate = rollback?.decision.evidence.gates.find((g: { gateId: string }) => g.gateId === 'errors-vs-control');
        // The project's definition makes it a ratio: judged by the sequential test of proportions, not a point estimate.
        expect(gate).toMatchObject({ verdict: 'fail', method: 'msprt-relative-proportions' });
        expect(gate.treatment.value).toBeCloseTo(3, 9);
        expect(gate.control.value).toBeCloseTo(1, 9);
        expect(gate.estimate).toBeCloseTo(200, 6);
        expect(gate.treatment.samples).toBeGreaterThanOrEqual(500);
        const rollbacks = (await t.request('GET', `${P}/rollouts/${bad}/rollbacks`)).body.items;
        expect(rollbacks[0].metrics).toContainEqual(expect.objectContaining({ metric: 'checkout-errors', treatment: expect.closeTo(3, 9), control: expect.closeTo(1, 9) }));

        const calmRollout = (await t.request('GET', `${P}/rollouts/${calm}`)).body;
        expect(calmRollout).toMatchObject({ status: 'running', stageIndex: 1 });
        const advance = (await decisionsOf(calm)).find((d) => d.kind === 'advance');
        const gates = advance?.decision.evidence.gates as { gateId: string; verdict: string; treatment?: { value: number; samples: number } }[];
        expect(gates.find((g) => g.gateId === 'errors-low')).toMatchObject({ verdict: 'pass', treatment: { value: expect.closeTo(1, 9) } });
        // The built-in cpu-usage, taken from Prometheus: a gauge, its samples its readings.
        expect(gates.find((g) => g.gateId === 'cpu')).toMatchObject({ verdict: 'pass', treatment: { value: 55, samples: 1 } });

        // Nothing in Prometheus for this flag: no data, so it holds and says so.
        const ghostRollout = (await t.request('GET', `${P}/rollouts/${ghost}`)).body;
        expect(ghostRollout).toMatchObject({ status: 'running', stageIndex: 0 });
        expect(ghostRollout.statusSummary.decision).toBe('hold');
        expect(ghostRollout.statusSummary.summary).toMatch(/no data for checkout-errors/i);
        expect(ghostRollout.statusSummary.waitingFor).toContainEqual({ kind: 'data', metric: 'checkout-errors', cohort: 'treatment' });
      });

      it('asks Prometheus once a minute per metric, flag, environment and stage, however often the controller ticks', async () => {
        let requests = 0;
        const counting = jsonClient({
          fetch: ((input: string | URL | Request, init?: RequestInit) => {
            requests++;
            return fetch(input, init);
          }) as typeof fetch,
        });
        let pushed = 0;
        const push = async () => {
          pushed++;
          return { metrics: { 'checkout-errors': { treatment: { value: 99, samples: 99 } }, 'error-rate': { treatment: { value: 0.5, samples: 1000 } } }, assignments: { treatment: 10, control: 90 } };
        };
        const sources = new MetricSources({ db: t.db, push, logger: quiet, client: counting });
        expect((await t.request('POST', `${P}/flags`, { key: 'cache-check', name: 'cache-check' })).status).toBe(201);
        const id = await start('cache-check');
        const record = (await getRollout(t.db, id)) as RolloutRecord;
        // Ticks within one minute (and not before Prometheus has data): wait for the next minute when this one is nearly over.
        let now = Date.now();
        if (now % 60_000 > 50_000) {
          await sleep(60_000 - (now % 60_000) + 500);
          now = Date.now();
        }
        const minute = Math.floor(now / 60_000) * 60_000;
        // Reading calm-checkout's series, in a stage five minutes old, so that the per-minute series is read too.
        const rollout: RolloutRecord = { ...record, flagKey: 'calm-checkout', state: { ...record.state, stageStartedAt: minute - 5 * 60_000 } };
        const stage = { id: 's', name: 's', audience: { percentage: 10 }, minDuration: 0, gates: [{ id: 'e', metric: 'checkout-errors', role: 'success' as const, condition: { type: 'absolute' as const, op: '<' as const, value: 5 } }, { id: 'r', metric: 'error-rate', role: 'success' as const, condition: { type: 'absolute' as const, op: '<' as const, value: 5 } }] };
        const planOf = { id: 'p', name: 'p', version: 1, stages: [stage] };

        const [first, second] = await Promise.all([sources.observe(rollout, planOf, stage, now), sources.observe(rollout, planOf, stage, now + 100)]);
        // Two cohorts x (stage value, stage samples, series, series samples): eight requests for both calls.
        expect(requests).toBe(8);
        expect(pushed).toBe(2);
        // Read from Prometheus, whatever the push source says under the same key; the push source's other metrics and assignments kept.
        expect(first.observations.metrics['checkout-errors']?.treatment?.value).toBeCloseTo(1, 9);
        expect(first.observations.metrics['error-rate']).toEqual({ treatment: { value: 0.5, samples: 1000 } });
        expect(first.observations.assignments).toEqual({ treatment: 10, control: 90 });
        expect(second.observations).toEqual(first.observations);
        await sources.observe(rollout, planOf, stage, now + 200);
        expect(requests).toBe(8);
        // The next minute asks again; so does a changed definition.
        await sources.observe(rollout, planOf, stage, minute + 61_000);
        expect(requests).toBe(16);
        const current = (await t.request('GET', `${P}/metric-definitions/checkout-errors`)).body;
        expect((await t.request('PATCH', `${P}/metric-definitions/checkout-errors`, { version: current.version, description: 'Failed checkouts' })).status).toBe(200);
        await sources.observe(rollout, planOf, stage, minute + 62_000);
        expect(requests).toBe(24);
        expect((await t.request('POST', `${P}/rollouts/${id}/abort`, {})).status).toBe(200);
      });

      it('explains no data in a test read of the metric', async () => {
        const ok = await t.request('POST', `${P}/metrics/checkout-errors/read`, { flagKey: 'new-checkout', environmentKey: 'production', since: new Date(Date.now() - 5000).toISOString() });
        expect(ok.status, JSON.stringify(ok.body)).toBe(200);
        expect(ok.body).toMatchObject({ metric: 'checkout-errors', sourceType: 'prometheus', treatment: { value: expect.closeTo(3, 9) }, control: { value: expect.closeTo(1, 9) }, problems: [] });
        const ghost = await t.request('POST', `${P}/metrics/checkout-errors/read`, { flagKey: 'ghost-flag', environmentKey: 'production' });
        expect(ghost.status).toBe(200);
        expect(ghost.body).toMatchObject({ treatment: null, control: null });
        expect(ghost.body.problems).toContainEqual({ cohort: 'treatment', message: 'stage value: the query gave an empty result (no series matched)' });
        expect((await t.request('POST', `${P}/metrics/nope/read`, { flagKey: 'ghost-flag', environmentKey: 'production' })).status).toBe(404);
        expect((await t.request('POST', `${P}/metrics/checkout-errors/read`, { flagKey: 'no-flag', environmentKey: 'production' })).status).toBe(404);
      });
    });
  },
);
