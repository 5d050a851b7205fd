import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { createdTokenSchema, createTokenSchema, keySchema, pageQuerySchema, pageSchema, tokenSchema } from '@rollgate/contract';
import type { AppContext } from '../../app-context.js';
import type { Principal } from '../../http/auth.js';
import { ApiError } from '../../http/errors.js';
import { defineRoute } from '../../http/routes.js';
import { sqlUserStore } from '../users/user-store.js';
import { TokenService, toTokenDto, type UserPrincipal } from './token-service.js';

export const tokenParams = z.strictObject({ tokenId: z.string().min(1).max(100) });
export const tokenQuerySchema = pageQuerySchema.extend({ userId: z.string().min(1).max(100).optional(), projectKey: keySchema.optional() });

/** The routes below need a user role, so `authorize` has already refused SDK tokens and anonymous calls. */
function userPrincipal(principal: Principal | undefined): UserPrincipal {
  if (principal?.kind !== 'user') throw new ApiError('FORBIDDEN', 'This needs a user token', { required: 'viewer' });
  return principal;
}

/**
 * API tokens: list, create (the secret is shown once, in the answer), revoke.
 */
export function registerTokenFeature(app: FastifyInstance, ctx: AppContext): void {
  const tokens = new TokenService({
    db: ctx.db,
    tokens: ctx.stores.tokens,
    users: sqlUserStore,
    projects: ctx.stores.projects,
    environments: ctx.stores.environments,
    tokenAuth: ctx.tokenAuth,
  });

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/api/tokens',
      access: 'viewer',
      summary: 'List tokens, by id (admins: all, filter by userId or projectKey; others: their own). Never shows secrets.',
      tag: 'tokens',
      query: tokenQuerySchema,
      response: { status: 200, schema: pageSchema(tokenSchema) },
    },
    async ({ query, principal }) => {
      const rows = await tokens.list(userPrincipal(principal), { userId: query.userId, projectKey: query.projectKey, limit: query.limit + 1, afterId: query.cursor });
      const items = rows.slice(0, query.limit).map(toTokenDto);
      return { items, nextCursor: rows.length > query.limit ? (items[items.length - 1]?.id ?? null) : null };
    },
  );
  defineRoute(
    app,
    {
      method: 'POST',
      url: '/api/tokens',
      access: 'viewer',
      summary:
        'Create a token: kind admin = a personal token of the caller (or, admins only, of userId); kind server or browser = an SDK token of one environment (admins only). The secret is in this answer only.',
      tag: 'tokens',
      body: createTokenSchema,
      response: { status: 201, schema: createdTokenSchema },
    },
    async ({ body, principal, meta }) => {
      const { token, secret } = await tokens.create(userPrincipal(principal), meta, body);
      return { token: toTokenDto(token), secret };
    },
  );
  defineRoute(
    app,
    {
      method: 'DELETE',
      url: '/api/tokens/:tokenId',
      access: 'viewer',
      summary: 'Revoke a token (admins: any; others: their own); it is refused at once, on every replica',
      tag: 'tokens',
      params: tokenParams,
      response: { status: 200, schema: tokenSchema },
    },
    async ({ params, principal, meta }) => toTokenDto(await tokens.revoke(userPrincipal(principal), meta, params.tokenId)),
  );
}
