/** Where an SDK logs. Every method is optional; a missing one drops those lines. */
export interface Logger {
  debug?(message: string, details?: Record<string, unknown>): void;
  info?(message: string, details?: Record<string, unknown>): void;
  warn?(message: string, details?: Record<string, unknown>): void;
  error?(message: string, details?: Record<string, unknown>): void;
}

/** console.warn / console.error, prefixed. */
export const consoleLogger: Logger = {
  warn: (m, d) => console.warn(`[rollgate] ${m}`, d ?? ''),
  error: (m, d) => console.error(`[rollgate] ${m}`, d ?? ''),
};
