/**
 * Work a route hands to an async-invoked function on AWS, run in this process instead: the
 * route's answer never waits for it. Each run settles (a failure goes to `onError`, never thrown)
 * and is listed in `pending` until it does. The stand-ins for the submit and apply functions.
 */
export interface InProcessWork<A> {
  trigger: { trigger(arg: A): Promise<void> };
  /** Runs under way. */
  pending: Set<Promise<unknown>>;
  /** Off: nothing is handed over, as if the worker died (the reconciler picks the work up). */
  setEnabled(on: boolean): void;
}

export interface InProcessWorkOptions {
  onError: (err: unknown) => void;
  enabled?: boolean;
  /**
   * At most this many runs at once, each started once the current task is done (as a bounded
   * number of function instances would run them); absent: each run starts at once.
   */
  concurrency?: number;
}

export function inProcessWork<A>(
  run: (arg: A) => Promise<unknown>,
  { onError, enabled = true, concurrency }: InProcessWorkOptions,
): InProcessWork<A> {
  const pending = new Set<Promise<unknown>>();
  const start = concurrency === undefined ? run : bounded(run, concurrency);
  return {
    pending,
    setEnabled: (on) => {
      enabled = on;
    },
    trigger: {
      trigger: (arg) => {
        if (!enabled) return Promise.resolve();
        const started: Promise<unknown> = start(arg)
          .then(() => undefined, onError)
          .finally(() => pending.delete(started));
        pending.add(started);
        return Promise.resolve();
      },
    },
  };
}

/** `run`, each call begun once the current task is done, with at most `limit` under way. */
function bounded<A>(run: (arg: A) => Promise<unknown>, limit: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (arg: A): Promise<unknown> => {
    await new Promise((resolve) => setImmediate(resolve));
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await run(arg);
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}
