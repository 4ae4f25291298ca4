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

export interface InProcessWorkOptions<A> {
  onError: (err: unknown) => void;
  enabled?: boolean;
  /**
   * At most this many runs at once, each started once the current task is done (as a bounded
   * number of function instances would run them); absent: each run starts at once.
   */
  concurrency?: number;
  /** Runs waiting for a turn are taken one key after another, each key's in order. */
  keyOf?: (arg: A) => string;
}

export function inProcessWork<A>(
  run: (arg: A) => Promise<unknown>,
  { onError, enabled = true, concurrency, keyOf }: InProcessWorkOptions<A>,
): InProcessWork<A> {
  const pending = new Set<Promise<unknown>>();
  const start = concurrency === undefined ? run : bounded(run, concurrency, keyOf);
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

/**
 * `run`, each call begun once the current task is done, with at most `limit` under way; calls
 * waiting for a turn are taken one key after another (`keyOf`), each key's in order.
 */
function bounded<A>(run: (arg: A) => Promise<unknown>, limit: number, keyOf?: (arg: A) => string) {
  let running = 0;
  const waiting = new Map<string, (() => void)[]>();
  // The key waiting longest gives its oldest run a turn and goes behind the other keys.
  const next = () => {
    const first = waiting.entries().next();
    if (first.done) return;
    const [key, queue] = first.value;
    waiting.delete(key);
    const wake = queue.shift();
    if (queue.length > 0) waiting.set(key, queue);
    wake?.();
  };
  return async (arg: A): Promise<unknown> => {
    await new Promise((resolve) => setImmediate(resolve));
    if (running >= limit) {
      const key = keyOf?.(arg) ?? '';
      await new Promise<void>((resolve) => {
        const queue = waiting.get(key);
        if (queue) queue.push(resolve);
        else waiting.set(key, [resolve]);
      });
    }
    running++;
    try {
      return await run(arg);
    } finally {
      running--;
      next();
    }
  };
}
