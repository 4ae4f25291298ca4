import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { refreshBatch } from '../../shared/payouts/track.js';
import { metrics } from '../../shared/metrics.js';
import { trackDeps } from '../../shared/system.js';
import { payoutReads } from '../support/payout-reads.js';
import { btcAddress, recipients } from '../support/recipients.js';
import { buffered } from '../support/metrics.js';
import { startTestStack, type TestStack } from '../support/stack.js';
import { statusChangeBody, webhookHeaders } from '../support/webhooks.js';

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

let n = 0;
async function createPayout(count: number, options: { amount?: string; prefix?: string } = {}) {
  const prefix = options.prefix ?? `p${++n}`;
  const list = recipients(
    count,
    (i) => btcAddress(`${prefix}-${i}`),
    () => options.amount ?? '0.01',
  ).map((r) => ({
    ...r,
    externalId: `${prefix}-${r.externalId}`,
  }));
  const res = await stack.request('POST', '/payouts', {
    body: { currency: 'BTC', name: prefix, recipients: list },
    headers: { 'idempotency-key': `key-${randomUUID()}` },
  });
  expect(res.status).toBe(202);
  await stack.settle();
  return { id: res.body.id as string, list };
}

const { getPayout, withdrawals, events, runToEnd } = payoutReads(() => stack);

describe('the guide’s scenarios end in the right states', () => {
  it('all completed: every withdrawal COMPLETED with its hash and fee; events and audit trail recorded', async () => {
    const { id, list } = await createPayout(4);
    const payout = await runToEnd(id);
    expect(payout.state).toBe('COMPLETED');
    expect(payout.withdrawalCounts).toEqual({ COMPLETED: 4 });
    expect(payout.totalFee).toMatch(/^\d+(\.\d+)?$/);
    const items = await withdrawals(id);
    expect(items.map((w) => w.address)).toEqual(list.map((r) => r.address));
    for (const w of items) {
      expect(w.state).toBe('COMPLETED');
      expect(w.transactionHash).toBeTruthy();
      expect(w.fee).toMatch(/^\d+(\.\d+)?$/);
    }
    const trail = await events(id);
    expect(trail.filter((e) => e.entity === 'withdrawal' && e.to === 'COMPLETED')).toHaveLength(4);
    expect(trail.some((e) => e.entity === 'payout' && e.to === 'COMPLETED')).toBe(true);
    // Each payout transition is recorded once, as one chain, whatever ran concurrently.
    const chain = trail.filter((e) => e.entity === 'payout');
    expect(chain.map((e) => e.to)).toEqual([...new Set(chain.map((e) => e.to))]);
    for (let i = 1; i < chain.length; i++) expect(chain[i].from).toBe(chain[i - 1].to);
    expect(
      trail.some((e) => e.entity === 'batch' && e.field === 'status' && e.to === 'SUBMITTED'),
    ).toBe(true);
    const published = stack.events.events.filter((e) => e.payoutId === id);
    expect(
      published.filter((e) => e.type === 'WithdrawalStateChanged' && e.detail.to === 'COMPLETED'),
    ).toHaveLength(4);
    expect(
      published.some((e) => e.type === 'PayoutStateChanged' && e.detail.to === 'COMPLETED'),
    ).toBe(true);
  });

  it('NOT_ENOUGH_FUNDS: the validation error is recorded, the payout waits, and completes after a top-up', async () => {
    const { id } = await createPayout(3, { amount: '0.01' });
    // The balance drops between our funds check and Calypso's (another payout, a withdrawal).
    expect((await getPayout(id)).batches[0].status).toBe('SUBMITTED');
    stack.sandbox.setBalance('BTC', '0.015');
    await stack.advance(10_000);
    await stack.reconcile();
    await stack.advance(61_000);
    await stack.reconcile();
    let payout = await getPayout(id);
    expect(payout.state).toBe('IN_PROGRESS');
    const batch = payout.batches[0];
    expect(batch.validationErrors.map((e: { status: string }) => e.status)).toContain(
      'NOT_ENOUGH_FUNDS',
    );
    const waiting = (await withdrawals(id)).filter((w) =>
      w.errors.some((e: any) => e.status.startsWith('NOT_ENOUGH_FUNDS') && !e.resolved),
    );
    expect(waiting.length).toBeGreaterThan(0);
    stack.sandbox.topUp('BTC', '1');
    payout = await runToEnd(id);
    expect(payout.state).toBe('COMPLETED');
    for (const w of await withdrawals(id)) {
      expect(w.state).toBe('COMPLETED');
      // Resolved errors leave the view; the events keep when each was raised and resolved.
      expect(w.errors).toEqual([]);
    }
    expect(payout.batches[0].validationErrors).toEqual([]);
    const notes = (await events(id)).filter((e) => e.field === 'validationError');
    expect(notes.length).toBeGreaterThan(0);
    for (const raised of notes.filter((e) => e.from === null)) {
      expect(
        notes.some((e) => e.ref === raised.ref && e.from === raised.to && e.to === 'resolved'),
      ).toBe(true);
    }
  });

  it('all failed: FAILED, with every withdrawal FAILED', async () => {
    const prefix = `fail-all-${++n}`;
    stack.sandbox.faults.failAddresses([0, 1, 2].map((i) => btcAddress(`${prefix}-${i}`)));
    const { id } = await createPayout(3, { prefix });
    const payout = await runToEnd(id);
    expect(payout.state).toBe('FAILED');
    expect((await withdrawals(id)).map((w) => w.state)).toEqual(['FAILED', 'FAILED', 'FAILED']);
  });

  it('some failed: COMPLETED_WITH_FAILURES, with the right state per withdrawal', async () => {
    const prefix = `fail-some-${++n}`;
    stack.sandbox.faults.failAddresses([btcAddress(`${prefix}-1`)]);
    const { id } = await createPayout(3, { prefix });
    const payout = await runToEnd(id);
    // Calypso says COMPLETED (the guide's rule); the payments tell the rest.
    expect(payout.batches.map((b: any) => b.calypsoState)).toEqual(['COMPLETED']);
    expect(payout.state).toBe('COMPLETED_WITH_FAILURES');
    expect(payout.withdrawalCounts).toEqual({ COMPLETED: 2, FAILED: 1 });
    expect((await withdrawals(id)).map((w) => w.state)).toEqual([
      'COMPLETED',
      'FAILED',
      'COMPLETED',
    ]);
  });
});

describe('business metrics', () => {
  it('count each withdrawal reaching COMPLETED or FAILED once, and the payout reaching its final state', async () => {
    const prefix = `metrics-${++n}`;
    stack.sandbox.faults.failAddresses([btcAddress(`${prefix}-1`)]);
    const { id } = await createPayout(3, { prefix });
    // Only the reconciler's ticks in between: an API request would publish (empty) the buffer.
    metrics.clearMetrics();
    for (let i = 0; i < 8; i++) {
      await stack.advance(61_000);
      await stack.reconcile();
    }
    const counted = {
      completed: buffered('WithdrawalsCompleted'),
      failed: buffered('WithdrawalsFailed'),
      final: buffered('PayoutsCompletedWithFailures'),
    };
    expect((await getPayout(id)).state).toBe('COMPLETED_WITH_FAILURES');
    expect(counted).toEqual({ completed: 2, failed: 1, final: 1 });
  });
});

describe('concurrent writers', () => {
  it('records a multi-batch payout’s state changes once each', async () => {
    const { id } = await createPayout(250, { amount: '0.0001' });
    await runToEnd(id);
    const chain = (await events(id)).filter((e) => e.entity === 'payout');
    expect(chain.length).toBeGreaterThan(1);
    expect(chain.map((e) => e.to)).toEqual([...new Set(chain.map((e) => e.to))]);
  }, 120_000);

  it('counts what is stored when a webhook moved a withdrawal during a look', async () => {
    const { id } = await createPayout(3);
    await stack.advance(10_000); // Calypso has the withdrawals IN_PROGRESS
    const { repository } = stack.system();
    const raced = Object.create(repository) as typeof repository;
    raced.updateWithdrawal = async (w, set, expected) => {
      // A webhook got there first and moved it on.
      await repository.updateWithdrawal(
        w,
        { state: 'IN_PROGRESS', updatedAt: set.updatedAt },
        expected,
      );
      return repository.updateWithdrawal(w, set, expected);
    };
    const batch = (await repository.getPayoutWithBatches(id))!.batches[0]!;
    await refreshBatch({ ...trackDeps(stack.system()), repository: raced }, batch, 'reconcile');
    const after = await getPayout(id);
    expect(after.withdrawalCounts).toEqual({ IN_PROGRESS: 3 });
  });
});

describe('hostile and unreliable webhooks', () => {
  it('duplicated and reordered webhooks cause no double effect and no regression', async () => {
    stack.sandbox.faults.webhooks.duplicateNext({ count: 50, copies: 2 });
    stack.sandbox.faults.webhooks.reorderNext(6);
    const { id } = await createPayout(2);
    const payout = await runToEnd(id);
    expect(payout.state).toBe('COMPLETED');
    const trail = await events(id);
    // Each withdrawal reached COMPLETED exactly once, and nothing ever moved backwards.
    expect(trail.filter((e) => e.entity === 'withdrawal' && e.to === 'COMPLETED')).toHaveLength(2);
    expect(trail.filter((e) => e.entity === 'withdrawal' && e.from === 'COMPLETED')).toHaveLength(
      0,
    );
    // Every copy of an event after the first was recognised as a duplicate.
    const byEvent = new Map<number, string[]>();
    for (const d of stack.sandbox.inspect.webhookDeliveries()) {
      if (d.state !== 'delivered') continue;
      byEvent.set(d.eventId, [
        ...(byEvent.get(d.eventId) ?? []),
        d.attempts.at(-1)?.responseBody ?? '',
      ]);
    }
    const duplicated = [...byEvent.values()].filter((answers) => answers.length > 1);
    expect(duplicated.length).toBeGreaterThan(0);
    for (const answers of duplicated) {
      expect(answers.filter((a) => !a.includes('duplicate'))).toHaveLength(1);
    }
  });

  it('a forged webhook is rejected with 401 and not stored', async () => {
    const { id } = await createPayout(1);
    const batch = (await getPayout(id)).batches[0];
    const body = statusChangeBody({
      requestId: randomUUID(),
      id: 999_000_001,
      payoutStatus: 'COMPLETED',
      idempotencyKey: batch.idempotencyKey,
    });
    const forged = await stack.request('POST', '/webhooks/calypso', {
      body,
      headers: webhookHeaders(body, stack.webhookKeys!, { secret: 'not-the-secret' }),
    });
    expect(forged.status).toBe(401);
    const unknownKey = await stack.request('POST', '/webhooks/calypso', {
      body,
      headers: webhookHeaders(body, stack.webhookKeys!, { key: 'someone-else' }),
    });
    expect(unknownKey.status).toBe(401);
    expect(await stack.system().repository.getWebhookEvent('999000001')).toBeUndefined();

    // The sandbox's own bad-signature fault: rejected, then redelivered correctly... never, as Calypso resends the same bytes.
    stack.sandbox.faults.webhooks.badSignatureNext({ count: 1 });
    await stack.advance(3_000);
    const bad = stack.sandbox.inspect.webhookDeliveries().filter((d) => !d.signatureValid);
    expect(bad.length).toBeGreaterThan(0);
    for (const d of bad) expect(d.attempts.every((a) => a.status === 401)).toBe(true);
    expect((await getPayout(id)).state).not.toBe('COMPLETED');
  });

  it('stores every verified event once, even one it cannot apply', async () => {
    const body = JSON.stringify({
      id: 424242,
      eventType: 'PAYOUT_SOMETHING_NEW',
      data: { idempotencyKey: randomUUID() },
    });
    const headers = webhookHeaders(body, stack.webhookKeys!);
    const first = await stack.request('POST', '/webhooks/calypso', { body, headers });
    expect(first.status).toBe(200);
    const again = await stack.request('POST', '/webhooks/calypso', { body, headers });
    expect(again.body).toEqual({ duplicate: true });
    // Applied after the answer.
    await stack.settle();
    const stored = await stack.system().repository.getWebhookEvent('424242');
    expect(stored).toMatchObject({
      rawBody: body,
      verdict: 'unknown-payout',
      eventType: 'PAYOUT_SOMETHING_NEW',
    });
    const junk = 'not json at all';
    const malformed = await stack.request('POST', '/webhooks/calypso', {
      body: junk,
      headers: webhookHeaders(junk, stack.webhookKeys!),
    });
    expect(malformed.status).toBe(200);
    expect(malformed.body.verdict).toBe('malformed');
  });

  it('finds the payout by Calypso’s id when an event carries no idempotencyKey', async () => {
    const { id } = await createPayout(1);
    const batch = (await getPayout(id)).batches[0];
    const body = JSON.stringify({
      id: 515151,
      eventType: 'PAYOUT_VALIDATION_ERROR',
      data: {
        parentExternalId: Number(batch.calypsoId),
        validationStatus: 'EXCEEDING_LIMIT',
        message: 'limit',
      },
    });
    const res = await stack.request('POST', '/webhooks/calypso', {
      body,
      headers: webhookHeaders(body, stack.webhookKeys!),
    });
    expect(res.body).toEqual({ stored: true });
    await stack.settle();
    expect((await stack.system().repository.getWebhookEvent('515151'))?.verdict).toBe('applied');
    const after = (await getPayout(id)).batches[0];
    expect(after.validationErrors.map((e: { status: string }) => e.status)).toContain(
      'EXCEEDING_LIMIT',
    );
  });

  it('with every webhook withheld, the reconciler alone brings the payout to its final state', async () => {
    stack.sandbox.faults.webhooks.withholdNext({ count: 1000 });
    const prefix = `withheld-${++n}`;
    stack.sandbox.faults.failAddresses([btcAddress(`${prefix}-0`)]);
    const { id } = await createPayout(3, { prefix });
    const payout = await runToEnd(id);
    expect(payout.state).toBe('COMPLETED_WITH_FAILURES');
    expect((await events(id)).every((e) => e.cause !== 'webhook')).toBe(true);
    expect(stack.sandbox.inspect.webhookDeliveries().some((d) => d.state === 'withheld')).toBe(
      true,
    );
    stack.sandbox.faults.clear();
    stack.sandbox.faults.webhooks.releaseWithheld();
    await stack.advance(1_000);
    expect((await getPayout(id)).state).toBe('COMPLETED_WITH_FAILURES');
  });
});

describe('scheduled payouts', () => {
  it('waits for its executionDate without being flagged stuck, then completes', async () => {
    const executionDate = new Date(stack.sandbox.now() + 2 * 86_400_000).toISOString();
    const list = recipients(
      2,
      (i) => btcAddress(`later-${i}`),
      () => '0.01',
    );
    const res = await stack.request('POST', '/payouts', {
      body: { currency: 'BTC', name: 'later', executionDate, recipients: list },
      headers: { 'idempotency-key': `key-${randomUUID()}` },
    });
    expect(res.status).toBe(202);
    await stack.settle();
    for (let i = 0; i < 5; i++) {
      await stack.advance(8 * 3_600_000); // 40 hours in all: past STUCK_AFTER_MS, before the date
      await stack.reconcile();
    }
    const waiting = await getPayout(res.body.id);
    expect(waiting.state).not.toBe('COMPLETED');
    expect(waiting.stuck).toBe(false);
    const atCalypso = stack.sandbox.inspect.massPayouts().find((p) => p.name === 'later');
    expect(atCalypso?.withdrawals.every((w) => w.state === 'DRAFT')).toBe(true);
    await stack.advance(9 * 3_600_000);
    const done = await runToEnd(res.body.id);
    expect(done.state).toBe('COMPLETED');
    expect(done.stuck).toBe(false);
  });
});

describe('crashes and recovery', () => {
  it('a batch left unsubmitted by a crash between storing and calling Calypso is submitted by the next tick, once', async () => {
    // The function died right after storing: the hand-off to submission never happened.
    const { repository } = stack.system();
    stack.setAutoSubmit(false);
    const res = await stack.request('POST', '/payouts', {
      body: {
        currency: 'BTC',
        name: 'crash',
        recipients: recipients(
          120,
          (i) => btcAddress(`crash-${i}`),
          () => '0.001',
        ),
      },
      headers: { 'idempotency-key': `key-${randomUUID()}` },
    });
    stack.setAutoSubmit(true);
    expect(res.status).toBe(202);
    for (const b of res.body.batches)
      expect(stack.sandbox.inspect.massPayoutCreates(b.idempotencyKey)).toBe(0);
    const before = await repository.getPayoutWithBatches(res.body.id);
    expect(before?.batches.every((b) => b.status === 'PENDING')).toBe(true);
    await stack.reconcile();
    await stack.reconcile();
    const after = await getPayout(res.body.id);
    for (const b of after.batches) {
      expect(b.status).toBe('SUBMITTED');
      expect(stack.sandbox.inspect.massPayoutCreates(b.idempotencyKey)).toBe(1);
    }
  });

  it('retry-failed pays exactly the failed recipients, once', async () => {
    const prefix = `retry-${++n}`;
    stack.sandbox.faults.failAddresses([btcAddress(`${prefix}-1`), btcAddress(`${prefix}-3`)]);
    const { id } = await createPayout(5, { prefix });
    const headers = { 'idempotency-key': `retry-${randomUUID()}` };
    const early = await stack.request('POST', `/payouts/${id}/retry-failed`, { headers });
    expect(early.status).toBe(409);
    const payout = await runToEnd(id);
    expect(payout.state).toBe('COMPLETED_WITH_FAILURES');
    stack.sandbox.faults.clearFailedAddresses();

    const retry = await stack.request('POST', `/payouts/${id}/retry-failed`, { headers });
    expect(retry.status).toBe(202);
    expect(retry.body.retryOf).toBe(id);
    expect(retry.body.recipientCount).toBe(2);
    const repeat = await stack.request('POST', `/payouts/${id}/retry-failed`, { headers });
    expect(repeat.status).toBe(200);
    expect(repeat.body.id).toBe(retry.body.id);
    expect((await getPayout(id)).retriedBy).toEqual([retry.body.id]);

    await stack.settle();
    const done = await runToEnd(retry.body.id);
    expect(done.state).toBe('COMPLETED');
    const paid = stack.sandbox.inspect
      .massPayouts()
      .filter((p) => done.batches.some((b: any) => b.idempotencyKey === p.idempotencyKey))
      .flatMap((p) => p.withdrawals.map((w) => w.depositAddress));
    expect(paid).toEqual([btcAddress(`${prefix}-1`), btcAddress(`${prefix}-3`)]);
  });
});
