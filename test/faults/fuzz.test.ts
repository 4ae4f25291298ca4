/**
 * Property-based fuzzing of every route in infra/routes.ts: random path parameters, query strings,
 * headers and bodies, near-misses of valid input included. Whatever arrives, the answer is never
 * a 5xx, and every 4xx is a problem+json document whose field errors name a field (`$…` for the
 * body, `header:…`, `query:…`). Seeds are fixed, so a run is repeatable.
 */
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sign } from '../../shared/calypso/signing.js';
import { ROUTES } from '../../infra/routes.js';
import { btcAddress } from '../support/recipients.js';
import { startFaultStack, type FaultStack } from './support/fault-stack.js';
import { btcPayout } from './support/payouts.js';

let stack: FaultStack;
/** A payout that ended with a failed payment, so retry-failed has something to do. */
let finished: {
  id: string;
  externalId: string;
  withdrawalsCursor: string;
  eventsCursor: string;
  payoutsCursor: string;
};
/** A payout still in progress. */
let open: { id: string };

beforeAll(async () => {
  stack = await startFaultStack({ webhooks: true });
  const body = btcPayout('fuzz-fixture', 3);
  stack.sandbox.faults.failAddresses([body.recipients[1]!.address]);
  const res = await stack.post(body, { key: 'fuzz-fixture' });
  await stack.drive({ untilFinal: true });
  stack.sandbox.faults.clear();
  const page = (path: string) => stack.request('GET', path).then((r) => r.body.cursor as string);
  finished = {
    id: res.body.id,
    externalId: body.recipients[0]!.externalId!,
    withdrawalsCursor: await page(`/payouts/${res.body.id}/withdrawals?limit=1`),
    eventsCursor: await page(`/payouts/${res.body.id}/events?limit=1`),
    payoutsCursor: '',
  };
  const other = await stack.post(btcPayout('fuzz-open', 2), { key: 'fuzz-open' });
  open = { id: other.body.id };
  finished.payoutsCursor = await page('/payouts?limit=1');
});
afterEach(async () => {
  // Whatever the fuzzing accepted is whole, paid once, and ends final.
  await stack.expectInvariants();
});
afterAll(async () => {
  await stack?.close();
});

// ---- arbitraries ---------------------------------------------------------------------------

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 60,
});
const text = fc.oneof(
  { weight: 4, arbitrary: fc.string() },
  { weight: 2, arbitrary: fc.string({ unit: 'binary' }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('', ' ', '%', '%zz', '../', '/', '\u0000', 'é', '😀', 'null', '-1'),
  },
  { weight: 1, arbitrary: fc.string({ minLength: 300, maxLength: 3000 }) },
);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const attributeMap = fc.dictionary(
  fc.oneof(fc.constantFrom('PK', 'SK', 'GSI1PK', 'GSI1SK', 'GSI2PK'), fc.string({ maxLength: 6 })),
  fc.oneof(
    fc.record({ S: fc.string() }),
    fc.record({ N: fc.integer().map(String) }),
    fc.jsonValue(),
  ),
  { maxKeys: 4 },
);

/** Key attributes of the table and its indexes, as strings (what a cursor is made of). */
const keyAttributes = fc.dictionary(
  fc.constantFrom('SK', 'GSI1SK', 'PK', 'GSI2SK', 'X'),
  fc.record({ S: fc.string() }),
  { maxKeys: 2 },
);

/** Real, damaged and forged cursors, for a listing whose partition key is `partition`. */
function cursor(real: () => string, keyName: string, partition: () => string) {
  return fc.oneof(
    text,
    fc.jsonValue().map(b64),
    attributeMap.map(b64),
    // The right partition, and other key attributes made up.
    {
      weight: 3,
      arbitrary: keyAttributes.map((extra) => b64({ ...extra, [keyName]: { S: partition() } })),
    },
    fc.constantFrom(0, 1, 5).map((cut) => real().slice(0, real().length - cut)),
  );
}

const limit = fc.oneof(
  fc.integer({ min: -5, max: 2000 }).map(String),
  fc.constantFrom('01', '1e3', ' 5', '5 ', '1000', '1001', '0', '999999999999'),
  text,
);
const state = fc.oneof(fc.constantFrom('COMPLETED', 'FAILED', 'PENDING', 'completed'), text);
const idempotencyKey = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9._:-]{8,128}$/),
  printable,
  fc.constant(undefined),
);
const contentType = fc.oneof(
  { weight: 4, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/merge-patch+json',
      'application/jsonx',
      'text/plain',
      'multipart/form-data; boundary=x',
      '',
    ),
  },
  { weight: 1, arbitrary: printable },
  { weight: 1, arbitrary: fc.constant(undefined) },
);
const id = fc.oneof(
  fc.uuid(),
  text,
  {
    weight: 4,
    arbitrary: fc
      .constantFrom('finished', 'open')
      .map((which) => (which === 'finished' ? finished.id : open.id)),
  },
  fc.constant('').map(() => finished.id.toUpperCase()),
  fc.constant('').map(() => `${finished.id} `),
);

/** Names of Object.prototype's members, which a plain object already "has". */
const PROTOTYPE_NAMES = ['constructor', 'valueOf', 'toString', 'hasOwnProperty', '__proto__'];
/** Unknown query names (those of Object.prototype have a test of their own, below). */
const queryName = fc.string({ maxLength: 8 }).filter((n) => !PROTOTYPE_NAMES.includes(n));

/** Query strings: the route's own names with wild values, plus names it does not know. */
function query(own: Record<string, fc.Arbitrary<string>>) {
  const pairs = Object.entries(own).map(([name, value]) =>
    fc.option(
      value.map((v) => [name, v] as [string, string]),
      { nil: undefined },
    ),
  );
  return fc
    .tuple(fc.tuple(...pairs), fc.array(fc.tuple(queryName, text), { maxLength: 2 }))
    .map(([mine, extra]) => [...mine.filter((p) => p !== undefined), ...extra]);
}

const headers = fc.record(
  {
    'x-caller-id': fc.string({
      unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-:/'.split('')),
      maxLength: 40,
    }),
    'x-correlation-id': printable,
    accept: fc.constantFrom('application/json', '*/*', 'text/html'),
  },
  { requiredKeys: [] },
);

const recipient = fc.record(
  {
    address: fc.oneof(fc.constant(btcAddress('fuzz')), fc.string(), fc.integer()),
    amount: fc.oneof(
      fc.constantFrom('0.001', '1', '0', '-1', '1e-3', '0.000000001', '1.', '.5', '١'),
      fc.string(),
      fc.double(),
    ),
    externalId: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
  },
  { requiredKeys: [] },
);
const payoutBody = fc.record(
  {
    currency: fc.oneof(fc.constantFrom('BTC', 'ETH', 'USDT', 'btc'), fc.string()),
    name: fc.oneof(fc.string(), fc.string({ minLength: 190, maxLength: 260 }), fc.integer()),
    comment: fc.oneof(fc.string(), fc.constant(null)),
    executionDate: fc.oneof(
      fc.string(),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.constantFrom('2031-01-01T00:00:00Z', '2031-01-01', 'tomorrow'),
    ),
    recipients: fc.oneof(fc.array(recipient, { maxLength: 4 }), fc.jsonValue()),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  { weight: 3, arbitrary: payoutBody.map((b) => JSON.stringify(b)) },
  { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: text },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

// ---- sending and judging -------------------------------------------------------------------

interface Sent {
  method: string;
  path: string;
  query?: [string, string][];
  headers?: Record<string, string | undefined>;
  body?: string | undefined;
}

async function send(request: Sent) {
  const qs = new URLSearchParams(request.query ?? []).toString();
  const headerList: [string, string][] = Object.entries(request.headers ?? {}).filter(
    (h): h is [string, string] => h[1] !== undefined,
  );
  const res = await fetch(`${stack.api.url}${request.path}${qs ? `?${qs}` : ''}`, {
    method: request.method,
    headers: headerList,
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
  const raw = await res.text();
  let parsed: any;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = raw;
  }
  return { status: res.status, contentType: res.headers.get('content-type'), body: parsed };
}

const FIELD = /^(\$|header:|query:)/;

function expectWellFormed(request: Sent, res: Awaited<ReturnType<typeof send>>) {
  const where = `${request.method} ${request.path} → ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
  expect(res.status, where).toBeLessThan(500);
  if (res.status < 400) return;
  expect(res.contentType, where).toBe('application/problem+json');
  expect(res.body.status, where).toBe(res.status);
  expect(typeof res.body.title, where).toBe('string');
  const fieldProblem = /\/(validation|bad-request)$/.test(res.body.type ?? '');
  if (fieldProblem) expect(res.body.errors?.length, where).toBeGreaterThan(0);
  if (res.body.errors !== undefined) {
    expect(Array.isArray(res.body.errors), where).toBe(true);
    for (const e of res.body.errors) {
      expect(e.path, where).toMatch(FIELD);
      expect(typeof e.message, where).toBe('string');
    }
  }
}

const enc = encodeURIComponent;

/** What to send to each route. */
const requests: Record<string, fc.Arbitrary<Sent>> = {
  'POST /payouts': fc
    .record({
      q: query({ dryRun: fc.oneof(fc.constantFrom('true', 'false', 'TRUE', '1'), text) }),
      h: headers,
      key: idempotencyKey,
      type: contentType,
      body,
    })
    .map(({ q, h, key, type, body }) => ({
      method: 'POST',
      path: '/payouts',
      query: q,
      headers: { ...h, 'idempotency-key': key, 'content-type': type },
      body,
    })),
  'GET /payouts/{id}': fc.record({ id, q: query({}), h: headers }).map(({ id, q, h }) => ({
    method: 'GET',
    path: `/payouts/${enc(id)}`,
    query: q,
    headers: h,
  })),
  'GET /payouts/{id}/withdrawals': fc
    .record({
      id,
      q: query({
        state,
        limit,
        cursor: cursor(
          () => finished.withdrawalsCursor,
          'PK',
          () => `PAYOUT#${finished.id}`,
        ),
      }),
      h: headers,
    })
    .map(({ id, q, h }) => ({
      method: 'GET',
      path: `/payouts/${enc(id)}/withdrawals`,
      query: q,
      headers: h,
    })),
  'GET /withdrawals': fc
    .record({
      q: query({
        externalId: fc.oneof(
          text,
          fc.constant('').map(() => finished.externalId),
        ),
        limit,
        cursor: cursor(
          () => finished.withdrawalsCursor,
          'GSI1PK',
          () => `EXT#${finished.externalId}`,
        ),
      }),
      h: headers,
    })
    .map(({ q, h }) => ({ method: 'GET', path: '/withdrawals', query: q, headers: h })),
  'GET /payouts': fc
    .record({
      q: query({
        state,
        stuck: fc.oneof(fc.constantFrom('true', 'false', 'TRUE', '1'), text),
        createdAfter: fc.oneof(
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          fc.constantFrom(
            '2030-01-31T12:00:00',
            '2030-02-30T00:00:00Z',
            '2030-01-31T12:00:00+02:00',
          ),
          text,
        ),
        limit,
        cursor: cursor(
          () => finished.payoutsCursor,
          'GSI4PK',
          () =>
            (
              JSON.parse(Buffer.from(finished.payoutsCursor, 'base64url').toString()) as {
                GSI4PK: { S: string };
              }
            ).GSI4PK.S,
        ),
      }),
      h: headers,
    })
    .map(({ q, h }) => ({ method: 'GET', path: '/payouts', query: q, headers: h })),
  'GET /balances': fc
    .record({ q: query({}), h: headers })
    .map(({ q, h }) => ({ method: 'GET', path: '/balances', query: q, headers: h })),
  'POST /payouts/{id}/retry-failed': fc
    .record({ id, key: idempotencyKey, h: headers, type: contentType, body })
    .map(({ id, key, h, type, body }) => ({
      method: 'POST',
      path: `/payouts/${enc(id)}/retry-failed`,
      headers: { ...h, 'idempotency-key': key, 'content-type': type },
      body,
    })),
  'GET /payouts/{id}/events': fc
    .record({
      id,
      q: query({
        limit,
        cursor: cursor(
          () => finished.eventsCursor,
          'PK',
          () => `PAYOUT#${finished.id}`,
        ),
      }),
      h: headers,
    })
    .map(({ id, q, h }) => ({
      method: 'GET',
      path: `/payouts/${enc(id)}/events`,
      query: q,
      headers: h,
    })),
  'POST /payouts/{id}/approve': fc
    .record({ id, h: headers, type: contentType, body: fc.option(body, { nil: undefined }) })
    .map(({ id, h, type, body }) => ({
      method: 'POST',
      path: `/payouts/${enc(id)}/approve`,
      headers: { ...h, 'content-type': type },
      body,
    })),
  'POST /payouts/{id}/reject': fc
    .record({ id, h: headers, type: contentType, body })
    .map(({ id, h, type, body }) => ({
      method: 'POST',
      path: `/payouts/${enc(id)}/reject`,
      headers: { ...h, 'content-type': type },
      body,
    })),
  'POST /payouts/{id}/cancel': fc
    .record({ id, h: headers, type: contentType, body: fc.option(body, { nil: undefined }) })
    .map(({ id, h, type, body }) => ({
      method: 'POST',
      path: `/payouts/${enc(id)}/cancel`,
      headers: { ...h, 'content-type': type },
      body,
    })),
  'GET /approvals': fc
    .record({ q: query({ cursor: text }), h: headers })
    .map(({ q, h }) => ({ method: 'GET', path: '/approvals', query: q, headers: h })),
  'GET /admin/pause': fc
    .record({ q: query({}), h: headers })
    .map(({ q, h }) => ({ method: 'GET', path: '/admin/pause', query: q, headers: h })),
  'POST /admin/pause': fc
    .record({ h: headers, type: contentType, body: fc.option(body, { nil: undefined }) })
    .map(({ h, type, body }) => ({
      method: 'POST',
      path: '/admin/pause',
      headers: { ...h, 'content-type': type },
      body,
    })),
  'POST /admin/resume': fc
    .record({ h: headers, type: contentType, body: fc.option(body, { nil: undefined }) })
    .map(({ h, type, body }) => ({
      method: 'POST',
      path: '/admin/resume',
      headers: { ...h, 'content-type': type },
      body,
    })),
  'POST /webhooks/calypso': fc
    .record({
      envelope: fc.oneof(
        fc.record(
          {
            requestId: fc.oneof(fc.uuid(), fc.string()),
            id: fc.oneof(fc.integer({ min: 0 }), fc.string({ maxLength: 40 }), fc.jsonValue()),
            createdDate: fc.oneof(fc.string(), fc.constant('2030-01-01T00:00:00.000000')),
            level: fc.constantFrom('SUCCESS', 'INFO', 'WARNING', 'LOUD'),
            service: fc.constantFrom('PAYOUT', 'OTHER'),
            eventType: fc.oneof(
              fc.constantFrom(
                'PAYOUT_CHANGE_STATUS',
                'PAYOUT_VALIDATION_ERROR',
                'PAYOUT_CONFIRMED',
                'PAYOUT_SOMETHING_NEW',
              ),
              fc.string(),
              fc.constant(null),
            ),
            data: fc.oneof(
              fc.record(
                {
                  type: fc.string(),
                  payoutStatus: fc.oneof(fc.constantFrom('IN_PROGRESS', 'COMPLETED'), fc.string()),
                  // Keys of no payout of ours: a signed event must not change a real payout here.
                  idempotencyKey: fc.oneof(fc.uuid(), fc.string()),
                  externalId: fc.oneof(fc.string(), fc.integer()),
                  parentExternalId: fc.oneof(fc.string(), fc.integer()),
                  message: fc.string(),
                },
                { requiredKeys: [] },
              ),
              fc.jsonValue(),
            ),
          },
          { requiredKeys: [] },
        ),
        fc.jsonValue(),
      ),
      raw: fc.option(text, { nil: undefined }),
      signing: fc.constantFrom('valid', 'wrong-secret', 'other-body', 'none', 'garbage'),
      key: fc.constantFrom('ours', 'other', 'none'),
      type: contentType,
    })
    .map(({ envelope, raw, signing, key, type }) => {
      const payload = raw ?? JSON.stringify(envelope);
      const secret = stack.webhookKeys!.secretKey;
      const signature = {
        valid: sign(payload, secret),
        'wrong-secret': sign(payload, 'not-the-secret'),
        'other-body': sign(`${payload} `, secret),
        none: undefined,
        garbage: 'zz',
      }[signing];
      return {
        method: 'POST',
        path: '/webhooks/calypso',
        headers: {
          key: { ours: stack.webhookKeys!.publicKey, other: 'someone', none: undefined }[key],
          sign: signature,
          'content-type': type,
        },
        body: payload,
      };
    }),
};

describe('fuzzing every route', () => {
  it('covers every route of infra/routes.ts', () => {
    expect(Object.keys(requests).sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  ROUTES.forEach((route, index) => {
    const name = `${route.method} ${route.path}`;
    it(`${name}: never a 5xx, every 4xx a problem naming its fields`, async () => {
      await fc.assert(
        fc.asyncProperty(requests[name]!, async (request) => {
          expectWellFormed(request, await send(request));
        }),
        { numRuns: name === 'POST /payouts' ? 80 : 50, seed: 7_000 + index },
      );
    });
  });

  it('query parameters named after Object.prototype members are plain unknown parameters', async () => {
    const query = PROTOTYPE_NAMES.map((name) => [name, '1'] as [string, string]);
    for (const route of ROUTES) {
      const request: Sent = {
        method: route.method,
        path: route.path.replace('{id}', finished.id),
        query,
        headers: { 'content-type': 'application/json', 'idempotency-key': 'prototype-names' },
        ...(route.method === 'POST' ? { body: '{}' } : {}),
      };
      expectWellFormed(request, await send(request));
    }
  });
});
