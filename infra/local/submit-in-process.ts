/**
 * The local stand-in for the submit function: an accepted payout is submitted in this process
 * once the create route has answered (the answer never waits for it), as the async invoke does on
 * AWS. Shared by `npm start`, the test stacks and the benchmarks.
 */
import type { SubmissionTrigger } from '../../shared/payouts/ports.js';

export interface InProcessSubmit {
  trigger: SubmissionTrigger;
  /** Submissions under way; each settles (a failure is reported to `onError`, never thrown). */
  pending: Set<Promise<unknown>>;
  /** Off: payouts are stored and never handed over, as if the process died (the reconciler submits them). */
  setEnabled(on: boolean): void;
}

export function inProcessSubmit(
  submit: (payoutId: string) => Promise<unknown>,
  onError: (err: unknown) => void = (err) => console.error('background work failed:', err),
  enabled = true,
): InProcessSubmit {
  const pending = new Set<Promise<unknown>>();
  return {
    pending,
    setEnabled: (on) => {
      enabled = on;
    },
    trigger: {
      trigger: (payoutId) => {
        if (!enabled) return Promise.resolve();
        const run: Promise<unknown> = submit(payoutId)
          .then(() => undefined, onError)
          .finally(() => pending.delete(run));
        pending.add(run);
        return Promise.resolve();
      },
    },
  };
}
