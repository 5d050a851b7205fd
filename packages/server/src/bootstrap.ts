import { LOCKS, type Database } from './db/database.js';
import { recordAudit, type WriteMeta } from './features/audit/audit-store.js';
import { generateTokenSecret, hashToken } from './http/auth.js';
import { newId } from './internal/ids.js';

/** What the first start created; `adminToken` is set only when it was generated (to print it once). */
export interface BootstrapResult {
  created: boolean;
  adminToken?: string;
}

const SYSTEM: WriteMeta = { actor: { kind: 'system', id: 'bootstrap', name: 'first start' }, requestId: null };

/** The environments of the default project, as seed 004's environment progression: production requires approval. */
const DEFAULT_ENVIRONMENTS = [
  { key: 'development', name: 'Development', requiresApproval: false },
  { key: 'staging', name: 'Staging', requiresApproval: false },
  { key: 'production', name: 'Production', requiresApproval: true },
];

/**
 * On the first start (no users yet): creates the admin user, an admin token
 * (the configured one, or a generated one returned to be shown once), and a
 * `default` project with development, staging and production (which
 * requires approval). Runs under an
 * advisory lock, so replicas starting together bootstrap once.
 */
export async function bootstrap(db: Database, configuredToken: string | undefined): Promise<BootstrapResult> {
  return db.withAdvisoryLock(LOCKS.bootstrap, async () => {
    const [{ n } = { n: 0 }] = await db.query<{ n: number }>('select count(*)::int as n from users');
    if (n > 0) return { created: false };
    const secret = configuredToken ?? generateTokenSecret('admin');
    await db.transaction(async (tx) => {
      const userId = newId('usr');
      await tx.query("insert into users (id, email, name, role) values ($1, 'admin@localhost', 'Admin', 'admin')", [userId]);
      const tokenId = newId('tok');
      await tx.query("insert into api_tokens (id, kind, name, token_hash, prefix, user_id, created_by) values ($1, 'admin', 'first admin token', $2, $3, $4, 'bootstrap')", [
        tokenId,
        hashToken(secret),
        secret.slice(0, 12),
        userId,
      ]);
      const projectId = newId('prj');
      await tx.query("insert into projects (id, key, name, description) values ($1, 'default', 'Default', 'Created on first start')", [projectId]);
      for (const [position, env] of DEFAULT_ENVIRONMENTS.entries()) {
        await tx.query('insert into environments (id, project_id, key, name, position, requires_approval) values ($1, $2, $3, $4, $5, $6)', [
          newId('env'),
          projectId,
          env.key,
          env.name,
          position,
          env.requiresApproval,
        ]);
      }
      await recordAudit(tx, SYSTEM, { action: 'rollgate.bootstrapped', resourceType: 'user', resourceId: userId, resourceKey: 'admin@localhost', after: { userId, tokenId, projectId } });
    });
    return configuredToken === undefined ? { created: true, adminToken: secret } : { created: true };
  });
}
