/**
 * The local stand-in for the apply function: a stored webhook event is applied in this process
 * once the webhook route has answered (the answer never waits for it), as the async invoke does
 * on AWS. Shared by `npm start`, the test stacks and the benchmarks.
 */
import type { StoredEventRef } from '../../shared/payouts/ports.js';
import { inProcessWork, type InProcessWork } from './in-process.js';

/** Off (`setEnabled(false)`): events are stored and never handed over (the reconciler applies). */
export type InProcessApply = InProcessWork<StoredEventRef>;

/**
 * Applies at once. On AWS each apply runs in an instance of its own; here they share this
 * process's one event loop (and the machine's cores) with the webhook route, which must answer
 * Calypso promptly. Measured on two cores over the end-to-end benchmark's burst of 200 events, two
 * at once reached the payout's final state sooner than four or eight: the route answered sooner,
 * and each apply's work is the same whenever it runs.
 */
export const APPLY_CONCURRENCY = 2;

export function inProcessApply(
  apply: (event: StoredEventRef) => Promise<unknown>,
  onError: (err: unknown) => void = (err) => console.error('applying a webhook failed:', err),
): InProcessApply {
  return inProcessWork(apply, {
    onError,
    concurrency: APPLY_CONCURRENCY,
    // A batch at a time: the first event of one batch never waits behind a hundred of another's
    // (AWS does not queue them at all). An event without a batch named waits on its own.
    keyOf: (event) => event.providerKey ?? `event:${event.eventId}`,
  });
}
