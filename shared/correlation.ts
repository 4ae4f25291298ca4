/**
 * The correlation id of the work in progress, carried through async calls: set once where a
 * request or invocation starts (the API middleware, the submit and reconcile handlers) and read
 * where work leaves the process (the submit invoke, bus events) or is logged (Calypso calls).
 * AsyncLocalStorage, so concurrent requests served by one process (the local API) keep theirs.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const current = new AsyncLocalStorage<string>();

/** Runs `work` with `correlationId` as the current correlation id. */
export function withCorrelationId<T>(correlationId: string, work: () => T): T {
  return current.run(correlationId, work);
}

/** The correlation id of the work in progress, if any started one. */
export function currentCorrelationId(): string | undefined {
  return current.getStore();
}
