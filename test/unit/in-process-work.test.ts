import { describe, expect, it } from 'vitest';
import { inProcessApply } from '../../infra/local/apply-in-process.js';
import { inProcessWork } from '../../infra/local/in-process.js';

/** Past the current task and the next: a run handed over starts after the current task. */
const turn = async () => {
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
};

/** A run that waits until released; `started` lists the arguments in the order runs began. */
function gatedRuns<A>() {
  const started: A[] = [];
  const gates: (() => void)[] = [];
  let running = 0;
  let most = 0;
  return {
    started,
    get most() {
      return most;
    },
    run: async (arg: A) => {
      started.push(arg);
      running++;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => gates.push(resolve));
      running--;
    },
    /** Lets every run begun so far finish, then gives the waiting ones their turn. */
    releaseAll: async () => {
      gates.splice(0).forEach((open) => open());
      await turn();
    },
  };
}

const settled = async (pending: Set<Promise<unknown>>, release: () => Promise<void>) => {
  while (pending.size > 0) await release();
};

describe('in-process work (the local stand-in for async-invoked functions)', () => {
  it('takes the runs waiting for a turn one key after another, each key in order', async () => {
    const runs = gatedRuns<string>();
    const work = inProcessWork(runs.run, {
      onError: (err) => {
        throw err;
      },
      concurrency: 1,
      keyOf: (arg) => arg.slice(0, 1),
    });
    for (const arg of ['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'c1']) await work.trigger.trigger(arg);
    await settled(work.pending, runs.releaseAll);
    // First come, first served would keep b1 and c1 behind every `a`.
    expect(runs.started).toEqual(['a1', 'a2', 'b1', 'c1', 'a3', 'b2', 'a4']);
    expect(runs.most).toBe(1);
  });

  it('applies stored events batch after batch: a busy batch never holds another back', async () => {
    const runs = gatedRuns<string>();
    const apply = inProcessApply(({ eventId, providerKey }) =>
      runs.run(`${providerKey ?? '-'}:${eventId}`),
    );
    const events = [
      ...Array.from({ length: 8 }, (_, i) => ({ eventId: `e${i}`, providerKey: 'A' })),
      { eventId: 'f0', providerKey: 'B' },
      { eventId: 'g0' }, // no batch named: its own turn
    ];
    for (const event of events) await apply.trigger.trigger(event);
    await turn();
    expect(runs.started).toEqual(['A:e0', 'A:e1']);
    await runs.releaseAll(); // those two finish: the waiting runs take turns, a batch at a time
    expect(runs.started.slice(2)).toEqual(['A:e2', 'B:f0']);
    await runs.releaseAll();
    expect(runs.started.slice(4)).toEqual(['-:g0', 'A:e3']);
    await settled(apply.pending, runs.releaseAll);
    expect(runs.started).toHaveLength(events.length);
    expect(runs.most).toBe(2);
  });

  it('hands nothing over while off, and a failed run goes to onError', async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const work = inProcessWork(
      async (arg: number) => {
        runs++;
        if (arg < 0) throw new Error(`refused ${arg}`);
      },
      { onError: (err) => errors.push(err), enabled: false },
    );
    await work.trigger.trigger(1);
    expect(work.pending.size).toBe(0);
    work.setEnabled(true);
    await work.trigger.trigger(-1);
    await Promise.all(work.pending);
    expect(runs).toBe(1);
    expect(errors).toEqual([new Error('refused -1')]);
  });
});
