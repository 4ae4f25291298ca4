/**
 * Calypso sandbox: single payouts, and webhook subscriptions (create, list, delete) with their
 * generated keys.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  TEST_VECTOR_ACCOUNT,
  type CalypsoSandbox,
} from '../../infra/local/calypso-sandbox/index.js';
import { call, num, startTestSandbox, TIMINGS, uuid } from '../support/sandbox-helpers.js';

let sandbox: CalypsoSandbox;

beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(() => sandbox.close());
beforeEach(() => sandbox.reset());
afterEach(() => expect(sandbox.inspect.internalErrors()).toEqual([]));

function payoutPayload(idempotencyKey: string, extra: Record<string, unknown> = {}) {
  return {
    depositAddress: 'TXYZsingleRecipient',
    amount: num('12.345678'),
    currency: 'USDT_TRX',
    comment: 'one payment',
    idempotencyKey,
    externalId: 'invoice-77',
    ...extra,
  };
}

describe('single payouts', () => {
  it('creates one and follows it to COMPLETED, found by id or idempotencyKey', async () => {
    const created = await call(sandbox, '/payout/create', payoutPayload(uuid(1)));
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({
      id: expect.stringMatching(/^\d+$/),
      account: 'sandbox-account',
      depositAddress: 'TXYZsingleRecipient',
      amount: '12.345678',
      currency: 'USDT_TRX',
      calypsoFee: '0.061728',
      calypsoFeePercentage: '0.5',
      state: 'CREATION_IN_PROGRESS',
      transactionHash: null,
      comment: 'one payment',
      executionDate: null,
      idempotencyKey: uuid(1),
      externalId: 'invoice-77',
      errors: { withdrawalErrors: [] },
    });
    expect(created.text).toContain('"amount":12.345678,');

    const get = async (payload: Record<string, unknown>) =>
      (await call(sandbox, '/payout', payload)).json;
    await sandbox.advance(TIMINGS.withdrawalsCreatedAfterMs + TIMINGS.inProgressAfterMs);
    const sending = await get({ id: created.json.id });
    expect(sending.state).toBe('IN_PROGRESS');
    // Tron hashes have no 0x prefix.
    expect(sending.transactionHash).toMatch(/^[0-9a-f]{64}$/);
    await sandbox.advance(TIMINGS.completedAfterMs);
    expect(await get({ idempotencyKey: uuid(1) })).toMatchObject({
      state: 'COMPLETED',
      transactionHash: sending.transactionHash,
    });
    expect(sandbox.inspect.balances().USDT_TRX).toBe('999999987.592594');
  });

  it('ends FAILED for a failing address', async () => {
    sandbox.faults.failAddresses(['TXYZsingleRecipient']);
    const created = (await call(sandbox, '/payout/create', payoutPayload(uuid(2)))).json;
    await sandbox.advance(13_000);
    expect((await call(sandbox, '/payout', { id: created.id })).json.state).toBe('FAILED');
  });

  it('refuses a reused key, bad amounts and unknown currencies; 004 for an unknown payout', async () => {
    expect((await call(sandbox, '/payout/create', payoutPayload(uuid(3)))).status).toBe(200);
    const again = await call(sandbox, '/payout/create', payoutPayload(uuid(3)));
    expect(again.json).toMatchObject({
      errorCode: '016',
      message: `IdempotencyKey ${uuid(3)} already exists`,
    });
    for (const extra of [
      { amount: num('0') },
      { amount: num('1.1234567') },
      { currency: 'NOPE' },
    ]) {
      const answer = await call(sandbox, '/payout/create', payoutPayload(uuid(4), extra));
      expect(answer.json.errorCode).toBe('016');
    }
    expect((await call(sandbox, '/payout', { idempotencyKey: uuid(4) })).json.errorCode).toBe(
      '004',
    );
    // Mass payout lookups do not find single payouts, and the other way round.
    expect((await call(sandbox, '/payout/mass', { idempotencyKey: uuid(3) })).json.errorCode).toBe(
      '004',
    );
    expect(sandbox.inspect.payouts()).toHaveLength(1);
  });

  it('shows a funds shortage in errors.withdrawalErrors', async () => {
    const poor = await startTestSandbox({ balances: { USDT_TRX: '1' } });
    try {
      const created = (await call(poor, '/payout/create', payoutPayload(uuid(5)))).json;
      await poor.advance(3_000);
      const payout = (await call(poor, '/payout', { id: created.id })).json;
      expect(payout.state).toBe('IN_PROGRESS');
      expect(payout.errors.withdrawalErrors).toEqual([
        {
          withdrawalId: expect.any(String),
          errors: [expect.objectContaining({ status: 'NOT_ENOUGH_FUNDS', errorResolved: false })],
        },
      ]);
    } finally {
      await poor.close();
    }
  });
});

describe('webhook subscriptions', () => {
  const create = (requestId: string, extra: Record<string, unknown> = {}) =>
    call(sandbox, '/subscription/webhook/create', {
      requestId,
      url: 'http://127.0.0.1:9/hooks',
      notificationEventTypes: ['PAYOUT_CHANGE_STATUS'],
      ...extra,
    });

  it('creates one with its own generated publicKey and secretKey', async () => {
    const first = await create(uuid(10));
    const second = await create(uuid(11), {
      notificationEventTypes: undefined,
      notificationServiceTypes: ['PAYOUT'],
    });
    expect(first.status).toBe(200);
    expect(first.json).toEqual({
      requestId: uuid(10),
      notificationEventTypes: ['PAYOUT_CHANGE_STATUS'],
      notificationServiceTypes: [],
      url: 'http://127.0.0.1:9/hooks',
      publicKey: expect.stringMatching(/^[0-9a-f]{32}$/),
      secretKey: expect.stringMatching(/^[0-9a-f]{32}$/),
      createdDate: new Date(sandbox.now()).toISOString(),
    });
    const keys = [first, second].flatMap((s) => [s.json.publicKey, s.json.secretKey]);
    expect(new Set([...keys, TEST_VECTOR_ACCOUNT.secretKey]).size).toBe(5);
  });

  it('lists them as {subscriptions} and deletes one with DELETE {requestId}', async () => {
    await create(uuid(12));
    await create(uuid(13));
    const listed = await call(sandbox, '/subscription/webhook');
    expect(listed.json.subscriptions.map((s: { requestId: string }) => s.requestId)).toEqual([
      uuid(12),
      uuid(13),
    ]);
    const deleted = await call(
      sandbox,
      '/subscription/webhook',
      { requestId: uuid(12) },
      { method: 'DELETE' },
    );
    expect(deleted.status).toBe(200);
    expect(deleted.text).toBe('');
    const after = await call(sandbox, '/subscription/webhook');
    expect(after.json.subscriptions.map((s: { requestId: string }) => s.requestId)).toEqual([
      uuid(13),
    ]);
    const again = await call(
      sandbox,
      '/subscription/webhook',
      { requestId: uuid(12) },
      { method: 'DELETE' },
    );
    expect(again.json.errorCode).toBe('004');
  });

  it('refuses a missing type list, an unknown service, a bad URL, a reused requestId (001)', async () => {
    expect((await create(uuid(14))).status).toBe(200);
    for (const answer of [
      await create(uuid(15), { notificationEventTypes: [] }),
      await create(uuid(15), { notificationServiceTypes: ['PAYOUTS'] }),
      await create(uuid(15), { url: 'ftp://127.0.0.1/hooks' }),
      await create(uuid(15), { url: 'not a url' }),
      await create('not-a-uuid'),
      await create(uuid(14)),
    ]) {
      expect(answer.status).toBe(400);
      expect(answer.json.errorCode).toBe('001');
    }
    expect(sandbox.inspect.subscriptions()).toHaveLength(1);
  });

  it('keeps each account’s subscriptions to itself', async () => {
    const other = { account: 'other', apiKey: '1'.repeat(32), secretKey: '2'.repeat(32) };
    const two = await startTestSandbox({ accounts: [TEST_VECTOR_ACCOUNT, other] });
    try {
      await call(two, '/subscription/webhook/create', {
        requestId: uuid(16),
        url: 'http://127.0.0.1:9/',
        notificationServiceTypes: ['PAYOUT'],
      });
      const asOther = { account: 'other', apiKey: other.apiKey, secretKey: other.secretKey };
      const listed = await call(two, '/subscription/webhook', undefined, asOther);
      expect(listed.json.subscriptions).toEqual([]);
      const deleted = await call(
        two,
        '/subscription/webhook',
        { requestId: uuid(16) },
        { ...asOther, method: 'DELETE' },
      );
      expect(deleted.json.errorCode).toBe('004');
    } finally {
      await two.close();
    }
  });
});
