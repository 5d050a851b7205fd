/**
 * @rollgate/contract: the HTTP API's zod schemas, the error-code registry,
 * and the DTO types inferred from them.
 */
export * from './errors.js';
export * from './flags.js';
export * from './resources.js';
export * from './plans.js';
export * from './rollouts.js';
export * from './metrics.js';
export * from './metric-definitions.js';
export * from './dashboard.js';
