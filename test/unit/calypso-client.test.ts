import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CalypsoClient,
  type CalypsoClientConfig,
  type CalypsoClientDeps,
} from '../../shared/calypso/client.js';
import {
  CalypsoAuthError,
  CalypsoError,
  CalypsoIdempotencyKeyExistsError,
  CalypsoNotFoundError,
  CalypsoUnknownOutcomeError,
  CalypsoValidationError,
} from '../../shared/calypso/errors.js';
import { sign } from '../../shared/calypso/signing.js';
import { Decimal } from '../../shared/domain/money.js';
import {
  CalypsoStubServer,
  type StubReply,
  type StubRequest,
} from '../support/calypso-stub-server.js';

const API_KEY = 'c529e14832b34b74972365cf7bf02430';
const SECRET = 'b823a6b9ea72408583cef9ec8d67fa52';
const ACCOUNT = '0x5f0a2c1e9b';
const P = '/api/v1';
const T0 = 1_700_000_000_000;
const KEY = '3f1c2a9e-6b1d-4c55-9a63-2f0e7d1b8c44';

const MASS_PAYOUT = `{"id":987,"idempotencyKey":"${KEY}","companyId":5,"state":"CREATION_IN_PROGRESS","comment":"May payroll","name":"May","currency":"USDT","totalCalypsoFee":0.000000000000000001,"totalCalypsoFeePercentage":0.25,"somethingNew":{"a":1}}`;
const ACCOUNT_ANSWER = `{"account":"${ACCOUNT}","name":"Main","ownerId":42,"balances":[{"currency":"ETH","amount":12.000000000000000001},{"currency":"USDT","amount":1000000.5}]}`;
const ok = (rawBody: string): StubReply => ({ status: 200, rawBody });
const calypsoError = (errorCode: string, message = 'error', status = 400): StubReply => ({
  status,
  body: { errorCode, message, traceId: `trace-${errorCode}` },
});

let stub: CalypsoStubServer;

beforeAll(async () => {
  stub = await CalypsoStubServer.start({ apiKey: API_KEY, secretKey: SECRET });
});
afterAll(async () => {
  await stub.close();
});
beforeEach(() => {
  stub.reset();
});

interface Harness {
  client: CalypsoClient;
  /** Every wait the client asked for, in order (nothing is actually waited). */
  delays: number[];
  /** Every timestamp the client read. */
  clockReads: number[];
}

/** A client on the stub; the clock advances 1 s per read, waits are recorded, jitter is 0.5. */
function harness(config: Partial<CalypsoClientConfig> = {}, deps: CalypsoClientDeps = {}): Harness {
  const delays: number[] = [];
  const clockReads: number[] = [];
  let clock = T0;
  const client = new CalypsoClient(
    {
      baseUrl: stub.url,
      apiKey: API_KEY,
      secretKey: SECRET,
      account: ACCOUNT,
      timeoutMs: 2_000,
      ...config,
    },
    {
      now: () => {
        clock += 1_000;
        clockReads.push(clock);
        return clock;
      },
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 0.5,
      ...deps,
    },
  );
  return { client, delays, clockReads };
}

interface Envelope {
  timestamp: string;
  account: string;
  payload?: Record<string, unknown>;
}
const envelopeOf = (request: StubRequest) => request.body as Envelope;
const payloadOf = (request: StubRequest) => envelopeOf(request).payload ?? {};

async function failure(promise: Promise<unknown>): Promise<CalypsoError> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(outcome instanceof CalypsoError)) {
    throw new Error(`expected a CalypsoError, got ${inspect(outcome)}`);
  }
  return outcome;
}

function massPayoutInput() {
  return {
    currency: 'USDT',
    name: 'May',
    comment: 'May payroll',
    idempotencyKey: KEY,
    executionDate: '2030-01-01T10:00:00Z',
    massAddresses: [
      {
        depositAddress: '0x1111111111111111111111111111111111111111',
        amount: Decimal.parse('123456789.123456789012345678'),
        externalId: 'emp-1',
      },
      {
        depositAddress: '0x2222222222222222222222222222222222222222',
        amount: Decimal.parse('0.50'),
      },
    ],
  };
}

describe('requests: envelope, signature, paths and payloads', () => {
  it('createMassPayout sends the signed envelope byte for byte and reads the answer exactly', async () => {
    stub.reply(`${P}/payout/mass/create`, ok(MASS_PAYOUT));
    const { client } = harness({}, { now: () => T0 });

    const created = await client.createMassPayout(massPayoutInput());

    const [request] = stub.requests;
    expect(stub.requests).toHaveLength(1);
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe(`${P}/payout/mass/create`);
    expect(request?.rawBody).toBe(
      `{"timestamp":${T0},"account":"${ACCOUNT}","payload":{"currency":"USDT","name":"May","comment":"May payroll","idempotencyKey":"${KEY}","executionDate":"2030-01-01T10:00:00Z","massAddresses":[{"depositAddress":"0x1111111111111111111111111111111111111111","amount":123456789.123456789012345678,"externalId":"emp-1"},{"depositAddress":"0x2222222222222222222222222222222222222222","amount":0.50}]}}`,
    );
    expect(request?.headers['key']).toBe(API_KEY);
    expect(request?.headers['sign']).toBe(sign(request?.rawBody ?? '', SECRET));
    expect(request?.headers['content-type']).toBe('application/json');

    expect(created).toMatchObject({
      id: '987',
      idempotencyKey: KEY,
      companyId: '5',
      state: 'CREATION_IN_PROGRESS',
      name: 'May',
      currency: 'USDT',
    });
    expect(created.totalCalypsoFee).toBeInstanceOf(Decimal);
    expect(created.totalCalypsoFee?.toString()).toBe('0.000000000000000001');
    expect(created.totalCalypsoFeePercentage?.toString()).toBe('0.25');
    expect(created).not.toHaveProperty('somethingNew');
  });

  it('leaves optional fields out of the payload when they are not given', async () => {
    stub.reply(`${P}/payout/mass/create`, ok(MASS_PAYOUT));
    const { client } = harness();
    await client.createMassPayout({
      currency: 'ETH',
      name: 'n',
      idempotencyKey: KEY,
      massAddresses: [{ depositAddress: '0xabc', amount: Decimal.parse('1') }],
    });
    expect(stub.requests[0]?.rawBody).toContain(
      `"payload":{"currency":"ETH","name":"n","idempotencyKey":"${KEY}","massAddresses":[{"depositAddress":"0xabc","amount":1}]}}`,
    );
  });

  it('refuses an empty or non-positive mass payout without calling Calypso', async () => {
    const { client } = harness();
    await expect(
      client.createMassPayout({ ...massPayoutInput(), massAddresses: [] }),
    ).rejects.toThrow(RangeError);
    await expect(
      client.createMassPayout({
        ...massPayoutInput(),
        massAddresses: [{ depositAddress: '0xabc', amount: Decimal.parse('0') }],
      }),
    ).rejects.toThrow(RangeError);
    expect(stub.requests).toHaveLength(0);
  });

  it('getMassPayout looks up by id (a numeric id as a number) or by idempotencyKey', async () => {
    stub.reply(`${P}/payout/mass`, ok(MASS_PAYOUT.replace('CREATION_IN_PROGRESS', 'COMPLETED')));
    const { client } = harness();

    const byId = await client.getMassPayout({ id: '987' });
    const byKey = await client.getMassPayout({ idempotencyKey: KEY });
    await client.getMassPayout({ id: 'a1b2-c3' });

    expect(byId.state).toBe('COMPLETED');
    expect(byKey.id).toBe('987');
    expect(stub.requests.map((r) => r.path)).toEqual([
      `${P}/payout/mass`,
      `${P}/payout/mass`,
      `${P}/payout/mass`,
    ]);
    expect(stub.requests[0]?.rawBody).toMatch(/"payload":\{"id":987\}\}$/);
    expect(stub.requests[1]?.rawBody).toMatch(
      new RegExp(`"payload":\\{"idempotencyKey":"${KEY}"\\}\\}$`),
    );
    expect(stub.requests[2]?.rawBody).toMatch(/"payload":\{"id":"a1b2-c3"\}\}$/);
  });

  it('listWithdrawalsPage sends the filter and paging in the payload, on the configured path', async () => {
    stub.reply(
      `/api/v1/pub/payout/withdrawal/find`,
      ok('{"result":[],"page":3,"size":50,"total":0,"totalElements":0}'),
    );
    const { client } = harness({
      baseUrl: `${stub.url}/`,
      pathPrefix: '/api/v1/pub',
      withdrawalsPath: 'payout/withdrawal/find',
    });

    const page = await client.listWithdrawalsPage(
      { dealId: '987', externalId: 'emp-1', stateNames: ['FAILED', 'COMPLETED'] },
      3,
      50,
    );

    expect(page).toEqual({ result: [], page: 3, size: 50, total: 0, totalElements: 0 });
    expect(stub.requests[0]?.path).toBe('/api/v1/pub/payout/withdrawal/find');
    expect(stub.requests[0]?.rawBody).toMatch(
      /"payload":\{"dealId":987,"externalId":"emp-1","stateNames":\["FAILED","COMPLETED"\],"page":3,"size":50\}\}$/,
    );
  });

  it('createPayout and getPayout use the single payout paths', async () => {
    const answer = `{"id":"p-1","idempotencyKey":"${KEY}","state":"IN_PROGRESS","amount":0.000000000000000001,"currency":"ETH","externalId":"x-9"}`;
    stub.reply(`${P}/payout/create`, ok(answer));
    stub.reply(`${P}/payout`, ok(answer));
    const { client } = harness();

    const created = await client.createPayout({
      currency: 'ETH',
      depositAddress: '0xabc',
      amount: Decimal.parse('0.000000000000000001'),
      comment: 'bonus',
      idempotencyKey: KEY,
      externalId: 'x-9',
    });
    const fetched = await client.getPayout({ idempotencyKey: KEY });

    expect(stub.requests.map((r) => r.path)).toEqual([`${P}/payout/create`, `${P}/payout`]);
    expect(stub.requests[0]?.rawBody).toMatch(
      new RegExp(
        `"payload":\\{"currency":"ETH","depositAddress":"0xabc","amount":0.000000000000000001,"comment":"bonus","idempotencyKey":"${KEY}","externalId":"x-9"\\}\\}$`,
      ),
    );
    expect(payloadOf(stub.requests[1] as StubRequest)).toEqual({ idempotencyKey: KEY });
    expect(created.amount?.toString()).toBe('0.000000000000000001');
    expect(fetched).toMatchObject({ id: 'p-1', state: 'IN_PROGRESS', externalId: 'x-9' });
  });

  it('getAccount sends only {timestamp, account} and reads balances exactly', async () => {
    stub.reply(`${P}/account`, ok(ACCOUNT_ANSWER));
    const { client } = harness({}, { now: () => T0 });

    const account = await client.getAccount();

    expect(stub.requests[0]?.path).toBe(`${P}/account`);
    expect(stub.requests[0]?.rawBody).toBe(`{"timestamp":${T0},"account":"${ACCOUNT}"}`);
    expect(account.account).toBe(ACCOUNT);
    expect(account.ownerId).toBe('42');
    expect(account.balances.map((b) => `${b.currency} ${b.amount.toString()}`)).toEqual([
      'ETH 12.000000000000000001',
      'USDT 1000000.5',
    ]);
  });

  it('creates a webhook subscription', async () => {
    stub.reply(
      `${P}/subscription/webhook/create`,
      ok(
        '{"url":"https://hooks.example/calypso","publicKey":"pk-1","secretKey":"sk-1","notificationServiceTypes":["PAYOUT"]}',
      ),
    );
    const { client } = harness({}, { now: () => T0 });

    const created = await client.createWebhookSubscription({
      requestId: 'r-1',
      url: 'https://hooks.example/calypso',
    });

    expect(created).toEqual({
      requestId: 'r-1',
      url: 'https://hooks.example/calypso',
      publicKey: 'pk-1',
      secretKey: 'sk-1',
      notificationServiceTypes: ['PAYOUT'],
    });
    expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST ${P}/subscription/webhook/create`,
    ]);
    expect(stub.requests[0]?.rawBody).toMatch(
      /"payload":\{"requestId":"r-1","notificationServiceTypes":\["PAYOUT"\],"url":"https:\/\/hooks.example\/calypso"\}\}$/,
    );
  });

  it('subscribes to the given event types only, when given', async () => {
    stub.reply(`${P}/subscription/webhook/create`, ok('{"requestId":"r-2"}'));
    const { client } = harness();
    await client.createWebhookSubscription({
      requestId: 'r-2',
      url: 'https://h',
      notificationEventTypes: ['PAYOUT_CHANGE_STATUS'],
    });
    expect(payloadOf(stub.requests[0] as StubRequest)).toEqual({
      requestId: 'r-2',
      notificationEventTypes: ['PAYOUT_CHANGE_STATUS'],
      url: 'https://h',
    });
  });

  it('is refused with 003 when the body is signed with another secret, and does not retry', async () => {
    const { client } = harness({ secretKey: 'ffffffffffffffffffffffffffffffff' });
    const error = await failure(client.getAccount());
    expect(error).toBeInstanceOf(CalypsoAuthError);
    expect(error.errorCode).toBe('003');
    expect(error.retryable).toBe(false);
    expect(stub.requests).toHaveLength(1);
  });
});

describe('retries', () => {
  it('retries 500/000 and a gateway 502 with a fresh timestamp and sign, the same payload', async () => {
    stub.reply(
      `${P}/payout/mass/create`,
      calypsoError('000', 'Internal error', 500),
      { status: 502, rawBody: '<html>Bad Gateway</html>' },
      ok(MASS_PAYOUT),
    );
    const { client, delays } = harness();

    const created = await client.createMassPayout(massPayoutInput());

    expect(created.id).toBe('987');
    expect(stub.requests).toHaveLength(3);
    const timestamps = stub.requests.map((r) => envelopeOf(r).timestamp);
    const signs = stub.requests.map((r) => r.headers['sign']);
    expect(new Set(timestamps).size).toBe(3);
    expect(new Set(signs).size).toBe(3);
    for (const request of stub.requests) {
      expect(request.headers['sign']).toBe(sign(request.rawBody, SECRET));
      expect(payloadOf(request)).toEqual(payloadOf(stub.requests[0] as StubRequest));
    }
    expect(payloadOf(stub.requests[2] as StubRequest)['idempotencyKey']).toBe(KEY);
    // Full jitter with random() = 0.5: half of 250·2^(n-1).
    expect(delays).toEqual([125, 250]);
  });

  it('retries a 000 sent with HTTP 400 too', async () => {
    stub.reply(`${P}/account`, calypsoError('000', 'Internal error', 400), ok(ACCOUNT_ANSWER));
    const { client } = harness();
    await expect(client.getAccount()).resolves.toMatchObject({ name: 'Main' });
    expect(stub.requests).toHaveLength(2);
  });

  it('honours Retry-After in seconds on 429', async () => {
    stub.reply(
      `${P}/account`,
      { status: 429, headers: { 'Retry-After': '2' }, rawBody: '' },
      ok(ACCOUNT_ANSWER),
    );
    const { client, delays } = harness();
    await client.getAccount();
    expect(delays).toEqual([2_000]);
    expect(stub.requests).toHaveLength(2);
  });

  it('honours Retry-After as an HTTP date', async () => {
    stub.reply(
      `${P}/account`,
      { status: 503, headers: { 'Retry-After': new Date(T0 + 3_000).toUTCString() }, rawBody: '' },
      ok(ACCOUNT_ANSWER),
    );
    const { client, delays } = harness({}, { now: () => T0 });
    await client.getAccount();
    expect(delays).toEqual([3_000]);
  });

  it('gives up at once when Retry-After is longer than it will wait', async () => {
    stub.reply(`${P}/account`, { status: 429, headers: { 'Retry-After': '120' }, rawBody: '' });
    const { client, delays } = harness({ maxRetryAfterMs: 60_000 });
    const error = await failure(client.getAccount());
    expect(error.errorCode).toBe('http-429');
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(120_000);
    expect(delays).toEqual([]);
    expect(stub.requests).toHaveLength(1);
  });

  it('caps the backoff at maxDelayMs', async () => {
    stub.reply(`${P}/account`, calypsoError('000', 'x', 500));
    const { client, delays } = harness(
      { maxAttempts: 6, baseDelayMs: 1_000, maxDelayMs: 3_000 },
      { random: () => 0.999 },
    );
    await failure(client.getAccount());
    expect(delays).toEqual([999, 1998, 2997, 2997, 2997]);
    expect(stub.requests).toHaveLength(6);
  });

  it('retries after the connection is reset', async () => {
    stub.reply(`${P}/payout/mass`, { action: 'reset' }, ok(MASS_PAYOUT));
    const { client, delays } = harness();
    await expect(client.getMassPayout({ idempotencyKey: KEY })).resolves.toMatchObject({
      id: '987',
    });
    expect(stub.requests).toHaveLength(2);
    expect(delays).toHaveLength(1);
  });

  it('retries after a per-attempt timeout', async () => {
    stub.reply(`${P}/payout/mass`, { action: 'hang' }, ok(MASS_PAYOUT));
    const { client } = harness({ timeoutMs: 150 });
    const started = Date.now();
    await expect(client.getMassPayout({ id: '987' })).resolves.toMatchObject({ id: '987' });
    expect(stub.requests).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('times out an answer whose body stops half way, then retries', async () => {
    stub.reply(`${P}/account`, { ...ok(ACCOUNT_ANSWER), action: 'stall-body' }, ok(ACCOUNT_ANSWER));
    const { client } = harness({ timeoutMs: 150 });
    await expect(client.getAccount()).resolves.toMatchObject({ name: 'Main' });
    expect(stub.requests).toHaveLength(2);
  });

  it('keeps the deadline even with a fetch that ignores the abort signal', async () => {
    const stalling: typeof fetch = async () =>
      new Response(new ReadableStream({ start: () => undefined }), { status: 200 });
    const { client } = harness({ timeoutMs: 100, maxAttempts: 2 }, { fetch: stalling });
    const error = await failure(client.getAccount());
    expect(error.errorCode).toBe('timeout');
    expect(error.retryable).toBe(true);
  });

  it.each([
    ['001', 'Bad request', CalypsoValidationError],
    ['003', 'Wrong sign', CalypsoAuthError],
    ['004', 'Not found', CalypsoNotFoundError],
    ['016', 'Can not create deal. Validation failed', CalypsoValidationError],
    ['016', `IdempotencyKey ${KEY} already exists`, CalypsoIdempotencyKeyExistsError],
    ['011', 'Invalid timestamp', CalypsoError],
    ['012', 'Invalid payout state', CalypsoError],
  ])('does not retry %s (%s)', async (code, message, type) => {
    stub.reply(`${P}/payout/mass/create`, calypsoError(code, message));
    const { client, delays } = harness();
    const error = await failure(client.createMassPayout(massPayoutInput()));
    expect(error).toBeInstanceOf(type);
    expect(error).not.toBeInstanceOf(CalypsoUnknownOutcomeError);
    expect(error).toMatchObject({
      errorCode: code,
      httpStatus: 400,
      traceId: `trace-${code}`,
      retryable: false,
      operation: 'createMassPayout',
    });
    expect(error.message).toContain(message);
    expect(stub.requests).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it('keeps 016 "already exists" apart from 016 "Validation failed"', async () => {
    stub.reply(
      `${P}/payout/mass/create`,
      calypsoError('016', `IdempotencyKey ${KEY} already exists`),
    );
    const exists = await failure(harness().client.createMassPayout(massPayoutInput()));
    stub.reply(
      `${P}/payout/mass/create`,
      calypsoError('016', 'Can not create deal. Validation failed'),
    );
    const invalid = await failure(harness().client.createMassPayout(massPayoutInput()));
    expect(exists).toBeInstanceOf(CalypsoIdempotencyKeyExistsError);
    expect(invalid).toBeInstanceOf(CalypsoValidationError);
    expect(invalid).not.toBeInstanceOf(CalypsoIdempotencyKeyExistsError);
  });

  it('marks a refusal that follows an attempt which may have acted, and only such a refusal', async () => {
    const refused = calypsoError('016', 'Can not create deal. Validation failed');
    stub.reply(`${P}/payout/mass/create`, { action: 'reset' }, refused);
    const afterLost = await failure(harness().client.createMassPayout(massPayoutInput()));
    stub.reset();
    stub.reply(`${P}/payout/mass/create`, calypsoError('000', 'Internal error', 500), refused);
    const after500 = await failure(harness().client.createMassPayout(massPayoutInput()));
    stub.reset();
    stub.reply(`${P}/payout/mass/create`, { status: 429, rawBody: '' }, refused);
    const after429 = await failure(harness().client.createMassPayout(massPayoutInput()));
    stub.reset();
    stub.reply(`${P}/payout/mass/create`, refused);
    const plain = await failure(harness().client.createMassPayout(massPayoutInput()));
    for (const error of [afterLost, after500, after429, plain]) {
      expect(error).toBeInstanceOf(CalypsoValidationError);
    }
    expect(afterLost.afterUncertainAttempt).toBe(true);
    expect(after500.afterUncertainAttempt).toBe(true);
    expect(after429.afterUncertainAttempt).toBe(false);
    expect(plain.afterUncertainAttempt).toBe(false);
  });

  it('follows the error code over the HTTP status: a 500 with 004 is not retried', async () => {
    stub.reply(`${P}/payout/mass`, calypsoError('004', 'Not found', 500));
    const error = await failure(harness().client.getMassPayout({ id: '1' }));
    expect(error).toBeInstanceOf(CalypsoNotFoundError);
    expect(stub.requests).toHaveLength(1);
  });

  it('reads an error body sent with HTTP 200 as an error', async () => {
    stub.reply(`${P}/payout/mass`, {
      status: 200,
      body: { errorCode: '004', message: 'Not found' },
    });
    const error = await failure(harness().client.getMassPayout({ idempotencyKey: KEY }));
    expect(error).toBeInstanceOf(CalypsoNotFoundError);
  });

  it('does not retry a 4xx without a Calypso error body', async () => {
    stub.reply(`${P}/account`, { status: 404, rawBody: '<html>Not Found</html>' });
    const error = await failure(harness().client.getAccount());
    expect(error.errorCode).toBe('http-404');
    expect(error.retryable).toBe(false);
    expect(stub.requests).toHaveLength(1);
  });

  it('makes one attempt only when maxAttempts is 1', async () => {
    stub.reply(`${P}/account`, calypsoError('000', 'x', 500));
    const error = await failure(harness({ maxAttempts: 1 }).client.getAccount());
    expect(error.errorCode).toBe('000');
    expect(stub.requests).toHaveLength(1);
  });
});

describe('unknown outcomes', () => {
  it('a create whose connection drops on every attempt ends in CalypsoUnknownOutcomeError', async () => {
    stub.reply(`${P}/payout/mass/create`, { action: 'reset' });
    const { client, delays } = harness();
    const error = await failure(client.createMassPayout(massPayoutInput()));
    expect(error).toBeInstanceOf(CalypsoUnknownOutcomeError);
    expect(error).toMatchObject({
      errorCode: 'unknown-outcome',
      operation: 'createMassPayout',
      attempts: 4,
    });
    expect((error.cause as CalypsoError).errorCode).toBe('connection-lost');
    expect(stub.requests).toHaveLength(4);
    expect(delays).toEqual([125, 250, 500]);
  });

  it('a create that times out on every attempt ends in CalypsoUnknownOutcomeError', async () => {
    stub.reply(`${P}/payout/mass/create`, { action: 'hang' });
    const { client } = harness({ timeoutMs: 80, maxAttempts: 3 });
    const error = await failure(client.createMassPayout(massPayoutInput()));
    expect(error).toBeInstanceOf(CalypsoUnknownOutcomeError);
    expect((error.cause as CalypsoError).errorCode).toBe('timeout');
    expect(stub.requests).toHaveLength(3);
  });

  it('one lost answer makes the outcome unknown even when later attempts fail plainly', async () => {
    stub.reply(`${P}/payout/mass/create`, { action: 'reset' }, { status: 429, rawBody: '' });
    const error = await failure(
      harness({ maxAttempts: 3 }).client.createMassPayout(massPayoutInput()),
    );
    expect(error).toBeInstanceOf(CalypsoUnknownOutcomeError);
    expect((error.cause as CalypsoError).errorCode).toBe('http-429');
  });

  it('a create answered 500/000 every time ends in CalypsoUnknownOutcomeError (it may have been stored)', async () => {
    stub.reply(`${P}/payout/create`, calypsoError('000', 'Internal error', 500));
    const error = await failure(
      harness().client.createPayout({
        currency: 'ETH',
        depositAddress: '0xabc',
        amount: Decimal.parse('1'),
        idempotencyKey: KEY,
      }),
    );
    expect(error).toBeInstanceOf(CalypsoUnknownOutcomeError);
    expect(error.traceId).toBe('trace-000');
  });

  it('a create refused with 429 every time is not an unknown outcome', async () => {
    stub.reply(`${P}/payout/mass/create`, { status: 429, rawBody: '' });
    const error = await failure(harness().client.createMassPayout(massPayoutInput()));
    expect(error).not.toBeInstanceOf(CalypsoUnknownOutcomeError);
    expect(error.errorCode).toBe('http-429');
    expect(error.retryable).toBe(true);
  });

  it('a read that never gets an answer fails with the last error, retryable', async () => {
    stub.reply(`${P}/payout/mass`, { action: 'reset' });
    const error = await failure(harness().client.getMassPayout({ idempotencyKey: KEY }));
    expect(error).not.toBeInstanceOf(CalypsoUnknownOutcomeError);
    expect(error.errorCode).toBe('connection-lost');
    expect(error.retryable).toBe(true);
    expect(stub.requests).toHaveLength(4);
  });

  it('a refused connection never reached Calypso: retried, then not an unknown outcome', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const { client, delays } = harness({ baseUrl: `http://127.0.0.1:${port}` });
    const error = await failure(client.createMassPayout(massPayoutInput()));
    expect(error).not.toBeInstanceOf(CalypsoUnknownOutcomeError);
    expect(error.errorCode).toBe('network');
    expect(error.retryable).toBe(true);
    expect(delays).toHaveLength(3);
  });

  it('no error carries the secret key or a signature', async () => {
    stub.reply(`${P}/payout/mass/create`, { action: 'reset' });
    const outcome = await failure(harness().client.createMassPayout(massPayoutInput()));
    const refused = await failure(
      harness({ secretKey: 'ffffffffffffffffffffffffffffffff' }).client.getAccount(),
    );
    const signs = stub.requests.map((r) => String(r.headers['sign']));
    expect(signs.length).toBeGreaterThan(0);
    for (const error of [outcome, refused]) {
      const everything = `${inspect(error, { depth: 10, showHidden: true })} ${JSON.stringify(error)} ${error.stack ?? ''}`;
      expect(everything).not.toContain(SECRET);
      expect(everything).not.toContain('ffffffffffffffffffffffffffffffff');
      for (const signature of signs) expect(everything).not.toContain(signature);
    }
  });
});

describe('answers', () => {
  it('a 200 whose body does not match is invalid-response, not retried', async () => {
    stub.reply(`${P}/payout/mass`, ok('{"unexpected":true}'));
    const { client, delays } = harness();
    const error = await failure(client.getMassPayout({ id: '1' }));
    expect(error.errorCode).toBe('invalid-response');
    expect(error.retryable).toBe(false);
    expect(error.httpStatus).toBe(200);
    expect(error.message).toContain('id');
    expect(stub.requests).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it('a 200 that is not JSON is invalid-response', async () => {
    stub.reply(`${P}/account`, ok('<html>maintenance</html>'));
    const error = await failure(harness().client.getAccount());
    expect(error.errorCode).toBe('invalid-response');
    expect(stub.requests).toHaveLength(1);
  });

  it('keeps unknown states verbatim and ignores unknown fields', async () => {
    stub.reply(
      `${P}/payout/withdrawal/all`,
      ok(
        '{"result":[{"id":1,"state":"ON_HOLD_NEW","amount":5,"depositAddress":"0xa","newField":[1,2]}],"page":0,"size":100,"somethingElse":true}',
      ),
    );
    const [withdrawal] = await harness().client.listWithdrawals({ dealId: '987' });
    expect(withdrawal?.state).toBe('ON_HOLD_NEW');
    expect(withdrawal).not.toHaveProperty('newField');
    expect(withdrawal?.withdrawalErrors).toEqual([]);
  });
});

describe('listWithdrawals paging', () => {
  const withdrawal = (n: number) =>
    `{"id":${n},"state":"COMPLETED","amount":1.${String(n).padStart(18, '0')},"calypsoFee":0.000000000000000001,"depositAddress":"0x${n}","externalId":"emp-${n}"}`;
  const ALL = [1, 2, 3, 4, 5].map(withdrawal);
  const path = `${P}/payout/withdrawal/all`;

  /**
   * Serves `items` in pages as asked, the page index counted from `first`; `totalElements` is
   * the item count unless given (`null`: left out).
   */
  function pages(items: string[], first = 0, cap = Infinity, totalElements?: number | null) {
    return (request: StubRequest): StubReply => {
      const payload = payloadOf(request) as { page: string; size: string };
      const size = Math.min(Number(payload.size), cap);
      const index = Number(payload.page) - first;
      const slice = items.slice(index * size, index * size + size);
      const total =
        totalElements === null ? '' : `,"totalElements":${totalElements ?? items.length}`;
      return ok(`{"result":[${slice.join(',')}],"page":${payload.page},"size":${size}${total}}`);
    };
  }

  it('pages until a page comes back short, amounts exact', async () => {
    stub.reply(path, pages(ALL));
    const list = await harness().client.listWithdrawals({ dealId: '987' }, { pageSize: 2 });
    expect(list.map((w) => w.id)).toEqual(['1', '2', '3', '4', '5']);
    expect(list[4]?.amount.toString()).toBe('1.000000000000000005');
    expect(list[0]?.calypsoFee?.toString()).toBe('0.000000000000000001');
    expect(stub.requests.map((r) => payloadOf(r)['page'])).toEqual(['0', '1', '2']);
    expect(stub.requests.map((r) => payloadOf(r)['size'])).toEqual(['2', '2', '2']);
    expect(payloadOf(stub.requests[0] as StubRequest)['dealId']).toBe('987');
  });

  it('stops once totalElements withdrawals are read, even on a full page', async () => {
    stub.reply(path, pages(ALL.slice(0, 4)));
    const list = await harness().client.listWithdrawals({ idempotencyKey: KEY }, { pageSize: 2 });
    expect(list.map((w) => w.id)).toEqual(['1', '2', '3', '4']);
    expect(stub.requests.map((r) => payloadOf(r)['page'])).toEqual(['0', '1']);
  });

  it('stops on a short page before totalElements are read (the list is still growing)', async () => {
    stub.reply(path, pages(ALL.slice(0, 3), 0, Infinity, 10));
    const list = await harness().client.listWithdrawals({ dealId: '987' }, { pageSize: 2 });
    expect(list).toHaveLength(3);
    expect(stub.requests).toHaveLength(2);
  });

  it('without totalElements, asks for one more page when the last one is exactly full', async () => {
    stub.reply(path, pages(ALL.slice(0, 4), 0, Infinity, null));
    const list = await harness().client.listWithdrawals({ idempotencyKey: KEY }, { pageSize: 2 });
    expect(list).toHaveLength(4);
    expect(stub.requests).toHaveLength(3);
  });

  it('does not believe a totalElements below what was read (the guide’s example answers 0)', async () => {
    stub.reply(path, pages(ALL, 0, Infinity, 0));
    const list = await harness().client.listWithdrawals({ dealId: '987' }, { pageSize: 2 });
    expect(list).toHaveLength(5);
    expect(stub.requests).toHaveLength(3);
  });

  it('asks for every withdrawal state unless narrowed, and never for none', async () => {
    stub.reply(path, pages(ALL));
    const { client } = harness();
    await client.listWithdrawals({ dealId: '987' });
    await client.listWithdrawalsPage({ dealId: '987' }, 0, 10);
    await client.listWithdrawals({ dealId: '987', stateNames: ['FAILED'] });
    expect(stub.requests.map((r) => r.rawBody.match(/"stateNames":(\[[^\]]*\])/)?.[1])).toEqual([
      '["DRAFT","IN_PROGRESS","COMPLETED","REPLACED","FAILED","CANCELED"]',
      '["DRAFT","IN_PROGRESS","COMPLETED","REPLACED","FAILED","CANCELED"]',
      '["FAILED"]',
    ]);
    await expect(client.listWithdrawals({ dealId: '987', stateNames: [] })).rejects.toThrow(
      RangeError,
    );
    expect(stub.requests).toHaveLength(3);
  });

  it('starts from the configured first page', async () => {
    stub.reply(path, pages(ALL, 1));
    const list = await harness({ firstPage: 1 }).client.listWithdrawals(
      { dealId: '987' },
      { pageSize: 2 },
    );
    expect(list).toHaveLength(5);
    expect(stub.requests.map((r) => payloadOf(r)['page'])).toEqual(['1', '2', '3']);
  });

  it('retries a failed page in the middle and still returns every withdrawal', async () => {
    const serve = pages(ALL);
    let failedOnce = false;
    stub.reply(path, (request) => {
      if (payloadOf(request)['page'] === '1' && !failedOnce) {
        failedOnce = true;
        return calypsoError('000', 'Internal error', 500);
      }
      return serve(request);
    });
    const { client, delays } = harness();
    const list = await client.listWithdrawals({ dealId: '987' }, { pageSize: 2 });
    expect(list.map((w) => w.id)).toEqual(['1', '2', '3', '4', '5']);
    expect(stub.requests.map((r) => payloadOf(r)['page'])).toEqual(['0', '1', '1', '2']);
    expect(delays).toEqual([125]);
  });

  it('does not take a page the server capped for a short one', async () => {
    stub.reply(path, pages(ALL, 0, 2));
    const list = await harness().client.listWithdrawals({ dealId: '987' });
    expect(list).toHaveLength(5);
    expect(stub.requests.map((r) => payloadOf(r)['size'])).toEqual(['100', '100', '100']);
  });

  it('lists a withdrawal seen on two pages once', async () => {
    stub.reply(
      path,
      ok(`{"result":[${withdrawal(1)},${withdrawal(2)}]}`),
      ok(`{"result":[${withdrawal(2)}]}`),
    );
    const list = await harness().client.listWithdrawals({ dealId: '987' }, { pageSize: 2 });
    expect(list.map((w) => w.id)).toEqual(['1', '2']);
  });

  it('stops at maxPages with too-many-pages', async () => {
    stub.reply(path, ok(`{"result":[${withdrawal(1)},${withdrawal(2)}]}`));
    const error = await failure(
      harness().client.listWithdrawals({ dealId: '987' }, { pageSize: 2, maxPages: 3 }),
    );
    expect(error.errorCode).toBe('too-many-pages');
    expect(stub.requests).toHaveLength(3);
  });
});

describe('concurrency', () => {
  it('keeps at most maxConcurrency requests in flight', async () => {
    stub.reply(`${P}/account`, { ...ok(ACCOUNT_ANSWER), delayMs: 40 });
    const { client } = harness({ maxConcurrency: 2 });
    const accounts = await Promise.all(Array.from({ length: 6 }, () => client.getAccount()));
    expect(accounts).toHaveLength(6);
    expect(stub.requests).toHaveLength(6);
    expect(stub.maxInFlight).toBe(2);
  });

  it('allows 8 in flight by default', async () => {
    stub.reply(`${P}/account`, { ...ok(ACCOUNT_ANSWER), delayMs: 60 });
    const { client } = harness();
    await Promise.all(Array.from({ length: 12 }, () => client.getAccount()));
    expect(stub.maxInFlight).toBe(8);
  });

  it('frees the slot when an attempt fails', async () => {
    stub.reply(`${P}/account`, calypsoError('001', 'Bad request'), ok(ACCOUNT_ANSWER));
    const { client } = harness({ maxConcurrency: 1 });
    await failure(client.getAccount());
    await expect(client.getAccount()).resolves.toMatchObject({ name: 'Main' });
  });
});

describe('configuration', () => {
  it('refuses a missing credential or a base URL that is not http(s)', () => {
    const base = {
      baseUrl: 'https://api.calypso.finance',
      apiKey: 'k',
      secretKey: 's',
      account: 'a',
    };
    expect(() => new CalypsoClient({ ...base, secretKey: '' })).toThrow(/secretKey/);
    expect(() => new CalypsoClient({ ...base, baseUrl: 'ftp://x' })).toThrow(TypeError);
    expect(() => new CalypsoClient({ ...base, maxConcurrency: 0 })).toThrow(RangeError);
  });
});
