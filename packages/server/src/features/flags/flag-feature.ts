import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app-context.js';
import { SegmentService } from '../segments/segment-service.js';
import { sqlSegmentStore } from '../segments/segment-store.js';
import { ChangeRequestService } from './change-request-service.js';
import { registerChangeRequestRoutes } from './change-request-routes.js';
import { sqlChangeRequestStore } from './change-request-store.js';
import { registerFlagRoutes } from './flag-routes.js';
import { FlagService } from './flag-service.js';
import { sqlFlagStore } from './flag-store.js';

/** Flags, their per-environment configurations, and change requests. */
export function registerFlagFeature(app: FastifyInstance, ctx: AppContext): void {
  const flags = new FlagService(ctx.db, ctx.stores.projects, ctx.stores.environments, sqlFlagStore, sqlSegmentStore, sqlChangeRequestStore);
  const segments = new SegmentService(ctx.db, ctx.stores.projects, ctx.stores.environments, sqlSegmentStore, sqlFlagStore, sqlChangeRequestStore);
  const changeRequests = new ChangeRequestService(ctx.db, sqlChangeRequestStore, flags, sqlFlagStore, ctx.stores.environments, segments);
  registerFlagRoutes(app, flags);
  registerChangeRequestRoutes(app, changeRequests);
}
