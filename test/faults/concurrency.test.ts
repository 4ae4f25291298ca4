/**
 * Many writers at once: a hundred blind retries of the same request, different requests under
 * one idempotency key, and submitters racing the reconciler for the same batches. One payout,
 * one Calypso create per batch, whatever the interleaving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitPayout } from '../../shared/payouts/submit.js';
import { trackDeps } from '../../shared/system.js';
import { startFaultStack, type FaultStack } from './support/fault-stack.js';
import { btcPayout } from './support/payouts.js';

let stack: FaultStack;
beforeAll(async () => {
  // Ten recipients per mass payout: a 25-recipient payout is three batches. Webhooks would only
  // hurry the reconciler along: it works alone here.
  stack = await startFaultStack({
    webhooks: false,
    env: { CURRENCY_OVERRIDES: '{"BTC":{"massPayoutLimit":10}}' },
  });
});
afterAll(async () => {
  await stack?.close();
});

const creates = (key: string) => stack.sandbox.inspect.massPayoutCreates(key);
const createAttempts = (key: string) => stack.sandbox.inspect.massPayoutCreateAttempts(key);

describe('concurrent creates', () => {
  it('100 identical requests at once: one payout, one Calypso create per batch', async () => {
    const body = btcPayout('hundred', 25);
    const key = 'hundred-at-once';
    const results = await Promise.all(Array.from({ length: 100 }, () => stack.post(body, { key })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    for (const s of statuses) expect([200, 202, 409]).toContain(s);
    for (const r of results.filter((r) => r.status === 409)) {
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(r.headers.get('content-type')).toBe('application/problem+json');
    }
    const ids = new Set(results.filter((r) => r.status !== 409).map((r) => r.body.id));
    expect(ids.size).toBe(1);
    const [id] = [...ids];

    await stack.settle();
    const again = await stack.post(body, { key });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(id);
    expect(again.body.batches).toHaveLength(3);
    for (const batch of again.body.batches) {
      expect(creates(batch.idempotencyKey)).toBe(1);
      expect(createAttempts(batch.idempotencyKey)).toBe(1);
    }
    await stack.expectInvariants();
  });

  it('100 identical requests at once from 100 sessions of one role: still one payout', async () => {
    const body = btcPayout('hundred-sessions', 25);
    const key = 'hundred-sessions-at-once';
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        stack.post(body, {
          key,
          caller: `arn:aws:sts::111122223333:assumed-role/payroll-svc/aws-sdk-js-${1764657600000 + i}`,
        }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    for (const s of statuses) expect([200, 202, 409]).toContain(s);
    const ids = new Set(results.filter((r) => r.status !== 409).map((r) => r.body.id));
    expect(ids.size).toBe(1);
    await stack.settle();
    const again = await stack.post(body, {
      key,
      caller: 'arn:aws:sts::111122223333:assumed-role/payroll-svc/a-new-session',
    });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe([...ids][0]);
    for (const batch of again.body.batches) {
      expect(creates(batch.idempotencyKey)).toBe(1);
      expect(createAttempts(batch.idempotencyKey)).toBe(1);
    }
    await stack.expectInvariants();
  });

  it('different requests under one key at once: exactly one wins, the others are refused', async () => {
    const key = 'one-key-many-bodies';
    const bodies = Array.from({ length: 20 }, (_, i) => btcPayout(`variant-${i}`, 12));
    const results = await Promise.all(bodies.map((body) => stack.post(body, { key })));
    const winners = results.filter((r) => r.status === 202);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!;
    for (const r of results.filter((r) => r !== winner)) {
      expect([409, 422]).toContain(r.status);
      expect(r.headers.get('content-type')).toBe('application/problem+json');
    }
    await stack.settle();
    // Once the winner is stored, every other body under the key is a 422 naming the payout.
    const loser = bodies.find((b) => b.name !== winner.body.name)!;
    const late = await stack.post(loser, { key });
    expect(late.status).toBe(422);
    expect(late.body.payoutId).toBe(winner.body.id);
    expect(stack.ledger.has(winner.body.id)).toBe(true);
    // The stored payout is the winner's request, not a mixture.
    expect(winner.body.name).toMatch(/^variant-\d+$/);
    expect(stack.ledger.get(winner.body.id)).toEqual(
      bodies.find((b) => b.name === winner.body.name),
    );
    await stack.expectInvariants();
  });
});

describe('concurrent submitters', () => {
  it('ten submit functions and three reconciler ticks racing for the same batches: each created once', async () => {
    stack.setAutoSubmit(false);
    const res = await stack.post(btcPayout('racing-submitters', 25));
    stack.setAutoSubmit(true);
    expect(res.status).toBe(202);
    const id = res.body.id as string;

    const [submits] = await Promise.all([
      Promise.all(Array.from({ length: 10 }, () => submitPayout(trackDeps(stack.system()), id))),
      Promise.all(Array.from({ length: 3 }, () => stack.reconcile())),
    ]);
    const outcomes = submits.flatMap((m) => [...m.entries()]);
    for (const index of [0, 1, 2]) {
      const forBatch = outcomes.filter(([i]) => i === index).map(([, o]) => o);
      expect(forBatch.filter((o) => o === 'created').length).toBeLessThanOrEqual(1);
      for (const o of forBatch) expect(['created', 'not-claimed']).toContain(o);
    }
    const view = (await stack.request('GET', `/payouts/${id}`)).body;
    for (const batch of view.batches) {
      expect(batch.status).toBe('SUBMITTED');
      expect(creates(batch.idempotencyKey)).toBe(1);
      expect(createAttempts(batch.idempotencyKey)).toBe(1);
    }
    await stack.expectInvariants();
  });
});
