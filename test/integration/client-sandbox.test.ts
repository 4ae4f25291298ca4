/**
 * The project's Calypso client against the Calypso sandbox, for every operation the client has:
 * what it sends arrives exactly (amounts digit for digit), what the sandbox answers is read
 * exactly, and every error the sandbox produces surfaces as the client's matching error type.
 * The sandbox runs on a manual clock that the client's timestamps follow.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  startCalypsoSandbox,
  type CalypsoSandbox,
  type RecordedRequest,
  type SandboxOperation,
} from '../../infra/local/calypso-sandbox/index.js';
import {
  CalypsoClient,
  type CalypsoClientConfig,
  type MassPayoutRecipient,
} from '../../shared/calypso/client.js';
import {
  CalypsoAuthError,
  CalypsoError,
  CalypsoIdempotencyKeyExistsError,
  CalypsoNotFoundError,
  CalypsoUnknownOutcomeError,
  CalypsoValidationError,
} from '../../shared/calypso/errors.js';
import { Decimal } from '../../shared/domain/money.js';
import { btcAddress, evmAddress } from '../support/recipients.js';

/** 2025-01-01T00:00:00Z: a fixed start, so every date the sandbox writes repeats. */
const START = Date.UTC(2025, 0, 1);
const TIMINGS = {
  withdrawalsCreatedAfterMs: 1_000,
  inProgressAfterMs: 2_000,
  completedAfterMs: 10_000,
};
/** Long enough for a created payout to reach a final state. */
const UNTIL_FINAL_MS =
  TIMINGS.withdrawalsCreatedAfterMs + TIMINGS.inProgressAfterMs + TIMINGS.completedAfterMs;
/**
 * The timeout of the client used where a late answer is the point. A loopback answer is never
 * this slow, even on a busy machine; the injected delays are three times longer.
 */
const SHORT_TIMEOUT_MS = 3_000;
const LATE_MS = 3 * SHORT_TIMEOUT_MS;

let sandbox: CalypsoSandbox;
let client: CalypsoClient;

function clientFor(overrides: Partial<CalypsoClientConfig> = {}): CalypsoClient {
  const account = sandbox.accounts[0]!;
  return new CalypsoClient(
    {
      baseUrl: sandbox.url,
      pathPrefix: sandbox.pathPrefix,
      apiKey: account.apiKey,
      secretKey: account.secretKey,
      account: account.account,
      maxAttempts: 3,
      baseDelayMs: 1,
      maxDelayMs: 5,
      ...overrides,
    },
    { now: () => sandbox.now() },
  );
}

beforeEach(async () => {
  sandbox = await startCalypsoSandbox({
    clock: { mode: 'manual', startAt: START },
    seed: 11,
    timings: TIMINGS,
  });
  client = clientFor();
});

afterEach(async () => {
  expect(sandbox.inspect.internalErrors()).toEqual([]);
  await sandbox.close();
});

function requestsOf(operation: SandboxOperation): RecordedRequest[] {
  return sandbox.inspect.requests().filter((r) => r.operation === operation);
}

function ethRecipients(count: number, prefix: string): MassPayoutRecipient[] {
  return Array.from({ length: count }, (_, i) => ({
    depositAddress: evmAddress(`${prefix}-${i}`),
    amount: Decimal.parse(`${i + 1}.000000000000000${String(i + 1).padStart(3, '0')}`),
    externalId: `${prefix}-${i}`,
  }));
}

async function createEthPayout(recipients: MassPayoutRecipient[], key: string = randomUUID()) {
  return client.createMassPayout({
    currency: 'ETH',
    name: 'client test',
    comment: 'exactness',
    idempotencyKey: key,
    massAddresses: recipients,
  });
}

/** Runs the operation and returns what it threw. */
async function failure(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, and it succeeded');
}

describe('mass payouts', () => {
  it('creates a mass payout whose amounts arrive and come back exactly', async () => {
    const amounts = [
      '0.000000000000000001',
      '123456789.123456789012345678',
      '9007199254740993.5',
      '1.10',
      '0.300000000000000004',
    ];
    const key = randomUUID();
    const created = await client.createMassPayout({
      currency: 'ETH',
      name: 'exact amounts',
      comment: 'many decimals',
      idempotencyKey: key,
      massAddresses: amounts.map((amount, i) => ({
        depositAddress: evmAddress(i),
        amount: Decimal.parse(amount),
        externalId: `exact-${i}`,
      })),
    });

    expect(created).toMatchObject({
      idempotencyKey: key,
      state: 'CREATION_IN_PROGRESS',
      name: 'exact amounts',
      comment: 'many decimals',
      currency: 'ETH',
    });
    expect(created.id).toMatch(/^[0-9]+$/);
    // The envelope is stamped with the sandbox's clock, and the digits travel as JSON numbers.
    const [sent] = requestsOf('createMassPayout');
    expect(sent).toMatchObject({ verdict: 'accepted', signatureValid: true, status: 200 });
    expect(JSON.parse(sent!.body).timestamp).toBe(START);
    expect(sent!.body).toContain('"amount":123456789.123456789012345678,');
    expect(sent!.body).toContain('"amount":0.000000000000000001,');

    // Withdrawals are created asynchronously: none yet.
    expect(await client.listWithdrawals({ dealId: created.id })).toEqual([]);
    await sandbox.advance(TIMINGS.withdrawalsCreatedAfterMs);

    const [stored] = sandbox.inspect.massPayouts();
    expect(stored!.id).toBe(created.id);
    expect(stored!.withdrawals.map((w) => w.amount)).toEqual(amounts);
    expect(stored!.withdrawals.map((w) => w.externalId)).toEqual(
      amounts.map((_, i) => `exact-${i}`),
    );

    const listed = await client.listWithdrawals({ dealId: created.id });
    expect(listed.map((w) => w.amount.toString())).toEqual(amounts);
    expect(listed.map((w) => w.id)).toEqual(stored!.withdrawals.map((w) => w.id));
    expect(listed.map((w) => w.calypsoFee?.toString())).toEqual(
      stored!.withdrawals.map((w) => w.calypsoFee),
    );
    expect(listed.every((w) => w.state === 'DRAFT')).toBe(true);
  });

  it('gets a mass payout by id and by idempotencyKey as it moves to a final state', async () => {
    const key = randomUUID();
    const created = await createEthPayout(ethRecipients(3, 'get'), key);

    const byId = await client.getMassPayout({ id: created.id });
    const byKey = await client.getMassPayout({ idempotencyKey: key });
    expect(byId).toEqual(created);
    expect(byKey).toEqual(created);

    await sandbox.advance(TIMINGS.withdrawalsCreatedAfterMs);
    expect((await client.getMassPayout({ id: created.id })).state).toBe('CONFIRMED');
    await sandbox.advance(TIMINGS.inProgressAfterMs);
    expect((await client.getMassPayout({ idempotencyKey: key })).state).toBe('IN_PROGRESS');
    await sandbox.advance(TIMINGS.completedAfterMs);
    const final = await client.getMassPayout({ id: created.id });
    expect(final.state).toBe('COMPLETED');
    expect(final.totalCalypsoFee?.toString()).toBe(
      sandbox.inspect.massPayouts()[0]!.totalCalypsoFee,
    );
  });

  it('lists withdrawals page by page, and filters by payout, key, externalId and state', async () => {
    const first = ethRecipients(23, 'first');
    const second = ethRecipients(5, 'second');
    // One externalId in both payouts: on its own it finds both withdrawals.
    first[4] = { ...first[4]!, externalId: 'shared' };
    second[2] = { ...second[2]!, externalId: 'shared' };
    const failing = first[7]!.depositAddress;
    sandbox.faults.failAddresses([failing]);
    const firstKey = randomUUID();
    const a = await createEthPayout(first, firstKey);
    const b = await createEthPayout(second);
    await sandbox.advance(UNTIL_FINAL_MS);
    // The guide's rule: none in progress and one completed makes the payout COMPLETED.
    expect((await client.getMassPayout({ id: a.id })).state).toBe('COMPLETED');
    expect((await client.getMassPayout({ id: b.id })).state).toBe('COMPLETED');

    // 23 withdrawals in pages of 5: four full pages and a short one.
    const before = requestsOf('listWithdrawals').length;
    const all = await client.listWithdrawals({ dealId: a.id }, { pageSize: 5 });
    const pages = requestsOf('listWithdrawals').slice(before);
    expect(pages.map((r) => JSON.parse(r.body).payload.page)).toEqual([0, 1, 2, 3, 4]);
    expect(pages.every((r) => JSON.parse(r.body).payload.size === 5)).toBe(true);
    expect(all.map((w) => w.depositAddress)).toEqual(first.map((r) => r.depositAddress));
    expect(all.map((w) => w.amount.toString())).toEqual(first.map((r) => r.amount.toString()));
    expect(all.map((w) => w.externalId)).toEqual(first.map((r) => r.externalId));
    for (const w of all) {
      if (w.depositAddress === failing) {
        expect(w).toMatchObject({ state: 'FAILED', currency: 'ETH' });
        expect(w.transactionHash).toBeUndefined();
      } else {
        expect(w.state).toBe('COMPLETED');
        expect(w.transactionHash).toMatch(/^0x[0-9a-f]{64}$/);
        expect(w.calypsoFee?.isPositive()).toBe(true);
      }
    }

    const byKey = await client.listWithdrawals({ idempotencyKey: firstKey }, { pageSize: 7 });
    expect(byKey.map((w) => w.id)).toEqual(all.map((w) => w.id));

    const shared = await client.listWithdrawals({ externalId: 'shared' });
    expect(shared.map((w) => w.depositAddress).sort()).toEqual(
      [first[4]!.depositAddress, second[2]!.depositAddress].sort(),
    );
    const sharedInB = await client.listWithdrawals({ dealId: b.id, externalId: 'shared' });
    expect(sharedInB.map((w) => w.depositAddress)).toEqual([second[2]!.depositAddress]);
    expect(await client.listWithdrawals({ externalId: 'nobody' })).toEqual([]);

    const failed = await client.listWithdrawals({ dealId: a.id, stateNames: ['FAILED'] });
    expect(failed.map((w) => w.depositAddress)).toEqual([failing]);
    const completed = await client.listWithdrawals(
      { idempotencyKey: firstKey, stateNames: ['COMPLETED'] },
      { pageSize: 10 },
    );
    expect(completed).toHaveLength(22);
    const either = await client.listWithdrawals({ stateNames: ['COMPLETED', 'FAILED'] });
    expect(either).toHaveLength(28);
  });

  it('names every withdrawal state in each listing unless narrowed (the sandbox refuses a listing without)', async () => {
    const created = await createEthPayout(ethRecipients(3, 'states'));
    await sandbox.advance(TIMINGS.withdrawalsCreatedAfterMs);
    const listed = await client.listWithdrawals({ dealId: created.id });
    expect(listed.map((w) => w.state)).toEqual(['DRAFT', 'DRAFT', 'DRAFT']);
    const page = await client.listWithdrawalsPage({ dealId: created.id }, 0, 2);
    expect(page.result).toHaveLength(2);
    const narrowed = await client.listWithdrawals({ dealId: created.id, stateNames: ['FAILED'] });
    expect(narrowed).toEqual([]);
    const sent = requestsOf('listWithdrawals').map((r) => JSON.parse(r.body).payload.stateNames);
    const every = ['DRAFT', 'IN_PROGRESS', 'COMPLETED', 'REPLACED', 'FAILED', 'CANCELED'];
    expect(sent).toEqual([every, every, ['FAILED']]);
    expect(requestsOf('listWithdrawals').every((r) => r.status === 200)).toBe(true);
  });

  it('stops a listing at totalElements: withdrawals filling exactly N pages take N calls', async () => {
    const recipients = ethRecipients(15, 'full');
    const created = await createEthPayout(recipients);
    await sandbox.advance(TIMINGS.withdrawalsCreatedAfterMs);
    for (const [pageSize, calls] of [
      [5, 3],
      [15, 1],
      [3, 5],
      [4, 4], // 4 + 4 + 4 + 3: the short last page ends it
      [100, 1],
    ] as const) {
      const before = requestsOf('listWithdrawals').length;
      const all = await client.listWithdrawals({ dealId: created.id }, { pageSize });
      expect(all.map((w) => w.depositAddress)).toEqual(recipients.map((r) => r.depositAddress));
      expect(requestsOf('listWithdrawals').length - before).toBe(calls);
    }
  });

  it('lists from the first page the sandbox numbers from, 0 or 1', async () => {
    for (const firstPage of [0, 1] as const) {
      const numbered = await startCalypsoSandbox({
        clock: { mode: 'manual', startAt: START },
        seed: 12,
        timings: TIMINGS,
        firstPage,
      });
      try {
        const account = numbered.accounts[0]!;
        const paging = new CalypsoClient(
          {
            baseUrl: numbered.url,
            pathPrefix: numbered.pathPrefix,
            apiKey: account.apiKey,
            secretKey: account.secretKey,
            account: account.account,
            maxAttempts: 1,
            firstPage,
          },
          { now: () => numbered.now() },
        );
        const recipients = ethRecipients(7, `first-${firstPage}`);
        const created = await paging.createMassPayout({
          currency: 'ETH',
          name: 'paging',
          idempotencyKey: randomUUID(),
          massAddresses: recipients,
        });
        await numbered.advance(UNTIL_FINAL_MS);
        const all = await paging.listWithdrawals({ dealId: created.id }, { pageSize: 3 });
        expect(all.map((w) => w.depositAddress)).toEqual(recipients.map((r) => r.depositAddress));
        expect(all.every((w) => w.state === 'COMPLETED')).toBe(true);
        const pages = numbered.inspect
          .requests()
          .filter((r) => r.operation === 'listWithdrawals')
          .map((r) => [JSON.parse(r.body).payload.page, r.status]);
        expect(pages).toEqual([
          [firstPage, 200],
          [firstPage + 1, 200],
          [firstPage + 2, 200],
        ]);
        // Numbering from the other end loses the first page, or is refused.
        const wrong = new CalypsoClient(
          {
            baseUrl: numbered.url,
            pathPrefix: numbered.pathPrefix,
            apiKey: account.apiKey,
            secretKey: account.secretKey,
            account: account.account,
            maxAttempts: 1,
            firstPage: 1 - firstPage,
          },
          { now: () => numbered.now() },
        );
        if (firstPage === 0) {
          const missing = await wrong.listWithdrawals({ dealId: created.id }, { pageSize: 3 });
          expect(missing).toHaveLength(4);
        } else {
          const refused = await failure(() => wrong.listWithdrawals({ dealId: created.id }));
          expect(refused).toBeInstanceOf(CalypsoValidationError);
        }
        expect(numbered.inspect.internalErrors()).toEqual([]);
      } finally {
        await numbered.close();
      }
    }
  });

  it('refuses a reused idempotencyKey with CalypsoIdempotencyKeyExistsError, creating nothing', async () => {
    const key = randomUUID();
    await createEthPayout(ethRecipients(2, 'once'), key);
    const error = await failure(() => createEthPayout(ethRecipients(3, 'twice'), key));

    expect(error).toBeInstanceOf(CalypsoIdempotencyKeyExistsError);
    expect(error).toMatchObject({
      errorCode: '016',
      operation: 'createMassPayout',
      retryable: false,
      httpStatus: 400,
    });
    expect((error as CalypsoError).traceId).toBeTruthy();
    expect(sandbox.inspect.massPayoutCreates(key)).toBe(1);
    expect(sandbox.inspect.massPayoutCreateAttempts(key)).toBe(2);
    expect(sandbox.inspect.massPayouts()).toHaveLength(1);
  });

  it('maps invalid payloads to CalypsoValidationError without retrying', async () => {
    const unknownCurrency = await failure(() =>
      client.createMassPayout({
        currency: 'NOPE',
        name: 'bad',
        idempotencyKey: randomUUID(),
        massAddresses: [{ depositAddress: btcAddress(1), amount: Decimal.parse('1') }],
      }),
    );
    expect(unknownCurrency).toBeInstanceOf(CalypsoValidationError);
    expect(unknownCurrency).toMatchObject({ errorCode: '016', retryable: false });

    const tooPrecise = await failure(() =>
      client.createMassPayout({
        currency: 'BTC',
        name: 'bad',
        idempotencyKey: randomUUID(),
        massAddresses: [{ depositAddress: btcAddress(1), amount: Decimal.parse('0.123456789') }],
      }),
    );
    expect(tooPrecise).toBeInstanceOf(CalypsoValidationError);
    expect(tooPrecise).toMatchObject({ errorCode: '016' });

    const notAUuid = await failure(() => createEthPayout(ethRecipients(1, 'key'), 'not-a-uuid'));
    expect(notAUuid).toBeInstanceOf(CalypsoValidationError);
    expect(notAUuid).toMatchObject({ errorCode: '001' });

    const badState = await failure(() => client.listWithdrawals({ stateNames: ['SOMEWHERE'] }));
    expect(badState).toBeInstanceOf(CalypsoValidationError);

    expect(sandbox.inspect.massPayouts()).toEqual([]);
    // One request per call: a refusal is final.
    expect(requestsOf('createMassPayout')).toHaveLength(3);
    expect(requestsOf('listWithdrawals')).toHaveLength(1);
  });

  it('maps unknown ids and keys to CalypsoNotFoundError', async () => {
    for (const lookup of [
      () => client.getMassPayout({ id: '987654321' }),
      () => client.getMassPayout({ idempotencyKey: randomUUID() }),
      () => client.getPayout({ id: '987654321' }),
      () => client.getPayout({ idempotencyKey: randomUUID() }),
    ]) {
      const error = await failure(lookup);
      expect(error).toBeInstanceOf(CalypsoNotFoundError);
      expect(error).toMatchObject({ errorCode: '004', retryable: false });
    }
    // A single payout is not found as a mass payout, nor the other way round.
    const single = await client.createPayout({
      currency: 'BTC',
      depositAddress: btcAddress('kind'),
      amount: Decimal.parse('0.1'),
      idempotencyKey: randomUUID(),
    });
    expect(await failure(() => client.getMassPayout({ id: single.id }))).toBeInstanceOf(
      CalypsoNotFoundError,
    );
    expect(sandbox.inspect.requests()).toHaveLength(6);
  });
});

describe('single payouts, balances and webhook subscriptions', () => {
  it('creates and gets a single payout', async () => {
    const key = randomUUID();
    const address = btcAddress('single');
    const created = await client.createPayout({
      currency: 'BTC',
      depositAddress: address,
      amount: Decimal.parse('0.00000001'),
      comment: 'one recipient',
      idempotencyKey: key,
      externalId: 'single-1',
    });
    expect(created).toMatchObject({
      idempotencyKey: key,
      currency: 'BTC',
      depositAddress: address,
      externalId: 'single-1',
      comment: 'one recipient',
    });
    expect(created.amount?.toString()).toBe('0.00000001');
    expect(await client.getPayout({ id: created.id })).toEqual(created);
    expect(await client.getPayout({ idempotencyKey: key })).toEqual(created);

    await sandbox.advance(UNTIL_FINAL_MS);
    const done = await client.getPayout({ idempotencyKey: key });
    expect(done.state).toBe('COMPLETED');
    expect(done.transactionHash).toMatch(/^[0-9a-f]{64}$/);
    const [stored] = sandbox.inspect.payouts();
    expect(stored!.withdrawals[0]).toMatchObject({
      amount: '0.00000001',
      transactionHash: done.transactionHash,
    });

    const again = await failure(() =>
      client.createPayout({
        currency: 'BTC',
        depositAddress: address,
        amount: Decimal.parse('0.00000001'),
        idempotencyKey: key,
      }),
    );
    expect(again).toBeInstanceOf(CalypsoIdempotencyKeyExistsError);
    expect(sandbox.inspect.payouts()).toHaveLength(1);
  });

  it('reads the balances exactly, and follows what a payout spends', async () => {
    sandbox.setBalance('ETH', '1000.000000000000000001');
    sandbox.setBalance('BTC', '0.12345678');
    sandbox.setBalance('USDT', '0');

    const account = await client.getAccount();
    expect(account.account).toBe(sandbox.accounts[0]!.account);
    expect(account.ownerId).toBeTruthy();
    const balance = (code: string) =>
      account.balances.find((b) => b.currency === code)?.amount.toString();
    expect(balance('ETH')).toBe('1000.000000000000000001');
    expect(balance('BTC')).toBe('0.12345678');
    expect(balance('USDT')).toBe('0');
    expect(
      Object.fromEntries(account.balances.map((b) => [b.currency, b.amount.toString()])),
    ).toEqual(sandbox.inspect.balances());

    await createEthPayout([
      { depositAddress: evmAddress('spend'), amount: Decimal.parse('0.000000000000000200') },
    ]);
    await sandbox.advance(UNTIL_FINAL_MS);
    const after = await client.getAccount();
    const eth = after.balances.find((b) => b.currency === 'ETH')!.amount;
    const fee = Decimal.parse(sandbox.inspect.massPayouts()[0]!.totalCalypsoFee);
    expect(eth.toString()).toBe(sandbox.inspect.balances().ETH);
    expect(
      eth.equals(
        Decimal.parse('1000.000000000000000001').sub(Decimal.parse('0.0000000000000002')).sub(fee),
      ),
    ).toBe(true);
  });

  it('creates webhook subscriptions, each with its own keys', async () => {
    const firstId = randomUUID();
    const secondId = randomUUID();
    const first = await client.createWebhookSubscription({
      requestId: firstId,
      url: 'http://127.0.0.1:9/webhooks/calypso',
    });
    const second = await client.createWebhookSubscription({
      requestId: secondId,
      url: 'http://127.0.0.1:9/other',
      notificationEventTypes: ['PAYOUT_CHANGE_STATUS', 'PAYOUT_VALIDATION_ERROR'],
    });

    const held = sandbox.inspect.subscriptions();
    expect(held.map((s) => s.requestId)).toEqual([firstId, secondId]);
    expect(first).toMatchObject({
      requestId: firstId,
      url: 'http://127.0.0.1:9/webhooks/calypso',
      notificationServiceTypes: ['PAYOUT'],
      publicKey: held[0]!.publicKey,
      secretKey: held[0]!.secretKey,
    });
    expect(second).toMatchObject({
      requestId: secondId,
      notificationEventTypes: ['PAYOUT_CHANGE_STATUS', 'PAYOUT_VALIDATION_ERROR'],
      publicKey: held[1]!.publicKey,
      secretKey: held[1]!.secretKey,
    });
    expect(first.publicKey).not.toBe(second.publicKey);
    expect(first.secretKey).not.toBe(second.secretKey);
  });
});

describe('authentication', () => {
  it('maps a wrong secret and an unknown key to CalypsoAuthError, never retried', async () => {
    const wrongSecret = await failure(() => clientFor({ secretKey: '0'.repeat(32) }).getAccount());
    expect(wrongSecret).toBeInstanceOf(CalypsoAuthError);
    expect(wrongSecret).toMatchObject({ errorCode: '003', retryable: false });
    // The error carries neither the secret nor the signature.
    expect(String(wrongSecret)).not.toContain('0'.repeat(32));

    const unknownKey = await failure(() =>
      clientFor({ apiKey: 'f'.repeat(32) }).createMassPayout({
        currency: 'ETH',
        name: 'never',
        idempotencyKey: randomUUID(),
        massAddresses: [{ depositAddress: evmAddress(1), amount: Decimal.parse('1') }],
      }),
    );
    expect(unknownKey).toBeInstanceOf(CalypsoAuthError);
    expect(unknownKey).toMatchObject({ errorCode: '002' });

    const requests = sandbox.inspect.requests();
    expect(requests.map((r) => [r.operation, r.signatureValid, r.errorCode])).toEqual([
      ['getAccount', false, '003'],
      ['createMassPayout', null, '002'],
    ]);
    expect(sandbox.inspect.massPayouts()).toEqual([]);
  });
});

describe('faults', () => {
  it('retries 500 / 000 answers transparently, and gives up with the last one', async () => {
    sandbox.faults.failNext('getAccount', { count: 2 });
    const account = await client.getAccount();
    expect(account.balances.length).toBeGreaterThan(0);
    expect(requestsOf('getAccount').map((r) => [r.status, r.fault])).toEqual([
      [500, 'fail'],
      [500, 'fail'],
      [200, null],
    ]);

    const key = randomUUID();
    sandbox.faults.failNext('createMassPayout', { count: 2 });
    const created = await createEthPayout(ethRecipients(2, 'retried'), key);
    expect(created.idempotencyKey).toBe(key);
    expect(sandbox.inspect.massPayoutCreateAttempts(key)).toBe(3);
    expect(sandbox.inspect.massPayoutCreates(key)).toBe(1);
    // Every attempt carries the same payload and key.
    const payloads = requestsOf('createMassPayout').map((r) => JSON.parse(r.body).payload);
    expect(new Set(payloads.map((p) => JSON.stringify(p))).size).toBe(1);

    sandbox.faults.failNext('listWithdrawals', { count: 3 });
    const exhausted = await failure(() => client.listWithdrawals({ dealId: created.id }));
    expect(exhausted).toBeInstanceOf(CalypsoError);
    expect(exhausted).not.toBeInstanceOf(CalypsoUnknownOutcomeError);
    expect(exhausted).toMatchObject({ errorCode: '000', httpStatus: 500, retryable: true });
    expect(requestsOf('listWithdrawals')).toHaveLength(3);
  });

  it('ends in CalypsoUnknownOutcomeError when every create answer is lost; the key finds exactly one payout', async () => {
    const key = randomUUID();
    sandbox.faults.dropResponseNext('createMassPayout', { count: 3 });
    const error = await failure(() => createEthPayout(ethRecipients(4, 'lost'), key));

    expect(error).toBeInstanceOf(CalypsoUnknownOutcomeError);
    expect(error).toMatchObject({ attempts: 3, operation: 'createMassPayout', retryable: true });
    expect(sandbox.inspect.massPayoutCreateAttempts(key)).toBe(3);
    expect(sandbox.inspect.massPayoutCreates(key)).toBe(1);

    const found = await client.getMassPayout({ idempotencyKey: key });
    expect(found).toMatchObject({ idempotencyKey: key, state: 'CREATION_IN_PROGRESS' });
    expect(sandbox.inspect.massPayouts().map((p) => p.id)).toEqual([found.id]);
  });

  it('reports a retry of a lost create as CalypsoIdempotencyKeyExistsError, never a second payout', async () => {
    const key = randomUUID();
    sandbox.faults.dropResponseNext('createMassPayout', { count: 1 });
    const error = await failure(() => createEthPayout(ethRecipients(2, 'dropped-once'), key));

    expect(error).toBeInstanceOf(CalypsoIdempotencyKeyExistsError);
    expect(sandbox.inspect.massPayoutCreateAttempts(key)).toBe(2);
    expect(sandbox.inspect.massPayoutCreates(key)).toBe(1);
    expect((await client.getMassPayout({ idempotencyKey: key })).idempotencyKey).toBe(key);
  });

  it('times out an answer later than timeoutMs, and retries it', { timeout: 60_000 }, async () => {
    const impatient = clientFor({ timeoutMs: SHORT_TIMEOUT_MS, maxAttempts: 1 });
    sandbox.faults.delayNext('getAccount', { ms: LATE_MS });
    const started = Date.now();
    const timedOut = await failure(() => impatient.getAccount());
    expect(Date.now() - started).toBeLessThan(LATE_MS);
    expect(timedOut).toBeInstanceOf(CalypsoError);
    expect(timedOut).not.toBeInstanceOf(CalypsoUnknownOutcomeError);
    expect(timedOut).toMatchObject({ errorCode: 'timeout', retryable: true });

    // With a second attempt the late answer is invisible to the caller.
    const patient = clientFor({ timeoutMs: SHORT_TIMEOUT_MS, maxAttempts: 2 });
    sandbox.faults.delayNext('getAccount', { ms: LATE_MS });
    const account = await patient.getAccount();
    expect(account.account).toBe(sandbox.accounts[0]!.account);
    expect(requestsOf('getAccount').map((r) => r.fault)).toEqual(['delay', 'delay', null]);

    // A create that took effect but answered too late: the retry meets its own key.
    const key = randomUUID();
    sandbox.faults.delayNext('createMassPayout', { ms: LATE_MS, phase: 'afterHandling' });
    const late = await failure(() =>
      patient.createMassPayout({
        currency: 'ETH',
        name: 'late',
        idempotencyKey: key,
        massAddresses: ethRecipients(2, 'late'),
      }),
    );
    expect(late).toBeInstanceOf(CalypsoIdempotencyKeyExistsError);
    expect(sandbox.inspect.massPayoutCreates(key)).toBe(1);
    expect((await patient.getMassPayout({ idempotencyKey: key })).idempotencyKey).toBe(key);
  });
});
