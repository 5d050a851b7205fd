/**
 * Schemas of the management API's resources, requests and responses.
 * Request bodies are strict: an unknown field is a VALIDATION_FAILED error.
 */
import { z } from 'zod';
import { flagEnvironmentConfigSchema, keySchema, segmentDefinitionSchema, variationSchema } from './flags.js';

const timestamp = z.string().meta({ format: 'date-time' });
const version = z.number().int().min(1);
const name = z.string().min(1).max(200);
const description = z.string().max(5000);

export const ROLES = ['viewer', 'editor', 'approver', 'admin'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;
/** A user's base role: their role in every project where they have no project role (`none`: no access there). */
export const BASE_ROLES = ['none', ...ROLES] as const;
export const baseRoleSchema = z.enum(BASE_ROLES);
export type BaseRole = z.infer<typeof baseRoleSchema>;

/** Cursor pagination query, shared by list endpoints. */
export const pageQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(200).optional(),
});

/**
 * `freeFormMetrics`: accept metrics that are neither in the built-in catalog
 * nor among the project's metric definitions at POST /api/client/metrics
 * (default false: such items are rejected, with the nearest known key).
 */
const freeFormMetrics = z.boolean();
export const projectSchema = z
  .object({ id: z.string(), key: keySchema, name, description, freeFormMetrics, version, createdAt: timestamp, updatedAt: timestamp })
  .meta({ id: 'Project' });
export const createProjectSchema = z.strictObject({ key: keySchema, name, description: description.default(''), freeFormMetrics: freeFormMetrics.default(false) });
export const updateProjectSchema = z.strictObject({ version, name: name.optional(), description: description.optional(), freeFormMetrics: freeFormMetrics.optional() });

export const environmentSchema = z
  .object({
    id: z.string(),
    projectKey: keySchema,
    key: keySchema,
    name,
    position: z.number().int(),
    requiresApproval: z.boolean(),
    snapshotVersion: z.number().int(),
    version,
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Environment' });
export const createEnvironmentSchema = z.strictObject({
  key: keySchema,
  name,
  requiresApproval: z.boolean().default(false),
  /** Where in the order (0 = first); default last. */
  position: z.number().int().min(0).optional(),
});
export const updateEnvironmentSchema = z.strictObject({
  version,
  name: name.optional(),
  requiresApproval: z.boolean().optional(),
  position: z.number().int().min(0).optional(),
});

export const flagTypeSchema = z.enum(['boolean', 'string', 'number', 'json']);

export const flagEnvironmentSchema = z
  .object({ environmentKey: keySchema, version, config: flagEnvironmentConfigSchema, updatedAt: timestamp })
  .meta({ id: 'FlagEnvironment' });

export const flagSchema = z
  .object({
    id: z.string(),
    projectKey: keySchema,
    key: keySchema,
    name,
    description,
    type: flagTypeSchema,
    variations: z.array(variationSchema),
    tags: z.array(z.string()),
    archived: z.boolean(),
    version,
    createdAt: timestamp,
    updatedAt: timestamp,
    environments: z.record(z.string(), flagEnvironmentSchema),
  })
  .meta({ id: 'Flag' });
export const createFlagSchema = z.strictObject({
  key: keySchema,
  name,
  description: description.default(''),
  type: flagTypeSchema.default('boolean'),
  /** Default for boolean flags: on (true) and off (false). Required for other types. */
  variations: z.array(variationSchema).min(1).max(100).optional(),
  tags: z.array(z.string().min(1).max(50)).max(20).default([]),
});
/** Body of `POST /api/projects/{project}/flags`, as a client writes it. */
export type CreateFlagRequest = z.input<typeof createFlagSchema>;
export const updateFlagSchema = z.strictObject({
  version,
  name: name.optional(),
  description: description.optional(),
  variations: z.array(variationSchema).min(1).max(100).optional(),
  tags: z.array(z.string().min(1).max(50)).max(20).optional(),
  /** Kept with the change request when the update needs approval. */
  comment: z.string().max(2000).optional(),
});
export const updateFlagEnvironmentSchema = z.strictObject({
  version,
  config: flagEnvironmentConfigSchema,
  comment: z.string().max(2000).optional(),
});

export const segmentSchema = z
  .object({
    id: z.string(),
    projectKey: keySchema,
    key: keySchema,
    name,
    description,
    definition: segmentDefinitionSchema,
    version,
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Segment' });
export const createSegmentSchema = z.strictObject({ key: keySchema, name, description: description.default(''), definition: segmentDefinitionSchema });
/** Body of `POST /api/projects/{project}/segments`, as a client writes it. */
export type CreateSegmentRequest = z.input<typeof createSegmentSchema>;
export const updateSegmentSchema = z.strictObject({
  version,
  name: name.optional(),
  description: description.optional(),
  definition: segmentDefinitionSchema.optional(),
  /** Kept with the change request when the update needs approval. */
  comment: z.string().max(2000).optional(),
});

export const userSchema = z
  .object({ id: z.string(), email: z.string(), name, role: baseRoleSchema, disabled: z.boolean(), version, createdAt: timestamp, updatedAt: timestamp })
  .meta({ id: 'User' });
export const createUserSchema = z.strictObject({ email: z.email().max(320), name, role: baseRoleSchema });
export const updateUserSchema = z.strictObject({ version, name: name.optional(), role: baseRoleSchema.optional(), disabled: z.boolean().optional() });

/** A user's role in one project. */
export const projectMemberSchema = z
  .object({ projectKey: keySchema, userId: z.string(), email: z.string(), name, role: roleSchema, grantedBy: z.string().nullable(), createdAt: timestamp, updatedAt: timestamp })
  .meta({ id: 'ProjectMember' });
export const setProjectMemberSchema = z.strictObject({ role: roleSchema });

export const TOKEN_KINDS = ['admin', 'server', 'browser'] as const;
export const tokenKindSchema = z.enum(TOKEN_KINDS);
export type TokenKind = z.infer<typeof tokenKindSchema>;

export const tokenSchema = z
  .object({
    id: z.string(),
    kind: tokenKindSchema,
    name,
    /** The first characters of the secret, to recognise it. */
    prefix: z.string(),
    userId: z.string().nullable(),
    projectKey: keySchema.nullable(),
    environmentKey: keySchema.nullable(),
    createdAt: timestamp,
    createdBy: z.string().nullable(),
    lastUsedAt: timestamp.nullable(),
    revokedAt: timestamp.nullable(),
  })
  .meta({ id: 'Token' });
export const createTokenSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('admin'), name, userId: z.string().optional() }),
  z.strictObject({ kind: z.literal('server'), name, projectKey: keySchema, environmentKey: keySchema }),
  z.strictObject({ kind: z.literal('browser'), name, projectKey: keySchema, environmentKey: keySchema }),
]);
/** Returned once, at creation: the secret is never shown again. */
export const createdTokenSchema = z.object({ token: tokenSchema, secret: z.string() }).meta({ id: 'CreatedToken' });

export const actorSchema = z.object({ kind: z.enum(['user', 'token', 'system']), id: z.string(), name: z.string() });

export const auditEventSchema = z
  .object({
    id: z.string(),
    seq: z.number().int(),
    at: timestamp,
    actor: actorSchema,
    action: z.string(),
    resourceType: z.string(),
    resourceId: z.string(),
    resourceKey: z.string().nullable(),
    projectKey: z.string().nullable(),
    environmentKey: z.string().nullable(),
    before: z.unknown().nullable(),
    after: z.unknown().nullable(),
    requestId: z.string().nullable(),
  })
  .meta({ id: 'AuditEvent' });
export const auditQuerySchema = pageQuerySchema.extend({
  projectKey: keySchema.optional(),
  environmentKey: keySchema.optional(),
  resourceType: z.string().max(50).optional(),
  resourceId: z.string().max(100).optional(),
  action: z.string().max(100).optional(),
  actorId: z.string().max(100).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
});

export const CHANGE_REQUEST_STATUSES = ['pending', 'applied', 'rejected', 'conflict', 'cancelled'] as const;
/**
 * What a change request changes: a flag's configuration in one environment,
 * a flag's variations or archived state, or a segment (these two change what
 * every environment that uses them serves).
 */
export const CHANGE_REQUEST_KINDS = ['flag_configuration', 'flag_variations', 'flag_archive', 'segment'] as const;
export const changeRequestSchema = z
  .object({
    id: z.string(),
    kind: z.enum(CHANGE_REQUEST_KINDS),
    projectKey: keySchema,
    /** The environment of a flag_configuration request; null for the other kinds. */
    environmentKey: keySchema.nullable(),
    /** The flag of a flag request; null for a segment request. */
    flagKey: keySchema.nullable(),
    segmentKey: keySchema.nullable(),
    status: z.enum(CHANGE_REQUEST_STATUSES),
    authorId: z.string(),
    /** The version of what is changed (flag configuration, flag or segment) the request was made from. */
    baseVersion: version,
    /** The proposed configuration of a flag_configuration request; null for the other kinds. */
    config: flagEnvironmentConfigSchema.nullable(),
    /** The proposed change of the other kinds: {variations}, {archived}, or the segment's {name, description, definition}. */
    changes: z.record(z.string(), z.unknown()).nullable(),
    comment: z.string(),
    createdAt: timestamp,
    decidedBy: z.string().nullable(),
    decidedAt: timestamp.nullable(),
    decisionComment: z.string().nullable(),
    version,
  })
  .meta({ id: 'ChangeRequest' });
export const decideChangeRequestSchema = z.strictObject({ version, comment: z.string().max(2000).default('') });

/** A list page: items and the cursor of the next page, if any. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

export const snapshotSchema = z
  .object({
    environment: z.string(),
    version: z.number().int(),
    flags: z.array(z.unknown()),
    segments: z.array(z.unknown()),
  })
  .meta({ id: 'Snapshot' });

/**
 * Bounds of an evaluation context sent to the API (docs/evaluation.md, "Contexts sent to the server").
 * The caller chooses the context, and a browser token is public: these keep the work of one
 * evaluation bounded, regex matching included.
 */
export const CONTEXT_LIMITS = { attributes: 100, nameLength: 256, valueLength: 1024, arrayLength: 100 } as const;

const contextString = z.string().max(CONTEXT_LIMITS.valueLength);
const contextScalar = z.union([contextString, z.number(), z.boolean()]);

/** An evaluation context as the API accepts it: at most 100 attributes of bounded size. */
export const evaluationContextSchema = z
  .record(z.string().min(1).max(CONTEXT_LIMITS.nameLength), z.union([contextScalar, z.null(), z.array(contextScalar).max(CONTEXT_LIMITS.arrayLength)]))
  .refine((context) => Object.keys(context).length <= CONTEXT_LIMITS.attributes, { message: `a context has at most ${CONTEXT_LIMITS.attributes} attributes` })
  .meta({ id: 'EvaluationContext' });

export const frontendEvaluateRequestSchema = z.strictObject({
  context: evaluationContextSchema,
  /** Only these flags; default all. */
  flags: z.array(keySchema).max(1000).optional(),
});
export const frontendEvaluateResponseSchema = z
  .object({
    version: z.number().int(),
    flags: z.record(
      z.string(),
      z.object({
        value: z.unknown(),
        variant: z.string().optional(),
        reason: z.string(),
        ruleId: z.string().optional(),
        errorCode: z.string().optional(),
        /** The flag's type, for flags the snapshot has: browser SDKs check the caller's default against it, as the core does. */
        type: flagTypeSchema.optional(),
      }),
    ),
  })
  .meta({ id: 'FrontendEvaluation' });
/**
 * The data of the frontend stream's `version` event (GET /api/frontend/stream):
 * the environment's snapshot version, sent on connect and after each change.
 * It carries no configuration: a browser that holds an older version evaluates again.
 */
export const frontendVersionEventSchema = z.object({ version: z.number().int() }).meta({ id: 'FrontendVersionEvent' });

/** Query of the flag list: a page, archived or active flags (default active), optionally one tag. */
export const flagListQuerySchema = pageQuerySchema.extend({
  archived: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  tag: z.string().min(1).max(50).optional(),
});
/** Body of archive and unarchive: the version of the flag you read. */
export const archiveFlagSchema = z.strictObject({ version, comment: z.string().max(2000).optional() });
/** Query of the change-request list (newest first). */
export const changeRequestListQuerySchema = pageQuerySchema.extend({
  status: z.enum(CHANGE_REQUEST_STATUSES).optional(),
  kind: z.enum(CHANGE_REQUEST_KINDS).optional(),
  environmentKey: keySchema.optional(),
  flagKey: keySchema.optional(),
});
