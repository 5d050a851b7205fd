import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database } from '../../db/database.js';
import { hashToken, type Principal } from '../../http/auth.js';
import { ApiError } from '../../http/errors.js';
import { newId } from '../../internal/ids.js';
import type { Clock } from '../../internal/time.js';
import { recordAudit } from '../audit/audit-store.js';
import type { TokenAuthenticator } from '../tokens/token-auth.js';
import type { SessionIdentity, SessionStore } from './session-store.js';

/**
 * The CSRF token of a session: derived from the cookie secret, which a page
 * of another site can neither read nor send (httpOnly, SameSite=Strict), so
 * a write that carries it comes from a page this server served. Every tab of
 * one session gets the same token from GET /api/session.
 */
export function csrfTokenOf(cookieSecret: string): string {
  return createHash('sha256').update(`csrf:${cookieSecret}`, 'utf8').digest('base64url');
}

/** How long a dashboard session lasts before the person signs in again. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

/** A new session: the cookie secret (set as an httpOnly cookie) and the CSRF token the page sends with writes. */
export interface SignedIn {
  sessionId: string;
  cookieSecret: string;
  csrfToken: string;
  expiresAt: Date;
  principal: Extract<Principal, { kind: 'user' }>;
}

/**
 * Turns a user token into a dashboard session and back. The cookie secret and
 * the CSRF token are random, stored hashed; the session lives only as long as
 * its token is unrevoked and its user enabled, so revoking a token signs its
 * sessions out too.
 */
export class SessionService {
  constructor(
    private readonly db: Database,
    private readonly store: SessionStore,
    private readonly tokenAuth: TokenAuthenticator,
    private readonly clock: Clock,
  ) {}

  async signIn(tokenSecret: string, requestId: string): Promise<SignedIn> {
    const principal = await this.tokenAuth.authenticate(tokenSecret);
    if (principal === undefined) throw new ApiError('UNAUTHENTICATED', 'That token is not valid: paste a personal user token (rg_admin_...) that exists and is not revoked', {});
    if (principal.kind !== 'user') {
      throw new ApiError('FORBIDDEN', 'SDK tokens cannot sign in to the dashboard: use a personal user token', { required: 'viewer' });
    }
    const now = this.clock();
    const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
    const cookieSecret = randomBytes(32).toString('base64url');
    const csrfToken = csrfTokenOf(cookieSecret);
    const id = newId('ses', now.getTime());
    await this.db.transaction(async (tx) => {
      await this.store.insert(tx, { id, sessionHash: hashToken(cookieSecret), tokenId: principal.tokenId, userId: principal.userId, createdAt: now, expiresAt });
      await recordAudit(tx, { actor: { kind: 'user', id: principal.userId, name: principal.name }, requestId }, { action: 'session.created', resourceType: 'session', resourceId: id, after: { tokenId: principal.tokenId, expiresAt: expiresAt.toISOString() } });
    });
    return { sessionId: id, cookieSecret, csrfToken, expiresAt, principal };
  }

  /** The live session of a cookie secret, if any. */
  resolve(cookieSecret: string): Promise<SessionIdentity | undefined> {
    return this.store.findLive(this.db, hashToken(cookieSecret), this.clock());
  }

  /** Whether `csrfToken` is the CSRF token of the session whose cookie is `cookieSecret` (compared in constant time). */
  csrfMatches(cookieSecret: string, csrfToken: string | undefined): boolean {
    if (csrfToken === undefined || csrfToken === '') return false;
    const given = Buffer.from(csrfToken);
    const expected = Buffer.from(csrfTokenOf(cookieSecret));
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  async signOut(session: SessionIdentity, requestId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (await this.store.end(tx, session.id, this.clock())) {
        await recordAudit(tx, { actor: { kind: 'user', id: session.userId, name: session.userName }, requestId }, { action: 'session.ended', resourceType: 'session', resourceId: session.id });
      }
    });
  }
}
