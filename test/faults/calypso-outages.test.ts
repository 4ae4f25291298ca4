/**
 * Calypso misbehaving: bursts of 500 `000`, answers too late for the client's timeout, responses
 * lost after the request took effect, during create, get and the withdrawals listing. Every
 * payout still ends final (or, while the outage lasts, flagged stuck), with one create per key.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startFaultStack, TICK_MS, type FaultStack } from './support/fault-stack.js';
import { btcPayout } from './support/payouts.js';

/** The client's timeout per attempt (real milliseconds), and an answer three times later. */
const TIMEOUT_MS = 1_000;
const LATE_MS = 3 * TIMEOUT_MS;

let stack: FaultStack;
beforeAll(async () => {
  stack = await startFaultStack({
    env: { CALYPSO_TIMEOUT_MS: String(TIMEOUT_MS), STUCK_AFTER_MS: String(10 * 60_000) },
  });
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => {
  stack.sandbox.faults.clear();
});

async function accept(tag: string, count = 3, options: { externalIds?: boolean } = {}) {
  const res = await stack.post(btcPayout(tag, count, options));
  expect(res.status).toBe(202);
  await stack.settle();
  return res.body.id as string;
}

async function batches(id: string) {
  return (await stack.request('GET', `/payouts/${id}`)).body.batches as any[];
}

const creates = (key: string) => stack.sandbox.inspect.massPayoutCreates(key);
const createAttempts = (key: string) => stack.sandbox.inspect.massPayoutCreateAttempts(key);

describe('outages during create', () => {
  it('a burst of 500s shorter than the client’s attempts: retried under the same key, created once', async () => {
    const backoffs = stack.backoffs.length;
    stack.sandbox.faults.failNext('createMassPayout', { count: 2 });
    stack.sandbox.faults.failNext('createMassPayout', { count: 1, status: 400, errorCode: '000' });
    const id = await accept('burst-short');
    const [batch] = await batches(id);
    expect(batch.status).toBe('SUBMITTED');
    expect(createAttempts(batch.idempotencyKey)).toBe(4);
    expect(creates(batch.idempotencyKey)).toBe(1);
    expect(stack.backoffs.length - backoffs).toBe(3);
    await stack.expectInvariants();
  });

  it('a burst longer than the client’s attempts: the batch waits, looked up before the next create', async () => {
    stack.sandbox.faults.failNext('createMassPayout', { count: 6 });
    const id = await accept('burst-long');
    let [batch] = await batches(id);
    // Every attempt answered 500, which may have acted: looked up (nothing there), tried later.
    expect(batch.status).toBe('PENDING');
    expect(batch.lastError).toMatch(/unknown-outcome/);
    expect(creates(batch.idempotencyKey)).toBe(0);
    const lookups = () =>
      stack.sandbox.inspect
        .requests()
        .filter((r) => r.operation === 'getMassPayout' && r.body.includes(batch.idempotencyKey));
    expect(lookups()).toHaveLength(1);

    await stack.advance(TICK_MS);
    await stack.reconcile();
    [batch] = await batches(id);
    expect(batch.status).toBe('SUBMITTED');
    expect(lookups().length).toBeGreaterThanOrEqual(2);
    expect(createAttempts(batch.idempotencyKey)).toBe(7);
    expect(creates(batch.idempotencyKey)).toBe(1);
    await stack.expectInvariants();
  });

  it('an answer too late for the timeout, the request having taken effect: adopted, not created again', async () => {
    stack.sandbox.faults.delayNext('createMassPayout', { ms: LATE_MS, phase: 'afterHandling' });
    const id = await accept('late-answer');
    const [batch] = await batches(id);
    expect(batch.status).toBe('SUBMITTED');
    // The retry was told the key exists and the payout was found by it.
    expect(createAttempts(batch.idempotencyKey)).toBe(2);
    expect(creates(batch.idempotencyKey)).toBe(1);
    expect(batch.calypsoId).toBe(
      stack.sandbox.inspect.massPayouts().find((p) => p.idempotencyKey === batch.idempotencyKey)!
        .id,
    );
    await stack.expectInvariants();
  });

  it('a request that takes effect after the client gave up on it: the late copy creates nothing', async () => {
    stack.sandbox.faults.delayNext('createMassPayout', { ms: LATE_MS, phase: 'beforeHandling' });
    const id = await accept('late-effect');
    const [batch] = await batches(id);
    expect(batch.status).toBe('SUBMITTED');
    const late = () =>
      stack.sandbox.inspect
        .requests()
        .find((r) => r.fault === 'delay' && r.body.includes(batch.idempotencyKey))!;
    // The held request is handled once its delay is over; it must find the key taken.
    await vi.waitFor(() => expect(late().errorCode).not.toBeNull(), {
      timeout: 10_000,
      interval: 50,
    });
    expect(late().errorCode).toBe('016');
    expect(creates(batch.idempotencyKey)).toBe(1);
    await stack.expectInvariants();
  });

  it('every response to the create lost after it took effect: resolved by lookup', async () => {
    stack.sandbox.faults.dropResponseNext('createMassPayout', { count: 4 });
    const id = await accept('dropped');
    const [batch] = await batches(id);
    expect(batch.status).toBe('SUBMITTED');
    expect(createAttempts(batch.idempotencyKey)).toBe(4);
    expect(creates(batch.idempotencyKey)).toBe(1);
    await stack.expectInvariants();
  });

  it('the lookup after an unknown outcome fails too: the next attempt looks up first and adopts', async () => {
    stack.sandbox.faults.dropResponseNext('createMassPayout', { count: 4 });
    stack.sandbox.faults.failNext('getMassPayout', { count: 4 });
    const id = await accept('dropped-then-blind');
    let [batch] = await batches(id);
    expect(batch.status).toBe('PENDING');
    expect(creates(batch.idempotencyKey)).toBe(1);
    await stack.advance(TICK_MS);
    await stack.reconcile();
    [batch] = await batches(id);
    expect(batch.status).toBe('SUBMITTED');
    // Found by its key: no create was sent again.
    expect(createAttempts(batch.idempotencyKey)).toBe(4);
    expect(creates(batch.idempotencyKey)).toBe(1);
    await stack.expectInvariants();
  });
});

describe('outages while tracking', () => {
  it('500s and a late answer on get, lost and late answers on the withdrawals listing: the payout still ends final', async () => {
    // Webhooks would only hurry the lookups; here the lookups themselves fail.
    stack.sandbox.faults.webhooks.withholdNext({ count: 1000 });
    const prefix = 'tracking-outage';
    stack.sandbox.faults.failAddresses([btcPayout(prefix, 4).recipients[2]!.address]);
    const id = await accept(prefix, 4);
    await stack.advance(TICK_MS);

    stack.sandbox.faults.failNext('getMassPayout', { count: 4 });
    await stack.reconcile();
    let [batch] = await batches(id);
    expect(batch.lastError).toMatch(/lookup failed/);
    expect(batch.status).toBe('SUBMITTED');

    stack.sandbox.faults.dropResponseNext('listWithdrawals', { count: 4 });
    await stack.advance(TICK_MS);
    await stack.reconcile();
    [batch] = await batches(id);
    expect(batch.lastError).toMatch(/lookup failed/);

    // One answer too late on each call: the client times out, asks again, and this look succeeds.
    stack.sandbox.faults.delayNext('getMassPayout', { ms: LATE_MS });
    stack.sandbox.faults.delayNext('listWithdrawals', { ms: LATE_MS });
    await stack.advance(TICK_MS);
    await stack.reconcile();
    [batch] = await batches(id);
    expect(batch.lastError).toBeNull();
    expect(batch.status).toBe('FINAL');
    const late = stack.sandbox.inspect.requests().filter((r) => r.fault === 'delay');
    expect(late.map((r) => r.operation).sort()).toEqual(
      expect.arrayContaining(['getMassPayout', 'listWithdrawals']),
    );

    await stack.expectInvariants();
    const payout = (await stack.request('GET', `/payouts/${id}`)).body;
    expect(payout.state).toBe('COMPLETED_WITH_FAILURES');
    expect(payout.withdrawalCounts).toEqual({ COMPLETED: 3, FAILED: 1 });
    expect(payout.batches[0].lastError).toBeNull();
    stack.sandbox.faults.clear();
    stack.sandbox.faults.webhooks.releaseWithheld();
    await stack.advance(1_000);
  });

  it('every operation failing for a while, across submission and tracking', async () => {
    const id = await accept('everything-down', 5);
    stack.sandbox.faults.failNext('*', { count: 30 });
    // Without externalIds: Calypso's withdrawals are matched to ours by address and amount.
    const second = await accept('everything-down-2', 2, { externalIds: false });
    expect((await batches(second))[0].status).toBe('PENDING');
    await stack.expectInvariants({ maxTicks: 16 });
    for (const payoutId of [id, second]) {
      expect((await stack.request('GET', `/payouts/${payoutId}`)).body.state).toBe('COMPLETED');
    }
  });

  it('an outage that does not end: batches are flagged stuck, never dropped, and finish once Calypso is back', async () => {
    const submitted = await accept('stuck-tracking', 2);
    stack.sandbox.faults.failNext('getMassPayout', { count: 100_000 });
    stack.sandbox.faults.failNext('createMassPayout', { count: 100_000 });
    const unsubmitted = await accept('stuck-submission', 2);
    expect((await batches(unsubmitted))[0].status).toBe('PENDING');

    // Ten minutes without progress: flagged stuck. The check accepts stuck, and only stuck.
    const ticks = await stack.drive({ maxTicks: 8, stepMs: 5 * 60_000 });
    expect(ticks).toBeGreaterThanOrEqual(2);
    expect(ticks).toBeLessThan(8);
    for (const id of [submitted, unsubmitted]) {
      const payout = (await stack.request('GET', `/payouts/${id}`)).body;
      expect(payout.stuck).toBe(true);
      expect(payout.state).not.toMatch(/COMPLETED|FAILED/);
    }
    await stack.expectInvariants();

    stack.sandbox.faults.clear();
    await stack.drive({ maxTicks: 4, stepMs: 5 * 60_000, untilFinal: true });
    await stack.expectInvariants();
    for (const id of [submitted, unsubmitted]) {
      const payout = (await stack.request('GET', `/payouts/${id}`)).body;
      expect(payout.state).toBe('COMPLETED');
      expect(payout.stuck).toBe(false);
      expect(creates(payout.batches[0].idempotencyKey)).toBe(1);
    }
  });
});
