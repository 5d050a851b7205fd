import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createSessionSchema, sessionSchema } from '@rollgate/contract';
import type { AppContext } from '../../app-context.js';
import { ApiError } from '../../http/errors.js';
import { defineRoute } from '../../http/routes.js';
import { sqlProjectRoleStore } from '../projects/project-role-store.js';
import { sqlUserStore } from '../users/user-store.js';
import { csrfTokenOf, SessionService, SESSION_TTL_MS } from './session-service.js';
import type { SessionIdentity } from './session-store.js';
import { sqlSessionStore } from './session-store.js';

/** The dashboard's session cookie. */
export const SESSION_COOKIE = 'rollgate_session';
/** The header every write authenticated by the session cookie must carry. */
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyRequest {
    /** The dashboard session the request was authenticated with, if any. */
    dashboardSession?: { identity: SessionIdentity; secret: string };
  }
}

/** The value of cookie `name` in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{16,200}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

function setCookie(request: FastifyRequest, reply: FastifyReply, value: string, maxAgeSeconds: number): void {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  reply.header('set-cookie', `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`);
}

/**
 * Dashboard sign-in: POST /api/session exchanges a user token for an
 * httpOnly, SameSite=Strict session cookie; requests without a bearer token
 * are then authenticated by the cookie, and writes must also send the
 * session's CSRF token in `x-csrf-token`. DELETE /api/session ends it on the
 * server. Register before the features whose routes the cookie opens.
 */
export function registerSessionFeature(app: FastifyInstance, ctx: AppContext): SessionService {
  const sessions = new SessionService(ctx.db, sqlSessionStore, ctx.tokenAuth, ctx.clock);

  app.addHook('onRequest', async (request) => {
    if (request.principal !== undefined || request.headers.authorization !== undefined) return;
    const secret = cookieValue(request.headers.cookie, SESSION_COOKIE);
    if (secret === undefined) return;
    const identity = await sessions.resolve(secret);
    if (identity === undefined) return;
    if (!SAFE_METHODS.has(request.method)) {
      const sent = request.headers[CSRF_HEADER];
      if (!sessions.csrfMatches(secret, typeof sent === 'string' ? sent : undefined)) {
        throw new ApiError('FORBIDDEN', `Writes with the session cookie must send the session's CSRF token in ${CSRF_HEADER} (GET /api/session returns it)`, { required: CSRF_HEADER });
      }
    }
    // The same roles as the session's token gives: the base role and, but for admins, the roles per project.
    const projectRoles = identity.role === 'admin' ? new Map() : await sqlProjectRoleStore.rolesOfUser(ctx.db, identity.userId);
    request.principal = { kind: 'user', tokenId: identity.tokenId, userId: identity.userId, name: identity.userName, role: identity.role, projectRoles };
    request.dashboardSession = { identity, secret };
  });

  const view = async (identity: SessionIdentity, secret: string) => {
    const user = await sqlUserStore.get(ctx.db, identity.userId);
    if (user === undefined) throw new ApiError('UNAUTHENTICATED', 'Sign in again: the user of this session no longer exists', {});
    return { user, role: user.role, tokenId: identity.tokenId, csrfToken: csrfTokenOf(secret), expiresAt: identity.expiresAt.toISOString() };
  };

  defineRoute(
    app,
    {
      method: 'POST',
      url: '/api/session',
      access: 'public',
      summary: 'Sign in to the dashboard with a personal user token: sets an httpOnly, SameSite=Strict session cookie and returns the CSRF token writes must send',
      tag: 'sessions',
      body: createSessionSchema,
      response: { status: 201, schema: sessionSchema },
    },
    async ({ body, request, reply }) => {
      const signedIn = await sessions.signIn(body.token, request.id);
      setCookie(request, reply, signedIn.cookieSecret, Math.floor(SESSION_TTL_MS / 1000));
      const identity: SessionIdentity = {
        id: signedIn.sessionId,
        tokenId: signedIn.principal.tokenId,
        userId: signedIn.principal.userId,
        userName: signedIn.principal.name,
        role: signedIn.principal.role,
        expiresAt: signedIn.expiresAt,
      };
      return view(identity, signedIn.cookieSecret);
    },
  );
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/api/session',
      access: 'public',
      summary: 'The signed-in person of the session cookie, their role and the CSRF token (401 when not signed in)',
      tag: 'sessions',
      response: { status: 200, schema: sessionSchema },
    },
    async ({ request }) => {
      const session = request.dashboardSession;
      if (session === undefined) throw new ApiError('UNAUTHENTICATED', 'Not signed in: POST /api/session with a user token', {});
      return view(session.identity, session.secret);
    },
  );
  defineRoute(
    app,
    {
      method: 'DELETE',
      url: '/api/session',
      access: 'public',
      summary: 'Sign out: ends the session on the server and clears the cookie',
      tag: 'sessions',
      response: { status: 204 },
    },
    async ({ request, reply }) => {
      const session = request.dashboardSession;
      if (session !== undefined) await sessions.signOut(session.identity, request.id);
      setCookie(request, reply, '', 0);
      return undefined;
    },
  );
  return sessions;
}
