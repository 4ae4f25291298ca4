/**
 * Tracking what Calypso's own processing does, through the real stack (DynamoDB Local, the
 * sandbox over HTTP, webhooks and the reconciler): replaced payments, payouts cancelled or held
 * for confirmation in Calypso's UI, payments over a limit, token payments short of their fee coin.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { payoutReads } from '../support/payout-reads.js';
import { btcAddress, evmAddress, recipients } from '../support/recipients.js';
import { startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => {
  stack.sandbox.faults.clear();
});

const HOUR = 3_600_000;
let n = 0;

async function createPayout(count: number, options: { currency?: 'BTC' | 'USDT' } = {}) {
  const prefix = `cp${++n}`;
  const currency = options.currency ?? 'BTC';
  const address = currency === 'BTC' ? btcAddress : evmAddress;
  const list = recipients(
    count,
    (i) => address(`${prefix}-${i}`),
    () => '0.01',
  ).map((r) => ({ ...r, externalId: `${prefix}-${r.externalId}` }));
  const res = await stack.request('POST', '/payouts', {
    body: { currency, name: prefix, recipients: list },
    headers: { 'idempotency-key': `key-${randomUUID()}` },
  });
  expect(res.status).toBe(202);
  await stack.settle();
  return { id: res.body.id as string, list };
}

const { getPayout, withdrawals, events, runToEnd } = payoutReads(() => stack);

/** Calypso's side of a payout's (only) batch. */
function calypsoPayout(payout: any) {
  const found = stack.sandbox.inspect
    .massPayouts()
    .find((p) => p.idempotencyKey === payout.batches[0].idempotencyKey);
  if (!found) throw new Error('not at Calypso');
  return found;
}
async function step(ms: number) {
  await stack.advance(ms);
  await stack.reconcile();
}
describe('a replaced payment', () => {
  it('is not paid until its replacement is, even when Calypso already calls the payout COMPLETED', async () => {
    const { id, list } = await createPayout(3);
    stack.sandbox.faults.replaceNext({ address: list[1]!.address, replacementAfterMs: 5 * 60_000 });
    await step(10_000); // sent
    await step(31_000); // settled: two completed, one REPLACED, its replacement not there yet
    let payout = await getPayout(id);
    const calypso = calypsoPayout(payout);
    expect(calypso.state).toBe('COMPLETED');
    const replaced = calypso.withdrawals[1]!;
    expect(replaced.state).toBe('REPLACED');
    expect(payout.batches[0]).toMatchObject({ calypsoState: 'COMPLETED', status: 'SUBMITTED' });
    expect(payout.state).toBe('IN_PROGRESS');
    expect(payout.withdrawalCounts).toEqual({ COMPLETED: 2, IN_PROGRESS: 1 });
    let mine = (await withdrawals(id))[1];
    expect(mine).toMatchObject({ state: 'IN_PROGRESS', calypsoWithdrawalId: replaced.id });

    await step(5 * 60_000); // the replacement appears, IN_PROGRESS
    const replacement = calypsoPayout(payout).withdrawals[3]!;
    expect(replacement).toMatchObject({ state: 'IN_PROGRESS', replaces: replaced.id });
    await step(61_000);
    payout = await getPayout(id);
    if (payout.state !== 'COMPLETED') {
      // The replacement settled in this step or will in the next look.
      payout = await runToEnd(id);
    }
    expect(payout.state).toBe('COMPLETED');
    expect(payout.withdrawalCounts).toEqual({ COMPLETED: 3 });
    mine = (await withdrawals(id))[1];
    expect(mine).toMatchObject({
      state: 'COMPLETED',
      calypsoWithdrawalId: replacement.id,
      transactionHash: calypsoPayout(payout).withdrawals[3]!.transactionHash,
    });
    const trail = await events(id);
    expect(trail.filter((e) => e.field === 'calypsoWithdrawalId')).toEqual([
      expect.objectContaining({ ref: '0/1', from: replaced.id, to: replacement.id }),
    ]);
    // Paid once: the withdrawal reached COMPLETED once, as the replacement, and never REPLACED.
    const moves = trail.filter((e) => e.ref === '0/1' && e.field === 'state').map((e) => e.to);
    expect(moves.filter((to) => to === 'COMPLETED')).toHaveLength(1);
    expect(moves.at(-1)).toBe('COMPLETED');
    expect(moves).not.toContain('REPLACED');
  });

  it('whose replacement fails ends FAILED, and retry-failed re-pays it after Calypso confirms the failure', async () => {
    const { id, list } = await createPayout(2);
    stack.sandbox.faults.replaceNext({ address: list[0]!.address, replacementFails: true });
    await step(31_000); // looked at while sent: our record knows the first withdrawal's id
    const [sent] = await withdrawals(id);
    expect(sent.state).toBe('IN_PROGRESS');
    const first = sent.calypsoWithdrawalId;
    const payout = await runToEnd(id);
    expect(payout.state).toBe('COMPLETED_WITH_FAILURES');
    expect(payout.withdrawalCounts).toEqual({ COMPLETED: 1, FAILED: 1 });
    const [failed] = await withdrawals(id);
    expect(failed.state).toBe('FAILED');
    expect(calypsoPayout(payout).withdrawals[0]).toMatchObject({ id: first, state: 'REPLACED' });
    expect(failed.calypsoWithdrawalId).toBe(calypsoPayout(payout).withdrawals[2]!.id);

    const retry = await stack.request('POST', `/payouts/${id}/retry-failed`, {
      headers: { 'idempotency-key': `retry-${randomUUID()}` },
    });
    expect(retry.status).toBe(202);
    expect(retry.body.recipientCount).toBe(1);
    await stack.settle();
    const done = await runToEnd(retry.body.id);
    expect(done.state).toBe('COMPLETED');
    expect(calypsoPayout(done).withdrawals.map((w) => w.depositAddress)).toEqual([
      list[0]!.address,
    ]);
  });
});

describe('a payout cancelled in Calypso’s UI', () => {
  it('before anything was sent: every withdrawal CANCELED, the payout CANCELED, nothing to retry', async () => {
    stack.sandbox.faults.cancelNext();
    const { id } = await createPayout(3);
    const payout = await runToEnd(id);
    expect(payout.state).toBe('CANCELED');
    expect(payout.withdrawalCounts).toEqual({ CANCELED: 3 });
    expect(payout.batches[0]).toMatchObject({ status: 'FINAL', calypsoState: 'CANCELED' });
    expect((await withdrawals(id)).map((w) => w.state)).toEqual([
      'CANCELED',
      'CANCELED',
      'CANCELED',
    ]);
    // retry-failed re-pays FAILED payments only: a cancelled payment was refused on purpose.
    const retry = await stack.request('POST', `/payouts/${id}/retry-failed`, {
      headers: { 'idempotency-key': `retry-${randomUUID()}` },
    });
    expect(retry.status).toBe(422);
    expect(retry.body.type).toContain('nothing-to-retry');
  });

  it('before its withdrawals were even created: ours end CANCELED too', async () => {
    const { id } = await createPayout(2);
    const payout = await getPayout(id);
    stack.sandbox.ui.cancel(calypsoPayout(payout).id);
    const done = await runToEnd(id);
    expect(done.state).toBe('CANCELED');
    expect(calypsoPayout(done).withdrawals).toEqual([]);
    expect((await withdrawals(id)).map((w) => w.state)).toEqual(['CANCELED', 'CANCELED']);
  });
});

describe('a payout held for confirmation in Calypso', () => {
  it('shows it awaits confirmation, is not stuck before CONFIRMATION_STUCK_AFTER_MS, then completes once confirmed', async () => {
    stack.sandbox.faults.holdForConfirmationNext();
    const { id } = await createPayout(2);
    await step(31_000); // no event says so: the first look finds it
    let payout = await getPayout(id);
    expect(payout.batches[0]).toMatchObject({
      calypsoState: 'PENDING_CONFIRMATION',
      awaitingCalypsoConfirmation: true,
      stuck: false,
    });
    expect(payout.awaitingCalypsoConfirmation).toBe(true);

    // Past STUCK_AFTER_MS (6 h), well before CONFIRMATION_STUCK_AFTER_MS (24 h).
    await step(8 * HOUR);
    payout = await getPayout(id);
    expect(payout.stuck).toBe(false);
    expect(payout.batches[0].stuck).toBe(false);
    // Past 24 h: flagged.
    await step(17 * HOUR);
    payout = await getPayout(id);
    expect(payout.batches[0].stuck).toBe(true);
    expect(payout.stuck).toBe(true);

    stack.sandbox.ui.confirm(calypsoPayout(payout).id);
    payout = await runToEnd(id);
    expect(payout.state).toBe('COMPLETED');
    expect(payout.awaitingCalypsoConfirmation).toBe(false);
    expect(payout.batches[0]).toMatchObject({ awaitingCalypsoConfirmation: false, stuck: false });
    expect(payout.stuck).toBe(false);
  });

  it('cancelled there instead: CANCELED', async () => {
    stack.sandbox.faults.holdForConfirmationNext();
    const { id } = await createPayout(2);
    await step(10_000);
    stack.sandbox.ui.cancel(calypsoPayout(await getPayout(id)).id);
    const payout = await runToEnd(id);
    expect(payout.state).toBe('CANCELED');
    expect(payout.awaitingCalypsoConfirmation).toBe(false);
    expect(payout.withdrawalCounts).toEqual({ CANCELED: 2 });
  });
});

describe('validation errors', () => {
  it('EXCEEDING_LIMIT shows on the payment and the batch while it stands, and is cleared (kept in the events) once resolved', async () => {
    const { id, list } = await createPayout(2);
    stack.sandbox.faults.exceedLimitNext({ address: list[0]!.address });
    await step(10_000);
    await step(31_000);
    let payout = await getPayout(id);
    expect(payout.state).toBe('IN_PROGRESS');
    expect(payout.withdrawalCounts).toEqual({ DRAFT: 1, COMPLETED: 1 });
    expect(payout.batches[0].validationErrors).toEqual([
      expect.objectContaining({ status: 'EXCEEDING_LIMIT', resolved: false }),
    ]);
    let [held] = await withdrawals(id);
    expect(held.errors).toEqual([
      expect.objectContaining({ status: 'EXCEEDING_LIMIT', resolved: false }),
    ]);

    stack.sandbox.ui.allowOverLimit(held.calypsoWithdrawalId);
    payout = await runToEnd(id);
    expect(payout.state).toBe('COMPLETED');
    expect(payout.batches[0].validationErrors).toEqual([]);
    [held] = await withdrawals(id);
    expect(held).toMatchObject({ state: 'COMPLETED', errors: [] });
    const notes = (await events(id)).filter((e) => e.field === 'validationError');
    expect(notes.map((e) => [e.ref, e.from, e.to])).toEqual([
      ['0/0', null, 'EXCEEDING_LIMIT'],
      ['0/0', 'EXCEEDING_LIMIT', 'resolved'],
    ]);
  });

  it('a token payment with no fee coin waits with NOT_ENOUGH_FUNDS_FOR_COMMISSION until the fee coin is topped up', async () => {
    const before = stack.sandbox.inspect.balances().ETH!;
    try {
      const { id } = await createPayout(1, { currency: 'USDT' });
      // The ETH goes after our funds check let the payout through (another payout used it).
      expect((await getPayout(id)).batches[0].status).toBe('SUBMITTED');
      stack.sandbox.setBalance('ETH', '0');
      await step(10_000);
      await step(61_000);
      let payout = await getPayout(id);
      expect(payout.state).toBe('IN_PROGRESS');
      let [waiting] = await withdrawals(id);
      expect(waiting.state).toBe('DRAFT');
      expect(waiting.errors).toEqual([
        expect.objectContaining({
          status: 'NOT_ENOUGH_FUNDS_FOR_COMMISSION',
          resolved: false,
          message: expect.stringContaining('ETH'),
        }),
      ]);
      stack.sandbox.topUp('ETH', '0.5');
      payout = await runToEnd(id);
      expect(payout.state).toBe('COMPLETED');
      [waiting] = await withdrawals(id);
      expect(waiting.errors).toEqual([]);
    } finally {
      stack.sandbox.setBalance('ETH', before);
    }
  });
});
