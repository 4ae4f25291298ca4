/**
 * Calypso sandbox: every request is checked as production checks it (key, signature over the
 * raw body, timestamp window, envelope shape), errors have Calypso's shape, and every request is
 * recorded with its verdict.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sign } from '../../shared/calypso/signing.js';
import {
  startCalypsoSandbox,
  TEST_VECTOR_ACCOUNT,
  type CalypsoSandbox,
} from '../../infra/local/calypso-sandbox/index.js';
import {
  call,
  envelope,
  listing,
  massPayoutPayload,
  recipients,
  startTestSandbox,
  uuid,
} from '../support/sandbox-helpers.js';

const DOCUMENTED_SIGN =
  'b16e9d45f49f2069becbc4f108b237bee588cfc353fe9501df103e692acbc68d482a10d34c12bea22fedde7e28e1b8e57a6a0a373b0e9a27c5257bd8b36e13b9';

let sandbox: CalypsoSandbox;

beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(() => sandbox.close());
beforeEach(() => sandbox.reset());

function expectError(answer: { status: number; json: unknown }, status: number, code: string) {
  expect(answer.status).toBe(status);
  expect(answer.json).toMatchObject({ errorCode: code, message: expect.any(String) });
  expect((answer.json as { traceId: string }).traceId).toMatch(/^[0-9a-f]{32}$/);
}

describe('signing, with the documented test vector', () => {
  it('listens on loopback and answers under the default prefix', () => {
    expect(sandbox.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sandbox.pathPrefix).toBe('/api/v1');
    expect(sandbox.accounts).toEqual([TEST_VECTOR_ACCOUNT]);
  });

  it('accepts the documented body and sign as authentic (then refuses the 1970 timestamp)', async () => {
    const body = '{"timestamp":1}';
    expect(sign(body, TEST_VECTOR_ACCOUNT.secretKey)).toBe(DOCUMENTED_SIGN);
    const answer = await call(sandbox, '/account', undefined, {
      rawBody: body,
      sign: DOCUMENTED_SIGN,
    });
    // Past the key and signature checks: the only complaint is the timestamp.
    expectError(answer, 400, '011');
    expect(sandbox.inspect.requests().at(-1)).toMatchObject({
      signatureValid: true,
      verdict: 'rejected',
      errorCode: '011',
    });
  });

  it('refuses the documented sign over the same body with a space after the colon (003)', async () => {
    const answer = await call(sandbox, '/account', undefined, {
      rawBody: '{"timestamp": 1}',
      sign: DOCUMENTED_SIGN,
    });
    expectError(answer, 400, '003');
  });

  it('accepts a request signed with the test-vector keys', async () => {
    const answer = await call(sandbox, '/account');
    expect(answer.status).toBe(200);
    expect(answer.json.account).toBe('sandbox-account');
  });

  it('refuses a body changed by one byte after signing (003), and records it as such', async () => {
    const body = envelope(sandbox, massPayoutPayload(uuid(1), recipients(2)));
    const signature = sign(body, TEST_VECTOR_ACCOUNT.secretKey);
    const tampered = body.replace('"amount":1.5', '"amount":9.5');
    expect(tampered).not.toBe(body);
    expect(tampered.length).toBe(body.length);
    const answer = await call(sandbox, '/payout/mass/create', undefined, {
      rawBody: tampered,
      sign: signature,
    });
    expectError(answer, 400, '003');
    expect(sandbox.inspect.massPayoutCreates(uuid(1))).toBe(0);
    expect(sandbox.inspect.requests()).toEqual([
      expect.objectContaining({
        operation: 'createMassPayout',
        body: tampered,
        sign: signature,
        apiKey: TEST_VECTOR_ACCOUNT.apiKey,
        signatureValid: false,
        verdict: 'rejected',
        status: 400,
        errorCode: '003',
      }),
    ]);
  });

  it('refuses a sign made with another secret, an upper-cased tail, or none (003)', async () => {
    expectError(await call(sandbox, '/account', undefined, { secretKey: 'another' }), 400, '003');
    expectError(await call(sandbox, '/account', undefined, { sign: '' }), 400, '003');
    expectError(await call(sandbox, '/account', undefined, { sign: 'zz' }), 400, '003');
  });
});

describe('API keys and accounts', () => {
  it('refuses an unknown or missing Key (002) and records the request unverified', async () => {
    const answer = await call(sandbox, '/account', undefined, {
      apiKey: 'ffffffffffffffffffffffffffffffff',
    });
    expectError(answer, 400, '002');
    expect(sandbox.inspect.requests().at(-1)).toMatchObject({
      signatureValid: null,
      verdict: 'rejected',
      errorCode: '002',
    });
    expectError(await call(sandbox, '/account', undefined, { apiKey: '' }), 400, '002');
  });

  it('refuses an envelope whose account is not the key’s own (001)', async () => {
    const two = await startTestSandbox({
      accounts: [
        TEST_VECTOR_ACCOUNT,
        { account: 'second', apiKey: 'a'.repeat(32), secretKey: 'b'.repeat(32) },
      ],
    });
    try {
      const crossed = await call(two, '/account', undefined, {
        account: 'sandbox-account',
        apiKey: 'a'.repeat(32),
        secretKey: 'b'.repeat(32),
      });
      expectError(crossed, 400, '001');
      const own = await call(two, '/account', undefined, {
        account: 'second',
        apiKey: 'a'.repeat(32),
        secretKey: 'b'.repeat(32),
      });
      expect(own.status).toBe(200);
      expect(own.json.account).toBe('second');
    } finally {
      await two.close();
    }
  });
});

describe('timestamp window of 3 minutes on the sandbox clock', () => {
  it('accepts exactly 3 minutes either way and refuses 1 ms more (011)', async () => {
    const now = sandbox.now();
    for (const timestamp of [now - 180_000, now + 180_000]) {
      expect((await call(sandbox, '/account', undefined, { timestamp })).status).toBe(200);
    }
    for (const timestamp of [now - 180_001, now + 180_001, Math.floor(now / 1000)]) {
      expectError(await call(sandbox, '/account', undefined, { timestamp }), 400, '011');
    }
  });

  it('follows the sandbox clock, not the wall clock', async () => {
    const before = sandbox.now();
    await sandbox.advance(4 * 60_000);
    expectError(await call(sandbox, '/account', undefined, { timestamp: before }), 400, '011');
    expect((await call(sandbox, '/account')).status).toBe(200);
  });
});

describe('envelope and payload shape (001)', () => {
  const now = () => sandbox.now();
  const cases: [string, () => string][] = [
    ['malformed JSON', () => `{"timestamp":${now()},"account":"sandbox-account"`],
    ['an array body', () => `[${now()}]`],
    ['a string timestamp', () => `{"timestamp":"${now()}","account":"sandbox-account"}`],
    ['a fractional timestamp', () => `{"timestamp":${now()}.5,"account":"sandbox-account"}`],
    ['no account', () => `{"timestamp":${now()}}`],
    ['an unknown envelope field', () => `{"timestamp":${now()},"account":"sandbox-account","x":1}`],
    [
      'a payload on a call without input',
      () => `{"timestamp":${now()},"account":"sandbox-account","payload":{}}`,
    ],
  ];
  for (const [name, body] of cases) {
    it(`refuses ${name}`, async () => {
      expectError(await call(sandbox, '/account', undefined, { rawBody: body() }), 400, '001');
    });
  }

  it('refuses a missing payload, an unknown payload field, and a string amount', async () => {
    expectError(await call(sandbox, '/payout/mass/create'), 400, '001');
    const typo = { ...massPayoutPayload(uuid(2), recipients(1)), massAdresses: [] };
    expectError(await call(sandbox, '/payout/mass/create', typo), 400, '001');
    const stringAmount = massPayoutPayload(uuid(3), recipients(1));
    (stringAmount.massAddresses[0] as Record<string, unknown>).amount = '1.5';
    const answer = await call(sandbox, '/payout/mass/create', stringAmount);
    expectError(answer, 400, '001');
    expect(answer.json.message).toMatch(/amount must be a JSON number/);
    expect(sandbox.inspect.massPayouts()).toEqual([]);
  });

  it('refuses a body that is not declared as JSON', async () => {
    const answer = await call(sandbox, '/account', undefined, { contentType: 'text/plain' });
    expectError(answer, 400, '001');
  });

  it('answers 404 for an unknown path and 405 for a wrong method, in the error shape', async () => {
    expectError(await call(sandbox, '/payout/mass/creat'), 404, '004');
    expectError(await call(sandbox, '/account', undefined, { method: 'PUT' }), 405, '001');
    // Neither names an operation: nothing matched both the path and the method.
    expect(sandbox.inspect.requests().map((r) => [r.path, r.operation])).toEqual([
      ['/api/v1/payout/mass/creat', null],
      ['/api/v1/account', null],
    ]);
  });
});

describe('configuration', () => {
  it('serves a configured prefix and withdrawals path (and /payout/withdrawal/find)', async () => {
    const custom = await startCalypsoSandbox({
      pathPrefix: '/api/v1/pub',
      withdrawalsPath: '/payout/withdrawals/search',
    });
    try {
      expect((await call(custom, '/account')).status).toBe(200);
      for (const path of ['/payout/withdrawals/search', '/payout/withdrawal/find']) {
        const answer = await call(custom, path, listing({ externalId: 'nobody' }));
        expect(answer.status).toBe(200);
        expect(answer.json.totalElements).toBe('0');
      }
      expect((await call(custom, '/payout/withdrawal/all', {})).status).toBe(404);
      const unprefixed = await fetch(`${custom.url}/api/v1/account`, { method: 'POST' });
      expect(unprefixed.status).toBe(404);
    } finally {
      await custom.close();
    }
  });
});

describe('inspection of requests', () => {
  it('records accepted and rejected requests in order, with the exact body', async () => {
    await call(sandbox, '/account');
    await call(sandbox, '/account', undefined, { secretKey: 'wrong' });
    const log = sandbox.inspect.requests();
    expect(log.map((r) => [r.seq < log[1]!.seq, r.verdict, r.status, r.errorCode])).toEqual([
      [true, 'accepted', 200, null],
      [false, 'rejected', 400, '003'],
    ]);
    expect(JSON.parse(log[0]!.body)).toEqual({
      timestamp: sandbox.now(),
      account: 'sandbox-account',
    });
    expect(log[0]).toMatchObject({
      method: 'POST',
      path: '/api/v1/account',
      receivedAt: sandbox.now(),
    });
  });
});
