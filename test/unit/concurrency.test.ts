import { describe, expect, it } from 'vitest';
import { forEachLimit } from '../../shared/concurrency.js';

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

describe('forEachLimit', () => {
  it('calls every item once, in order taken, never more than the limit at once', async () => {
    const items = Array.from({ length: 25 }, (_, i) => i);
    const started: number[] = [];
    let inFlight = 0;
    let most = 0;
    const result = await forEachLimit(items, 4, async (item, index) => {
      expect(index).toBe(item);
      started.push(item);
      inFlight++;
      most = Math.max(most, inFlight);
      await tick();
      inFlight--;
    });
    expect(started).toEqual(items);
    expect(most).toBe(4);
    expect(result).toEqual({ stoppedEarly: false });
  });

  it('does nothing for no items, and runs one at a time below a limit of one', async () => {
    let calls = 0;
    await forEachLimit([], 8, () => Promise.resolve(calls++));
    expect(calls).toBe(0);
    let inFlight = 0;
    await forEachLimit([1, 2, 3], 0, async () => {
      expect(++inFlight).toBe(1);
      await tick();
      inFlight--;
    });
  });

  it('takes no item once stopWhen says so, and says it stopped early', async () => {
    const seen: number[] = [];
    const result = await forEachLimit(
      [0, 1, 2, 3, 4, 5],
      2,
      async (item) => {
        seen.push(item);
        await tick();
      },
      { stopWhen: () => seen.length >= 3 },
    );
    expect(seen).toEqual([0, 1, 2]);
    expect(result.stoppedEarly).toBe(true);
    // Asked only while items are left: a pool that finished did not stop early.
    const all = await forEachLimit([0, 1], 2, () => tick(), {
      stopWhen: () => false,
    });
    expect(all.stoppedEarly).toBe(false);
  });

  it('after a failure takes nothing more, waits for the calls in flight, throws the first error', async () => {
    const finished: number[] = [];
    let failedAt = 0;
    const run = forEachLimit([0, 1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      if (item === 1) {
        failedAt = finished.length;
        throw new Error('one');
      }
      if (item === 2) {
        await tick();
        throw new Error('two');
      }
      await tick();
      await tick();
      finished.push(item);
    });
    await expect(run).rejects.toThrow('one');
    // Item 0 was in flight and finished; nothing after the failure was taken.
    expect(failedAt).toBe(0);
    expect(finished.sort()).toEqual([0]);
  });
});
