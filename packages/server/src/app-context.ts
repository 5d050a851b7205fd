import type { Registry } from 'prom-client';
import type { ServerConfig } from './config.js';
import type { Database } from './db/database.js';
import type { Logger } from './internal/logger.js';
import type { Clock } from './internal/time.js';
import type { EnvironmentStore } from './features/environments/environment-store.js';
import type { ProjectStore } from './features/projects/project-store.js';
import type { TokenStore } from './features/tokens/token-store.js';
import type { TokenAuthenticator } from './features/tokens/token-auth.js';

/**
 * What every feature is built from. Wiring happens in one place (app.ts):
 * features receive their dependencies here and construct their own services.
 */
export interface AppContext {
  config: ServerConfig;
  db: Database;
  logger: Logger;
  clock: Clock;
  version: string;
  stores: {
    projects: ProjectStore;
    environments: EnvironmentStore;
    tokens: TokenStore;
  };
  tokenAuth: TokenAuthenticator;
  /** This app's Prometheus registry, served at /metrics; features add their own metrics. */
  metrics: Registry;
  /** Functions run at shutdown, in reverse order of registration (close streams, stop listeners). */
  onClose: (fn: () => Promise<void> | void) => void;
}
