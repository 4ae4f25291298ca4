/**
 * Calypso sandbox: mass payouts. Creation and its validation, idempotency keys, lookups,
 * asynchronous withdrawals with paging and filters, the lifecycle on the sandbox clock, the
 * payout's aggregated state, balances and insufficient funds, executionDate, exact amounts.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CurrencyRegistry } from '../../shared/domain/currencies.js';
import type { CalypsoSandbox } from '../../infra/local/calypso-sandbox/index.js';
import { aggregatePayoutState } from '../../infra/local/calypso-sandbox/lifecycle.js';
import type { WithdrawalState } from '../../infra/local/calypso-sandbox/store.js';
import {
  allWithdrawals,
  call,
  createMassPayout,
  listing,
  massPayoutPayload,
  num,
  recipients,
  startTestSandbox,
  TIMINGS,
  uuid,
  type Json,
} from '../support/sandbox-helpers.js';

let sandbox: CalypsoSandbox;

beforeAll(async () => {
  sandbox = await startTestSandbox({
    currencies: CurrencyRegistry.withOverrides({ USDC: { massPayoutLimit: 3 } }),
  });
});
afterAll(() => sandbox.close());
beforeEach(() => sandbox.reset());
afterEach(() => expect(sandbox.inspect.internalErrors()).toEqual([]));

const getMass = (payload: Record<string, unknown>) => call(sandbox, '/payout/mass', payload);

/** Moves the clock to `offsetMs` after `createdAt`. */
async function advanceTo(createdAt: number, offsetMs: number) {
  await sandbox.advance(createdAt + offsetMs - sandbox.now());
}

describe('creating a mass payout', () => {
  it('answers the documented object, CREATION_IN_PROGRESS, with exact fees as JSON numbers', async () => {
    const answer = await createMassPayout(sandbox, uuid(1), recipients(3), {
      name: 'March affiliates',
      comment: 'batch 0',
    });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({
      id: expect.stringMatching(/^\d+$/),
      idempotencyKey: uuid(1),
      companyId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      state: 'CREATION_IN_PROGRESS',
      comment: 'batch 0',
      name: 'March affiliates',
      currency: 'USDT',
      totalCalypsoFee: '0.0375',
      totalCalypsoFeePercentage: '0.5',
    });
    // 0.5 % of 1.5 + 2.5 + 3.5, written as numbers with their exact digits.
    expect(answer.text).toContain('"totalCalypsoFee":0.0375,');
    expect(answer.text).toContain('"totalCalypsoFeePercentage":0.5,');
    expect(sandbox.inspect.massPayoutCreates(uuid(1))).toBe(1);
  });

  const invalid: [string, () => Record<string, unknown>][] = [
    ['an unknown currency', () => massPayoutPayload(uuid(2), recipients(1), { currency: 'XYZ' })],
    ['an empty list', () => massPayoutPayload(uuid(2), [])],
    [
      'more recipients than the currency allows (configured 3)',
      () => massPayoutPayload(uuid(2), recipients(4), { currency: 'USDC' }),
    ],
    [
      'more than 100 recipients for a non-Ethereum currency',
      () => massPayoutPayload(uuid(2), recipients(101), { currency: 'USDT_TRX' }),
    ],
    ['a zero amount', () => massPayoutPayload(uuid(2), [{ depositAddress: 'a1', amount: '0' }])],
    [
      'a negative amount',
      () => massPayoutPayload(uuid(2), [{ depositAddress: 'a1', amount: '-1' }]),
    ],
    [
      'more decimals than the currency has',
      () => massPayoutPayload(uuid(2), [{ depositAddress: 'a1', amount: '1.0000001' }]),
    ],
    [
      'an amount in exponent notation',
      () => massPayoutPayload(uuid(2), [{ depositAddress: 'a1', amount: '1e-6' }]),
    ],
    [
      'an address with a space',
      () => massPayoutPayload(uuid(2), [{ depositAddress: 'a 1', amount: '1' }]),
    ],
  ];
  for (const [name, payload] of invalid) {
    it(`refuses ${name} with 016 and creates nothing`, async () => {
      const answer = await call(sandbox, '/payout/mass/create', payload());
      expect(answer.status).toBe(400);
      expect(answer.json).toMatchObject({
        errorCode: '016',
        message: 'Can not create deal. Validation failed',
      });
      expect(sandbox.inspect.massPayoutCreates(uuid(2))).toBe(0);
      expect(sandbox.inspect.massPayouts()).toEqual([]);
      // The key stays free: a corrected request goes through.
      const fixed = await createMassPayout(sandbox, uuid(2), recipients(1));
      expect(fixed.status).toBe(200);
    });
  }

  it('accepts up to the limit, 1000 for an ERC-20 token, and trailing zeros past the decimals', async () => {
    expect(
      (await createMassPayout(sandbox, uuid(3), recipients(3), { currency: 'USDC' })).status,
    ).toBe(200);
    expect((await createMassPayout(sandbox, uuid(4), recipients(1000))).status).toBe(200);
    const zeros = await createMassPayout(sandbox, uuid(5), [
      { depositAddress: 'a', amount: '1.50000000' },
    ]);
    expect(zeros.status).toBe(200);
  });

  it('refuses a reused idempotencyKey with 016 "already exists", whatever the content', async () => {
    const first = await createMassPayout(sandbox, uuid(6), recipients(2));
    expect(first.status).toBe(200);
    for (const list of [recipients(2), recipients(5)]) {
      const again = await createMassPayout(sandbox, uuid(6), list);
      expect(again.status).toBe(400);
      expect(again.json).toMatchObject({
        errorCode: '016',
        message: `IdempotencyKey ${uuid(6)} already exists`,
      });
    }
    expect(sandbox.inspect.massPayoutCreates(uuid(6))).toBe(1);
    expect(sandbox.inspect.massPayoutCreateAttempts(uuid(6))).toBe(3);
    expect(sandbox.inspect.massPayouts()).toHaveLength(1);
  });

  it('refuses an idempotencyKey that is not a UUID and a malformed executionDate (001)', async () => {
    const notUuid = await createMassPayout(sandbox, 'batch-1', recipients(1));
    expect(notUuid.json.errorCode).toBe('001');
    const badDate = await createMassPayout(sandbox, uuid(7), recipients(1), {
      executionDate: '2025-01-01 10:00',
    });
    expect(badDate.json.errorCode).toBe('001');
  });
});

describe('getting a mass payout', () => {
  it('finds it by id, by idempotencyKey, or by both when they agree; 004 otherwise', async () => {
    const created = (await createMassPayout(sandbox, uuid(10), recipients(2))).json;
    for (const payload of [
      { id: created.id },
      { idempotencyKey: uuid(10) },
      { id: created.id, idempotencyKey: uuid(10) },
    ]) {
      const answer = await getMass(payload);
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual(created);
    }
    expect((await getMass({ id: num(created.id) })).status).toBe(200);
    for (const payload of [
      { id: '1' },
      { idempotencyKey: uuid(11) },
      { id: created.id, idempotencyKey: uuid(11) },
    ]) {
      const answer = await getMass(payload);
      expect(answer.status).toBe(400);
      expect(answer.json.errorCode).toBe('004');
    }
    expect((await getMass({})).json.errorCode).toBe('001');
  });
});

describe('withdrawals', () => {
  it('are created asynchronously, DRAFT, with the documented fields', async () => {
    const created = (await createMassPayout(sandbox, uuid(20), recipients(3))).json;
    const createdAt = sandbox.now();
    expect(await allWithdrawals(sandbox, { dealId: created.id })).toEqual([]);

    await sandbox.advance(TIMINGS.withdrawalsCreatedAfterMs - 1);
    expect(await allWithdrawals(sandbox, { dealId: created.id })).toEqual([]);
    await sandbox.advance(1);

    expect((await getMass({ id: created.id })).json.state).toBe('CONFIRMED');
    const list = await allWithdrawals(sandbox, { dealId: created.id });
    expect(list).toHaveLength(3);
    expect(list[0]).toEqual({
      id: expect.stringMatching(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      ),
      account: 'sandbox-account',
      companyName: 'Sandbox Company',
      amount: '1.5',
      currency: 'USDT',
      state: 'DRAFT',
      calypsoFee: '0.0075',
      transactionHash: null,
      depositAddress: '0xaddr1',
      comment: 'test payout',
      createdDate: new Date(createdAt + TIMINGS.withdrawalsCreatedAfterMs).toISOString(),
      withdrawalErrors: [],
      externalId: 'ext-1',
    });
    expect(list.map((w: Json) => w.depositAddress)).toEqual(['0xaddr1', '0xaddr2', '0xaddr3']);
  });

  it('leave out externalId when the recipient had none', async () => {
    const created = (
      await createMassPayout(sandbox, uuid(21), [{ depositAddress: 'a', amount: '1' }])
    ).json;
    await sandbox.advance(TIMINGS.withdrawalsCreatedAfterMs);
    const [only] = await allWithdrawals(sandbox, { dealId: created.id });
    expect(only).not.toHaveProperty('externalId');
  });

  it('are paged from page 0, with total pages and totalElements', async () => {
    const created = (await createMassPayout(sandbox, uuid(22), recipients(45))).json;
    await sandbox.advance(TIMINGS.withdrawalsCreatedAfterMs);
    const pages: Json[] = [];
    for (const page of [0, 1, 2, 3]) {
      pages.push(
        (
          await call(
            sandbox,
            '/payout/withdrawal/all',
            listing({ dealId: created.id, page, size: 20 }),
          )
        ).json,
      );
    }
    expect(pages.map((p) => [p.page, p.size, p.total, p.totalElements, p.result.length])).toEqual([
      ['0', '20', '3', '45', 20],
      ['1', '20', '3', '45', 20],
      ['2', '20', '3', '45', 5],
      ['3', '20', '3', '45', 0],
    ]);
    const addresses = pages.flatMap((p) => p.result.map((w: Json) => w.depositAddress));
    expect(addresses).toEqual(recipients(45).map((r) => r.depositAddress));
    const defaults = (
      await call(sandbox, '/payout/withdrawal/all', listing({ dealId: created.id }))
    ).json;
    expect([defaults.page, defaults.size, defaults.result.length]).toEqual(['0', '20', 20]);
    const tooBig = await call(
      sandbox,
      '/payout/withdrawal/all',
      listing({ dealId: created.id, size: 1001 }),
    );
    expect(tooBig.json.errorCode).toBe('001');
  });

  it('are filtered by dealId, idempotencyKey, externalId (alone: across payouts) and stateNames', async () => {
    const a = (
      await createMassPayout(sandbox, uuid(23), [
        { depositAddress: 'a1', amount: '1', externalId: 'shared' },
        { depositAddress: 'a2', amount: '2', externalId: 'only-a' },
      ])
    ).json;
    const b = (
      await createMassPayout(sandbox, uuid(24), [
        { depositAddress: 'b1', amount: '3', externalId: 'shared' },
      ])
    ).json;
    sandbox.faults.failAddresses(['a2']);
    await sandbox.advance(
      TIMINGS.withdrawalsCreatedAfterMs + TIMINGS.inProgressAfterMs + TIMINGS.completedAfterMs,
    );

    const addresses = async (filter: Record<string, unknown>) =>
      (await allWithdrawals(sandbox, filter)).map((w: Json) => w.depositAddress);
    expect(await addresses({ dealId: a.id })).toEqual(['a1', 'a2']);
    expect(await addresses({ idempotencyKey: uuid(24) })).toEqual(['b1']);
    expect(await addresses({ externalId: 'shared' })).toEqual(['a1', 'b1']);
    expect(await addresses({ externalId: 'shared', dealId: b.id })).toEqual(['b1']);
    expect(await addresses({ dealId: a.id, idempotencyKey: uuid(24) })).toEqual([]);
    expect(await addresses({ dealId: a.id, stateNames: ['FAILED'] })).toEqual(['a2']);
    expect(await addresses({ stateNames: ['COMPLETED', 'FAILED'] })).toEqual(['a1', 'a2', 'b1']);
    expect(await addresses({ dealId: 'no-such-payout' })).toEqual([]);
    expect(await addresses({ dealId: a.id, stateNames: ['DRAFT', 'IN_PROGRESS'] })).toEqual([]);
    // The guide's other name for the same search.
    const find = await call(sandbox, '/payout/withdrawal/find', listing({ externalId: 'only-a' }));
    expect(find.json.result.map((w: Json) => w.state)).toEqual(['FAILED']);
  });
});

describe('withdrawal listings name their states', () => {
  it('refuses a listing without stateNames, with none, or with an unknown one (001)', async () => {
    const created = (await createMassPayout(sandbox, uuid(25), recipients(2))).json;
    await sandbox.advance(TIMINGS.withdrawalsCreatedAfterMs);
    for (const payload of [
      { dealId: created.id },
      { dealId: created.id, stateNames: [] },
      { dealId: created.id, stateNames: ['DRAFT', 'DONE'] },
    ]) {
      for (const path of ['/payout/withdrawal/all', '/payout/withdrawal/find']) {
        const answer = await call(sandbox, path, payload);
        expect([answer.status, answer.json.errorCode]).toEqual([400, '001']);
      }
    }
    const all = await call(sandbox, '/payout/withdrawal/all', listing({ dealId: created.id }));
    expect(all.json.result.map((w: Json) => w.state)).toEqual(['DRAFT', 'DRAFT']);
    expect(all.json.totalElements).toBe('2');
  });

  it('counts only the states asked for, in totalElements too', async () => {
    sandbox.faults.failAddresses(['0xaddr2']);
    const created = (await createMassPayout(sandbox, uuid(26), recipients(3))).json;
    await sandbox.advance(13_000);
    const only = async (stateNames: string[]) =>
      (await call(sandbox, '/payout/withdrawal/all', { dealId: created.id, stateNames })).json;
    const failed = await only(['FAILED']);
    expect(failed.result.map((w: Json) => w.depositAddress)).toEqual(['0xaddr2']);
    expect([failed.total, failed.totalElements]).toEqual(['1', '1']);
    const draft = await only(['DRAFT']);
    expect([draft.result, draft.total, draft.totalElements]).toEqual([[], '0', '0']);
    expect((await only(['COMPLETED', 'REPLACED'])).totalElements).toBe('2');
  });

  it('can number pages from 1, refusing page 0', async () => {
    const fromOne = await startTestSandbox({ firstPage: 1 });
    try {
      const created = (await createMassPayout(fromOne, uuid(27), recipients(5))).json;
      await fromOne.advance(TIMINGS.withdrawalsCreatedAfterMs);
      const page = async (n: number | undefined) =>
        call(
          fromOne,
          '/payout/withdrawal/all',
          listing({ dealId: created.id, size: 2, ...(n === undefined ? {} : { page: n }) }),
        );
      const answers = [await page(1), await page(2), await page(3), await page(4)];
      expect(answers.map((a) => [a.json.page, a.json.result.length])).toEqual([
        ['1', 2],
        ['2', 2],
        ['3', 1],
        ['4', 0],
      ]);
      expect(answers.flatMap((a) => a.json.result.map((w: Json) => w.depositAddress))).toEqual(
        recipients(5).map((r) => r.depositAddress),
      );
      expect((await page(undefined)).json.page).toBe('1');
      const zero = await page(0);
      expect([zero.status, zero.json.errorCode]).toEqual([400, '001']);
    } finally {
      await fromOne.close();
    }
  });

  it('refuses a firstPage other than 0 or 1', async () => {
    await expect(startTestSandbox({ firstPage: 2 as 1 })).rejects.toThrow(/firstPage/);
  });
});

describe('lifecycle on the sandbox clock', () => {
  it('goes CREATION_IN_PROGRESS → CONFIRMED → IN_PROGRESS (hashes) → COMPLETED, debiting amount + fee', async () => {
    const before = sandbox.inspect.balances().USDT!;
    const created = (await createMassPayout(sandbox, uuid(30), recipients(3))).json;
    const t0 = sandbox.now();
    const state = async () => (await getMass({ id: created.id })).json.state;
    const wds = () => allWithdrawals(sandbox, { dealId: created.id });

    await advanceTo(t0, 999);
    expect(await state()).toBe('CREATION_IN_PROGRESS');
    await advanceTo(t0, 1_000);
    expect(await state()).toBe('CONFIRMED');
    await advanceTo(t0, 2_999);
    expect((await wds()).map((w: Json) => w.state)).toEqual(['DRAFT', 'DRAFT', 'DRAFT']);
    expect(sandbox.inspect.balances().USDT).toBe(before);

    await advanceTo(t0, 3_000);
    expect(await state()).toBe('IN_PROGRESS');
    const sent = await wds();
    expect(sent.map((w: Json) => w.state)).toEqual(['IN_PROGRESS', 'IN_PROGRESS', 'IN_PROGRESS']);
    for (const w of sent) expect(w.transactionHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(new Set(sent.map((w: Json) => w.transactionHash)).size).toBe(3);
    // 1.5 + 2.5 + 3.5 plus 0.5 % fees = 7.5375
    expect(sandbox.inspect.balances().USDT).toBe('999999992.4625');

    await advanceTo(t0, 12_999);
    expect(await state()).toBe('IN_PROGRESS');
    await advanceTo(t0, 13_000);
    expect(await state()).toBe('COMPLETED');
    const done = await wds();
    expect(done.map((w: Json) => [w.state, w.calypsoFee])).toEqual([
      ['COMPLETED', '0.0075'],
      ['COMPLETED', '0.0125'],
      ['COMPLETED', '0.0175'],
    ]);
    expect(done.map((w: Json) => w.transactionHash)).toEqual(
      sent.map((w: Json) => w.transactionHash),
    );
  });

  it('ends COMPLETED, by the guide, when some payments completed and some failed (failing addresses get no hash and their funds back)', async () => {
    sandbox.faults.failAddresses(['0xaddr2']);
    const created = (await createMassPayout(sandbox, uuid(31), recipients(3))).json;
    await sandbox.advance(3_000);
    const sending = await allWithdrawals(sandbox, { dealId: created.id });
    expect(sending.map((w: Json) => [w.state, w.transactionHash === null])).toEqual([
      ['IN_PROGRESS', false],
      ['IN_PROGRESS', true],
      ['IN_PROGRESS', false],
    ]);
    await sandbox.advance(10_000);
    expect((await getMass({ id: created.id })).json.state).toBe('COMPLETED');
    const done = await allWithdrawals(sandbox, { dealId: created.id });
    expect(done.map((w: Json) => w.state)).toEqual(['COMPLETED', 'FAILED', 'COMPLETED']);
    // Only 1.5 + 3.5 and their fees (0.0075 + 0.0175) left the balance.
    expect(sandbox.inspect.balances().USDT).toBe('999999994.975');
  });

  it('ends FAILED when every payment failed', async () => {
    sandbox.faults.failAddresses(['0xaddr1', '0xaddr2']);
    const created = (await createMassPayout(sandbox, uuid(32), recipients(2))).json;
    await sandbox.advance(13_000);
    expect((await getMass({ id: created.id })).json.state).toBe('FAILED');
    expect(sandbox.inspect.balances().USDT).toBe('1000000000');
  });

  it('can end PARTIAL instead when some payments failed, with mixedOutcomeState', async () => {
    const partial = await startTestSandbox({ mixedOutcomeState: 'PARTIAL' });
    try {
      partial.faults.failAddresses(['0xaddr1']);
      const created = (await createMassPayout(partial, uuid(33), recipients(2))).json;
      await partial.advance(13_000);
      expect((await call(partial, '/payout/mass', { id: created.id })).json.state).toBe('PARTIAL');
      expect(partial.inspect.massPayouts()[0]!.withdrawals.map((w) => w.state)).toEqual([
        'FAILED',
        'COMPLETED',
      ]);
    } finally {
      await partial.close();
    }
  });

  it('aggregates withdrawal states by the guide’s rule', () => {
    const cases: [WithdrawalState[], string | undefined][] = [
      [['COMPLETED', 'COMPLETED'], 'COMPLETED'],
      [['COMPLETED', 'FAILED'], 'COMPLETED'],
      [['FAILED', 'COMPLETED', 'FAILED'], 'COMPLETED'],
      [['COMPLETED', 'FAILED', 'CANCELED'], 'COMPLETED'],
      [['COMPLETED', 'CANCELED'], 'COMPLETED'],
      [['REPLACED', 'COMPLETED'], 'COMPLETED'],
      [['FAILED', 'FAILED'], 'FAILED'],
      [['FAILED', 'CANCELED'], 'FAILED'],
      [['CANCELED'], 'CANCELED'],
      [['COMPLETED', 'IN_PROGRESS'], undefined],
      [['COMPLETED', 'DRAFT'], undefined],
      [[], undefined],
    ];
    for (const [states, expected] of cases) {
      expect(aggregatePayoutState(states, 'COMPLETED')).toBe(expected);
    }
    // PARTIAL only where completed and failed payments meet.
    expect(aggregatePayoutState(['COMPLETED', 'FAILED'], 'PARTIAL')).toBe('PARTIAL');
    expect(aggregatePayoutState(['COMPLETED', 'CANCELED'], 'PARTIAL')).toBe('COMPLETED');
    expect(aggregatePayoutState(['FAILED', 'CANCELED'], 'PARTIAL')).toBe('FAILED');
  });

  it('sends nothing before executionDate', async () => {
    const executionDate = new Date(sandbox.now() + 3_600_000).toISOString();
    const created = (await createMassPayout(sandbox, uuid(34), recipients(2), { executionDate }))
      .json;
    expect(created.executionDate).toBe(executionDate);
    const start = Date.parse(executionDate);
    await sandbox.advance(start - 1 - sandbox.now());
    expect((await getMass({ id: created.id })).json.state).toBe('CONFIRMED');
    const waiting = await allWithdrawals(sandbox, { dealId: created.id });
    expect(waiting.map((w: Json) => [w.state, w.transactionHash])).toEqual([
      ['DRAFT', null],
      ['DRAFT', null],
    ]);
    expect(sandbox.inspect.balances().USDT).toBe('1000000000');
    await sandbox.advance(1);
    expect((await getMass({ id: created.id })).json.state).toBe('IN_PROGRESS');
    await sandbox.advance(TIMINGS.completedAfterMs);
    expect((await getMass({ id: created.id })).json.state).toBe('COMPLETED');
  });

  it('refuses an executionDate that has passed (016), creating nothing', async () => {
    const executionDate = new Date(sandbox.now() - 1).toISOString();
    const before = sandbox.inspect.massPayouts().length;
    const res = await createMassPayout(sandbox, uuid(35), recipients(1), { executionDate });
    expect(res.status).toBe(400);
    expect(res.json.errorCode).toBe('016');
    expect(res.json.message).toMatch(/Validation failed/);
    expect(sandbox.inspect.massPayouts()).toHaveLength(before);
  });
});

describe('balances and insufficient funds', () => {
  let poor: CalypsoSandbox;
  beforeEach(async () => {
    poor = await startTestSandbox({ balances: { USDT: '5', ETH: '1' } });
  });
  afterEach(() => poor.close());

  it('holds payments the balance cannot cover with NOT_ENOUGH_FUNDS until a top-up', async () => {
    // Costs with fees: 1.5075, 2.5125, 3.5175; the balance covers the first two.
    const created = (await createMassPayout(poor, uuid(40), recipients(3))).json;
    await poor.advance(3_000);
    let list = await allWithdrawals(poor, { dealId: created.id });
    expect(list.map((w: Json) => w.state)).toEqual(['IN_PROGRESS', 'IN_PROGRESS', 'DRAFT']);
    expect(list[2].withdrawalErrors).toEqual([
      {
        id: expect.any(String),
        status: 'NOT_ENOUGH_FUNDS',
        errorResolved: false,
        errorMessage: expect.any(String),
      },
    ]);
    expect(poor.inspect.balances().USDT).toBe('0.98');

    // The others complete; the payout stays IN_PROGRESS while one payment waits for funds.
    await poor.advance(60_000);
    list = await allWithdrawals(poor, { dealId: created.id });
    expect(list.map((w: Json) => w.state)).toEqual(['COMPLETED', 'COMPLETED', 'DRAFT']);
    expect((await call(poor, '/payout/mass', { id: created.id })).json.state).toBe('IN_PROGRESS');

    poor.topUp('USDT', '10');
    list = await allWithdrawals(poor, { dealId: created.id });
    expect(list[2]).toMatchObject({
      state: 'IN_PROGRESS',
      transactionHash: expect.stringMatching(/^0x/),
    });
    expect(list[2].withdrawalErrors).toEqual([
      expect.objectContaining({ status: 'NOT_ENOUGH_FUNDS', errorResolved: true }),
    ]);
    expect(poor.inspect.balances().USDT).toBe('7.4625');
    await poor.advance(TIMINGS.completedAfterMs);
    expect((await call(poor, '/payout/mass', { id: created.id })).json.state).toBe('COMPLETED');
  });

  it('says NOT_ENOUGH_FUNDS_FOR_COMMISSION when the amount is covered but not its fee', async () => {
    const created = (await createMassPayout(poor, uuid(41), [{ depositAddress: 'a', amount: '5' }]))
      .json;
    await poor.advance(3_000);
    const [only] = await allWithdrawals(poor, { dealId: created.id });
    expect(only.withdrawalErrors[0]).toMatchObject({
      status: 'NOT_ENOUGH_FUNDS_FOR_COMMISSION',
      errorResolved: false,
    });
    poor.setBalance('USDT', '5.025');
    const [sent] = await allWithdrawals(poor, { dealId: created.id });
    expect(sent.state).toBe('IN_PROGRESS');
    expect(poor.inspect.balances().USDT).toBe('0');
  });

  it('reports balances on /account as exact JSON numbers, every currency listed', async () => {
    poor.topUp('ETH', '0.000000000000000001');
    const answer = await call(poor, '/account');
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({
      account: 'sandbox-account',
      name: 'Sandbox account',
      ownerId: expect.any(String),
    });
    expect(answer.text).toContain('{"currency":"ETH","amount":1.000000000000000001}');
    expect(answer.text).toContain('{"currency":"USDT","amount":5}');
    expect(answer.json.balances.map((b: Json) => b.currency)).toEqual(
      new CurrencyRegistry().codes(),
    );
    expect(answer.json.balances.find((b: Json) => b.currency === 'BTC').amount).toBe('0');
  });

  it('refuses bad top-ups without changing anything', () => {
    expect(() => poor.topUp('XYZ', '1')).toThrow(/unknown currency/);
    expect(() => poor.topUp('USDT', '-1')).toThrow(/positive/);
    expect(() => poor.topUp('USDT', '1e3')).toThrow(/plain decimal/);
    expect(() => poor.setBalance('USDT', '1', 'nobody')).toThrow(/unknown sandbox account/);
    expect(poor.inspect.balances().USDT).toBe('5');
  });
});

describe('exact amounts', () => {
  it('keeps 18-decimal amounts exact from request to withdrawals and fees', async () => {
    const created = (
      await createMassPayout(
        sandbox,
        uuid(50),
        [
          { depositAddress: '0xeth1', amount: '123456789.123456789012345678' },
          { depositAddress: '0xeth2', amount: '0.000000000000000001' },
        ],
        { currency: 'ETH' },
      )
    ).json;
    expect(created.totalCalypsoFee).toBe('617283.945617283945061728');
    await sandbox.advance(TIMINGS.withdrawalsCreatedAfterMs);
    const answer = await call(sandbox, '/payout/withdrawal/all', listing({ dealId: created.id }));
    expect(answer.text).toContain('"amount":123456789.123456789012345678,');
    expect(answer.text).toContain('"calypsoFee":617283.945617283945061728,');
    expect(answer.text).toContain('"amount":0.000000000000000001,');
    expect(answer.text).toContain('"calypsoFee":0,');
  });
});
