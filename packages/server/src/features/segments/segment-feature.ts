import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app-context.js';
import { sqlChangeRequestStore } from '../flags/change-request-store.js';
import { sqlFlagStore } from '../flags/flag-store.js';
import { registerSegmentRoutes } from './segment-routes.js';
import { SegmentService } from './segment-service.js';
import { sqlSegmentStore } from './segment-store.js';

/** Segments: audiences shared by the environments of a project. */
export function registerSegmentFeature(app: FastifyInstance, ctx: AppContext): void {
  registerSegmentRoutes(app, new SegmentService(ctx.db, ctx.stores.projects, ctx.stores.environments, sqlSegmentStore, sqlFlagStore, sqlChangeRequestStore));
}
