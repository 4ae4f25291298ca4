/**
 * The local stand-in for the submit function: an accepted payout is submitted in this process
 * once the create route has answered (the answer never waits for it), as the async invoke does on
 * AWS. Shared by `npm start`, the test stacks and the benchmarks.
 */
import { inProcessWork, type InProcessWork } from './in-process.js';

/** Off (`setEnabled(false)`): payouts are stored and never handed over (the reconciler submits). */
export type InProcessSubmit = InProcessWork<string>;

export function inProcessSubmit(
  submit: (payoutId: string) => Promise<unknown>,
  onError: (err: unknown) => void = (err) => console.error('background work failed:', err),
  enabled = true,
): InProcessSubmit {
  return inProcessWork(submit, { onError, enabled });
}
