/**
 * The invariant check itself is under test: it passes on a clean run and reports each kind of
 * damage a fault could do, so a fault scenario that passes it has really kept its promises.
 */
import { DeleteItemCommand, PutItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPayout } from '../../shared/payouts/create-payout.js';
import type { CalypsoApi } from '../../shared/payouts/ports.js';
import { createDeps } from '../../shared/system.js';
import { startFaultStack, type FaultStack } from './support/fault-stack.js';
import { checkInvariants, formatViolations } from './support/invariants.js';
import { btcPayout } from './support/payouts.js';

const check = (stack: FaultStack) =>
  checkInvariants({
    db: stack.db,
    tableName: stack.tableName,
    sandbox: stack.sandbox,
    ledger: stack.ledger,
  });

/** A key that is not the batch's: the one mistake the system must never make. */
function anotherKey(idempotencyKey: string): string {
  return `ffffffff${idempotencyKey.slice(8)}`;
}

describe('a deliberate double submission', () => {
  let stack: FaultStack;
  beforeAll(async () => {
    stack = await startFaultStack({ env: { CURRENCY_OVERRIDES: '{"BTC":{"massPayoutLimit":3}}' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('is reported: the recipients were paid in two mass payouts, one of them not ours', async () => {
    // Every create also goes out a second time under a new key, for the same recipients.
    stack.wrapCalypso((client): CalypsoApi => ({
      getMassPayout: (by) => client.getMassPayout(by),
      listWithdrawals: (filter, options) => client.listWithdrawals(filter, options),
      getAccount: () => client.getAccount(),
      createPayout: (input) => client.createPayout(input),
      getPayout: (by) => client.getPayout(by),
      createMassPayout: async (input) => {
        const created = await client.createMassPayout(input);
        await client.createMassPayout({
          ...input,
          idempotencyKey: anotherKey(input.idempotencyKey),
        });
        return created;
      },
    }));
    const body = btcPayout('double', 5);
    const res = await stack.post(body);
    expect(res.status).toBe(202);
    await stack.drive();
    const report = await check(stack);
    const rules = new Set(report.violations.map((v) => v.rule));
    // Each batch's own key was still created once: only the payment check sees the damage.
    expect(rules.has('create-once')).toBe(false);
    expect(rules).toContain('paid-twice');
    expect(rules).toContain('unknown-mass-payout');
    const paidTwice = report.violations.filter((v) => v.rule === 'paid-twice');
    expect(paidTwice.map((v) => v.payoutId)).toEqual(body.recipients.map(() => res.body.id));
    for (const r of body.recipients) {
      expect(paidTwice.some((v) => v.detail.includes(r.address))).toBe(true);
    }
    expect(report.violations.filter((v) => v.rule === 'unknown-mass-payout')).toHaveLength(2);
  });
});

describe('a second retry of the same failed payment', () => {
  let stack: FaultStack;
  beforeAll(async () => {
    stack = await startFaultStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('is reported: retried twice, and the payment paid more often than asked', async () => {
    const body = btcPayout('retried-twice', 3);
    const failing = body.recipients[1]!;
    stack.sandbox.faults.failAddresses([failing.address]);
    const res = await stack.post(body);
    await stack.drive();
    stack.sandbox.faults.clear();
    const retry = await stack.request('POST', `/payouts/${res.body.id}/retry-failed`, {
      headers: { 'idempotency-key': 'first-retry' },
    });
    expect(retry.status).toBe(202);
    await stack.drive();
    await stack.expectInvariants();

    // Around the once-per-payout claim: another retry payout of the same payment.
    const bypass = await createPayout(createDeps(stack.system()), {
      caller: { principal: 'local:local' },
      idempotencyKey: 'a-second-retry',
      retryOf: res.body.id,
      body: { currency: 'BTC', name: 'bypass', recipients: [failing] },
    });
    expect('created' in bypass && bypass.created).toBe(true);
    await stack.settle();
    await stack.drive();
    const report = await check(stack);
    const rules = report.violations.map((v) => v.rule);
    expect(rules).toContain('retry-once');
    expect(report.violations).toContainEqual(
      expect.objectContaining({
        rule: 'retry-paid-twice',
        payoutId: res.body.id,
        detail: expect.stringContaining('paid 2 times'),
      }),
    );
  });
});

describe('a clean run and damaged records', () => {
  let stack: FaultStack;
  beforeAll(async () => {
    stack = await startFaultStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('finds nothing wrong with a payout that went through undisturbed', async () => {
    const res = await stack.post(btcPayout('clean', 4));
    expect(res.status).toBe(202);
    await stack.expectInvariants();
    const report = await check(stack);
    expect(report.payouts).toEqual([
      expect.objectContaining({ id: res.body.id, state: 'COMPLETED', withdrawals: 4 }),
    ]);
  });

  it('reports a lost withdrawal, a changed amount and a request that was not stored as asked', async () => {
    const res = await stack.post(btcPayout('damaged', 3));
    await stack.drive();
    expect(formatViolations((await check(stack)).violations)).toEqual([]);
    const key = { PK: { S: `PAYOUT#${res.body.id}` }, SK: { S: 'WD#0000#00001' } };
    const original = (
      await stack.db.send(new GetItemCommand({ TableName: stack.tableName, Key: key }))
    ).Item!;

    await stack.db.send(new DeleteItemCommand({ TableName: stack.tableName, Key: key }));
    let rules = (await check(stack)).violations.map((v) => v.rule);
    expect(rules).toEqual(
      expect.arrayContaining(['stored-total', 'batch-total', 'recipients-once', 'request-total']),
    );

    await stack.db.send(
      new PutItemCommand({
        TableName: stack.tableName,
        Item: { ...original, amount: { S: '0.00001015' } },
      }),
    );
    rules = (await check(stack)).violations.map((v) => v.rule);
    expect(rules).toEqual(
      expect.arrayContaining(['stored-total', 'request-total', 'calypso-content']),
    );

    await stack.db.send(new PutItemCommand({ TableName: stack.tableName, Item: original }));
    expect(formatViolations((await check(stack)).violations)).toEqual([]);
  });

  it('reports a payout that is neither final nor flagged stuck, and one the reconciler has lost sight of', async () => {
    stack.setAutoSubmit(false);
    const res = await stack.post(btcPayout('unfinished', 2));
    stack.setAutoSubmit(true);
    let report = await check(stack);
    expect(report.violations).toEqual([
      expect.objectContaining({ rule: 'not-final', payoutId: res.body.id }),
    ]);

    // Out of the open-batch index, the batch would never be submitted: the check says so.
    const key = { PK: { S: `PAYOUT#${res.body.id}` }, SK: { S: 'BATCH#0000' } };
    const batch = (
      await stack.db.send(new GetItemCommand({ TableName: stack.tableName, Key: key }))
    ).Item!;
    const { GSI2PK: _pk, GSI2SK: _sk, ...forgotten } = batch;
    await stack.db.send(new PutItemCommand({ TableName: stack.tableName, Item: forgotten }));
    report = await check(stack);
    expect(report.violations.map((v) => v.rule).sort()).toEqual(['not-final', 'open-index']);

    await stack.db.send(new PutItemCommand({ TableName: stack.tableName, Item: batch }));
    await stack.expectInvariants();
  });
});
