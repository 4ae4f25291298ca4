/**
 * A process dying at any step of accepting or submitting a payout: before the store, while
 * writing, between the store and the Calypso call, after the call reached Calypso, before the
 * answer was recorded. After each crash, the retry (for the API) or one reconciler tick past the
 * submission lease (for submission) finishes the work, with exactly one Calypso mass payout per
 * batch, and every payout ends final.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchRecord, WithdrawalRecord } from '../../shared/domain/payout.js';
import { submitPayout } from '../../shared/payouts/submit.js';
import { reconcileTick } from '../../shared/payouts/track.js';
import { trackDeps } from '../../shared/system.js';
import {
  Crash,
  crashingRepository,
  crashingTrackDeps,
  crashPoints,
  Process,
  type Phase,
} from './support/crash.js';
import { mapLimit, startFaultStack, type FaultStack } from './support/fault-stack.js';
import { btcPayout } from './support/payouts.js';

const LEASE_MS = 120_000;
/** The create use case's own lease on an idempotency key. */
const WRITE_LEASE_MS = 60_000;

let stack: FaultStack;
beforeAll(async () => {
  stack = await startFaultStack({
    autoSubmit: false,
    // Webhooks only hurry the reconciler along; here it works alone.
    webhooks: false,
    env: {
      // Two recipients make two batches; one batch at a time keeps the steps in a fixed order.
      CURRENCY_OVERRIDES: '{"BTC":{"massPayoutLimit":1}}',
      SUBMIT_CONCURRENCY: '1',
      SUBMISSION_LEASE_MS: String(LEASE_MS),
    },
  });
});
afterAll(async () => {
  await stack?.close();
});

interface CrashRun {
  step: string;
  at: number;
  phase: Phase;
  payoutId: string;
  /** What the crash left behind: per batch, our status and Calypso's creates under its key. */
  left: { status: string; creates: number }[];
}

async function leftBehind(payoutId: string) {
  return (await stack.batchesOf(payoutId)).map((b) => ({
    status: b.status,
    creates: stack.sandbox.inspect.massPayoutCreates(b.idempotencyKey),
  }));
}

/** One tick past the lease must leave every batch at Calypso exactly once, created exactly once. */
async function expectOneTickRecovers(runs: CrashRun[]) {
  await stack.advance(LEASE_MS + 1_000);
  await stack.reconcile();
  for (const run of runs) {
    for (const b of await stack.batchesOf(run.payoutId)) {
      const where = `${run.phase} #${run.at} ${run.step}, batch ${b.index}`;
      expect(['SUBMITTED', 'FINAL'], where).toContain(b.status);
      expect(stack.sandbox.inspect.massPayoutCreates(b.idempotencyKey), where).toBe(1);
      // Nothing Calypso already held was ever sent again: the recovery looked it up.
      expect(stack.sandbox.inspect.massPayoutCreateAttempts(b.idempotencyKey), where).toBe(1);
    }
  }
}

/** The named crash points of issue 7, found among the enumerated ones. */
function named(runs: CrashRun[], step: string, phase: Phase) {
  const run = runs.find((r) => r.step === step && r.phase === phase);
  expect(run, `${phase} ${step}`).toBeDefined();
  return run!;
}

describe('a crash at every step of submission', () => {
  it('the submit function: after any crash, one reconciler tick leaves one mass payout per batch', async () => {
    const reference = new Process();
    const referenceId = await stack.accepted('submit-reference');
    await submitPayout(crashingTrackDeps(trackDeps(stack.system()), reference), referenceId);
    expect(reference.steps.filter((s) => s === 'calypso.createMassPayout')).toHaveLength(2);

    const runs = await mapLimit(crashPoints(reference.steps), 6, async (point) => {
      const payoutId = await stack.accepted(`submit-${point.at}-${point.phase}`);
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
      return { ...point, payoutId, left: await leftBehind(payoutId) };
    });

    // Between the store and the call: claimed, nothing at Calypso.
    expect(named(runs, 'calypso.createMassPayout', 'before').left[0]).toEqual({
      status: 'SUBMITTING',
      creates: 0,
    });
    // After the call: Calypso created it, we never read the answer.
    expect(named(runs, 'calypso.createMassPayout', 'after').left[0]).toEqual({
      status: 'SUBMITTING',
      creates: 1,
    });
    // Before recording the answer: the same, the answer was read and lost with the process.
    expect(named(runs, 'repository.updateBatch', 'before').left[0]).toEqual({
      status: 'SUBMITTING',
      creates: 1,
    });
    expect(named(runs, 'repository.beginSubmission', 'after').left[0]).toEqual({
      status: 'SUBMITTING',
      creates: 0,
    });

    await expectOneTickRecovers(runs);
    await stack.expectInvariants();
  });

  it('the reconciler’s own submission: after any crash in a tick, the next tick past the lease recovers', async () => {
    const run = (proc: Process, payoutId: string) =>
      reconcileTick(
        // The tick sees only the payout under test, as if it were the only one due.
        crashingTrackDeps(trackDeps(stack.system()), proc, {
          dueFilter: (b) => b.payoutId === payoutId,
        }),
        { remainingMs: () => 60_000, concurrency: 1 },
      );
    const reference = new Process();
    const referenceId = await stack.accepted('tick-reference', 1);
    const summary = await run(reference, referenceId);
    expect(summary).toMatchObject({ due: 1, submitted: 1, errors: 0 });

    const runs = await mapLimit(crashPoints(reference.steps), 6, async (point) => {
      const payoutId = await stack.accepted(`tick-${point.at}-${point.phase}`, 1);
      const proc = new Process(point);
      const outcome = await run(proc, payoutId).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(proc.diedAt).toBe(`#${point.at} ${point.step}`);
      if (outcome !== undefined) expect(outcome).toBeInstanceOf(Crash);
      return { ...point, payoutId, left: await leftBehind(payoutId) };
    });
    expect(named(runs, 'calypso.createMassPayout', 'after').left[0]).toEqual({
      status: 'SUBMITTING',
      creates: 1,
    });

    await expectOneTickRecovers(runs);
    await stack.expectInvariants();
  });
});

describe('a crash while accepting a payout (before the store, while writing)', () => {
  it('the retry of the same request finishes it: one payout, all its withdrawals, submitted once', async () => {
    const reference = new Process();
    stack.useRepository(crashingRepository(stack.repository, reference));
    expect((await stack.post(btcPayout('create-reference', 2))).status).toBe(202);
    stack.useRepository();
    expect(reference.steps).toEqual([
      'repository.claimIdempotency',
      'repository.writePayoutParts',
      'repository.commitPayout',
      'repository.getPayoutWithBatches',
    ]);
    const commitAt = reference.steps.indexOf('repository.commitPayout');
    const writeAt = reference.steps.indexOf('repository.writePayoutParts');

    const points = [
      ...crashPoints(reference.steps).map((p) => ({ ...p, partial: false })),
      // While writing: the first withdrawals are stored, the rest never are.
      { step: 'repository.writePayoutParts', at: writeAt, phase: 'after' as const, partial: true },
    ];
    const runs = [];
    for (const point of points) {
      const key = `crash-create-${point.at}-${point.phase}-${point.partial ? 'partial' : 'whole'}`;
      const body = btcPayout(key, 3);
      const proc = new Process(point);
      stack.useRepository(
        crashingRepository(stack.repository, proc, {
          override: point.partial
            ? {
                writePayoutParts: (batches: BatchRecord[], withdrawals: WithdrawalRecord[]) =>
                  stack.repository.writePayoutParts(batches, withdrawals.slice(0, 1)),
              }
            : {},
        }),
      );
      const crashed = await stack.post(body, { key });
      stack.useRepository();
      expect(proc.diedAt).toBe(`#${point.at} ${point.step}`);
      // Our failure: a 5xx with a correlation id and nothing internal.
      expect(crashed.status).toBe(500);
      expect(crashed.headers.get('content-type')).toBe('application/problem+json');
      expect(crashed.body.correlationId).toBe(crashed.headers.get('x-correlation-id'));
      expect(JSON.stringify(crashed.body)).not.toMatch(/Crash|died|repository/);

      const committed = point.at > commitAt || (point.at === commitAt && point.phase === 'after');
      const claimed = point.at > 0 || point.phase === 'after';
      const retry = await stack.post(body, { key });
      if (committed) {
        expect(retry.status).toBe(200);
      } else if (claimed) {
        // The first writer still owns the key: come back later.
        expect(retry.status).toBe(409);
        expect(Number(retry.headers.get('retry-after'))).toBeGreaterThan(0);
      } else {
        expect(retry.status).toBe(202);
      }
      runs.push({ body, key, first: retry.status });
    }

    await stack.advance(WRITE_LEASE_MS + 1_000);
    for (const run of runs) {
      const retry = await stack.post(run.body, { key: run.key });
      expect(retry.status).toBe(run.first === 409 ? 202 : 200);
      expect(retry.body.recipientCount).toBe(3);
      expect(retry.body.batches).toHaveLength(3);
    }
    await stack.expectInvariants();
    for (const id of stack.ledger.keys()) {
      for (const b of await stack.batchesOf(id))
        expect(stack.sandbox.inspect.massPayoutCreates(b.idempotencyKey)).toBe(1);
    }
  });
});
