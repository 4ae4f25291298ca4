/**
 * Single payouts carry the guarantees of mass payouts: a process dying at any step of their
 * submission (before the call, after it reached Calypso, before the answer was recorded) is
 * recovered by one reconciler tick past the lease, with exactly one single payout per batch and
 * nothing sent twice; a funds check that stops a batch sends nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitPayout } from '../../shared/payouts/submit.js';
import { trackDeps } from '../../shared/system.js';
import { crashingTrackDeps, crashPoints, Crash, Process } from './support/crash.js';
import { mapLimit, startFaultStack, type FaultStack } from './support/fault-stack.js';

const LEASE_MS = 120_000;

let stack: FaultStack;
beforeAll(async () => {
  stack = await startFaultStack({
    autoSubmit: false,
    webhooks: false,
    env: {
      SINGLE_PAYOUT_MAX: '5',
      SUBMIT_CONCURRENCY: '1',
      SUBMISSION_LEASE_MS: String(LEASE_MS),
    },
  });
});
afterAll(async () => {
  await stack?.close();
});

/** Single payouts Calypso holds under the key, and create calls that carried it. */
function atCalypso(key: string) {
  return {
    held: stack.sandbox.inspect.payouts().filter((p) => p.idempotencyKey === key).length,
    attempts: stack.sandbox.inspect
      .requests()
      .filter(
        (r) =>
          r.operation === 'createPayout' &&
          (JSON.parse(r.body) as { payload?: { idempotencyKey?: string } }).payload
            ?.idempotencyKey === key,
      ).length,
  };
}

describe('a crash at every step of a single payout’s submission', () => {
  it('one reconciler tick past the lease leaves one single payout per batch, none sent twice', async () => {
    const reference = new Process();
    const referenceId = await stack.accepted('single-reference');
    await submitPayout(crashingTrackDeps(trackDeps(stack.system()), reference), referenceId);
    expect(reference.steps.filter((s) => s === 'calypso.createPayout')).toHaveLength(2);
    expect(reference.steps).not.toContain('calypso.createMassPayout');

    const runs = await mapLimit(crashPoints(reference.steps), 6, async (point) => {
      const payoutId = await stack.accepted(`single-${point.at}-${point.phase}`);
      const proc = new Process(point);
      const outcome = await submitPayout(
        crashingTrackDeps(trackDeps(stack.system()), proc),
        payoutId,
      ).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(proc.diedAt).toBe(`#${point.at} ${point.step}`);
      if (outcome !== undefined) expect(outcome).toBeInstanceOf(Crash);
      return { ...point, payoutId };
    });
    const afterCall = runs.find((r) => r.step === 'calypso.createPayout' && r.phase === 'after')!;
    const [first] = await stack.batchesOf(afterCall.payoutId);
    expect(first!.status).toBe('SUBMITTING');
    expect(atCalypso(first!.idempotencyKey).held).toBe(1);

    await stack.advance(LEASE_MS + 1_000);
    await stack.reconcile();
    for (const run of runs) {
      for (const b of await stack.batchesOf(run.payoutId)) {
        const where = `${run.phase} #${run.at} ${run.step}, batch ${b.index}`;
        expect(b.kind, where).toBe('single');
        expect(['SUBMITTED', 'FINAL'], where).toContain(b.status);
        expect(atCalypso(b.idempotencyKey), where).toEqual({ held: 1, attempts: 1 });
      }
    }
    await stack.expectInvariants();
  });
});
