/**
 * Calypso sandbox: what Calypso's own processing does that the happy path never shows. Replaced
 * payments, payouts cancelled or held for confirmation in Calypso's UI, payments over a limit,
 * token payments without their network's fee coin; each over HTTP as a client sees it, with the
 * webhooks Calypso would send, and through the admin API.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CalypsoSandbox } from '../../infra/local/calypso-sandbox/index.js';
import { SandboxUsageError } from '../../infra/local/calypso-sandbox/index.js';
import {
  allWithdrawals,
  call,
  createMassPayout,
  recipients,
  startTestSandbox,
  TIMINGS,
  uuid,
  type Json,
} from '../support/sandbox-helpers.js';

let sandbox: CalypsoSandbox;

beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(() => sandbox.close());
beforeEach(() => sandbox.reset());
afterEach(() => expect(sandbox.inspect.internalErrors()).toEqual([]));

const SENT_AT = TIMINGS.withdrawalsCreatedAfterMs + TIMINGS.inProgressAfterMs;

async function create(target: CalypsoSandbox, key: number, count: number, currency = 'USDT') {
  const answer = await createMassPayout(target, uuid(key), recipients(count), { currency });
  expect(answer.status).toBe(200);
  return answer.json.id as string;
}
const stateOf = async (target: CalypsoSandbox, id: string) =>
  (await call(target, '/payout/mass', { id })).json.state as string;
const eventsOf = (target: CalypsoSandbox, type: string) =>
  target.inspect.events().filter((e) => e.type === type);

describe('replaced payments', () => {
  it('end REPLACED while a replacement (new id, same address, amount, externalId) goes on to COMPLETED, debited once', async () => {
    sandbox.faults.replaceNext({ address: '0xaddr2' });
    const id = await create(sandbox, 1, 3);
    await sandbox.advance(SENT_AT + TIMINGS.completedAfterMs);

    let list = await allWithdrawals(sandbox, { dealId: id });
    expect(list.map((w: Json) => [w.depositAddress, w.state])).toEqual([
      ['0xaddr1', 'COMPLETED'],
      ['0xaddr2', 'REPLACED'],
      ['0xaddr3', 'COMPLETED'],
      ['0xaddr2', 'IN_PROGRESS'],
    ]);
    const [replaced, replacement] = [list[1], list[3]];
    expect(replacement.id).not.toBe(replaced.id);
    expect(replacement).toMatchObject({
      amount: replaced.amount,
      externalId: 'ext-2',
      calypsoFee: replaced.calypsoFee,
      transactionHash: expect.stringMatching(/^0x/),
    });
    expect(replacement.transactionHash).not.toBe(replaced.transactionHash);
    // No link field: Calypso documents none.
    expect(Object.keys(replacement).sort()).toEqual(Object.keys(replaced).sort());
    // A payment is still moving: the payout is not final.
    expect(await stateOf(sandbox, id)).toBe('IN_PROGRESS');
    expect(
      eventsOf(sandbox, 'PAYOUT_CHANGE_STATUS').filter((e) => e.data.payoutStatus === 'REPLACED'),
    ).toEqual([
      expect.objectContaining({
        data: expect.objectContaining({ externalId: 'ext-2', hash: replaced.transactionHash }),
      }),
    ]);
    expect(eventsOf(sandbox, 'PAYOUT_HASH_RECEIVED').map((e) => e.data.hash as string)).toContain(
      replacement.transactionHash,
    );

    await sandbox.advance(TIMINGS.completedAfterMs);
    list = await allWithdrawals(sandbox, { dealId: id });
    expect(list[3].state).toBe('COMPLETED');
    expect(await stateOf(sandbox, id)).toBe('COMPLETED');
    // 1.5075 + 2.5125 + 3.5175: each payment paid for once.
    expect(sandbox.inspect.balances().USDT).toBe('999999992.4625');
    expect(sandbox.inspect.massPayouts()[0]!.withdrawals[3]!.replaces).toBe(replaced.id);
  });

  it('can have a replacement that fails: FAILED, its funds returned', async () => {
    sandbox.faults.replaceNext({ replacementFails: true });
    const id = await create(sandbox, 2, 1);
    await sandbox.advance(SENT_AT + 2 * TIMINGS.completedAfterMs);
    const list = await allWithdrawals(sandbox, { dealId: id });
    expect(list.map((w: Json) => w.state)).toEqual(['REPLACED', 'FAILED']);
    expect(list[1].transactionHash).toBeNull();
    expect(await stateOf(sandbox, id)).toBe('FAILED');
    expect(sandbox.inspect.balances().USDT).toBe('1000000000');
  });

  it('with a late replacement, the guide’s rule may call the payout COMPLETED before the replacement even exists', async () => {
    sandbox.faults.replaceNext({ address: '0xaddr1', replacementAfterMs: 5_000 });
    const id = await create(sandbox, 3, 2);
    await sandbox.advance(SENT_AT + TIMINGS.completedAfterMs);
    expect((await allWithdrawals(sandbox, { dealId: id })).map((w: Json) => w.state)).toEqual([
      'REPLACED',
      'COMPLETED',
    ]);
    expect(await stateOf(sandbox, id)).toBe('COMPLETED');
    await sandbox.advance(5_000);
    expect((await allWithdrawals(sandbox, { dealId: id })).map((w: Json) => w.state)).toEqual([
      'REPLACED',
      'COMPLETED',
      'IN_PROGRESS',
    ]);
    await sandbox.advance(TIMINGS.completedAfterMs);
    expect((await allWithdrawals(sandbox, { dealId: id }))[2].state).toBe('COMPLETED');
  });

  it('show a single payout’s replacement as its payment', async () => {
    sandbox.faults.replaceNext();
    const created = await call(sandbox, '/payout/create', {
      depositAddress: 'TAddr1',
      amount: 2,
      currency: 'USDT_TRX',
      comment: 'one',
      idempotencyKey: uuid(4),
      externalId: 'single-1',
    });
    expect(created.status).toBe(200);
    await sandbox.advance(SENT_AT + TIMINGS.completedAfterMs);
    const list = await allWithdrawals(sandbox, { externalId: 'single-1' });
    expect(list.map((w: Json) => w.state)).toEqual(['REPLACED', 'IN_PROGRESS']);
    let payout = (await call(sandbox, '/payout', { id: created.json.id })).json;
    expect(payout.state).toBe('IN_PROGRESS');
    expect(payout.transactionHash).toBe(list[1].transactionHash);
    await sandbox.advance(TIMINGS.completedAfterMs);
    payout = (await call(sandbox, '/payout', { id: created.json.id })).json;
    expect(payout.state).toBe('COMPLETED');
  });
});

describe('payouts cancelled in Calypso’s UI', () => {
  it('cancelNext: withdrawals and payout CANCELED before anything is sent, PAYOUT_CHANGE_STATUS CANCELED', async () => {
    sandbox.faults.cancelNext();
    const id = await create(sandbox, 10, 2);
    await sandbox.advance(SENT_AT + 2 * TIMINGS.completedAfterMs);
    expect((await allWithdrawals(sandbox, { dealId: id })).map((w: Json) => w.state)).toEqual([
      'CANCELED',
      'CANCELED',
    ]);
    expect(await stateOf(sandbox, id)).toBe('CANCELED');
    expect(
      eventsOf(sandbox, 'PAYOUT_CHANGE_STATUS').map((e) => [e.data.payoutStatus, e.level]),
    ).toEqual([['CANCELED', 'WARNING']]);
    expect(eventsOf(sandbox, 'PAYOUT_HASH_RECEIVED')).toEqual([]);
    expect(sandbox.inspect.balances().USDT).toBe('1000000000');
  });

  it('ui.cancel before the withdrawals exist: none is ever created; refused once payments were sent', async () => {
    const early = await create(sandbox, 11, 2);
    sandbox.ui.cancel(early);
    expect(await stateOf(sandbox, early)).toBe('CANCELED');
    const sent = await create(sandbox, 12, 1);
    await sandbox.advance(SENT_AT);
    expect(await allWithdrawals(sandbox, { dealId: early })).toEqual([]);
    expect(() => sandbox.ui.cancel(sent)).toThrow(SandboxUsageError);
    expect(() => sandbox.ui.cancel('424242')).toThrow(SandboxUsageError);
    await sandbox.advance(TIMINGS.completedAfterMs);
    expect(await stateOf(sandbox, sent)).toBe('COMPLETED');
  });
});

describe('payouts held for confirmation', () => {
  it('wait in PENDING_CONFIRMATION (withdrawals DRAFT, no event) until confirmed, then go on', async () => {
    sandbox.faults.holdForConfirmationNext();
    const id = await create(sandbox, 20, 2);
    await sandbox.advance(24 * 3_600_000);
    expect(await stateOf(sandbox, id)).toBe('PENDING_CONFIRMATION');
    expect((await allWithdrawals(sandbox, { dealId: id })).map((w: Json) => w.state)).toEqual([
      'DRAFT',
      'DRAFT',
    ]);
    expect(sandbox.inspect.events()).toEqual([]);

    sandbox.ui.confirm(id);
    expect(await stateOf(sandbox, id)).toBe('CONFIRMED');
    expect(eventsOf(sandbox, 'PAYOUT_CONFIRMED')).toHaveLength(1);
    await sandbox.advance(TIMINGS.inProgressAfterMs + TIMINGS.completedAfterMs);
    expect(await stateOf(sandbox, id)).toBe('COMPLETED');
    expect(() => sandbox.ui.confirm(id)).toThrow(/not PENDING_CONFIRMATION/);
  });

  it('can be cancelled there instead: CANCELED, with PAYOUT_CHANGE_STATUS', async () => {
    sandbox.faults.holdForConfirmationNext();
    const id = await create(sandbox, 21, 2);
    const next = await create(sandbox, 22, 1); // not held: the fault was for one payout
    await sandbox.advance(TIMINGS.withdrawalsCreatedAfterMs);
    sandbox.ui.cancel(id);
    expect(await stateOf(sandbox, id)).toBe('CANCELED');
    expect((await allWithdrawals(sandbox, { dealId: id })).map((w: Json) => w.state)).toEqual([
      'CANCELED',
      'CANCELED',
    ]);
    expect(
      eventsOf(sandbox, 'PAYOUT_CHANGE_STATUS').map((e) => [
        e.data.parentExternalId,
        e.data.payoutStatus,
      ]),
    ).toEqual([[Number(id), 'CANCELED']]);
    expect(await stateOf(sandbox, next)).toBe('CONFIRMED');
  });

  it('confirmationRequired holds every payout', async () => {
    const held = await startTestSandbox({ confirmationRequired: true });
    try {
      const ids = [await create(held, 23, 1), await create(held, 24, 1)];
      await held.advance(SENT_AT);
      for (const id of ids) expect(await stateOf(held, id)).toBe('PENDING_CONFIRMATION');
    } finally {
      await held.close();
    }
  });
});

describe('payments over a limit', () => {
  it('stay DRAFT with EXCEEDING_LIMIT (PAYOUT_VALIDATION_ERROR), the payout IN_PROGRESS, until allowed', async () => {
    sandbox.faults.exceedLimitNext({ address: '0xaddr1' });
    const id = await create(sandbox, 30, 2);
    await sandbox.advance(SENT_AT + TIMINGS.completedAfterMs + 24 * 3_600_000);
    let list = await allWithdrawals(sandbox, { dealId: id });
    expect(list.map((w: Json) => w.state)).toEqual(['DRAFT', 'COMPLETED']);
    expect(list[0].withdrawalErrors).toEqual([
      {
        id: expect.any(String),
        status: 'EXCEEDING_LIMIT',
        errorResolved: false,
        errorMessage: expect.any(String),
      },
    ]);
    expect(await stateOf(sandbox, id)).toBe('IN_PROGRESS');
    expect(eventsOf(sandbox, 'PAYOUT_VALIDATION_ERROR')).toEqual([
      expect.objectContaining({
        level: 'WARNING',
        data: expect.objectContaining({
          validationStatus: 'EXCEEDING_LIMIT',
          dealWithdrawalId: list[0].id,
          externalId: 'ext-1',
        }),
      }),
    ]);
    // A top-up changes nothing: the limit, not the balance, holds it.
    sandbox.topUp('USDT', '10');
    expect((await allWithdrawals(sandbox, { dealId: id }))[0].state).toBe('DRAFT');

    sandbox.ui.allowOverLimit(list[0].id);
    list = await allWithdrawals(sandbox, { dealId: id });
    expect(list[0]).toMatchObject({ state: 'IN_PROGRESS', transactionHash: expect.any(String) });
    expect(list[0].withdrawalErrors).toEqual([
      expect.objectContaining({ status: 'EXCEEDING_LIMIT', errorResolved: true }),
    ]);
    expect(() => sandbox.ui.allowOverLimit(list[0].id)).toThrow(SandboxUsageError);
    await sandbox.advance(TIMINGS.completedAfterMs);
    expect(await stateOf(sandbox, id)).toBe('COMPLETED');
  });
});

describe('token payments and their network’s fee coin', () => {
  let poor: CalypsoSandbox;
  beforeEach(async () => {
    poor = await startTestSandbox({ balances: { USDT: '1', ETH: '0', BTC: '10' } });
  });
  afterEach(() => poor.close());

  it('wait with NOT_ENOUGH_FUNDS_FOR_COMMISSION while the fee coin is at zero, until it is topped up', async () => {
    const id = await create(poor, 40, 1); // 1.5 USDT + 0.0075 fee
    await poor.advance(SENT_AT);
    let [only] = await allWithdrawals(poor, { dealId: id });
    expect(only.state).toBe('DRAFT');
    expect(only.withdrawalErrors).toEqual([
      expect.objectContaining({ status: 'NOT_ENOUGH_FUNDS', errorResolved: false }),
    ]);

    // The token covered, the fee coin is not: the old error is resolved, a new one raised.
    poor.topUp('USDT', '9');
    [only] = await allWithdrawals(poor, { dealId: id });
    expect(only.state).toBe('DRAFT');
    expect(only.withdrawalErrors).toEqual([
      expect.objectContaining({ status: 'NOT_ENOUGH_FUNDS', errorResolved: true }),
      expect.objectContaining({
        status: 'NOT_ENOUGH_FUNDS_FOR_COMMISSION',
        errorResolved: false,
        errorMessage: expect.stringContaining('ETH'),
      }),
    ]);
    expect(eventsOf(poor, 'PAYOUT_VALIDATION_ERROR').map((e) => e.data.validationStatus)).toEqual([
      'NOT_ENOUGH_FUNDS',
      'NOT_ENOUGH_FUNDS_FOR_COMMISSION',
    ]);
    await poor.advance(24 * 3_600_000);
    expect(await stateOf(poor, id)).toBe('IN_PROGRESS');

    poor.topUp('ETH', '0.01');
    [only] = await allWithdrawals(poor, { dealId: id });
    expect(only.state).toBe('IN_PROGRESS');
    expect(only.withdrawalErrors.every((e: Json) => e.errorResolved === true)).toBe(true);
    expect(poor.inspect.balances()).toMatchObject({ USDT: '8.4925', ETH: '0.01' });
    await poor.advance(TIMINGS.completedAfterMs);
    expect(await stateOf(poor, id)).toBe('COMPLETED');
  });

  it('native coins need no other coin', async () => {
    const id = await create(poor, 41, 1, 'BTC');
    await poor.advance(SENT_AT + TIMINGS.completedAfterMs);
    expect(await stateOf(poor, id)).toBe('COMPLETED');
  });
});

describe('admin HTTP API for processing faults and UI actions', () => {
  const admin = async (path: string, body?: unknown) => {
    const response = await fetch(`${sandbox.url}/__sandbox${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as Json };
  };

  it('arms each fault and performs each action', async () => {
    expect((await admin('/faults/replace', { address: '0xaddr1', count: 1 })).status).toBe(200);
    expect((await admin('/faults/exceed-limit', { address: '0xaddr2' })).status).toBe(200);
    expect((await admin('/faults/hold-for-confirmation', { count: 1 })).status).toBe(200);
    expect((await admin('/faults/cancel', { count: 1 })).status).toBe(200);
    expect(sandbox.faults.list()).toHaveLength(4);

    const held = await create(sandbox, 50, 2); // held, then cancelled by the cancel fault
    const other = await create(sandbox, 51, 1);
    await sandbox.advance(TIMINGS.withdrawalsCreatedAfterMs);
    expect(await stateOf(sandbox, held)).toBe('CANCELED');
    expect(await stateOf(sandbox, other)).toBe('CONFIRMED');

    sandbox.faults.holdForConfirmationNext();
    const toConfirm = await create(sandbox, 52, 1);
    const toCancel = await create(sandbox, 53, 1);
    await sandbox.advance(TIMINGS.withdrawalsCreatedAfterMs);
    expect((await admin('/ui/confirm', { payoutId: toConfirm })).status).toBe(200);
    expect(await stateOf(sandbox, toConfirm)).toBe('CONFIRMED');
    expect((await admin('/ui/cancel', { payoutId: toCancel })).status).toBe(200);
    expect(await stateOf(sandbox, toCancel)).toBe('CANCELED');

    // The faults on 0xaddr1 and 0xaddr2 were taken by the cancelled payout's payments.
    sandbox.faults.exceedLimitNext();
    const limited = await create(sandbox, 54, 1);
    await sandbox.advance(SENT_AT);
    const [w] = await allWithdrawals(sandbox, { dealId: limited });
    expect(w.withdrawalErrors[0].status).toBe('EXCEEDING_LIMIT');
    expect((await admin('/ui/allow-over-limit', { withdrawalId: w.id })).status).toBe(200);
    expect((await allWithdrawals(sandbox, { dealId: limited }))[0].state).toBe('IN_PROGRESS');
  });

  it('answers 400 for bad input or an action the payout’s state does not allow', async () => {
    expect((await admin('/faults/replace', { replacementFails: 'yes' })).status).toBe(400);
    expect((await admin('/faults/replace', { count: 0 })).status).toBe(400);
    expect((await admin('/ui/confirm', {})).status).toBe(400);
    const id = await create(sandbox, 55, 1);
    const refused = await admin('/ui/confirm', { payoutId: id });
    expect(refused).toEqual({ status: 400, json: { error: expect.stringContaining(id) } });
    expect((await admin('/ui/allow-over-limit', { withdrawalId: 'nope' })).status).toBe(400);
  });
});
