/**
 * Built-in plan templates: the seeds' hand-written rollout plans, with their
 * own numbers and checklist texts. Where a seed gives a range ("5-10%",
 * "1-2 weeks") the template takes the cautious end as the minimum and the
 * other end as the maximum; where a seed gives no number that a plan needs
 * (minimum samples), the template says so in the stage description.
 *
 * The templates name segments (`internal-team`, `pilot-users`) and, for seed
 * 003, a `staging` environment: those must exist in the project before a
 * rollout can use the template. `segmentsUsedBy(template)` lists them, and
 * `validatePlan(template, { knownSegments })` reports any that are missing.
 */
import type { ChecklistItem, ComparisonOperator, Gate, GateCondition, Plan, RollbackMatrix, Stage } from './types.js';
import { DAY, HOUR, WEEK } from './internal/format.js';

const absolute = (op: ComparisonOperator, value: number): GateCondition => ({ type: 'absolute', op, value });
const relative = (op: ComparisonOperator, value: number): GateCondition => ({ type: 'relative', op, value });

function items(prefix: string, texts: readonly string[], optional: readonly string[] = []): ChecklistItem[] {
  return texts.map((text, i) => {
    const item: ChecklistItem = { id: `${prefix}.${i + 1}`, text };
    if (optional.includes(text)) item.required = false;
    return item;
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Seed 004's pre-deployment checklist, verbatim. */
export const SEED_004_PRE_DEPLOYMENT_CHECKLIST: readonly ChecklistItem[] = deepFreeze(
  items('pre', [
    'All tests passing',
    'Security audit clean',
    'Performance benchmarks met',
    'Database migrations tested',
    'Rollback plan documented',
    'Monitoring and alerting configured',
    'Documentation updated',
  ]),
);

// ---------------------------------------------------------------- seed 001

/**
 * Seed 001's "Rollback Plan", which holds in every stage: automatic rollback
 * on error rate > 5%, a data integrity issue or performance degradation > 50%;
 * a manual decision on error rate > 2% for 1+ hour or degradation > 20%.
 * Degradation compares p95 latency with the control, so the 100% stage, which
 * has no control, leaves those two out.
 */
function seed001RollbackPlan(withControl: boolean, comparativeMinSamples?: number): Gate[] {
  const gates: Gate[] = [
    { id: 'auto-error-rate', metric: 'error-rate', role: 'rollback', condition: absolute('>', 5), description: 'Automatic rollback: Error rate > 5%' },
    {
      id: 'auto-data-integrity',
      metric: 'data-loss-events',
      role: 'rollback',
      condition: absolute('>', 0),
      // One data integrity event is evidence enough.
      minSamples: 1,
      description: 'Automatic rollback: Data integrity issue detected',
    },
    {
      id: 'manual-error-rate',
      metric: 'error-rate',
      role: 'alert',
      condition: absolute('>', 2),
      sustainedFor: HOUR,
      description: 'Manual rollback decision: Error rate > 2% for 1+ hour',
    },
  ];
  if (withControl) {
    gates.push(
      {
        id: 'auto-degradation',
        metric: 'response-time-p95',
        role: 'rollback',
        condition: relative('>', 50),
        description: 'Automatic rollback: Performance degradation > 50%',
        ...(comparativeMinSamples !== undefined ? { minSamples: comparativeMinSamples } : {}),
      },
      {
        id: 'manual-degradation',
        metric: 'response-time-p95',
        role: 'alert',
        condition: relative('>', 20),
        description: 'Manual rollback decision: Performance degradation > 20%',
        ...(comparativeMinSamples !== undefined ? { minSamples: comparativeMinSamples } : {}),
      },
    );
  }
  return gates;
}

/** Seed 001's "Metrics to Track" rows: target as a success criterion, alert threshold as an alert. */
function targetAndAlert(id: string, metric: string, target: GateCondition, alert: GateCondition, label: string, sustainedFor?: number): Gate[] {
  const success: Gate = { id: `${id}-target`, metric, role: 'success', condition: target, description: `${label}: target` };
  if (sustainedFor !== undefined) success.sustainedFor = sustainedFor;
  return [success, { id: `${id}-alert`, metric, role: 'alert', condition: alert, description: `${label}: alert threshold` }];
}

/**
 * Seed 001, "Staged Rollout Plan": Internal -> Pilot -> Expanded -> GA.
 *
 * @example
 * SEED_001_STAGED_ROLLOUT.stages.map((s) => s.name); // ['Internal', 'Pilot', 'Expanded', 'General Availability']
 */
export const SEED_001_STAGED_ROLLOUT: Plan = deepFreeze<Plan>({
  id: 'seed-001-staged-rollout',
  name: 'Staged rollout: Internal, Pilot, Expanded, GA',
  version: 1,
  source:
    'seed 001 "Staged Rollout Plan" (stages, durations, metrics to track, go/no-go checklists, rollback triggers); pre-start checklist from seed 004 "Pre-Deployment Checklist".',
  description: 'Never deploy 0→100. This plan defines how to progressively roll out to users while monitoring for issues.',
  preStartChecklist: SEED_004_PRE_DEPLOYMENT_CHECKLIST,
  stages: [
    {
      id: 'internal',
      name: 'Internal',
      audience: { segments: ['internal-team'] },
      minDuration: DAY,
      maxDuration: 2 * DAY,
      onTimeout: 'hold',
      minSamples: 100,
      description: 'Team only (1-3 people), 1-2 days. Goal: catch obvious issues. Minimum samples (100) are Rollgate\'s, not the seed\'s.',
      // The comparative gates' sequential tests wait for their burn-in of 500 samples per cohort (planWarnings).
      gates: seed001RollbackPlan(true, 500),
      checklist: [
        ...items('internal.success', ['No critical bugs', 'No security issues', 'Core flows work correctly', 'Performance acceptable', 'UI/UX as expected']),
        ...items(
          'internal.go',
          ['All critical paths tested', 'No P0 bugs open', 'Monitoring confirmed working', 'Rollback tested', 'Client stakeholder approved (if applicable)'],
          ['Client stakeholder approved (if applicable)'],
        ),
      ],
      approvals: { count: 1, role: 'approver' },
    },
    {
      id: 'pilot',
      name: 'Pilot',
      // "5-10% of users (selected)": the selected pilot users plus 5%; the internal team stays in.
      audience: { segments: ['internal-team', 'pilot-users'], percentage: 5 },
      minDuration: WEEK,
      maxDuration: 2 * WEEK,
      onTimeout: 'hold',
      minSamples: 1000,
      description: 'Selected pilot users, 5-10% of the user base, 1-2 weeks. Goal: validate with real usage. Minimum samples (1000) are Rollgate\'s.',
      gates: [
        // "Error rate < 1% sustained" and "Metrics stable for 3+ days" (go/no-go).
        ...targetAndAlert('error-rate', 'error-rate', absolute('<', 1), absolute('>', 2), 'Error rate', 3 * DAY),
        ...targetAndAlert('p95', 'response-time-p95', absolute('<', 2000), absolute('>', 3000), 'Response time p95'),
        ...targetAndAlert('complaints', 'user-complaints', absolute('<', 2), absolute('>', 5), 'User complaints'),
        ...targetAndAlert('tickets', 'support-tickets', absolute('<', 5), absolute('>', 10), 'Support tickets'),
        ...seed001RollbackPlan(true),
      ],
      checklist: [
        ...items('pilot.success', ['No critical bugs reported', 'Positive user feedback (NPS > 7)', 'Performance within SLA', 'Support load manageable']),
        ...items('pilot.go', ['Error rate < 1% sustained', 'No P0/P1 bugs open', 'User feedback positive', 'Support load acceptable', 'Metrics stable for 3+ days']),
      ],
      approvals: { count: 1, role: 'approver' },
    },
    {
      id: 'expanded',
      name: 'Expanded',
      audience: { segments: ['internal-team', 'pilot-users'], percentage: 25 },
      minDuration: WEEK,
      maxDuration: 2 * WEEK,
      onTimeout: 'hold',
      minSamples: 1000,
      description: '25% of total users, 1-2 weeks. Goal: scale validation.',
      gates: [
        ...targetAndAlert('error-rate', 'error-rate', absolute('<', 1), absolute('>', 1.5), 'Error rate'),
        ...targetAndAlert('p95', 'response-time-p95', absolute('<', 2000), absolute('>', 2500), 'Response time p95'),
        ...targetAndAlert('cpu', 'cpu-usage', absolute('<', 60), absolute('>', 80), 'CPU usage'),
        ...targetAndAlert('memory', 'memory-usage', absolute('<', 70), absolute('>', 85), 'Memory usage'),
        ...seed001RollbackPlan(true),
      ],
      checklist: [
        ...items('expanded.success', ['No new critical bugs', 'Metrics stable at scale', 'Support team ready for GA']),
        ...items('expanded.go', [
          'Error rate < 1% sustained',
          'No new P0/P1 bugs',
          'Infrastructure handles load',
          'Support team trained',
          'Documentation complete',
          'GA communication ready',
        ]),
      ],
      approvals: { count: 1, role: 'approver' },
    },
    {
      id: 'ga',
      name: 'General Availability',
      audience: { percentage: 100 },
      // "Monitor intensively for 48 hours" before the rollout counts as complete.
      minDuration: 48 * HOUR,
      minSamples: 1000,
      description: '100% of users. Post-GA monitoring for the first 48 hours: check metrics every 2 hours, be ready for immediate rollback.',
      gates: seed001RollbackPlan(false),
      checklist: items('ga.success', ['All KPIs met', 'Support process working', 'Monitoring active', 'Team transitioned to maintenance mode']),
    },
  ],
});

// ---------------------------------------------------------------- seed 003

/** Seed 003's rollback matrix ("Quick Reference - When to Rollback"). */
const SEED_003_MATRIX: RollbackMatrix = {
  id: 'rollback-matrix',
  metric: 'error-rate',
  bands: [
    { below: 0.1, action: 'continue', label: 'None' },
    { below: 0.5, action: 'monitor', label: 'Minor' },
    { below: 1, action: 'rollback', label: 'Major' },
    { action: 'disable', label: 'Critical' },
  ],
  anyOccurrence: [{ metric: 'data-loss-events', action: 'rollback', label: 'Data Loss: Immediate Rollback' }],
  // "Immediate rollback to 0%" (Stage 1's rollback plan).
  rollbackTo: 'zero',
};

/** Seed 003's "Critical Metrics" table, shared by every production stage ("Continue monitoring same metrics as Stage 1"). */
function seed003Gates(errorTarget: number, withControl: boolean): Gate[] {
  const gates: Gate[] = [
    ...targetAndAlert('error-rate', 'error-rate', absolute('<', errorTarget), absolute('>', 0.5), 'Error Rate'),
    ...targetAndAlert('exceptions', 'unhandled-exceptions', absolute('<=', 0), absolute('>', 5), 'Unhandled Exceptions'),
    ...targetAndAlert('api', 'response-time-avg', absolute('<', 500), absolute('>', 1000), 'API Response Time'),
    ...targetAndAlert('lcp', 'page-load-lcp', absolute('<', 2500), absolute('>', 4000), 'Page Load Time (LCP)'),
  ];
  if (withControl) {
    gates.push({
      id: 'support-tickets',
      metric: 'support-ticket-rate',
      role: 'success',
      condition: relative('<', 10),
      description: 'Support tickets <+10% increase',
    });
  }
  return gates;
}

/**
 * Seed 003, "Gradual Rollout & Monitoring Guide": staging validated -> 10% ->
 * 25% -> 50% -> 100%, 48 hours per stage, with its rollback matrix.
 *
 * @example
 * SEED_003_GRADUAL_ROLLOUT.stages.map((s) => s.audience.percentage); // [100, 10, 25, 50, 100]
 */
export const SEED_003_GRADUAL_ROLLOUT: Plan = deepFreeze<Plan>({
  id: 'seed-003-gradual-rollout',
  name: 'Gradual rollout: staging, 10%, 25%, 50%, 100%',
  version: 1,
  source: 'seed 003 "Phase 6.3-6.5: Gradual Rollout & Monitoring Guide" (stages, 48-hour durations, critical metrics, success criteria, prerequisites, rollback matrix).',
  description: 'Safe rollout in 4 stages, each with monitoring gates.',
  preStartChecklist: items('pre', ['Staging deployment successful (Phase 6.2)', 'All tests passed', 'Monitoring configured', 'Rollback plan ready', 'Support team briefed']),
  stages: [
    {
      id: 'staging',
      name: 'Stage 0: Preparation (staging validated)',
      environment: 'staging',
      audience: { percentage: 100 },
      minDuration: DAY,
      description: 'Staging validation before any production user sees the feature (0% of production users). The one-day duration follows the seed\'s timeline (6.2 Staging: Day 2).',
      checklist: items('staging', ['Staging deployment successful (Phase 6.2)']),
      approvals: { count: 1, role: 'approver' },
    },
    {
      id: 'early-access',
      name: 'Stage 1: Early Access',
      audience: { percentage: 10 },
      minDuration: 48 * HOUR,
      minSamples: 1000,
      description: 'Validate in production with real users; identify critical issues early. Minimum samples (1000) are Rollgate\'s.',
      gates: seed003Gates(0.1, true),
      matrices: [SEED_003_MATRIX],
      checklist: [
        ...items('early-access.success', ['No critical errors reported', 'Performance stable (Lighthouse >85)', 'Users report positive feedback']),
        ...items('early-access.next', ['Performance metrics stable', 'Support team ready', 'Monitoring alerts configured']),
      ],
      approvals: { count: 1, role: 'approver' },
    },
    {
      id: 'expanded',
      name: 'Stage 2: Expanded Access',
      audience: { percentage: 25 },
      minDuration: 48 * HOUR,
      minSamples: 1000,
      description: 'Expand to a larger user base; confirm scalability.',
      // "Error rate maintained <0.5%" is Stage 2's success criterion.
      gates: seed003Gates(0.5, true),
      matrices: [SEED_003_MATRIX],
      checklist: [
        ...items('expanded.success', ['Performance stable or improved', 'No new critical bugs', 'Database performance acceptable', 'User satisfaction positive']),
        ...items('expanded.next', ['All metrics passing', 'Support team reporting normal load', 'No blockers identified']),
      ],
      approvals: { count: 1, role: 'approver' },
    },
    {
      id: 'general',
      name: 'Stage 3: General Availability',
      audience: { percentage: 50 },
      minDuration: 48 * HOUR,
      minSamples: 1000,
      description: 'Available to the general user base; test under full load. Intensive monitoring.',
      gates: seed003Gates(0.1, true),
      matrices: [SEED_003_MATRIX],
      checklist: [
        ...items('general.success', ['Performance stable', 'API performance steady', 'Support normal', 'Database performing well', 'Ready for 100% rollout']),
        ...items('general.next', ['All metrics excellent', 'Support team confident', 'Team ready for full launch']),
      ],
      approvals: { count: 1, role: 'approver' },
    },
    {
      id: 'full',
      name: 'Stage 4: Full Rollout',
      audience: { percentage: 100 },
      minDuration: 48 * HOUR,
      minSamples: 1000,
      description: 'All users. Post-launch monitoring: hour 0-6 intensive, hour 6-24 hourly, day 2-3 daily, day 4-7 twice daily.',
      gates: seed003Gates(0.1, false),
      matrices: [SEED_003_MATRIX],
      checklist: items('full', ['User feedback positive', 'Monitoring configured and working (Phase 6.4)', 'Team briefed and confident']),
    },
  ],
});

// ---------------------------------------------------------------- seed 002

/**
 * Seed 002's rollback triggers ("Error rate exceeds 2%", "Performance
 * degradation > 20%"); its process starts with "Immediate feature flag
 * disable", so both disable. Degradation needs a control cohort.
 */
function seed002Triggers(withControl: boolean): Gate[] {
  const gates: Gate[] = [
    { id: 'rollback-error-rate', metric: 'error-rate', role: 'rollback', condition: absolute('>', 2), onBreach: 'disable', description: 'Error rate exceeds 2%' },
  ];
  if (withControl) {
    gates.push({
      id: 'rollback-degradation',
      metric: 'response-time-avg',
      role: 'rollback',
      condition: relative('>', 20),
      onBreach: 'disable',
      description: 'Performance degradation > 20%',
    });
  }
  return gates;
}

/** Seed 002's "Technical Success" criteria. */
const SEED_002_TECHNICAL_SUCCESS: readonly Gate[] = [
  { id: 'uptime', metric: 'uptime', role: 'success', condition: absolute('>=', 99.9), description: '99.9% uptime' },
  { id: 'error-rate', metric: 'error-rate', role: 'success', condition: absolute('<', 1), description: '< 1% error rate' },
  { id: 'response-time', metric: 'response-time-avg', role: 'success', condition: absolute('<', 200), description: '< 200ms average response time' },
  { id: 'cache-hit-rate', metric: 'cache-hit-rate', role: 'success', condition: absolute('>=', 95), description: '95% cache hit rate' },
];

/**
 * Seed 002, "Phased Rollout Plan": Beta 5% -> Controlled Expansion 25% (A/B
 * testing) -> General Availability, two weeks each.
 *
 * @example
 * SEED_002_PHASED_ROLLOUT.stages.map((s) => s.minDuration / 86_400_000); // [14, 14, 14]
 */
export const SEED_002_PHASED_ROLLOUT: Plan = deepFreeze<Plan>({
  id: 'seed-002-phased-rollout',
  name: 'Phased rollout: Beta, Controlled Expansion, GA',
  version: 1,
  source: 'seed 002 "Phase 3: Phased Rollout Plan" (phases, durations, rollback triggers, success criteria, next steps).',
  preStartChecklist: items('pre', [
    'Finalize rollout schedule',
    'Set up monitoring systems',
    'Prepare communication materials',
    'Train support team',
    'Configure feature flags',
  ]),
  stages: [
    {
      id: 'beta',
      name: 'Beta Phase',
      audience: { percentage: 5 },
      minDuration: 2 * WEEK,
      minSamples: 1000,
      description: 'Initial deployment to 5% of users; focus on power users and early adopters; heavy telemetry monitoring. Minimum samples (1000) are Rollgate\'s.',
      gates: [...SEED_002_TECHNICAL_SUCCESS, ...seed002Triggers(true)],
      checklist: items('beta', ['Gather initial feedback', 'Address critical issues']),
      approvals: { count: 1, role: 'approver' },
    },
    {
      id: 'controlled',
      name: 'Controlled Expansion',
      audience: { percentage: 25 },
      minDuration: 2 * WEEK,
      minSamples: 1000,
      description:
        'Gradual increase to 25% of users with A/B testing of simplified vs advanced models. Test groups (flag variants): 1. Advanced Model Only, 2. Simplified Model Only, 3. Choice Between Models, 4. Automatic Model Selection.',
      gates: [...SEED_002_TECHNICAL_SUCCESS, ...seed002Triggers(true)],
      checklist: items('controlled', ['A/B testing', 'Performance optimization', 'Feature refinement']),
      approvals: { count: 1, role: 'approver' },
    },
    {
      id: 'ga',
      name: 'General Availability',
      audience: { percentage: 100 },
      minDuration: 2 * WEEK,
      minSamples: 1000,
      description: 'Full rollout to all users; continued monitoring and optimization.',
      gates: [
        ...SEED_002_TECHNICAL_SUCCESS,
        { id: 'support-ticket-rate', metric: 'support-ticket-rate', role: 'success', condition: absolute('<', 5), description: '< 5% support ticket rate' },
        { id: 'adoption', metric: 'adoption', role: 'success', condition: absolute('>=', 80), description: '80% feature adoption' },
        ...seed002Triggers(false),
      ],
      checklist: items('ga', ['90% user satisfaction', '70% user retention', 'Positive feedback trend']),
    },
  ],
});

/**
 * Seed 002 with its "A/B Testing Framework" run for real: the Controlled
 * Expansion stage splits its 25% across the four test groups (flag
 * variations `advanced`, `simplified`, `choice`, `automatic`, a quarter
 * each) and compares the seed's test metrics with the Advanced Model group.
 * The flag needs those four variations; Beta serves the rollout's own
 * variation, and General Availability the experiment's winner (the group
 * better than the Advanced Model on some test metric and worse on none); when
 * the analysis has no winner, the rollout waits for a person to choose.
 *
 * @example
 * SEED_002_AB_EXPERIMENT.stages[1].experiment?.groups.map((g) => g.variation); // ['advanced', 'simplified', 'choice', 'automatic']
 */
export const SEED_002_AB_EXPERIMENT: Plan = deepFreeze<Plan>({
  ...SEED_002_PHASED_ROLLOUT,
  id: 'seed-002-ab-experiment',
  name: 'Phased rollout with A/B test groups',
  source: 'seed 002 "Phase 3: Phased Rollout Plan" and its "A/B Testing Framework" (test groups, test metrics).',
  stages: SEED_002_PHASED_ROLLOUT.stages.map((stage) =>
    stage.id !== 'controlled'
      ? stage.id === 'ga'
        ? // General Availability serves the test groups' winner; with none, a person chooses.
          { ...stage, serve: { experimentWinner: 'controlled' } }
        : stage
      : {
          ...stage,
          experiment: {
            groups: [
              { variation: 'advanced', weight: 25_000, name: 'Advanced Model Only' },
              { variation: 'simplified', weight: 25_000, name: 'Simplified Model Only' },
              { variation: 'choice', weight: 25_000, name: 'Choice Between Models' },
              { variation: 'automatic', weight: 25_000, name: 'Automatic Model Selection' },
            ],
            control: 'advanced',
            // "Test Metrics": calculation speed, user satisfaction, feature utilization, error rates (retention has no catalog metric).
            metrics: ['response-time-avg', 'satisfaction-score', 'adoption', 'error-rate'],
          },
        },
  ),
});

// ---------------------------------------------------------------- seed 000

/** Seed 000's "System Health" targets. */
const SEED_000_SYSTEM_HEALTH: readonly Gate[] = [
  { id: 'error-rate', metric: 'error-rate', role: 'success', condition: absolute('<', 0.5), description: 'Error Rate <0.5%' },
  { id: 'response-time', metric: 'response-time-avg', role: 'success', condition: absolute('<', 2000), description: 'Avg Response Time <2s' },
  { id: 'cache-hit-rate', metric: 'cache-hit-rate', role: 'success', condition: absolute('>', 80), description: 'Cache Hit Rate >80%' },
  { id: 'db-query-time', metric: 'db-query-time', role: 'success', condition: absolute('<', 500), description: 'Database Query Time <500ms' },
  { id: 'uptime', metric: 'uptime', role: 'success', condition: absolute('>=', 99.9), description: 'Uptime 99.9%' },
];

const SEED_000_GO_NO_GO = ['All metrics meet targets', 'No critical issues', 'User feedback positive', 'Team confident to proceed'];

function seed000Stage(percentage: number, last: boolean): Stage {
  const stage: Stage = {
    id: `rollout-${percentage}`,
    name: `${percentage}% Rollout`,
    audience: { percentage },
    // The dashboard's go/no-go decision is part of its weekly summary.
    minDuration: WEEK,
    minSamples: 1000,
    gates: SEED_000_SYSTEM_HEALTH,
    checklist: items(`rollout-${percentage}`, last ? ['No critical issues', 'User feedback positive'] : SEED_000_GO_NO_GO),
  };
  if (!last) stage.approvals = { count: 1, role: 'approver' };
  return stage;
}

/**
 * Seed 000, "Rollout Dashboard Template", Phase 4 (gradual production
 * rollout): 10% -> 25% -> 50% -> 75% -> 100% with its system health targets.
 *
 * @example
 * SEED_000_GRADUAL_PRODUCTION_ROLLOUT.stages.map((s) => s.audience.percentage); // [10, 25, 50, 75, 100]
 */
export const SEED_000_GRADUAL_PRODUCTION_ROLLOUT: Plan = deepFreeze<Plan>({
  id: 'seed-000-gradual-production-rollout',
  name: 'Gradual production rollout: 10%, 25%, 50%, 75%, 100%',
  version: 1,
  source:
    'seed 000 "Rollout Dashboard Template" (Phase 4 percentages, System Health targets, weekly Go/No-Go Decision; pre-start checklist from the Phase 1-3 success criteria). Its one-week minimum per phase follows the weekly go/no-go.',
  preStartChecklist: items('pre', [
    'Migration applied successfully',
    'No data integrity issues',
    'All tests passing',
    'No performance degradation',
    'All critical bugs fixed',
    'Performance targets met',
    'Team comfortable with features',
    'Documentation complete',
    'User satisfaction >4/5',
    'Forecast accuracy validated',
    'Positive feedback from majority',
    'No critical bugs',
  ]),
  stages: [10, 25, 50, 75, 100].map((p) => seed000Stage(p, p === 100)),
});

/**
 * Every built-in template.
 *
 * @example
 * PLAN_TEMPLATES.find((t) => t.id === 'seed-003-gradual-rollout')?.source;
 */
export const PLAN_TEMPLATES: readonly Plan[] = Object.freeze([
  SEED_001_STAGED_ROLLOUT,
  SEED_003_GRADUAL_ROLLOUT,
  SEED_002_PHASED_ROLLOUT,
  SEED_002_AB_EXPERIMENT,
  SEED_000_GRADUAL_PRODUCTION_ROLLOUT,
]);
