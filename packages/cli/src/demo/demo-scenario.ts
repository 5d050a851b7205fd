/**
 * The demo's project: two flags, the segments and environment the plan
 * names, and a plan built from seed 001's staged rollout (internal, pilot,
 * 25%, 50%, GA) with its rollback triggers, on demo durations.
 */
import { SEED_001_STAGED_ROLLOUT } from '@rollgate/core';
import type { ApiClient } from '../internal/api-client.js';

export const DEMO_PROJECT = 'demo';
export const DEMO_ENVIRONMENT = 'production';
export const DEMO_PLAN = 'staged-demo';
/** The flag whose rollout is healthy and reaches GA. */
export const HEALTHY_FLAG = 'new-checkout';
/** The flag whose treatment carries the injected regression. */
export const REGRESSION_FLAG = 'search-ranking-v2';

const MINUTE = 60_000;

/** Simulated users: staff (the internal team), pilot users, everyone else. */
export const USERS = { staff: 60, pilot: 120, total: 1200 } as const;

export const userId = (i: number): string => (i < USERS.staff ? `staff-${String(i + 1).padStart(3, '0')}` : `user-${String(i + 1).padStart(4, '0')}`);
export const isPilot = (i: number): boolean => i >= USERS.staff && i < USERS.staff + USERS.pilot;

type Gate = Record<string, unknown>;

/**
 * The demo shop's requests fail 3% of the time (its payment provider is
 * flaky), so the demo's error-rate target and alert sit above that; the
 * rollback triggers are seed 001's own: error rate > 5%, performance
 * degradation > 50% against the control. Both roll back to 0%.
 */
export const DEMO_BASE_ERROR_RATE = 0.03;

function rollbackTriggers(withControl: boolean): Gate[] {
  const gates: Gate[] = [
    { id: 'auto-error-rate', metric: 'error-rate', role: 'rollback', condition: { type: 'absolute', op: '>', value: 5 }, onBreach: 'rollback_zero', description: 'Automatic rollback: Error rate > 5%' },
  ];
  if (withControl) {
    gates.push({
      id: 'auto-degradation',
      metric: 'response-time-p95',
      role: 'rollback',
      condition: { type: 'relative', op: '>', value: 50 },
      onBreach: 'rollback_zero',
      description: 'Automatic rollback: Performance degradation > 50%',
    });
  }
  return gates;
}

/** Seed 001's "Metrics to Track" rows for the error rate (on the demo shop's level) and p95: target and alert threshold. */
const targets: Gate[] = [
  { id: 'error-rate-target', metric: 'error-rate', role: 'success', condition: { type: 'absolute', op: '<', value: 4 }, description: 'Error rate: target' },
  { id: 'error-rate-alert', metric: 'error-rate', role: 'alert', condition: { type: 'absolute', op: '>', value: 4.5 }, description: 'Error rate: alert threshold' },
  { id: 'p95-target', metric: 'response-time-p95', role: 'success', condition: { type: 'absolute', op: '<', value: 2000 }, description: 'Response time p95: target' },
  { id: 'p95-alert', metric: 'response-time-p95', role: 'alert', condition: { type: 'absolute', op: '>', value: 3000 }, description: 'Response time p95: alert threshold' },
];

/** The demo plan's definition: seed 001's stages on demo durations, without its checklists and approvals so it runs unattended. */
export function demoPlanDefinition(): Record<string, unknown> {
  const seed = SEED_001_STAGED_ROLLOUT;
  const stage = (id: string, name: string, audience: Record<string, unknown>, minutes: number, gates: Gate[], minSamples: number) => ({ id, name, audience, minDuration: minutes * MINUTE, minSamples, gates });
  const everyone = ['internal-team', 'pilot-users'];
  return {
    source: `demo plan from ${seed.id} (${seed.name}): its stages, targets and rollback triggers, on demo durations; no checklists or approvals so that it runs unattended`,
    stages: [
      stage('internal', 'Internal', { segments: ['internal-team'] }, 20, rollbackTriggers(true), 500),
      stage('pilot', 'Pilot', { segments: everyone, percentage: 5 }, 30, [...targets, ...rollbackTriggers(true)], 1000),
      stage('expanded-25', 'Expanded 25%', { segments: everyone, percentage: 25 }, 30, [...targets, ...rollbackTriggers(true)], 1000),
      stage('expanded-50', 'Expanded 50%', { segments: everyone, percentage: 50 }, 30, [...targets, ...rollbackTriggers(true)], 1000),
      stage('ga', 'General Availability', { percentage: 100 }, 15, rollbackTriggers(false), 1000),
    ],
  };
}

export interface DemoScenario {
  sdkToken: string;
  /** The healthy flag's rollout, started at once. */
  healthyRollout: string;
}

/** Starts the demo plan on `flagKey`; resolves with the rollout id. */
export async function startDemoRollout(client: ApiClient, flagKey: string): Promise<string> {
  const started = await client.post<{ id: string }>(`/api/projects/${DEMO_PROJECT}/rollouts`, { flagKey, environmentKey: DEMO_ENVIRONMENT, planKey: DEMO_PLAN });
  return started.id;
}

/** Creates the project, environment, segments, flags and plan, a server SDK token, and starts the healthy flag's rollout. */
export async function createDemoScenario(client: ApiClient): Promise<DemoScenario> {
  const p = `/api/projects/${DEMO_PROJECT}`;
  await client.post('/api/projects', { key: DEMO_PROJECT, name: 'Rollgate demo shop', description: 'Created by rollgate demo: simulated users of a web shop' });
  await client.post(`${p}/environments`, { key: DEMO_ENVIRONMENT, name: 'Production' });
  const staff = Array.from({ length: USERS.staff }, (_, i) => userId(i));
  const pilot = Array.from({ length: USERS.pilot }, (_, i) => userId(USERS.staff + i));
  await client.post(`${p}/segments`, { key: 'internal-team', name: 'Internal team', description: 'Staff of the shop (dogfooding)', definition: { included: staff } });
  await client.post(`${p}/segments`, { key: 'pilot-users', name: 'Pilot users', description: 'Customers who opted in to early features', definition: { included: pilot } });
  await client.post(`${p}/flags`, { key: HEALTHY_FLAG, name: 'New checkout', description: 'The redesigned checkout (healthy in the demo)', tags: ['demo'] });
  await client.post(`${p}/flags`, { key: REGRESSION_FLAG, name: 'Search ranking v2', description: 'A new search ranking (carries the demo\'s injected regression)', tags: ['demo'] });
  await client.post(`${p}/plans`, { key: DEMO_PLAN, name: 'Staged rollout (demo durations)', description: 'Internal, pilot, 25%, 50%, GA, from seed 001', definition: demoPlanDefinition() });
  const token = await client.post<{ secret: string }>('/api/tokens', { kind: 'server', name: 'demo traffic', projectKey: DEMO_PROJECT, environmentKey: DEMO_ENVIRONMENT });
  return { sdkToken: token.secret, healthyRollout: await startDemoRollout(client, HEALTHY_FLAG) };
}
