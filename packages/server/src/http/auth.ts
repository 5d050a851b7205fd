import { createHash, randomBytes } from 'node:crypto';
import type { Role, TokenKind } from '@rollgate/contract';
import { ApiError } from './errors.js';

/** Who is calling, as resolved from the bearer token. */
export type Principal =
  | { kind: 'user'; tokenId: string; userId: string; name: string; role: Role }
  | { kind: 'sdk'; tokenId: string; tokenKind: Exclude<TokenKind, 'admin'>; name: string; projectId: string; environmentId: string };

/** What a route requires: nothing, a user role (or higher), or an SDK token kind. */
export type Access = 'public' | Role | 'server' | 'browser';

const ROLE_RANK: Record<Role, number> = { viewer: 0, editor: 1, approver: 2, admin: 3 };

/** Whether `role` includes the rights of `required` (viewer < editor < approver < admin). */
export function roleAtLeast(role: Role, required: Role): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[required];
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
 * Throws unless `principal` may use a route that requires `access`.
 * SDK tokens never pass a role check: they can never change configuration.
 */
export function authorize(principal: Principal | undefined, access: Access): void {
  if (access === 'public') return;
  if (principal === undefined) {
    throw new ApiError('UNAUTHENTICATED', 'Send a valid token: Authorization: Bearer <token>', {});
  }
  if (access === 'server' || access === 'browser') {
    if (principal.kind !== 'sdk' || principal.tokenKind !== access) {
      throw new ApiError('FORBIDDEN', `This endpoint needs a ${access} SDK token`, { required: `${access} token` });
    }
    return;
  }
  if (principal.kind !== 'user') {
    throw new ApiError('FORBIDDEN', `SDK tokens cannot use the management API; this needs a user token with the ${access} role`, { required: access });
  }
  if (!roleAtLeast(principal.role, access)) {
    throw new ApiError('FORBIDDEN', `This needs the ${access} role; your role is ${principal.role}`, { required: access, role: principal.role });
  }
}
