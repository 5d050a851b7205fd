import { describe, expect, it } from 'vitest';
import { METRIC_CATALOG } from './metrics-catalog.js';
import { PLAN_TEMPLATES, SEED_001_STAGED_ROLLOUT, SEED_003_GRADUAL_ROLLOUT } from './templates.js';
import type { Plan, Stage } from './types.js';
import { MAX_PLAN_DURATION_MS, planWarnings, segmentsUsedBy, validatePlan } from './validate-plan.js';

const HOUR = 3_600_000;

function plan(stages: unknown[], extra: Record<string, unknown> = {}): unknown {
  return { id: 'p', name: 'Plan', version: 1, stages, ...extra };
}

function stage(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: `s${Math.abs(JSON.stringify(extra).length)}`, name: 'S', audience: { percentage: 10 }, minDuration: 0, ...extra };
}

const errorGate = { id: 'g', metric: 'error-rate', role: 'alert', condition: { type: 'absolute', op: '>', value: 2 } };

describe('validatePlan', () => {
  it('accepts every built-in template with the catalog metrics and the segments the template names', () => {
    for (const template of PLAN_TEMPLATES) {
      expect(validatePlan(template, { knownMetrics: METRIC_CATALOG.map((m) => m.key), knownSegments: segmentsUsedBy(template) }), template.id).toEqual([]);
    }
  });

  it('reports template segments missing from the project', () => {
    expect(segmentsUsedBy(SEED_001_STAGED_ROLLOUT)).toEqual(['internal-team', 'pilot-users']);
    const issues = validatePlan(SEED_001_STAGED_ROLLOUT, { knownSegments: ['internal-team'] });
    expect(issues).toEqual([
      { path: 'stages[1].audience.segments[1]', message: 'unknown segment "pilot-users": create it in the project first' },
      { path: 'stages[2].audience.segments[1]', message: 'unknown segment "pilot-users": create it in the project first' },
    ]);
  });

  it('checks environments when told which exist', () => {
    expect(validatePlan(SEED_003_GRADUAL_ROLLOUT, { knownEnvironments: ['production'] })).toEqual([
      { path: 'stages[0].environment', message: 'unknown environment "staging"' },
    ]);
  });

  it.each<[string, unknown, string, RegExp]>([
    ['not an object', 42, '', /must be an object/],
    ['no stages', plan([]), 'stages', /non-empty array/],
    ['bad version', plan([stage()], { version: 0 }), 'version', /1 or more/],
    [
      'percentages going backwards within one environment',
      plan([stage({ id: 'a', audience: { percentage: 50 } }), stage({ id: 'b', audience: { percentage: 25 } })]),
      'stages[1].audience.percentage',
      /25% is lower than the 50% of stage "a" before it in the same environment/,
    ],
    ['percentage over 100', plan([stage({ audience: { percentage: 120 } })]), 'stages[0].audience.percentage', /from 0 to 100/],
    ['percentage below 0', plan([stage({ audience: { percentage: -1 } })]), 'stages[0].audience.percentage', /from 0 to 100/],
    ['neither segments nor percentage', plan([stage({ audience: { segments: [] } })]), 'stages[0].audience', /segments, a percentage, or both/],
    ['negative duration', plan([stage({ minDuration: -5 })]), 'stages[0].minDuration', /must not be negative/],
    ['min longer than max', plan([stage({ minDuration: 2 * HOUR, maxDuration: HOUR })]), 'stages[0].minDuration', /longer than the maximum/],
    ['missing minDuration', plan([stage({ minDuration: undefined })]), 'stages[0].minDuration', /is required/],
    ['onTimeout without maxDuration', plan([stage({ onTimeout: 'hold' })]), 'stages[0].onTimeout', /needs a maxDuration/],
    ['gate without a metric', plan([stage({ gates: [{ ...errorGate, metric: undefined }] })]), 'stages[0].gates[0].metric', /a gate needs a metric/],
    ['unknown metric', plan([stage({ gates: [{ ...errorGate, metric: 'error-ratio' }] })]), 'stages[0].gates[0].metric', /unknown metric "error-ratio"/],
    ['unknown role', plan([stage({ gates: [{ ...errorGate, role: 'warn' }] })]), 'stages[0].gates[0].role', /success, alert or rollback/],
    ['bad operator', plan([stage({ gates: [{ ...errorGate, condition: { type: 'absolute', op: '=', value: 1 } }] })]), 'stages[0].gates[0].condition.op', /one of/],
    ['duplicate gate ids', plan([stage({ gates: [errorGate, errorGate] })]), 'stages[0].gates[1].id', /duplicate gate id "g"/],
    [
      'sustained window longer than the maximum duration',
      plan([stage({ maxDuration: HOUR, gates: [{ ...errorGate, sustainedFor: 2 * HOUR }] })]),
      'stages[0].gates[0].sustainedFor',
      /longer than the stage's maxDuration/,
    ],
    ['onBreach on a success gate', plan([stage({ gates: [{ ...errorGate, role: 'success', onBreach: 'hold' }] })]), 'stages[0].gates[0].onBreach', /only block advancing/],
    [
      'a comparative gate where there is no control',
      plan([stage({ audience: { percentage: 100 }, gates: [{ ...errorGate, condition: { type: 'relative', op: '>', value: 20 } }] })]),
      'stages[0].gates[0].condition.type',
      /there is no control/,
    ],
    [
      'matrix bands out of order',
      plan([stage({ matrices: [{ id: 'm', metric: 'error-rate', bands: [{ below: 0.5, action: 'monitor' }, { below: 0.1, action: 'continue' }, { action: 'rollback' }] }] })]),
      'stages[0].matrices[0].bands[1].below',
      /ascending order: 0.1 does not come after 0.5/,
    ],
    [
      'an open band before the last',
      plan([stage({ matrices: [{ id: 'm', metric: 'error-rate', bands: [{ action: 'continue' }, { below: 1, action: 'rollback' }] }] })]),
      'stages[0].matrices[0].bands[0].below',
      /only the last band/,
    ],
    [
      'unknown any-occurrence metric',
      plan([stage({ matrices: [{ id: 'm', metric: 'error-rate', bands: [{ action: 'continue' }], anyOccurrence: [{ metric: 'data-loss', action: 'rollback' }] }] })]),
      'stages[0].matrices[0].anyOccurrence[0].metric',
      /unknown metric "data-loss"/,
    ],
    ['approvals count below 1', plan([stage({ approvals: { count: 0, role: 'approver' } })]), 'stages[0].approvals.count', /1 or more/],
    ['approvals of an unknown role', plan([stage({ approvals: { count: 1, role: 'owner' } })]), 'stages[0].approvals.role', /unknown role "owner"/],
    [
      'duplicate checklist ids across the plan',
      plan([stage({ checklist: [{ id: 'x', text: 'a' }] })], { preStartChecklist: [{ id: 'x', text: 'b' }] }),
      'stages[0].checklist[0].id',
      /duplicate checklist item id "x"/,
    ],
    ['duplicate stage ids', plan([stage({ id: 'a' }), stage({ id: 'a', audience: { percentage: 20 } })]), 'stages[1].id', /duplicate stage id "a"/],
  ])('reports %s', (_name, input, path, message) => {
    const issues = validatePlan(input, { knownSegments: [] });
    expect(issues.find((i) => i.path === path && message.test(i.message)), JSON.stringify(issues)).toBeDefined();
  });

  it('lets percentages restart in another environment (staging 100% -> production 10%)', () => {
    const stages: Stage[] = [
      { id: 'staging', name: 'Staging', environment: 'staging', audience: { percentage: 100 }, minDuration: 0 },
      { id: 'p10', name: '10%', audience: { percentage: 10 }, minDuration: 0 },
      { id: 'p25', name: '25%', audience: { percentage: 25 }, minDuration: 0 },
    ];
    const p: Plan = { id: 'p', name: 'P', version: 1, stages };
    expect(validatePlan(p)).toEqual([]);
  });

  it('treats a segments-only stage after a percentage as going backwards', () => {
    const issues = validatePlan(plan([stage({ id: 'a', audience: { percentage: 10 } }), stage({ id: 'b', audience: { segments: ['beta'] } })]));
    expect(issues).toEqual([{ path: 'stages[1].audience.segments', message: '0% is lower than the 10% of stage "a" before it in the same environment; percentages may not go backwards' }]);
  });
});

describe('durations and plan warnings', () => {
  it('bounds every duration to 365 days: minDuration 1e308 is refused, 365 days is accepted', () => {
    const gate = { ...errorGate, sustainedFor: 1e308 };
    expect(validatePlan(plan([stage({ minDuration: 1e308, maxDuration: MAX_PLAN_DURATION_MS + 1, gates: [gate] })]))).toEqual([
      { path: 'stages[0].minDuration', message: 'must be at most 365 days (31536000000 ms); got 1e+308 ms' },
      { path: 'stages[0].maxDuration', message: 'must be at most 365 days (31536000000 ms); got 31536000001 ms' },
      { path: 'stages[0].gates[0].sustainedFor', message: 'must be at most 365 days (31536000000 ms); got 1e+308 ms' },
    ]);
    expect(validatePlan(plan([stage({ minDuration: MAX_PLAN_DURATION_MS, audience: { percentage: 100 } })]))).toEqual([]);
  });

  it('warns that a plan whose last stage is below 100% completes there', () => {
    expect(planWarnings(plan([stage({ id: 'a', audience: { percentage: 5 } }), stage({ id: 'b', audience: { segments: ['beta'], percentage: 10 } })]) as Plan)).toEqual([
      {
        path: 'stages[1].audience.percentage',
        message: 'the last stage serves 10% and the segments "beta": completing the rollout leaves the flag serving 10% and the segments "beta", not everyone; end with a stage at 100% for a full rollout',
      },
    ]);
  });

  it('says when a comparative gate waits for the sequential burn-in although minSamples is lower, and not for absolute or sustained gates', () => {
    const relative = { id: 'slower', metric: 'response-time-p95', role: 'rollback', condition: { type: 'relative', op: '>', value: 50 } };
    const stages = [
      stage({ id: 'a', minSamples: 100, gates: [errorGate, relative, { ...relative, id: 'windowed', sustainedFor: HOUR }, { ...relative, id: 'own', minSamples: 800 }] }),
      stage({ id: 'b', audience: { percentage: 100 } }),
    ];
    expect(planWarnings(plan(stages) as Plan)).toEqual([
      {
        path: 'stages[0].gates[1].minSamples',
        message: 'comparative gate "slower" is judged by a sequential test, which waits for 500 samples per cohort before a verdict (its burn-in); minSamples 100 (the stage\'s) is lower, so this gate first decides at 500. Absolute gates and matrices decide at 100',
      },
    ]);
  });

  it('has no warnings for the built-in templates', () => {
    for (const template of PLAN_TEMPLATES) expect(planWarnings(template), template.id).toEqual([]);
  });
});
