import { createHash, randomBytes } from 'node:crypto';
import type { BaseRole, Role, TokenKind } from '@rollgate/contract';
import { ApiError } from './errors.js';

/**
 * Who is calling, as resolved from the bearer token. A user's `role` is their
 * base role (their role in projects where they have none of their own); on a
 * project's routes the handler receives the user with `role` set to their
 * role in that project (see {@link authorize}).
 */
export type Principal =
  | { kind: 'user'; tokenId: string; userId: string; name: string; role: BaseRole; projectRoles: ReadonlyMap<string, Role> }
  | { kind: 'sdk'; tokenId: string; tokenKind: Exclude<TokenKind, 'admin'>; name: string; projectId: string; environmentId: string };

/** What a route requires: nothing, a user role (or higher), or an SDK token kind. */
export type Access = 'public' | Role | 'server' | 'browser';

const ROLE_RANK: Record<BaseRole, number> = { none: -1, viewer: 0, editor: 1, approver: 2, admin: 3 };

/** Whether `role` includes the rights of `required` (none < viewer < editor < approver < admin). */
export function roleAtLeast(role: BaseRole, required: Role): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[required];
}

/**
 * A user's role in project `projectKey`: admin for instance admins, else the
 * role granted in that project, else their base role; undefined when that is
 * `none` (the project is closed to them).
 */
export function projectRole(principal: Extract<Principal, { kind: 'user' }>, projectKey: string): Role | undefined {
  if (principal.role === 'admin') return 'admin';
  const granted = principal.projectRoles.get(projectKey);
  if (granted !== undefined) return granted;
  return principal.role === 'none' ? undefined : principal.role;
}

/** SHA-256 of a token secret, hex: what is stored and looked up. */
export function hashToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A new token secret: `rg_<kind>_` and 32 random bytes in base64url. */
export function generateTokenSecret(kind: TokenKind): string {
  return `rg_${kind}_${randomBytes(32).toString('base64url')}`;
}

/** The bearer token of an Authorization header, if well-formed. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * Throws unless `principal` may use a route that requires `access`; returns
 * the principal the handler acts as. On a route of project `projectKey`, a
 * user's role is their role in that project (a user with no role there is
 * refused whatever the route); elsewhere it is their base role, and `viewer`
 * admits every user (their own profile and tokens). SDK tokens never pass a
 * role check: they can never change configuration.
 */
export function authorize(principal: Principal | undefined, access: Access, projectKey?: string): Principal | undefined {
  if (access === 'public') return principal;
  if (principal === undefined) {
    throw new ApiError('UNAUTHENTICATED', 'Send a valid token: Authorization: Bearer <token>', {});
  }
  if (access === 'server' || access === 'browser') {
    if (principal.kind !== 'sdk' || principal.tokenKind !== access) {
      throw new ApiError('FORBIDDEN', `This endpoint needs a ${access} SDK token`, { required: `${access} token` });
    }
    return principal;
  }
  if (principal.kind !== 'user') {
    throw new ApiError('FORBIDDEN', `SDK tokens cannot use the management API; this needs a user token with the ${access} role`, { required: access });
  }
  if (projectKey !== undefined) {
    const role = projectRole(principal, projectKey);
    if (role === undefined) {
      throw new ApiError('FORBIDDEN', `You have no role in project ${projectKey}: an admin of the project can give you one`, { required: access, projectKey, role: 'none' });
    }
    if (!roleAtLeast(role, access)) {
      throw new ApiError('FORBIDDEN', `This needs the ${access} role in project ${projectKey}; your role there is ${role}`, { required: access, projectKey, role });
    }
    return { ...principal, role };
  }
  if (access !== 'viewer' && !roleAtLeast(principal.role, access)) {
    throw new ApiError('FORBIDDEN', `This needs the ${access} role; your role is ${principal.role}`, { required: access, role: principal.role });
  }
  return principal;
}
