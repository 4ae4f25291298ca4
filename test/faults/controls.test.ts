/**
 * The controls under faults, with a payout policy on: approvals that crash half-way, cancels
 * racing submission, concurrent payouts against a daily limit, the pause racing submitters. The
 * invariant check (nothing sent without its approvals, nothing cancelled sent, no daily limit
 * exceeded, and every other invariant) runs after each scenario.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitPayout } from '../../shared/payouts/submit.js';
import { trackDeps } from '../../shared/system.js';
import { startFaultStack, type FaultStack } from './support/fault-stack.js';
import { checkInvariants, formatViolations } from './support/invariants.js';
import { btcPayout } from './support/payouts.js';
import { role } from '../support/callers.js';

const APPROVED = role('approved-svc');
const LIMITED = role('limited-svc');
const FREE = role('free-svc');
const APPROVER = role('treasury-1');
const OPS = role('ops');

let stack: FaultStack;
beforeAll(async () => {
  stack = await startFaultStack({
    env: {
      PAYOUT_POLICY: JSON.stringify({
        approvalTtlHours: 2,
        operators: [OPS],
        rules: [
          { owner: APPROVED, currency: '*', approvalAbove: '0', approvers: [APPROVER] },
          { owner: LIMITED, currency: 'BTC', dailyLimit: '0.00005' },
        ],
      }),
    },
  });
});
afterAll(async () => {
  await stack?.close();
});

const act = (caller: string, path: string, body?: unknown) =>
  stack.request('POST', path, {
    ...(body !== undefined ? { body } : {}),
    headers: { 'x-caller-id': caller },
  });

describe('controls under faults', () => {
  it('a payout cancelled while it awaits approval: its batches closed, nothing sent', async () => {
    const res = await stack.post(btcPayout('cancel-held', 2), { caller: APPROVED });
    expect(res.status).toBe(202);
    const cancel = await act(APPROVED, `/payouts/${res.body.id}/cancel`, { reason: 'not now' });
    expect(cancel.status).toBe(200);
    expect(cancel.body.batches.map((b: { status: string }) => b.status)).toEqual(['CANCELED']);
    // A cancelled batch has nothing left to look at: out of the open index, and that is right.
    await stack.expectInvariants();
    expect(stack.sandbox.inspect.massPayoutCreates(res.body.batches[0].idempotencyKey)).toBe(0);
  });

  it('an approval whose worker dies before releasing the batches: sent once, after approval only', async () => {
    const res = await stack.post(btcPayout('approval-crash', 3), { caller: APPROVED });
    expect(res.status).toBe(202);
    await stack.drive({ maxTicks: 2 });
    expect(stack.sandbox.inspect.massPayoutCreates(res.body.batches[0].idempotencyKey)).toBe(0);

    // The approver's function records the approval, then dies before releasing the batches.
    const { repository } = stack;
    const dying = Object.create(repository) as typeof repository;
    dying.updateBatch = async (payoutId, index, spec, condition) => {
      if (condition?.status.includes('HELD')) throw new Error('the function died here');
      return repository.updateBatch(payoutId, index, spec, condition);
    };
    stack.useRepository(dying);
    const approved = await act(APPROVER, `/payouts/${res.body.id}/approve`);
    stack.useRepository();
    expect(approved.status).toBe(500);
    // The reconciler releases the approved payout at the latest at the approval deadline.
    await stack.drive({ maxTicks: 4, stepMs: 60 * 60_000, untilFinal: true });
    const view = (
      await stack.request('GET', `/payouts/${res.body.id}`, {
        headers: { 'x-caller-id': APPROVED },
      })
    ).body;
    expect(view.state).toBe('COMPLETED');
    expect(stack.sandbox.inspect.massPayoutCreates(res.body.batches[0].idempotencyKey)).toBe(1);
    await stack.expectInvariants();
  });

  it('cancels racing submitters: each payout either cancelled with nothing sent, or sent and not cancelled', async () => {
    stack.setAutoSubmit(false);
    const payouts = [];
    for (let i = 0; i < 8; i++) {
      const res = await stack.post(btcPayout(`cancel-race-${i}`, 2), { caller: FREE });
      expect(res.status).toBe(202);
      payouts.push(res.body);
    }
    stack.setAutoSubmit(true);
    const outcomes = await Promise.all(
      payouts.map(async (p) => {
        const [cancel] = await Promise.all([
          act(FREE, `/payouts/${p.id}/cancel`, { reason: 'race' }),
          submitPayout(trackDeps(stack.system()), p.id),
          stack.reconcile(),
        ]);
        return { id: p.id, key: p.batches[0].idempotencyKey, cancel: cancel.status };
      }),
    );
    for (const o of outcomes) {
      expect([200, 409]).toContain(o.cancel);
      expect(stack.sandbox.inspect.massPayoutCreates(o.key)).toBe(o.cancel === 200 ? 0 : 1);
    }
    await stack.expectInvariants();
  });

  it('payouts from many sessions against a daily limit: never above it, whatever the interleaving', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        stack.post(btcPayout(`limit-race-${i}`, 1), {
          caller: `arn:aws:sts::111122223333:assumed-role/limited-svc/s-${i}`,
          key: `limit-race-${i}-${randomUUID()}`,
        }),
      ),
    );
    // Each is 0.00001 BTC against a limit of 0.00005: exactly five fit.
    expect(results.filter((r) => r.status === 202)).toHaveLength(5);
    expect(results.filter((r) => r.status === 422)).toHaveLength(7);
    await stack.expectInvariants();
  });

  it('reports a payout sent without its approvals (the check can fail)', async () => {
    const res = await stack.post(btcPayout('sent-unapproved', 1), { caller: APPROVED });
    expect(res.status).toBe(202);
    // Around the fence: submit the held batch's payout as if nothing held it.
    const { repository } = stack;
    await repository.updateBatch(
      res.body.id,
      0,
      { set: { status: 'PENDING', updatedAt: new Date().toISOString() } },
      { status: ['HELD'] },
    );
    const bypass = Object.create(repository) as typeof repository;
    bypass.beginSubmission = async (payoutId, index, now, leaseMs) => {
      await stack.db.send(
        new (await import('@aws-sdk/client-dynamodb')).UpdateItemCommand({
          TableName: stack.tableName,
          Key: { PK: { S: `PAYOUT#${payoutId}` }, SK: { S: 'PAYOUT' } },
          UpdateExpression: 'REMOVE #hold',
          ExpressionAttributeNames: { '#hold': 'hold' },
        }),
      );
      return repository.beginSubmission(payoutId, index, now, leaseMs);
    };
    await submitPayout({ ...trackDeps(stack.system()), repository: bypass }, res.body.id);
    const report = await checkInvariants({
      db: stack.db,
      tableName: stack.tableName,
      sandbox: stack.sandbox,
      ledger: stack.ledger,
    });
    expect(formatViolations(report.violations.filter((v) => v.rule === 'sent-unapproved'))).toEqual(
      [expect.stringMatching(/1 batch\(es\) at Calypso with 0 of 1 approvals/)],
    );
  });
});
