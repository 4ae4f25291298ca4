/**
 * Identity, ownership and the single retry, through the local API (callers given as the ARNs API
 * Gateway would pass), DynamoDB Local and the sandbox:
 * - a role is one caller whatever its session: a request repeated from a new session is the same
 *   payout, never a second payment;
 * - a payout belongs to its creator's team; nobody else learns it exists, auditors read it all;
 * - failed payments are retried once per payout, whoever asks and with whatever key, and only
 *   those Calypso still reports FAILED.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TERMINAL_PAYOUT_STATES } from '../../shared/domain/payout.js';
import { btcPayoutBody } from '../support/recipients.js';
import { as, role, session, TEST_ACCOUNT } from '../support/callers.js';
import { startTestStack, type TestStack } from '../support/stack.js';

const PAYROLL = 'payroll-svc';
const PAYROLL_BATCH = 'payroll-batch';
const AFFILIATES = 'affiliates-svc';
const AUDITOR = 'auditor';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({
    env: {
      // A role path in configuration still matches (STS does not report it).
      TEAMS: JSON.stringify({
        payroll: [role(PAYROLL), `arn:aws:iam::${TEST_ACCOUNT}:role/jobs/${PAYROLL_BATCH}`],
      }),
      AUDITORS: JSON.stringify([role(AUDITOR)]),
    },
  });
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => {
  stack.sandbox.faults.clear();
});

let n = 0;
function body(count: number, prefix = `id-${++n}`) {
  return btcPayoutBody(prefix, count);
}

async function post(caller: string, payload: unknown, key = `key-${randomUUID()}`) {
  return stack.request('POST', '/payouts', {
    body: payload,
    headers: as(caller, { 'idempotency-key': key }),
  });
}
const get = (caller: string, path: string) => stack.request('GET', path, { headers: as(caller) });

async function runToEnd(id: string, caller: string) {
  for (let i = 0; i < 8; i++) {
    await stack.advance(61_000);
    await stack.reconcile();
    const payout = (await get(caller, `/payouts/${id}`)).body;
    if (TERMINAL_PAYOUT_STATES.includes(payout.state)) return payout;
  }
  return (await get(caller, `/payouts/${id}`)).body;
}

/** Mass payouts at Calypso that pay this address. */
const massPayoutsPaying = (address: string) =>
  stack.sandbox.inspect
    .massPayouts()
    .filter((m) => m.withdrawals.some((w) => w.depositAddress === address));

describe('identity is the principal, not the session', () => {
  it('the same request from two sessions of one role is one payout and one Calypso payout', async () => {
    const payload = body(3);
    const key = `same-role-${randomUUID()}`;
    const first = await post(session(PAYROLL, 'aws-sdk-js-1764657600000'), payload, key);
    expect(first.status).toBe(202);
    await stack.settle();
    const second = await post(session(PAYROLL, 'aws-sdk-js-1764657601234'), payload, key);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    await stack.advance(10_000); // Calypso creates the withdrawals
    const address = payload.recipients[0]!.address;
    expect(massPayoutsPaying(address)).toHaveLength(1);
    expect(stack.sandbox.inspect.massPayoutCreates(first.body.batches[0].idempotencyKey)).toBe(1);
  });

  it('records who created the payout, with the session as detail only', async () => {
    const res = await post(session(PAYROLL, 'ecs-task-42'), body(2));
    expect(res.status).toBe(202);
    expect(res.body.owner).toBe('team:payroll');
    expect(res.body.createdBy).toEqual({ principal: role(PAYROLL), session: 'ecs-task-42' });
    const events = (await get(role(PAYROLL), `/payouts/${res.body.id}/events`)).body.items;
    expect(events[0]).toMatchObject({
      entity: 'payout',
      to: 'ACCEPTED',
      actor: role(PAYROLL),
      actorSession: 'ecs-task-42',
    });
    await stack.settle();
    await stack.advance(61_000);
    await stack.reconcile();
    const later = (await get(role(PAYROLL), `/payouts/${res.body.id}/events?limit=100`)).body
      .items as { actor: string; cause: string }[];
    const systemActors = new Set(later.filter((e) => e.cause !== 'api').map((e) => e.actor));
    for (const actor of systemActors) expect(actor).toMatch(/^system:(reconciler|webhook)$/);
    expect(later.every((e) => typeof e.actor === 'string' && e.actor.length > 0)).toBe(true);
  });

  it('a teammate using the same key and body gets the same payout (keys are scoped by owner)', async () => {
    const payload = body(2);
    const key = `team-key-${randomUUID()}`;
    const first = await post(session(PAYROLL, 'a'), payload, key);
    const mate = await post(session(PAYROLL_BATCH, 'b'), payload, key);
    expect(first.status).toBe(202);
    expect(mate.status).toBe(200);
    expect(mate.body.id).toBe(first.body.id);
    // Another owner's identical key is another payout.
    const other = await post(session(AFFILIATES, 'c'), payload, key);
    expect(other.status).toBe(202);
    expect(other.body.id).not.toBe(first.body.id);
    expect(other.body.owner).toBe(role(AFFILIATES));
    await stack.settle();
  });
});

describe('owners see only their payouts', () => {
  let id: string;
  let externalId: string;
  beforeAll(async () => {
    const payload = body(2);
    externalId = payload.recipients[0]!.externalId;
    const res = await post(session(PAYROLL, 'owner-session'), payload);
    expect(res.status).toBe(202);
    id = res.body.id as string;
    await stack.settle();
  });

  it('another principal gets the same 404 as for a payout that does not exist', async () => {
    const stranger = session(AFFILIATES, 'curious');
    const missing = await get(stranger, `/payouts/${randomUUID()}`);
    expect(missing.status).toBe(404);
    for (const path of [`/payouts/${id}`, `/payouts/${id}/withdrawals`, `/payouts/${id}/events`]) {
      const res = await get(stranger, path);
      expect(res.status, path).toBe(404);
      expect(res.body.title).toBe(missing.body.title);
      expect(JSON.stringify(res.body)).not.toContain(externalId);
    }
    const found = await get(stranger, `/withdrawals?externalId=${encodeURIComponent(externalId)}`);
    expect(found.status).toBe(200);
    expect(found.body.items).toEqual([]);
    const retry = await stack.request('POST', `/payouts/${id}/retry-failed`, {
      headers: as(stranger, { 'idempotency-key': `retry-${randomUUID()}` }),
    });
    expect(retry.status).toBe(404);
  });

  it('a teammate reads it, from any session', async () => {
    const mate = session(PAYROLL_BATCH, 'nightly');
    expect((await get(mate, `/payouts/${id}`)).status).toBe(200);
    expect((await get(mate, `/payouts/${id}/withdrawals`)).body.items).toHaveLength(2);
    const found = await get(mate, `/withdrawals?externalId=${encodeURIComponent(externalId)}`);
    expect(found.body.items.map((w: { payoutId: string }) => w.payoutId)).toEqual([id]);
  });

  it('an auditor reads every payout but cannot act on one', async () => {
    const auditor = session(AUDITOR, 'quarterly-review');
    expect((await get(auditor, `/payouts/${id}`)).status).toBe(200);
    expect((await get(auditor, `/payouts/${id}/events`)).status).toBe(200);
    const found = await get(auditor, `/withdrawals?externalId=${encodeURIComponent(externalId)}`);
    expect(found.body.items).toHaveLength(1);
    const retry = await stack.request('POST', `/payouts/${id}/retry-failed`, {
      headers: as(auditor, { 'idempotency-key': `retry-${randomUUID()}` }),
    });
    expect(retry.status).toBe(404);
  });
});

describe('failed payments are retried once per payout', () => {
  it('many requests, sessions and keys: one retry payout, each failed payment paid once', async () => {
    const payload = body(3);
    const failing = payload.recipients[1]!.address;
    stack.sandbox.faults.failAddresses([failing]);
    const created = await post(session(PAYROLL, 's1'), payload);
    const original = await runToEnd(created.body.id, role(PAYROLL));
    expect(original.state).toBe('COMPLETED_WITH_FAILURES');
    stack.sandbox.faults.clear();

    const retry = (caller: string, key: string) =>
      stack.request('POST', `/payouts/${original.id}/retry-failed`, {
        headers: as(caller, { 'idempotency-key': key }),
      });
    // Two operators at once with the CLI's default key, one with a key of its own, a teammate.
    const results = await Promise.all([
      retry(session(PAYROLL, 'op-1'), `retry-failed-${original.id}`),
      retry(session(PAYROLL, 'op-2'), `retry-failed-${original.id}`),
      retry(session(PAYROLL, 'op-3'), `my-own-key-${randomUUID()}`),
      retry(session(PAYROLL_BATCH, 'op-4'), `another-${randomUUID()}`),
    ]);
    expect(results.filter((r) => r.status === 202)).toHaveLength(1);
    for (const r of results) expect([200, 202, 409]).toContain(r.status);
    const ids = new Set(results.filter((r) => r.status !== 409).map((r) => r.body.id));
    expect(ids.size).toBe(1);
    const [retryId] = [...ids] as string[];
    await stack.settle();

    const later = await retry(session(PAYROLL, 'op-5'), `yet-another-${randomUUID()}`);
    expect(later.status).toBe(200);
    expect(later.body.id).toBe(retryId);
    expect(later.body.retryOf).toBe(original.id);
    expect(later.body.recipientCount).toBe(1);
    const linked = (await get(role(PAYROLL), `/payouts/${original.id}`)).body;
    expect(linked.retriedBy).toEqual([retryId]);

    const done = await runToEnd(retryId!, role(PAYROLL));
    expect(done.state).toBe('COMPLETED');
    // The failed payment went out in exactly one more mass payout; the others never again.
    expect(massPayoutsPaying(failing)).toHaveLength(2);
    expect(massPayoutsPaying(payload.recipients[0]!.address)).toHaveLength(1);
    const again = await retry(session(PAYROLL, 'op-6'), `k-${randomUUID()}`);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(retryId);
    // Nothing failed in the retry: it has nothing to retry.
    const nothing = await stack.request('POST', `/payouts/${retryId}/retry-failed`, {
      headers: as(role(PAYROLL), { 'idempotency-key': `k-${randomUUID()}` }),
    });
    expect(nothing.status).toBe(422);
  });

  it('a retry payout may itself be retried, once', async () => {
    const payload = body(2);
    const failing = payload.recipients[0]!.address;
    stack.sandbox.faults.failAddresses([failing]);
    const created = await post(role(PAYROLL), payload);
    await runToEnd(created.body.id, role(PAYROLL));
    const first = await stack.request('POST', `/payouts/${created.body.id}/retry-failed`, {
      headers: as(role(PAYROLL)),
    });
    expect(first.status).toBe(202);
    await stack.settle();
    const failedAgain = await runToEnd(first.body.id, role(PAYROLL));
    expect(failedAgain.state).toBe('FAILED');
    stack.sandbox.faults.clear();
    const second = await Promise.all(
      [1, 2, 3].map((i) =>
        stack.request('POST', `/payouts/${first.body.id}/retry-failed`, {
          headers: as(session(PAYROLL, `again-${i}`), { 'idempotency-key': `again-${i}-${n}` }),
        }),
      ),
    );
    expect(second.filter((r) => r.status === 202)).toHaveLength(1);
    await stack.settle();
    const secondId = second.find((r) => r.status === 202)!.body.id as string;
    expect((await runToEnd(secondId, role(PAYROLL))).state).toBe('COMPLETED');
    expect(massPayoutsPaying(failing)).toHaveLength(3);
    expect(
      stack.sandbox.inspect
        .massPayouts()
        .flatMap((m) => m.withdrawals)
        .filter((w) => w.depositAddress === failing && w.state === 'COMPLETED'),
    ).toHaveLength(1);
  });

  it('a payment Calypso does not report FAILED is corrected, audited and not re-paid', async () => {
    const payload = body(2);
    const created = await post(role(PAYROLL), payload);
    const done = await runToEnd(created.body.id, role(PAYROLL));
    expect(done.state).toBe('COMPLETED');
    // Our record says one payment failed (a wrong record), Calypso completed it.
    const { repository } = stack.system();
    const [w] = await repository.listBatchWithdrawals(done.id, 0);
    expect(
      await repository.updateWithdrawal(w!, { state: 'FAILED', updatedAt: w!.updatedAt }, w!.state),
    ).toBe(true);
    await repository.updateBatch(done.id, 0, {
      set: { withdrawalCounts: { COMPLETED: 1, FAILED: 1 }, updatedAt: w!.updatedAt },
    });
    expect((await get(role(PAYROLL), `/payouts/${done.id}`)).body.state).toBe(
      'COMPLETED_WITH_FAILURES',
    );

    const res = await stack.request('POST', `/payouts/${done.id}/retry-failed`, {
      headers: as(session(PAYROLL, 'operator')),
    });
    expect(res.status).toBe(422);
    expect(massPayoutsPaying(w!.address)).toHaveLength(1);
    const after = (await get(role(PAYROLL), `/payouts/${done.id}`)).body;
    expect(after.state).toBe('COMPLETED');
    expect(after.withdrawalCounts).toEqual({ COMPLETED: 2 });
    expect(after.retriedBy).toEqual([]);
    const events = (await get(role(PAYROLL), `/payouts/${done.id}/events?limit=100`)).body.items;
    expect(events).toContainEqual(
      expect.objectContaining({
        entity: 'withdrawal',
        from: 'FAILED',
        to: 'COMPLETED',
        actor: role(PAYROLL),
        actorSession: 'operator',
        detail: expect.stringContaining('not retried'),
      }),
    );
  });
});
