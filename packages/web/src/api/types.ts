/**
 * The API's data types, inferred from @rollgate/contract's schemas: never
 * redeclared here.
 */
import type { z } from 'zod';
import type {
  auditEventSchema,
  environmentSchema,
  errorBodySchema,
  flagEnvironmentSchema,
  flagSchema,
  planSchema,
  planSummarySchema,
  planTemplateSchema,
  projectSchema,
  rolloutDecisionSchema,
  rolloutExperimentSchema,
  rolloutRollbackSchema,
  segmentSchema,
  sessionSchema,
  stagedRolloutDetailSchema,
  userSchema,
} from '@rollgate/contract';

export type { DashboardEvent, FlagEnvironmentConfig, MetricSeries, Overview, OverviewRow, Role } from '@rollgate/contract';
export type ApiErrorBody = z.infer<typeof errorBodySchema>;
export type Session = z.infer<typeof sessionSchema>;
export type PlanSummary = z.infer<typeof planSummarySchema>;
export type PlanView = z.infer<typeof planSchema>;
export type PlanTemplate = z.infer<typeof planTemplateSchema>;
export type Project = z.infer<typeof projectSchema>;
export type Environment = z.infer<typeof environmentSchema>;
export type Flag = z.infer<typeof flagSchema>;
export type FlagEnvironment = z.infer<typeof flagEnvironmentSchema>;
export type Segment = z.infer<typeof segmentSchema>;
export type User = z.infer<typeof userSchema>;
export type AuditEvent = z.infer<typeof auditEventSchema>;
export type RolloutDetail = z.infer<typeof stagedRolloutDetailSchema>;
export type RolloutDecision = z.infer<typeof rolloutDecisionSchema>;
export type RolloutRollback = z.infer<typeof rolloutRollbackSchema>;
export type RolloutExperiment = z.infer<typeof rolloutExperimentSchema>;
export type StatusSummary = RolloutDetail['statusSummary'];
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
