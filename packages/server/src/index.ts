/**
 * @rollgate/server: the HTTP API, storage and streaming. `startServer` is the
 * public entry point; `buildApp` builds the app without listening.
 */
export { startServer, type RunningServer } from './main.js';
export { buildApp, SERVER_VERSION, type BuildAppOptions } from './app.js';
export { loadConfig, loadConfigWith, defaultConfig, ConfigError, type ServerConfig } from './config.js';
export { openDatabase } from './database-factory.js';
export { DataDirLockedError } from './db/data-dir-lock.js';
