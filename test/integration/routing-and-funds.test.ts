/**
 * How a payout goes to Calypso (single payouts for small sets, mass payouts above) and the funds
 * check before anything is sent, through the whole stack: API, DynamoDB Local, the sandbox.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TERMINAL_PAYOUT_STATES } from '../../shared/domain/payout.js';
import { btcPayoutBody, evmAddress, recipients } from '../support/recipients.js';
import { startTestStack, type TestStack } from '../support/stack.js';

const HOUR = 3_600_000;
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({
    // Every balance at 0 unless a test tops it up.
    sandbox: { balances: { BTC: '0' } },
    env: {
      SINGLE_PAYOUT_MAX: '5',
      FUNDS_WAIT_MAX_MS: String(3 * HOUR),
      FEE_ESTIMATE_PERCENT: '1',
      FEE_ESTIMATE_MARGIN_PERCENT: '0',
      CURRENCY_OVERRIDES: JSON.stringify({
        BTC: { networkFee: '0.0001' },
        USDT: { networkFee: '0.003' },
      }),
    },
  });
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => {
  stack.sandbox.reset();
});

let n = 0;
async function post(body: Record<string, unknown>, key = `key-${randomUUID()}`) {
  const res = await stack.request('POST', '/payouts', {
    body,
    headers: { 'idempotency-key': key },
  });
  await stack.settle();
  return res;
}

function btc(count: number, amount = '0.01') {
  return btcPayoutBody(`r${++n}`, count, amount);
}

const getPayout = async (id: string) => (await stack.request('GET', `/payouts/${id}`)).body;
const withdrawals = async (id: string) =>
  (await stack.request('GET', `/payouts/${id}/withdrawals?limit=100`)).body.items as any[];
const trail = async (id: string) =>
  (await stack.request('GET', `/payouts/${id}/events?limit=200`)).body.items as any[];

async function runToEnd(id: string, ticks = 10) {
  for (let i = 0; i < ticks; i++) {
    await stack.advance(61_000);
    await stack.reconcile();
    const payout = await getPayout(id);
    if (TERMINAL_PAYOUT_STATES.includes(payout.state)) return payout;
  }
  return getPayout(id);
}

/** Creates sent to the sandbox (accepted or not), by operation. */
function creates() {
  const calls = stack.sandbox.inspect.requests();
  return {
    single: calls.filter((r) => r.operation === 'createPayout'),
    mass: calls.filter((r) => r.operation === 'createMassPayout'),
  };
}

describe('routing: single payouts for small sets, mass payouts above', () => {
  it('a 3-recipient payout goes out as 3 single payouts, one key each, and ends COMPLETED', async () => {
    stack.sandbox.setBalance('BTC', '10');
    const body = btc(3);
    const res = await post(body);
    expect(res.status).toBe(202);
    const payout = await runToEnd(res.body.id);
    expect(payout.state).toBe('COMPLETED');
    expect(payout.batches.map((b: any) => [b.kind, b.recipientCount, b.status])).toEqual([
      ['single', 1, 'FINAL'],
      ['single', 1, 'FINAL'],
      ['single', 1, 'FINAL'],
    ]);
    expect(creates().mass).toHaveLength(0);
    const singles = stack.sandbox.inspect.payouts();
    expect(singles).toHaveLength(3);
    expect(new Set(singles.map((p) => p.idempotencyKey))).toEqual(
      new Set(payout.batches.map((b: any) => b.idempotencyKey)),
    );
    expect(singles.map((p) => p.withdrawals[0]!.depositAddress).sort()).toEqual(
      body.recipients.map((r) => r.address).sort(),
    );
    const paid = await withdrawals(res.body.id);
    expect(paid.map((w) => w.state)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    for (const w of paid) {
      expect(w.transactionHash).toBeTruthy();
      expect(w.fee).toMatch(/^\d+(\.\d+)?$/);
    }
    // The caller sees the same payout as ever: withdrawals, events and audit trail.
    const events = await trail(res.body.id);
    expect(events.filter((e) => e.entity === 'withdrawal' && e.to === 'COMPLETED')).toHaveLength(3);
    expect(events.some((e) => e.detail?.includes('single payout'))).toBe(true);
  });

  it('a dropped single-create response still gives exactly one single payout per recipient', async () => {
    stack.sandbox.setBalance('BTC', '10');
    stack.sandbox.faults.dropResponseNext('createPayout');
    const body = btc(2);
    const res = await post(body);
    const payout = await runToEnd(res.body.id);
    expect(payout.state).toBe('COMPLETED');
    const singles = stack.sandbox.inspect.payouts();
    expect(singles).toHaveLength(2);
    for (const r of body.recipients) {
      expect(singles.filter((p) => p.withdrawals[0]?.depositAddress === r.address)).toHaveLength(1);
    }
    // The lost answer was resolved by looking the key up, not by a create under a new key.
    expect(
      new Set(creates().single.map((c) => JSON.parse(c.body).payload.idempotencyKey)).size,
    ).toBe(2);
    expect(stack.sandbox.inspect.requests().some((r) => r.operation === 'getPayout')).toBe(true);
  });

  it('a 6-recipient payout goes out as one mass payout', async () => {
    stack.sandbox.setBalance('BTC', '10');
    const res = await post(btc(6));
    const payout = await runToEnd(res.body.id);
    expect(payout.state).toBe('COMPLETED');
    expect(payout.batches.map((b: any) => [b.kind, b.recipientCount])).toEqual([['mass', 6]]);
    expect(creates().single).toHaveLength(0);
    expect(stack.sandbox.inspect.massPayouts()).toHaveLength(1);
  });

  it('a failed single payout is retried once, as a single payout', async () => {
    stack.sandbox.setBalance('BTC', '10');
    const body = btc(2);
    stack.sandbox.faults.failAddresses([body.recipients[1]!.address]);
    const res = await post(body);
    const payout = await runToEnd(res.body.id);
    expect(payout.state).toBe('COMPLETED_WITH_FAILURES');
    stack.sandbox.faults.clearFailedAddresses();
    const retry = await stack.request('POST', `/payouts/${res.body.id}/retry-failed`, {
      headers: { 'idempotency-key': `retry-${randomUUID()}` },
    });
    expect(retry.status).toBe(202);
    await stack.settle();
    const again = await runToEnd(retry.body.id);
    expect(again.state).toBe('COMPLETED');
    expect(again.batches.map((b: any) => b.kind)).toEqual(['single']);
    const toFailed = stack.sandbox.inspect
      .payouts()
      .filter((p) => p.withdrawals[0]?.depositAddress === body.recipients[1]!.address);
    expect(toFailed.map((p) => p.state).sort()).toEqual(['COMPLETED', 'FAILED']);
    // A single payout is read by getPayout (tracking and the retry's re-read alike), never
    // through the mass payouts' withdrawal listing.
    const singleIds = new Set(stack.sandbox.inspect.payouts().map((p) => p.id));
    const listings = stack.sandbox.inspect
      .requests()
      .filter((r) => r.operation === 'listWithdrawals')
      .map((r) => String((JSON.parse(r.body) as { payload: { dealId?: unknown } }).payload.dealId));
    expect(listings.filter((id) => singleIds.has(id))).toEqual([]);
  });
});

describe('the funds check before sending', () => {
  it('an underfunded batch waits with nothing sent, then goes after a top-up', async () => {
    stack.sandbox.setBalance('BTC', '0.01');
    const res = await post(btc(6, '0.01'));
    expect(res.status).toBe(202);
    let payout = await getPayout(res.body.id);
    expect(payout.state).toBe('AWAITING_FUNDS');
    const [batch] = payout.batches;
    expect(batch.status).toBe('AWAITING_FUNDS');
    // 0.06 + Calypso's 0.5% (seen on the mass payout above) + 6 × 0.0001 network fee.
    expect(batch.fundsShortfall).toEqual([
      { currency: 'BTC', needed: '0.0609', available: '0.01', missing: '0.0509' },
    ]);
    expect(batch.awaitingFundsSince).toBeTruthy();
    expect(creates().mass).toHaveLength(0);
    expect(stack.events.events.some((e) => e.type === 'BatchAwaitingFunds')).toBe(true);

    // Still short at the next looks: still nothing sent, not stuck, one audit entry.
    for (let i = 0; i < 3; i++) {
      await stack.advance(61_000);
      await stack.reconcile();
    }
    payout = await getPayout(res.body.id);
    expect(payout.batches[0].status).toBe('AWAITING_FUNDS');
    expect(payout.stuck).toBe(false);
    expect(creates().mass).toHaveLength(0);
    const waits = (await trail(res.body.id)).filter(
      (e) => e.entity === 'batch' && e.to === 'AWAITING_FUNDS',
    );
    expect(waits).toHaveLength(1);

    stack.sandbox.topUp('BTC', '1');
    payout = await runToEnd(res.body.id);
    expect(payout.state).toBe('COMPLETED');
    expect(payout.batches[0].fundsShortfall).toEqual([]);
    expect(creates().mass).toHaveLength(1);
  });

  it('an underfunded batch ends FAILED after the wait limit, nothing sent, and can be retried', async () => {
    stack.sandbox.setBalance('BTC', '0.001');
    const res = await post(btc(2, '0.01'));
    expect((await getPayout(res.body.id)).state).toBe('AWAITING_FUNDS');
    for (let waited = 0; waited <= 3 * HOUR + 120_000; waited += 30 * 60_000) {
      await stack.advance(30 * 60_000);
      await stack.reconcile();
    }
    const payout = await getPayout(res.body.id);
    expect(payout.state).toBe('FAILED');
    expect(payout.batches.map((b: any) => b.status)).toEqual(['UNFUNDED', 'UNFUNDED']);
    expect(payout.batches[0].lastError).toMatch(/funds did not come within 3 h/);
    const failed = await withdrawals(res.body.id);
    expect(failed.map((w) => w.state)).toEqual(['FAILED', 'FAILED']);
    expect(failed[0].errors[0].status).toBe('NOT_ENOUGH_FUNDS');
    expect(creates().single).toHaveLength(0);
    expect(stack.sandbox.inspect.payouts()).toHaveLength(0);

    // Once funded, its payments are retried like any failed ones.
    stack.sandbox.topUp('BTC', '1');
    const retry = await stack.request('POST', `/payouts/${res.body.id}/retry-failed`, {
      headers: { 'idempotency-key': `retry-${randomUUID()}` },
    });
    expect(retry.status).toBe(202);
    await stack.settle();
    expect((await runToEnd(retry.body.id)).state).toBe('COMPLETED');
  });

  it('an ERC-20 payout without ETH for gas waits, then goes once ETH arrives', async () => {
    stack.sandbox.setBalance('USDT', '1000');
    stack.sandbox.setBalance('ETH', '0');
    const prefix = `usdt${++n}`;
    const res = await post({
      currency: 'USDT',
      name: prefix,
      recipients: recipients(
        2,
        (i) => evmAddress(`${prefix}-${i}`),
        () => '10',
      ),
    });
    let payout = await getPayout(res.body.id);
    expect(payout.state).toBe('AWAITING_FUNDS');
    expect(payout.batches[0].fundsShortfall).toEqual([
      { currency: 'ETH', needed: '0.003', available: '0', missing: '0.003' },
    ]);
    expect(creates().single).toHaveLength(0);
    stack.sandbox.topUp('ETH', '0.01');
    payout = await runToEnd(res.body.id);
    expect(payout.state).toBe('COMPLETED');
    expect(creates().single).toHaveLength(2);
  });

  it('a waiting payout can be cancelled: nothing was sent', async () => {
    stack.sandbox.setBalance('BTC', '0');
    const res = await post(btc(2));
    expect((await getPayout(res.body.id)).state).toBe('AWAITING_FUNDS');
    await stack.advance(61_000);
    await stack.reconcile();
    const cancel = await stack.request('POST', `/payouts/${res.body.id}/cancel`, {
      body: { reason: 'not this month' },
    });
    expect(cancel.status).toBe(200);
    expect(cancel.body.state).toBe('CANCELED');
    stack.sandbox.topUp('BTC', '1');
    await runToEnd(res.body.id, 3);
    expect(creates().single).toHaveLength(0);
  });

  it('two batches checked against one balance do not count the same funds twice', async () => {
    stack.sandbox.setBalance('BTC', '0.015');
    // Two single payouts of 0.01: the balance covers one of them, not both.
    const res = await post(btc(2, '0.01'));
    const payout = await getPayout(res.body.id);
    expect(payout.batches.map((b: any) => b.status).sort()).toEqual([
      'AWAITING_FUNDS',
      'SUBMITTED',
    ]);
    expect(creates().single).toHaveLength(1);
  });

  it('a scheduled payout whose date passed while it waited goes at once, without the date', async () => {
    stack.sandbox.setBalance('BTC', '0');
    const executionDate = new Date(stack.sandbox.now() + 30 * 60_000).toISOString();
    const res = await post({ ...btc(6), executionDate });
    expect(res.status).toBe(202);
    expect((await getPayout(res.body.id)).state).toBe('AWAITING_FUNDS');
    await stack.advance(45 * 60_000);
    stack.sandbox.topUp('BTC', '1');
    await stack.reconcile();
    const [mass] = stack.sandbox.inspect.massPayouts();
    expect(mass?.executionDate).toBeNull();
    // The sandbox, like a strict Calypso, refuses a date in the past: none was sent.
    expect(
      creates().mass.every((c) => JSON.parse(c.body).payload.executionDate === undefined),
    ).toBe(true);
    const submitted = (await trail(res.body.id)).find(
      (e) => e.entity === 'batch' && e.to === 'SUBMITTED',
    );
    expect(submitted.detail).toContain(`its executionDate ${executionDate} had passed`);
    expect((await runToEnd(res.body.id)).state).toBe('COMPLETED');
  });

  it('a scheduled payout sent in time carries its date', async () => {
    stack.sandbox.setBalance('BTC', '1');
    const executionDate = new Date(stack.sandbox.now() + 30 * 60_000).toISOString();
    const res = await post({ ...btc(6), executionDate });
    expect((await getPayout(res.body.id)).batches[0].status).toBe('SUBMITTED');
    const [mass] = stack.sandbox.inspect.massPayouts();
    expect(mass?.executionDate).toBe(Date.parse(executionDate));
  });

  it('the dry run shows the same estimate, per currency and fee coin', async () => {
    stack.sandbox.setBalance('USDT', '25');
    stack.sandbox.setBalance('ETH', '1');
    const prefix = `dry${++n}`;
    const res = await stack.request('POST', '/payouts?dryRun=true', {
      body: {
        currency: 'USDT',
        name: prefix,
        recipients: recipients(
          2,
          (i) => evmAddress(`${prefix}-${i}`),
          () => '12.5',
        ),
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.batches.map((b: any) => b.kind)).toEqual(['single', 'single']);
    // Calypso's 0.5% on the USDT single payouts above, not the 1% default.
    expect(res.body.funds).toEqual({
      feePercentage: '0.5',
      feeSource: 'observed',
      marginPercent: '0',
      coins: [
        { currency: 'USDT', needed: '25.125', available: '25', covers: false },
        { currency: 'ETH', needed: '0.006', available: '1', covers: true },
      ],
    });
    expect(res.body.balance).toEqual({ available: '25', covers: false });
  });
});
