import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { logger } from '../observability.js';

/**
 * One AWS SDK client of a kind per container, made on first use and reused by every later call
 * (the SDK's connection pool and credentials stay warm); a function that never calls the service
 * never builds its client.
 */
export function oncePerContainer<C>(make: () => C): () => C {
  let client: C | undefined;
  return () => (client ??= make());
}

/**
 * What the SDK logs: its warnings (a connection pool at capacity, a retry given up) into our
 * logs; not its per-request `info` record or the `error` record of every refused request, which
 * we log ourselves where it matters. Without those two the SDK also skips taking each request
 * and answer through its sensitive-field filter, work that would only feed a logger that drops it.
 */
const sdkLogger = {
  trace: () => undefined,
  debug: () => undefined,
  warn: (...content: unknown[]) => logger.warn('AWS SDK warning', { sdk: content }),
} as unknown as NonNullable<DynamoDBClientConfig['logger']>; // the SDK checks for info and error before each use

/**
 * Settings every SDK client here is built with. `cacheMiddleware`: a command's middleware stack
 * is resolved once per command type instead of on every request; nothing adds middleware to a
 * client after its first request.
 */
export const sdkClientSettings = { cacheMiddleware: true, logger: sdkLogger } as const;
