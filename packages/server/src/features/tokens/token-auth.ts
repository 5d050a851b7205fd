import type { Database } from '../../db/database.js';
import { TOKENS_CHANNEL } from '../../db/database.js';
import type { Principal } from '../../http/auth.js';
import { hashToken } from '../../http/auth.js';
import type { Logger } from '../../internal/logger.js';
import { sqlProjectRoleStore } from '../projects/project-role-store.js';
import type { TokenStore } from './token-store.js';

const CACHE_TTL_MS = 5_000;
const TOUCH_INTERVAL_MS = 60_000;

/**
 * Resolves bearer tokens to principals. Lookups are cached for a few seconds
 * (the snapshot endpoint is hit thousands of times a second); a revocation
 * clears the cache on every replica at once through NOTIFY, and so does a
 * change of a user's role or project roles. The last-used
 * time is written at most once a minute per token, off the request path.
 */
export class TokenAuthenticator {
  private readonly cache = new Map<string, { principal: Principal | undefined; at: number }>();
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly db: Database,
    private readonly store: TokenStore,
    private readonly logger: Logger,
  ) {}

  /** Subscribes to revocations from other replicas; resolves to the unsubscribe function. */
  async start(): Promise<() => Promise<void>> {
    const unsubscribe = await this.db.listen(TOKENS_CHANNEL, () => this.invalidate());
    return async () => {
      // Shutting down must not fail because the database went away first.
      await unsubscribe().catch((error: unknown) => this.logger.warn({ err: error }, 'cannot stop listening for token changes'));
    };
  }

  private readonly changeListeners = new Set<() => void>();

  /** Forgets cached lookups (after a revocation here; other replicas hear the NOTIFY) and tells subscribers. */
  invalidate(): void {
    this.cache.clear();
    for (const listener of this.changeListeners) listener();
  }

  /** Calls `listener` whenever tokens or users may have changed (e.g. to end the streams of revoked tokens). */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  async authenticate(secret: string): Promise<Principal | undefined> {
    const hash = hashToken(secret);
    const now = Date.now();
    const cached = this.cache.get(hash);
    let principal: Principal | undefined;
    if (cached !== undefined && now - cached.at < CACHE_TTL_MS) {
      principal = cached.principal;
    } else {
      principal = await this.lookup(hash);
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(hash, { principal, at: now });
    }
    if (principal !== undefined) this.touch(principal.tokenId, now);
    return principal;
  }

  private async lookup(hash: string): Promise<Principal | undefined> {
    const found = await this.store.findByHash(this.db, hash);
    if (found === undefined || found.token.revokedAt !== null) return undefined;
    const { token, user } = found;
    if (token.kind === 'admin') {
      if (user === null || user.disabled) return undefined;
      const projectRoles = user.role === 'admin' ? new Map() : await sqlProjectRoleStore.rolesOfUser(this.db, user.id);
      return { kind: 'user', tokenId: token.id, userId: user.id, name: user.name, role: user.role, projectRoles };
    }
    if (token.projectId === null || token.environmentId === null) return undefined;
    return { kind: 'sdk', tokenId: token.id, tokenKind: token.kind, name: token.name, projectId: token.projectId, environmentId: token.environmentId };
  }

  private touch(tokenId: string, now: number): void {
    const last = this.touched.get(tokenId);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return;
    this.touched.set(tokenId, now);
    this.store.touch(this.db, tokenId).catch((error: unknown) => this.logger.warn({ err: error, tokenId }, 'cannot record token use'));
  }
}
