import type { BaseRole as Role } from '@rollgate/contract';
import { TOKENS_CHANNEL, type Database } from '../../db/database.js';
import { ApiError, notFound, versionConflict } from '../../http/errors.js';
import { newId } from '../../internal/ids.js';
import { recordAudit, type WriteMeta } from '../audit/audit-store.js';
import type { TokenAuthenticator } from '../tokens/token-auth.js';
import type { User, UserStore } from './user-store.js';

/**
 * Users: create, read, change role, enable and disable. Every write is audited
 * in its transaction. A change to a user's role or disabled flag reaches every
 * replica's token cache at once (NOTIFY on TOKENS_CHANNEL in the transaction,
 * and this replica's cache is cleared after the commit).
 */
export class UserService {
  constructor(
    private readonly db: Database,
    private readonly store: UserStore,
    private readonly tokenAuth: Pick<TokenAuthenticator, 'invalidate'>,
  ) {}

  list(limit: number, afterId?: string): Promise<User[]> {
    return this.store.list(this.db, limit, afterId);
  }

  async get(id: string): Promise<User> {
    const user = await this.store.get(this.db, id);
    if (user === undefined) throw notFound('user', id);
    return user;
  }

  async create(meta: WriteMeta, input: { email: string; name: string; role: Role }): Promise<User> {
    const email = input.email.toLowerCase();
    return this.db.transaction(async (tx) => {
      if ((await this.store.getByEmail(tx, email)) !== undefined) {
        throw new ApiError('ALREADY_EXISTS', `A user with the email ${JSON.stringify(email)} already exists`, { email });
      }
      const user = await this.store.insert(tx, { id: newId('usr'), email, name: input.name, role: input.role });
      await recordAudit(tx, meta, { action: 'user.created', resourceType: 'user', resourceId: user.id, resourceKey: user.email, after: user });
      return user;
    });
  }

  async update(meta: WriteMeta, id: string, input: { version: number; name?: string; role?: Role; disabled?: boolean }): Promise<User> {
    let accessChanged = false;
    const user = await this.db.transaction(async (tx) => {
      const before = await this.store.get(tx, id);
      if (before === undefined) throw notFound('user', id);
      if (before.version !== input.version) throw versionConflict('user', before.version, before);
      const role = input.role ?? before.role;
      const disabled = input.disabled ?? before.disabled;
      const wasEnabledAdmin = before.role === 'admin' && !before.disabled;
      if (wasEnabledAdmin && (role !== 'admin' || disabled)) {
        const others = (await this.store.lockEnabledAdmins(tx)).filter((adminId) => adminId !== id);
        if (others.length === 0) {
          const self = meta.actor.kind === 'user' && meta.actor.id === id;
          throw new ApiError(
            'INVALID_STATE',
            `${self ? 'You are' : 'This user is'} the last enabled admin: make another user admin first, then ${disabled ? 'disable' : 'demote'} this one`,
            { state: 'last-enabled-admin', userId: id },
          );
        }
      }
      const after = await this.store.update(tx, id, input.version, { name: input.name, role: input.role, disabled: input.disabled });
      if (after === undefined) {
        const current = await this.store.get(tx, id);
        throw versionConflict('user', current?.version ?? before.version, current);
      }
      accessChanged = after.role !== before.role || after.disabled !== before.disabled;
      if (accessChanged) await tx.query('select pg_notify($1, $2)', [TOKENS_CHANNEL, `user:${id}`]);
      const action = after.disabled !== before.disabled ? (after.disabled ? 'user.disabled' : 'user.enabled') : 'user.updated';
      await recordAudit(tx, meta, { action, resourceType: 'user', resourceId: after.id, resourceKey: after.email, before, after });
      return after;
    });
    // After the commit, so no lookup can cache the old role or enabled state again.
    if (accessChanged) this.tokenAuth.invalidate();
    return user;
  }
}
