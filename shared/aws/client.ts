/**
 * One AWS SDK client of a kind per container, made on first use and reused by every later call
 * (the SDK's connection pool and credentials stay warm); a function that never calls the service
 * never builds its client.
 */
export function oncePerContainer<C>(make: () => C): () => C {
  let client: C | undefined;
  return () => (client ??= make());
}
