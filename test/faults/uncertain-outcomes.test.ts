/**
 * Refusals that follow an uncertain attempt, and records that disagree with Calypso. A create
 * that may have reached Calypso (its answer lost, a 5xx) can be followed by an answer that looks
 * like a refusal (`016 … Validation failed`, e.g. because the first attempt holds the funds):
 * the key is looked up before anything is believed, and a batch is REJECTED only when Calypso
 * holds nothing under its key and no attempt was uncertain. A REJECTED batch gets one
 * confirming look; a payout found there is adopted and alarmed. Two looks at the same batch
 * that overlap never move a FINAL batch back nor publish a transition twice.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CalypsoValidationError } from '../../shared/calypso/errors.js';
import type { MassPayout } from '../../shared/calypso/schemas.js';
import type { BatchRecord } from '../../shared/domain/payout.js';
import { metrics } from '../../shared/metrics.js';
import { refreshBatch } from '../../shared/payouts/track.js';
import { trackDeps } from '../../shared/system.js';
import { TABLE } from '../../shared/store/table.js';
import { checkInvariants, formatViolations } from './support/invariants.js';
import { startFaultStack, TICK_MS, type FaultStack } from './support/fault-stack.js';
import { btcPayout } from './support/payouts.js';
import { buffered } from '../support/metrics.js';

/** How Calypso refuses a mass payout it judges invalid. */
const VALIDATION_FAILED = {
  status: 400,
  errorCode: '016',
  message: 'Can not create deal. Validation failed',
} as const;

/** Longer than the wait before a REJECTED batch's confirming look. */
const CONFIRM_WAIT_MS = 11 * 60_000;

let stack: FaultStack;
beforeAll(async () => {
  // Only the reconciler tracks here, so every look is one the test drives.
  stack = await startFaultStack({ webhooks: false });
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => {
  stack.sandbox.faults.clear();
  stack.wrapCalypso();
});

async function accept(tag: string, count = 2) {
  const res = await stack.post(btcPayout(tag, count));
  expect(res.status).toBe(202);
  await stack.settle();
  return res.body.id as string;
}

async function batch(id: string): Promise<BatchRecord> {
  return (await stack.repository.getBatch(id, 0))!;
}

/** Whether the batch is where the reconciler looks (the open-batch index). */
async function inOpenIndex(b: BatchRecord): Promise<boolean> {
  const far = new Date(Date.UTC(2100, 0, 1));
  for (let shard = 0; shard < TABLE.openBatchShards; shard++) {
    const due = await stack.repository.listDueBatches(shard, far, 1000);
    if (due.some((d) => d.payoutId === b.payoutId && d.index === b.index)) return true;
  }
  return false;
}

const creates = (key: string) => stack.sandbox.inspect.massPayoutCreates(key);
const lookups = (key: string) =>
  stack.sandbox.inspect
    .requests()
    .filter((r) => r.operation === 'getMassPayout' && r.body.includes(key)).length;

async function violations() {
  const report = await checkInvariants({
    db: stack.db,
    tableName: stack.tableName,
    sandbox: stack.sandbox,
    ledger: stack.ledger,
  });
  return formatViolations(report.violations);
}

describe('a refusal after an uncertain attempt', () => {
  it('the first create took effect but its answer was lost, the retry is refused: found by its key, not REJECTED', async () => {
    stack.sandbox.faults.dropResponseNext('createMassPayout');
    stack.sandbox.faults.failNext('createMassPayout', { after: 1, ...VALIDATION_FAILED });
    const id = await accept('refused-while-held');
    const b = await batch(id);
    expect(creates(b.idempotencyKey)).toBe(1);
    expect(b.status).toBe('SUBMITTED');
    expect(b.calypsoId).toBe(
      stack.sandbox.inspect.massPayouts().find((m) => m.idempotencyKey === b.idempotencyKey)!.id,
    );
    await stack.expectInvariants();
    expect((await stack.request('GET', `/payouts/${id}`)).body.state).toBe('COMPLETED');
  });

  it('a 500 then a refusal, Calypso holding nothing: not REJECTED, tried again after a lookup', async () => {
    stack.sandbox.faults.failNext('createMassPayout');
    stack.sandbox.faults.failNext('createMassPayout', { after: 1, ...VALIDATION_FAILED });
    const id = await accept('refused-after-500');
    let b = await batch(id);
    expect(b.status).toBe('PENDING');
    expect(b.lastError).toMatch(/016/);
    expect(lookups(b.idempotencyKey)).toBe(1);
    expect(creates(b.idempotencyKey)).toBe(0);
    expect(await inOpenIndex(b)).toBe(true);

    await stack.advance(TICK_MS);
    await stack.reconcile();
    b = await batch(id);
    expect(b.status).toBe('SUBMITTED');
    expect(creates(b.idempotencyKey)).toBe(1);
    await stack.expectInvariants();
  });

  it('an earlier attempt of the batch ended unknown, a later one is refused: not REJECTED either', async () => {
    // Every attempt of the first submission answers 500: its outcome is unknown.
    stack.sandbox.faults.failNext('createMassPayout', { count: 4 });
    const id = await accept('refused-next-attempt');
    let b = await batch(id);
    expect(b.status).toBe('PENDING');
    expect(b.lastError).toMatch(/unknown-outcome/);

    // The next attempt looks up (nothing), creates, and is refused as invalid.
    stack.sandbox.faults.failNext('createMassPayout', VALIDATION_FAILED);
    await stack.advance(TICK_MS);
    await stack.reconcile();
    b = await batch(id);
    expect(b.attempts).toBe(2);
    expect(b.status).toBe('PENDING');
    expect(b.lastError).toMatch(/016/);
    expect(await inOpenIndex(b)).toBe(true);

    await stack.advance(10 * TICK_MS);
    await stack.reconcile();
    b = await batch(id);
    expect(b.status).toBe('SUBMITTED');
    expect(creates(b.idempotencyKey)).toBe(1);
    await stack.expectInvariants();
  });

  it('an attempt that died unrecorded stays uncertain after a later attempt failed before creating', async () => {
    stack.setAutoSubmit(false);
    const id = await accept('died-then-refused');
    stack.setAutoSubmit(true);
    // A worker claimed the batch and died: whether its create was sent is unknown.
    const claimed = await stack.repository.beginSubmission(
      id,
      0,
      new Date(stack.sandbox.now()),
      120_000,
    );
    expect(claimed?.attempts).toBe(1);
    // The next attempt cannot look up, so it ends before creating.
    stack.sandbox.faults.failNext('getMassPayout', { count: 4 });
    await stack.advance(121_000);
    await stack.reconcile();
    let b = await batch(id);
    expect(b.attempts).toBe(2);
    expect(b.status).toBe('PENDING');
    // The one after looks up (nothing), creates, and is refused: still not definite.
    stack.sandbox.faults.failNext('createMassPayout', VALIDATION_FAILED);
    await stack.advance(10 * TICK_MS);
    await stack.reconcile();
    b = await batch(id);
    expect(b.attempts).toBe(3);
    expect(b.status).toBe('PENDING');
    expect(b.lastError).toMatch(/016/);
    await stack.expectInvariants();
    expect(creates(b.idempotencyKey)).toBe(1);
  });

  it('a definite refusal with nothing at Calypso is REJECTED, confirmed by one later look, then closed', async () => {
    stack.sandbox.faults.failNext('createMassPayout', VALIDATION_FAILED);
    const id = await accept('refused-for-real');
    let b = await batch(id);
    expect(b.status).toBe('REJECTED');
    expect(lookups(b.idempotencyKey)).toBe(1);
    expect((await stack.request('GET', `/payouts/${id}`)).body.state).toBe('REJECTED');
    // Kept where the reconciler looks until the confirming look.
    expect(await inOpenIndex(b)).toBe(true);

    await stack.advance(CONFIRM_WAIT_MS);
    await stack.reconcile();
    b = await batch(id);
    expect(b.status).toBe('REJECTED');
    expect(lookups(b.idempotencyKey)).toBe(2);
    expect(await inOpenIndex(b)).toBe(false);
    expect(creates(b.idempotencyKey)).toBe(0);
    expect(await violations()).toEqual([]);
  });
});

describe('a lookup that finds a payout we had marked otherwise', () => {
  it('a REJECTED batch Calypso does hold is adopted on its confirming look, audited and alarmed', async () => {
    // Calypso answers 016 although it stored the payout, and its lookup lags behind once.
    let lagging = 1;
    stack.wrapCalypso((client) => ({
      createPayout: (input) => client.createPayout(input),
      getPayout: (by) => client.getPayout(by),
      getAccount: () => client.getAccount(),
      listWithdrawals: (filter, options) => client.listWithdrawals(filter, options),
      createMassPayout: async (input) => {
        await client.createMassPayout(input);
        throw new CalypsoValidationError({
          errorCode: '016',
          message: 'Can not create deal. Validation failed',
          operation: 'createMassPayout',
          httpStatus: 400,
          retryable: false,
        });
      },
      getMassPayout: async (by): Promise<MassPayout> => {
        if (lagging > 0) {
          lagging -= 1;
          return client.getMassPayout({ idempotencyKey: '00000000-0000-4000-8000-000000000000' });
        }
        return client.getMassPayout(by);
      },
    }));
    const id = await accept('rejected-but-held');
    let b = await batch(id);
    expect(b.status).toBe('REJECTED');
    expect(creates(b.idempotencyKey)).toBe(1);
    expect(await violations()).toEqual([
      `rejected-not-created [${id}]: batch 0 is REJECTED but Calypso holds mass payout ${
        stack.sandbox.inspect.massPayouts().find((m) => m.idempotencyKey === b.idempotencyKey)!.id
      }`,
    ]);
    stack.wrapCalypso();

    // What the tick emits, read from the metrics buffer before anything publishes it.
    metrics.clearMetrics();
    await stack.advance(CONFIRM_WAIT_MS);
    await stack.reconcile();
    const corrected = buffered('RejectedButFound');
    b = await batch(id);
    expect(b.status).toBe('SUBMITTED');
    expect(b.calypsoId).toBeDefined();
    expect(creates(b.idempotencyKey)).toBe(1);
    expect(corrected).toBe(1);

    const events = (await stack.request('GET', `/payouts/${id}/events?limit=100`)).body.items as {
      field: string;
      from: string;
      to: string;
      detail?: string;
    }[];
    expect(events).toContainEqual(
      expect.objectContaining({
        field: 'status',
        from: 'REJECTED',
        to: 'SUBMITTED',
        detail: expect.stringMatching(/Calypso holds/),
      }),
    );
    expect(stack.events.events).toContainEqual(
      expect.objectContaining({
        type: 'PayoutStateChanged',
        payoutId: id,
        detail: expect.objectContaining({ from: 'REJECTED' }),
      }),
    );
    await stack.expectInvariants();
    expect((await stack.request('GET', `/payouts/${id}`)).body.state).toBe('COMPLETED');
  });
});

describe('two looks at one batch that overlap', () => {
  it('a look that read Calypso before the other finished the batch does not move it back', async () => {
    const id = await accept('overlapping-looks', 3);
    // Far enough that the batch is IN_PROGRESS at Calypso, not yet completed.
    await stack.advance(10_000);
    const stale = await batch(id);
    expect(stale.status).toBe('SUBMITTED');

    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let held!: () => void;
    const holding = new Promise<void>((resolve) => (held = resolve));
    let hold = true;
    stack.wrapCalypso((client) => ({
      createPayout: (input) => client.createPayout(input),
      getPayout: (by) => client.getPayout(by),
      createMassPayout: (input) => client.createMassPayout(input),
      getAccount: () => client.getAccount(),
      listWithdrawals: (filter, options) => client.listWithdrawals(filter, options),
      getMassPayout: async (by) => {
        const answer = await client.getMassPayout(by);
        if (hold) {
          hold = false;
          held();
          await gate;
        }
        return answer;
      },
    }));
    const published = stack.events.events.length;
    const before = (await stack.request('GET', `/payouts/${id}`)).body.state as string;
    // The slow look has Calypso's answer (IN_PROGRESS) in hand and waits.
    const slow = refreshBatch(trackDeps(stack.system()), stale, 'reconcile');
    await holding;
    await stack.advance(60_000);
    const fast = await refreshBatch(trackDeps(stack.system()), (await batch(id))!, 'reconcile');
    expect(fast.outcome).toBe('final');
    release();
    await slow;

    const b = await batch(id);
    expect(b.status).toBe('FINAL');
    expect(await inOpenIndex(b)).toBe(false);
    const payout = (await stack.request('GET', `/payouts/${id}`)).body;
    expect(payout.state).toBe('COMPLETED');

    const mine = stack.events.events.slice(published).filter((e) => e.payoutId === id);
    const payoutChanges = mine
      .filter((e) => e.type === 'PayoutStateChanged')
      .map((e) => `${e.detail.from as string}->${e.detail.to as string}`);
    expect(payoutChanges).toEqual([`${before}->COMPLETED`]);
    const withdrawalChanges = mine.filter((e) => e.type === 'WithdrawalStateChanged');
    expect(withdrawalChanges).toHaveLength(3);
    const audit = (await stack.request('GET', `/payouts/${id}/events?limit=100`)).body.items as {
      field: string;
      to: string;
    }[];
    expect(audit.filter((e) => e.field === 'status' && e.to === 'FINAL')).toHaveLength(1);
    await stack.expectInvariants();
  });
});
