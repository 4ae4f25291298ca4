/**
 * Treasury controls through the local API, DynamoDB Local and the sandbox: four-eyes approval,
 * rejection and expiry, per-recipient and daily limits under concurrency, cancel, and the
 * emergency pause. Nothing is ever sent to Calypso that the controls hold.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TERMINAL_PAYOUT_STATES } from '../../shared/domain/payout.js';
import { expireApproval } from '../../shared/payouts/controls.js';
import { createDeps } from '../../shared/system.js';
import { btcAddress } from '../support/recipients.js';
import { as, role, session } from '../support/callers.js';
import { startTestStack, type TestStack } from '../support/stack.js';

const PAYROLL = 'payroll-svc';
const LIMITED = 'limited-svc';
const SOLO = 'solo-svc';
const TREASURY_1 = 'treasury-1';
const TREASURY_2 = 'treasury-2';
const OPS = 'treasury-ops';

const POLICY = {
  approvalTtlHours: 1,
  operators: [role(OPS)],
  rules: [
    // Payroll's BTC above 0.05 needs two treasury approvals; payroll itself is listed too, to
    // show that being an approver never lets the creator approve its own payout.
    {
      owner: 'payroll',
      currency: 'BTC',
      approvalAbove: '0.05',
      approvalsRequired: 2,
      approvers: ['treasury', role(PAYROLL)],
    },
    { owner: role(SOLO), currency: '*', approvalAbove: '0', approvers: ['treasury'] },
    { owner: role(LIMITED), currency: 'BTC', maxPerRecipient: '0.2', dailyLimit: '1' },
  ],
};

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({
    env: {
      TEAMS: JSON.stringify({
        payroll: [role(PAYROLL)],
        treasury: [role(TREASURY_1), role(TREASURY_2)],
      }),
      PAYOUT_POLICY: JSON.stringify(POLICY),
    },
  });
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => {
  stack.sandbox.faults.clear();
  stack.setAutoSubmit(true);
});

let n = 0;
function body(amounts: string[], prefix = `ctl-${++n}`) {
  return {
    currency: 'BTC',
    name: prefix,
    recipients: amounts.map((amount, i) => ({
      address: btcAddress(`${prefix}-${i}`),
      amount,
      externalId: `${prefix}-${i}`,
    })),
  };
}

const post = (caller: string, payload: unknown, key = `key-${randomUUID()}`) =>
  stack.request('POST', '/payouts', {
    body: payload,
    headers: as(caller, { 'idempotency-key': key }),
  });
const act = (caller: string, path: string, payload?: unknown) =>
  stack.request('POST', path, {
    ...(payload !== undefined ? { body: payload } : {}),
    headers: as(caller),
  });
const get = (caller: string, path: string) => stack.request('GET', path, { headers: as(caller) });

/** Mass payouts at Calypso that pay this address (created at once, withdrawals or not). */
const createsFor = (payout: { batches: { idempotencyKey: string }[] }) =>
  payout.batches.reduce(
    (sum, b) => sum + stack.sandbox.inspect.massPayoutCreates(b.idempotencyKey),
    0,
  );

async function runToEnd(id: string, caller: string) {
  for (let i = 0; i < 8; i++) {
    await stack.advance(61_000);
    await stack.reconcile();
    const payout = (await get(caller, `/payouts/${id}`)).body;
    if (TERMINAL_PAYOUT_STATES.includes(payout.state)) return payout;
  }
  return (await get(caller, `/payouts/${id}`)).body;
}

describe('four-eyes approval', () => {
  it('holds the payout, refuses its creator from any session, and needs two distinct approvers', async () => {
    const created = await post(session(PAYROLL, 'run-1'), body(['0.04', '0.03']));
    expect(created.status).toBe(202);
    expect(created.body.state).toBe('PENDING_APPROVAL');
    expect(created.body.approval).toMatchObject({ required: 2, approvals: [] });
    const id = created.body.id as string;
    await stack.settle();
    await stack.reconcile();
    expect(createsFor(created.body)).toBe(0);
    expect(
      stack.events.events.filter((e) => e.type === 'PayoutApprovalRequested' && e.payoutId === id),
    ).toHaveLength(1);

    // The creator, through a new session, is refused; so is someone who is no approver.
    const own = await act(session(PAYROLL, 'another-session'), `/payouts/${id}/approve`);
    expect(own.status).toBe(403);
    expect(own.body.title).toMatch(/own payout/);
    expect((await act(role(LIMITED), `/payouts/${id}/approve`)).status).toBe(404);

    // It is waiting for treasury, not for its creator.
    const pendingFor = async (caller: string) =>
      ((await get(caller, '/approvals')).body.items as { id: string }[]).map((p) => p.id);
    expect(await pendingFor(session(TREASURY_1, 'desk'))).toContain(id);
    expect(await pendingFor(role(PAYROLL))).not.toContain(id);

    const first = await act(session(TREASURY_1, 'desk'), `/payouts/${id}/approve`);
    expect(first.status).toBe(200);
    expect(first.body.state).toBe('PENDING_APPROVAL');
    expect((await act(session(TREASURY_1, 'other-desk'), `/payouts/${id}/approve`)).status).toBe(
      409,
    );
    await stack.settle();
    await stack.reconcile();
    expect(createsFor(created.body)).toBe(0);

    const second = await act(session(TREASURY_2, 'desk'), `/payouts/${id}/approve`);
    expect(second.status).toBe(200);
    expect(second.body.state).toBe('ACCEPTED');
    expect(second.body.approval.approvals.map((a: { principal: string }) => a.principal)).toEqual([
      role(TREASURY_1),
      role(TREASURY_2),
    ]);
    const done = await runToEnd(id, role(PAYROLL));
    expect(done.state).toBe('COMPLETED');
    expect(createsFor(created.body)).toBe(1);
    const events = (await get(role(PAYROLL), `/payouts/${id}/events?limit=100`)).body.items;
    // Both approvals, each with its actor (at one instant of the test clock, in either order).
    const approvals = events
      .filter((e: { field: string }) => e.field === 'approval')
      .sort((a: { actor: string }, b: { actor: string }) => a.actor.localeCompare(b.actor));
    expect(approvals).toEqual([
      expect.objectContaining({ actor: role(TREASURY_1), actorSession: 'desk' }),
      expect.objectContaining({ actor: role(TREASURY_2), actorSession: 'desk' }),
    ]);
  });

  it('a rejection cancels the payout with its reason, and nothing is sent', async () => {
    const created = await post(role(SOLO), body(['0.01']));
    expect(created.body.state).toBe('PENDING_APPROVAL');
    const id = created.body.id as string;
    expect((await act(role(TREASURY_1), `/payouts/${id}/reject`, {})).status).toBe(422);
    const rejected = await act(role(TREASURY_1), `/payouts/${id}/reject`, {
      reason: 'unknown recipient',
    });
    expect(rejected.status).toBe(200);
    expect(rejected.body.state).toBe('CANCELED');
    expect(rejected.body.cancellation).toMatchObject({ reason: 'rejected: unknown recipient' });
    expect((await act(role(TREASURY_2), `/payouts/${id}/approve`)).status).toBe(409);
    await stack.advance(2 * 3_600_000);
    await stack.reconcile();
    expect(createsFor(created.body)).toBe(0);
  });

  it('an approval that does not come in time ends the payout CANCELED (approval-expired)', async () => {
    const created = await post(role(SOLO), body(['0.02']));
    const id = created.body.id as string;
    await stack.advance(30 * 60_000);
    await stack.reconcile();
    expect((await get(role(SOLO), `/payouts/${id}`)).body.state).toBe('PENDING_APPROVAL');
    await stack.advance(31 * 60_000);
    await stack.reconcile();
    const expired = (await get(role(SOLO), `/payouts/${id}`)).body;
    expect(expired.state).toBe('CANCELED');
    expect(expired.cancellation).toMatchObject({
      reason: 'approval-expired',
      by: 'system:reconciler',
    });
    expect((await act(role(TREASURY_1), `/payouts/${id}/approve`)).status).toBe(409);
    await stack.reconcile();
    expect(createsFor(created.body)).toBe(0);
  });
});

describe('approval and expiry racing', () => {
  it('an expiry working from a stale read never cancels a payout approved in time', async () => {
    stack.setAutoSubmit(false);
    const created = await post(role(SOLO), body(['0.03']));
    const id = created.body.id as string;
    // The reconciler read the payout while it still waited for approval...
    const stale = (await stack.system().repository.getPayout(id))!;
    expect(stale.hold).toBe('approval');
    // ...the approval came in time...
    expect((await act(role(TREASURY_2), `/payouts/${id}/approve`)).status).toBe(200);
    // ...and the reconciler gets round to it after the deadline.
    await stack.advance(61 * 60_000);
    expect(await expireApproval(createDeps(stack.system()), stale)).toBe(false);
    const view = (await get(role(SOLO), `/payouts/${id}`)).body;
    expect(view.state).toBe('ACCEPTED');
    expect(view.cancellation).toBeNull();
    stack.setAutoSubmit(true);
    expect((await runToEnd(id, role(SOLO))).state).toBe('COMPLETED');
  });
});

describe('limits', () => {
  it('refuses a payment above the per-recipient maximum, naming each recipient', async () => {
    const res = await post(role(LIMITED), body(['0.1', '0.25', '0.2', '0.3']));
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([
      { path: '$.recipients[1].amount', message: '0.25 is above the per-recipient maximum of 0.2' },
      { path: '$.recipients[3].amount', message: '0.3 is above the per-recipient maximum of 0.2' },
    ]);
  });

  it('20 concurrent payouts against a daily limit that fits 10 accept exactly 10', async () => {
    stack.setAutoSubmit(false);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        post(session(LIMITED, `worker-${i}`), body(['0.1'], `limit-${i}`)),
      ),
    );
    const accepted = results.filter((r) => r.status === 202);
    const refused = results.filter((r) => r.status === 422);
    expect(accepted).toHaveLength(10);
    expect(refused).toHaveLength(10);
    for (const r of refused) {
      expect(r.body.remaining).toBe('0.0');
      expect(r.body.detail).toMatch(/0\.0 BTC of the 1 allowed in 24 hours remain/);
    }
    // The same request again is still its payout (200), not a new charge on the allowance.
    // A cancelled payout gives its amount back.
    const cancelled = await act(role(LIMITED), `/payouts/${accepted[0]!.body.id}/cancel`, {
      reason: 'duplicate run',
    });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('CANCELED');
    expect((await post(role(LIMITED), body(['0.1']))).status).toBe(202);
    expect((await post(role(LIMITED), body(['0.1']))).status).toBe(422);
    // A payout that ends FAILED, nothing paid, gives its amount back too.
    stack.setAutoSubmit(true);
    await stack.advance(60_000);
    const failing = body(['0.1'], 'limit-failing');
    stack.sandbox.faults.failAddresses([failing.recipients[0]!.address]);
    const doomed = accepted[1]!.body.id as string;
    expect((await act(role(LIMITED), `/payouts/${doomed}/cancel`)).status).toBe(200);
    const failed = await post(role(LIMITED), failing);
    expect(failed.status).toBe(202);
    expect((await runToEnd(failed.body.id, role(LIMITED))).state).toBe('FAILED');
    expect((await post(role(LIMITED), body(['0.1']))).status).toBe(202);
    expect((await post(role(LIMITED), body(['0.1']))).status).toBe(422);
    // A day later the allowance is back.
    await stack.advance(24 * 3_600_000 + 1_000);
    expect((await post(role(LIMITED), body(['0.1']))).status).toBe(202);
  });
});

describe('cancel', () => {
  it('before submission: CANCELED, nothing ever sent; after submission: 409 saying why', async () => {
    stack.setAutoSubmit(false);
    const early = await post(role(SOLO + '-x'), body(['0.01']));
    expect(early.status).toBe(202);
    const cancelled = await act(role(SOLO + '-x'), `/payouts/${early.body.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('CANCELED');
    await stack.reconcile();
    await stack.advance(61_000);
    await stack.reconcile();
    expect(createsFor(early.body)).toBe(0);
    expect((await act(role(SOLO + '-x'), `/payouts/${early.body.id}/cancel`)).status).toBe(409);

    stack.setAutoSubmit(true);
    const late = await post(role(SOLO + '-x'), body(['0.01']));
    await stack.settle();
    expect(createsFor(late.body)).toBe(1);
    const refused = await act(role(SOLO + '-x'), `/payouts/${late.body.id}/cancel`);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/at Calypso/);
    // The refused cancel changed nothing: the payout completes.
    expect((await runToEnd(late.body.id, role(SOLO + '-x'))).state).toBe('COMPLETED');
    // Nobody else may cancel it.
    const other = await post(role(SOLO + '-x'), body(['0.01']));
    expect((await act(role(PAYROLL), `/payouts/${other.body.id}/cancel`)).status).toBe(404);
  });
});

describe('the emergency pause', () => {
  it('holds new submissions while a payout at Calypso completes; resume sends each once', async () => {
    const caller = role('pause-test-svc');
    const before = await post(caller, body(['0.01', '0.02']));
    await stack.settle();
    expect(createsFor(before.body)).toBe(1);

    expect((await act(caller, '/admin/pause', { reason: 'incident' })).status).toBe(403);
    expect((await act(role(OPS), '/admin/pause', {})).status).toBe(422);
    const paused = await act(session(OPS, 'oncall'), '/admin/pause', { reason: 'incident 42' });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ paused: true, by: role(OPS), reason: 'incident 42' });

    const queued = await Promise.all([1, 2].map(() => post(caller, body(['0.01']))));
    for (const q of queued) expect(q.status).toBe(202);
    await stack.settle();
    const view = (await get(caller, `/payouts/${queued[0]!.body.id}`)).body;
    expect(view.submissionPaused).toMatchObject({ reason: 'incident 42' });
    expect(view.state).toBe('ACCEPTED');

    // What was already at Calypso completes; nothing new goes out.
    const done = await runToEnd(before.body.id, caller);
    expect(done.state).toBe('COMPLETED');
    for (const q of queued) expect(createsFor(q.body)).toBe(0);

    const resumed = await act(role(OPS), '/admin/resume');
    expect(resumed.status).toBe(200);
    expect(resumed.body.paused).toBe(false);
    expect((await get(caller, '/admin/pause')).body.paused).toBe(false);
    for (const q of queued) {
      expect((await runToEnd(q.body.id, caller)).state).toBe('COMPLETED');
      expect(createsFor(q.body)).toBe(1);
      for (const b of q.body.batches)
        expect(stack.sandbox.inspect.massPayoutCreateAttempts(b.idempotencyKey)).toBe(1);
    }
    expect(stack.events.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['SubmissionPaused', 'SubmissionResumed']),
    );
  });
});
