import type { FastifyBaseLogger } from 'fastify';

/** The server's logger: pino, as Fastify creates it. */
export type Logger = FastifyBaseLogger;
