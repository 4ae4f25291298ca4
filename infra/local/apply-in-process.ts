/**
 * The local stand-in for the apply function: a stored webhook event is applied in this process
 * once the webhook route has answered (the answer never waits for it), as the async invoke does
 * on AWS. Shared by `npm start`, the test stacks and the benchmarks.
 */
import type { StoredEventRef, WebhookApplyTrigger } from '../../shared/payouts/ports.js';

export interface InProcessApply {
  trigger: WebhookApplyTrigger;
  /** Applies under way; each settles (a failure is reported to `onError`, never thrown). */
  pending: Set<Promise<unknown>>;
  /** Off: events are stored and never handed over, as if the worker died (the reconciler applies them). */
  setEnabled(on: boolean): void;
}

/** Applies at once, as a bounded number of apply-function instances would run them. */
const CONCURRENCY = 4;

export function inProcessApply(
  apply: (event: StoredEventRef) => Promise<unknown>,
  onError: (err: unknown) => void = (err) => console.error('applying a webhook failed:', err),
): InProcessApply {
  const pending = new Set<Promise<unknown>>();
  let enabled = true;
  let running = 0;
  const waiting: (() => void)[] = [];
  const slot = async () => {
    if (running >= CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
  };
  const release = () => {
    running--;
    waiting.shift()?.();
  };
  return {
    pending,
    setEnabled: (on) => {
      enabled = on;
    },
    trigger: {
      trigger: (event) => {
        if (!enabled) return Promise.resolve();
        const run: Promise<unknown> = new Promise((resolve) => setImmediate(resolve))
          .then(slot)
          .then(() => apply(event).finally(release))
          .catch(onError)
          .finally(() => pending.delete(run));
        pending.add(run);
        return Promise.resolve();
      },
    },
  };
}
