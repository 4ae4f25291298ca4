/**
 * The local stand-in for the apply function: a stored webhook event is applied in this process
 * once the webhook route has answered (the answer never waits for it), as the async invoke does
 * on AWS. Shared by `npm start`, the test stacks and the benchmarks.
 */
import type { StoredEventRef } from '../../shared/payouts/ports.js';
import { inProcessWork, type InProcessWork } from './in-process.js';

/** Off (`setEnabled(false)`): events are stored and never handed over (the reconciler applies). */
export type InProcessApply = InProcessWork<StoredEventRef>;

/** Applies at once, as a bounded number of apply-function instances would run them. */
const CONCURRENCY = 4;

export function inProcessApply(
  apply: (event: StoredEventRef) => Promise<unknown>,
  onError: (err: unknown) => void = (err) => console.error('applying a webhook failed:', err),
): InProcessApply {
  return inProcessWork(apply, { onError, concurrency: CONCURRENCY });
}
