import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app-context.js';
import { registerPlanRoutes } from './plan-routes.js';
import { PlanService } from './plan-service.js';
import { sqlPlanStore } from './plan-store.js';

/** Rollout plans: reusable, versioned stage lists, and the built-in templates. */
export function registerPlanFeature(app: FastifyInstance, ctx: AppContext): void {
  registerPlanRoutes(app, new PlanService(ctx.db, ctx.stores.projects, sqlPlanStore));
}
