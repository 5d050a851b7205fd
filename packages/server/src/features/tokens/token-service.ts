import type { TokenKind } from '@rollgate/contract';
import { TOKENS_CHANNEL, type Database } from '../../db/database.js';
import { generateTokenSecret, hashToken, type Principal } from '../../http/auth.js';
import { ApiError, notFound } from '../../http/errors.js';
import { newId } from '../../internal/ids.js';
import { recordAudit, type WriteMeta } from '../audit/audit-store.js';
import type { EnvironmentStore } from '../environments/environment-store.js';
import type { ProjectStore } from '../projects/project-store.js';
import type { UserStore } from '../users/user-store.js';
import type { TokenAuthenticator } from './token-auth.js';
import type { Token, TokenStore } from './token-store.js';

/** A user principal: only user tokens reach the token routes. */
export type UserPrincipal = Extract<Principal, { kind: 'user' }>;

/** A token as the API shows it (no internal project or environment ids, never the secret or its hash). */
export interface TokenDto {
  id: string;
  kind: TokenKind;
  name: string;
  prefix: string;
  userId: string | null;
  projectKey: string | null;
  environmentKey: string | null;
  createdAt: string;
  createdBy: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export function toTokenDto(t: Token): TokenDto {
  return {
    id: t.id,
    kind: t.kind,
    name: t.name,
    prefix: t.prefix,
    userId: t.userId,
    projectKey: t.projectKey,
    environmentKey: t.environmentKey,
    createdAt: t.createdAt,
    createdBy: t.createdBy,
    lastUsedAt: t.lastUsedAt,
    revokedAt: t.revokedAt,
  };
}

/** How many characters of the random part the stored prefix keeps, after `rg_<kind>_`. */
const PREFIX_RANDOM_CHARS = 6;

export type CreateTokenInput =
  | { kind: 'admin'; name: string; userId?: string }
  | { kind: 'server' | 'browser'; name: string; projectKey: string; environmentKey: string };

export interface TokenServiceDeps {
  db: Database;
  tokens: TokenStore;
  users: UserStore;
  projects: ProjectStore;
  environments: EnvironmentStore;
  tokenAuth: Pick<TokenAuthenticator, 'invalidate'>;
}

const forbidden = (message: string) => new ApiError('FORBIDDEN', message, { required: 'admin' });

/**
 * API tokens: personal admin-API tokens of users, and SDK tokens (server,
 * browser) scoped to one environment. Only the SHA-256 of a secret is stored;
 * the secret is returned once, at creation. A revocation reaches every
 * replica's token cache at once (NOTIFY in the transaction).
 */
export class TokenService {
  constructor(private readonly deps: TokenServiceDeps) {}

  /** Admins: every token (filters); others: their own tokens only. */
  async list(caller: UserPrincipal, filter: { userId?: string; projectKey?: string; limit: number; afterId?: string }): Promise<Token[]> {
    const { db, tokens, projects } = this.deps;
    let userId = filter.userId;
    if (caller.role !== 'admin') {
      if (userId !== undefined && userId !== caller.userId) throw forbidden('Only admins may list other users’ tokens');
      userId = caller.userId;
    }
    let projectId: string | undefined;
    if (filter.projectKey !== undefined) {
      const project = await projects.getByKey(db, filter.projectKey);
      if (project === undefined) return [];
      projectId = project.id;
    }
    return tokens.list(db, { userId, projectId, limit: filter.limit, afterId: filter.afterId });
  }

  async create(caller: UserPrincipal, meta: WriteMeta, input: CreateTokenInput): Promise<{ token: Token; secret: string }> {
    const { db, tokens, users, projects, environments } = this.deps;
    if (input.kind !== 'admin' && caller.role !== 'admin') throw forbidden(`Only admins may create ${input.kind} SDK tokens`);
    if (input.kind === 'admin' && input.userId !== undefined && input.userId !== caller.userId && caller.role !== 'admin') {
      throw forbidden('Only admins may create tokens for other users');
    }
    const secret = generateTokenSecret(input.kind);
    const prefix = secret.slice(0, `rg_${input.kind}_`.length + PREFIX_RANDOM_CHARS);
    const token = await db.transaction(async (tx) => {
      let userId: string | null = null;
      let projectId: string | null = null;
      let environmentId: string | null = null;
      if (input.kind === 'admin') {
        userId = input.userId ?? caller.userId;
        const user = await users.get(tx, userId);
        if (user === undefined) throw notFound('user', userId);
        if (user.disabled) throw new ApiError('INVALID_STATE', `User ${userId} is disabled: enable them before creating a token for them`, { state: 'disabled', userId });
      } else {
        const project = await projects.getByKey(tx, input.projectKey);
        if (project === undefined) throw notFound('project', input.projectKey);
        const environment = await environments.get(tx, project.id, input.environmentKey);
        if (environment === undefined) throw notFound('environment', `${input.projectKey}/${input.environmentKey}`);
        projectId = project.id;
        environmentId = environment.id;
      }
      const created = await tokens.insert(
        tx,
        { id: newId('tok'), kind: input.kind, name: input.name, prefix, userId, projectId, environmentId, createdBy: caller.userId },
        hashToken(secret),
      );
      await recordAudit(tx, meta, {
        action: 'token.created',
        resourceType: 'token',
        resourceId: created.id,
        resourceKey: created.name,
        projectId,
        environmentId,
        after: toTokenDto(created),
      });
      return created;
    });
    return { token, secret };
  }

  /** Revokes a token (admins: any; others: their own). Revoking a revoked token changes nothing. */
  async revoke(caller: UserPrincipal, meta: WriteMeta, id: string): Promise<Token> {
    const { db, tokens, tokenAuth } = this.deps;
    let revoked = false;
    const token = await db.transaction(async (tx) => {
      const found = await tokens.getForUpdate(tx, id);
      if (found === undefined) throw notFound('token', id);
      const before = found.token;
      if (caller.role !== 'admin' && !(before.kind === 'admin' && before.userId === caller.userId)) {
        throw forbidden('Only admins may revoke tokens that are not their own');
      }
      if (before.revokedAt !== null) return before;
      const after = (await tokens.revoke(tx, id)) as Token;
      await tx.query('select pg_notify($1, $2)', [TOKENS_CHANNEL, found.hash]);
      await recordAudit(tx, meta, {
        action: 'token.revoked',
        resourceType: 'token',
        resourceId: after.id,
        resourceKey: after.name,
        projectId: after.projectId,
        environmentId: after.environmentId,
        before: toTokenDto(before),
        after: toTokenDto(after),
      });
      revoked = true;
      return after;
    });
    // After the commit, so no lookup can cache the token as valid again.
    if (revoked) tokenAuth.invalidate();
    return token;
  }
}
