import { describe, expect, it } from 'vitest';
import { METRIC_CATALOG, metricDefinition } from './metrics-catalog.js';
import {
  PLAN_TEMPLATES,
  SEED_000_GRADUAL_PRODUCTION_ROLLOUT as S000,
  SEED_001_STAGED_ROLLOUT as S001,
  SEED_002_PHASED_ROLLOUT as S002,
  SEED_003_GRADUAL_ROLLOUT as S003,
} from './templates.js';
import type { Gate, Plan } from './types.js';

const DAY = 86_400_000;

function gate(plan: Plan, stage: string, id: string): Gate | undefined {
  return plan.stages.find((s) => s.id === stage)?.gates?.find((g) => g.id === id);
}

describe('metric catalog', () => {
  it('has unique keys and every metric the seeds name', () => {
    const keys = METRIC_CATALOG.map((m) => m.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const key of [
      'error-rate',
      'response-time-avg',
      'response-time-p95',
      'page-load-lcp',
      'cache-hit-rate',
      'db-query-time',
      'uptime',
      'cpu-usage',
      'memory-usage',
      'adoption',
      'satisfaction-score',
      'nps',
      'support-ticket-rate',
      'forecast-accuracy',
      'unhandled-exceptions',
      'data-loss-events',
      'user-complaints',
    ]) {
      expect(metricDefinition(key), key).toBeDefined();
    }
    expect(metricDefinition('cache-hit-rate')).toMatchObject({ kind: 'ratio', unit: 'percent', direction: 'higher' });
    expect(metricDefinition('response-time-p95')).toMatchObject({ kind: 'quantile', unit: 'ms', direction: 'lower' });
  });
});

describe('templates', () => {
  it('each names its seed and is frozen', () => {
    expect(PLAN_TEMPLATES.map((t) => t.source?.match(/^seed \d{3}/)?.[0])).toEqual(['seed 001', 'seed 003', 'seed 002', 'seed 002', 'seed 000']);
    for (const t of PLAN_TEMPLATES) {
      expect(Object.isFrozen(t.stages[0]?.audience)).toBe(true);
    }
  });

  it('seed 001 carries its stages, durations, targets, alert thresholds and triggers', () => {
    expect(S001.stages.map((s) => [s.name, s.audience.percentage ?? null, s.minDuration / DAY, (s.maxDuration ?? 0) / DAY])).toEqual([
      ['Internal', null, 1, 2],
      ['Pilot', 5, 7, 14],
      ['Expanded', 25, 7, 14],
      ['General Availability', 100, 2, 0],
    ]);
    expect(gate(S001, 'pilot', 'error-rate-target')?.condition).toEqual({ type: 'absolute', op: '<', value: 1 });
    expect(gate(S001, 'pilot', 'error-rate-alert')?.condition).toEqual({ type: 'absolute', op: '>', value: 2 });
    expect(gate(S001, 'pilot', 'p95-alert')?.condition.value).toBe(3000);
    expect(gate(S001, 'expanded', 'error-rate-alert')?.condition.value).toBe(1.5);
    expect(gate(S001, 'expanded', 'cpu-alert')?.condition.value).toBe(80);
    expect(gate(S001, 'expanded', 'memory-target')?.condition.value).toBe(70);
    expect(gate(S001, 'pilot', 'auto-degradation')).toMatchObject({ role: 'rollback', condition: { type: 'relative', op: '>', value: 50 } });
    expect(gate(S001, 'pilot', 'manual-error-rate')).toMatchObject({ role: 'alert', sustainedFor: 3_600_000, condition: { value: 2 } });
    expect(S001.stages[0]?.checklist?.map((i) => i.text)).toContain('Rollback tested');
    expect(S001.preStartChecklist?.map((i) => i.text)).toContain('Security audit clean');
  });

  it('seed 003 carries 48 hours per stage, its targets and its rollback matrix', () => {
    expect(S003.stages.map((s) => [s.environment ?? 'own', s.audience.percentage])).toEqual([
      ['staging', 100],
      ['own', 10],
      ['own', 25],
      ['own', 50],
      ['own', 100],
    ]);
    expect(S003.stages.slice(1).every((s) => s.minDuration === 2 * DAY)).toBe(true);
    expect(gate(S003, 'early-access', 'lcp-alert')?.condition.value).toBe(4000);
    expect(S003.stages[1]?.matrices?.[0]).toMatchObject({
      bands: [{ below: 0.1, action: 'continue' }, { below: 0.5, action: 'monitor' }, { below: 1, action: 'rollback' }, { action: 'disable' }],
      anyOccurrence: [{ metric: 'data-loss-events', action: 'rollback' }],
    });
  });

  it('seed 002 and seed 000 carry their phases and targets', () => {
    expect(S002.stages.map((s) => [s.audience.percentage, s.minDuration / DAY])).toEqual([
      [5, 14],
      [25, 14],
      [100, 14],
    ]);
    expect(S002.stages[1]?.description).toContain('Automatic Model Selection');
    expect(gate(S002, 'beta', 'rollback-degradation')).toMatchObject({ onBreach: 'disable', condition: { type: 'relative', value: 20 } });
    expect(S000.stages.map((s) => s.audience.percentage)).toEqual([10, 25, 50, 75, 100]);
    expect(S000.stages[0]?.gates?.map((g) => `${g.metric} ${g.condition.op} ${g.condition.value}`)).toEqual([
      'error-rate < 0.5',
      'response-time-avg < 2000',
      'cache-hit-rate > 80',
      'db-query-time < 500',
      'uptime >= 99.9',
    ]);
  });
});
