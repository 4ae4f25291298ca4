/**
 * Bounded concurrency: the one worker pool behind every place that does many calls at once
 * (submitting a payout's batches, a look's withdrawal writes, the reconciler's tick, the
 * repository's BatchWriteItem chunks), so each of them is a loop body, not a pool of its own.
 */

export interface ForEachLimitOptions {
  /** Asked before each item is taken: true leaves the rest untaken (a deadline, say). */
  stopWhen?: () => boolean;
}

export interface ForEachLimitResult {
  /** Whether stopWhen left items untaken. */
  stoppedEarly: boolean;
}

/**
 * Calls `fn` on every item, in the list's order, with at most `limit` calls in flight. After a
 * call fails no further item is taken: the calls in flight are waited for, then the first error
 * is thrown (nothing this started outlives it).
 */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<unknown>,
  options: ForEachLimitOptions = {},
): Promise<ForEachLimitResult> {
  let next = 0;
  let stoppedEarly = false;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      if (options.stopWhen?.()) {
        stoppedEarly = true;
        return;
      }
      const index = next++;
      try {
        await fn(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const workers = Math.min(Math.max(1, Math.floor(limit)), items.length);
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure) throw failure.error;
  return { stoppedEarly };
}
