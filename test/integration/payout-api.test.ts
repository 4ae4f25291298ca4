import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Decimal } from '../../shared/domain/money.js';
import { createPayout } from '../../shared/payouts/create-payout.js';
import { createDeps } from '../../shared/system.js';
import { startTestStack, type TestStack } from '../support/stack.js';
import { btcAddress, evmAddress, recipients } from '../support/recipients.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

const key = () => `key-${randomUUID()}`;
const post = (body: unknown, headers: Record<string, string> = { 'idempotency-key': key() }) =>
  stack.request('POST', '/payouts', { body, headers });

/** What the sandbox holds for each of our batches, by idempotencyKey. */
function calypsoPayout(idempotencyKey: string) {
  return stack.sandbox.inspect.massPayouts().find((p) => p.idempotencyKey === idempotencyKey);
}

describe('POST /payouts', () => {
  it('splits 2,500 USDT recipients into 3 Calypso mass payouts that match the request exactly', async () => {
    const list = recipients(
      2500,
      evmAddress,
      (i) => `${i + 1}.${String(i % 1000).padStart(6, '0')}`,
    );
    const res = await post({ currency: 'USDT', name: 'affiliates', recipients: list });
    expect(res.status).toBe(202);
    expect(res.headers.get('x-correlation-id')).toBeTruthy();
    expect(res.body.batches.map((b: { recipientCount: number }) => b.recipientCount)).toEqual([
      1000, 1000, 500,
    ]);
    const expectedTotal = Decimal.sum(list.map((r) => Decimal.parse(r.amount))).toString();
    expect(res.body.total).toBe(expectedTotal);
    await stack.settle();

    const got = await stack.request('GET', `/payouts/${res.body.id}`);
    expect(got.body.state).toBe('SUBMITTED');
    await stack.advance(3_000); // Calypso creates the withdrawals asynchronously
    let offset = 0;
    for (const batch of got.body.batches) {
      expect(batch.status).toBe('SUBMITTED');
      expect(stack.sandbox.inspect.massPayoutCreates(batch.idempotencyKey)).toBe(1);
      const atCalypso = calypsoPayout(batch.idempotencyKey)!;
      expect(atCalypso.id).toBe(batch.calypsoId);
      const sent = atCalypso.withdrawals.map((w) => [w.depositAddress, w.amount, w.externalId]);
      const expected = list
        .slice(offset, offset + batch.recipientCount)
        .map((r) => [r.address, r.amount, r.externalId]);
      expect(sent).toEqual(expected);
      offset += batch.recipientCount;
    }
    expect(offset).toBe(2500);
  });

  it('splits 250 BTC recipients into batches of 100/100/50', async () => {
    const res = await post({
      currency: 'BTC',
      name: 'btc',
      recipients: recipients(250, btcAddress, () => '0.0001'),
    });
    expect(res.status).toBe(202);
    expect(res.body.batches.map((b: { recipientCount: number }) => b.recipientCount)).toEqual([
      100, 100, 50,
    ]);
    expect(res.body.total).toBe('0.0250');
  });

  it('turns 50 concurrent identical requests into one payout and one Calypso create per batch', async () => {
    const body = {
      currency: 'BTC',
      name: 'race',
      recipients: recipients(
        150,
        (i) => btcAddress(`race-${i}`),
        () => '0.001',
      ),
    };
    const headers = { 'idempotency-key': key() };
    const results = await Promise.all(Array.from({ length: 50 }, () => post(body, headers)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    for (const s of statuses) expect([200, 202, 409]).toContain(s);
    const ids = new Set(results.filter((r) => r.status !== 409).map((r) => r.body.id));
    expect(ids.size).toBe(1);
    for (const r of results.filter((r) => r.status === 409))
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    await stack.settle();
    const again = await post(body, headers);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe([...ids][0]);
    for (const batch of again.body.batches) {
      expect(stack.sandbox.inspect.massPayoutCreates(batch.idempotencyKey)).toBe(1);
    }
    const other = await post({ ...body, name: 'different' }, headers);
    expect(other.status).toBe(422);
    expect(other.body.type).toMatch(/idempotency-key-reused/);
  });

  it('answers 409 with Retry-After while the first request with a key is still being written', async () => {
    const idempotencyKey = key();
    const body = {
      currency: 'BTC',
      name: 'slow',
      recipients: recipients(
        3,
        (i) => btcAddress(`slow-${i}`),
        () => '1',
      ),
    };
    // The first writer stalls between claiming the key and writing the payout's parts.
    const { repository } = stack.system();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const stalled = Object.create(repository) as typeof repository;
    stalled.writePayoutParts = async (...args) => {
      await gate;
      return repository.writePayoutParts(...args);
    };
    const first = createPayout(
      { ...createDeps(stack.system()), repository: stalled },
      { caller: { principal: 'local:local' }, idempotencyKey, body },
    );
    await vi.waitFor(
      async () =>
        expect(await repository.getIdempotency('local:local', idempotencyKey)).toBeDefined(),
      { timeout: 10_000, interval: 50 },
    );

    const during = await post(body, { 'idempotency-key': idempotencyKey });
    expect(during.status).toBe(409);
    expect(Number(during.headers.get('retry-after'))).toBeGreaterThan(0);
    const misuse = await post({ ...body, name: 'other' }, { 'idempotency-key': idempotencyKey });
    expect(misuse.status).toBe(422);

    release();
    const done = await first;
    expect('created' in done && done.created).toBe(true);
    const after = await post(body, { 'idempotency-key': idempotencyKey });
    expect(after.status).toBe(200);
    expect(after.body.id).toBe('payout' in done ? done.payout.id : undefined);
  });

  it('links the batch to Calypso’s payout when the create response is lost', async () => {
    stack.sandbox.faults.dropResponseNext('createMassPayout');
    const res = await post({
      currency: 'BTC',
      name: 'dropped',
      recipients: recipients(
        5,
        (i) => btcAddress(`drop-${i}`),
        () => '0.01',
      ),
    });
    expect(res.status).toBe(202);
    await stack.settle();
    const batch = (await stack.request('GET', `/payouts/${res.body.id}`)).body.batches[0];
    expect(batch.status).toBe('SUBMITTED');
    expect(batch.calypsoId).toBe(calypsoPayout(batch.idempotencyKey)!.id);
    expect(stack.sandbox.inspect.massPayoutCreates(batch.idempotencyKey)).toBe(1);
  });

  it('rejects a batch Calypso refuses as invalid, with Calypso’s message', async () => {
    stack.sandbox.faults.failNext('createMassPayout', {
      status: 400,
      errorCode: '016',
      message: 'Can not create deal. Validation failed',
    });
    const res = await post({
      currency: 'BTC',
      name: 'refused',
      recipients: recipients(
        2,
        (i) => btcAddress(`ref-${i}`),
        () => '0.5',
      ),
    });
    await stack.settle();
    const got = (await stack.request('GET', `/payouts/${res.body.id}`)).body;
    expect(got.state).toBe('REJECTED');
    expect(got.batches[0].lastError).toMatch(/Validation failed/);
  });
});

describe('bad input gets a clear 4xx naming the field', () => {
  const good = {
    currency: 'BTC',
    name: 'x',
    recipients: [{ address: btcAddress(1), amount: '1' }],
  };
  const cases: [
    string,
    () => Promise<{ status: number; body: any }>,
    number,
    string | undefined,
  ][] = [
    ['missing Idempotency-Key', () => post(good, {}), 400, 'header:Idempotency-Key'],
    [
      'malformed JSON',
      () =>
        stack.request('POST', '/payouts', {
          body: '{"currency":',
          headers: { 'idempotency-key': key() },
        }),
      400,
      undefined,
    ],
    [
      'wrong content type',
      () =>
        stack.request('POST', '/payouts', {
          body: 'a=b',
          headers: { 'idempotency-key': key(), 'content-type': 'text/plain' },
        }),
      415,
      undefined,
    ],
    ['unknown currency', () => post({ ...good, currency: 'XYZ' }), 422, '$.currency'],
    [
      'bad address',
      () => post({ ...good, recipients: [{ address: evmAddress(1), amount: '1' }] }),
      422,
      '$.recipients[0].address',
    ],
    [
      'amount as a number',
      () => post({ ...good, recipients: [{ address: btcAddress(1), amount: 1 }] }),
      422,
      '$.recipients[0].amount',
    ],
    [
      'zero amount',
      () => post({ ...good, recipients: [{ address: btcAddress(1), amount: '0' }] }),
      422,
      '$.recipients[0].amount',
    ],
    [
      'too many decimals',
      () => post({ ...good, recipients: [{ address: btcAddress(1), amount: '0.000000001' }] }),
      422,
      '$.recipients[0].amount',
    ],
    [
      'duplicate externalId',
      () =>
        post({
          ...good,
          recipients: [
            { address: btcAddress(1), amount: '1', externalId: 'a' },
            { address: btcAddress(2), amount: '1', externalId: 'a' },
          ],
        }),
      422,
      '$.recipients[1].externalId',
    ],
    ['no recipients', () => post({ ...good, recipients: [] }), 422, '$.recipients'],
    [
      'executionDate in the past',
      () => post({ ...good, executionDate: '2001-01-01T00:00:00Z' }),
      422,
      '$.executionDate',
    ],
    [
      'impossible executionDate (February 30th)',
      () =>
        post({
          ...good,
          executionDate: `${new Date(stack.sandbox.now()).getUTCFullYear() + 1}-02-30T10:00:00Z`,
        }),
      422,
      '$.executionDate',
    ],
    [
      'executionDate beyond the horizon',
      () =>
        post({
          ...good,
          executionDate: new Date(stack.sandbox.now() + 91 * 86_400_000).toISOString(),
        }),
      422,
      '$.executionDate',
    ],
    ['name missing', () => post({ currency: 'BTC', recipients: good.recipients }), 422, '$.name'],
    ['unknown field', () => post({ ...good, priority: 'high' }), 422, '$.priority'],
  ];
  it.each(cases)('%s', async (_name, send, status, path) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.body.status).toBe(status);
    expect(res.body.title).toBeTruthy();
    if (path) expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('refuses an 80-digit amount with a 422 naming the field and the maximum', async () => {
    const res = await post({
      ...good,
      recipients: [good.recipients[0], { address: btcAddress(2), amount: '9'.repeat(80) }],
    });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(res.body.errors).toEqual([
      { path: '$.recipients[1].amount', message: 'must be at most 10000 BTC per recipient' },
    ]);
  });

  it('says which type a field should have instead of calling it missing', async () => {
    const res = await post({
      currency: 'BTC',
      name: 7,
      recipients: { address: btcAddress(1), amount: '1' },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([
      { path: '$.name', message: 'must be a string, got number' },
      { path: '$.recipients', message: 'must be an array, got object' },
    ]);
  });

  it('refuses a bidi override in the name and a control character in an externalId', async () => {
    const res = await post({
      ...good,
      name: 'invoice \u202Egnp.exe',
      recipients: [{ ...good.recipients[0], externalId: 'a\u0000b' }],
    });
    expect(res.status).toBe(422);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      '$.name',
      '$.recipients[0].externalId',
    ]);
  });

  it('answers 413 for a body over the limit', async () => {
    const huge = { ...good, comment: 'x'.repeat(5_100_000) };
    const res = await post(huge);
    expect(res.status).toBe(413);
  });

  it('never answers 5xx to any request body (fuzzed)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue(),
          fc.record(
            {
              currency: fc.oneof(fc.constantFrom('BTC', 'ETH', 'USDT'), fc.string()),
              name: fc.string(),
              comment: fc.string(),
              executionDate: fc.oneof(
                fc.string(),
                fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
              ),
              recipients: fc.array(
                fc.record(
                  {
                    address: fc.oneof(fc.constant(btcAddress(3)), fc.string()),
                    amount: fc.oneof(fc.string(), fc.double(), fc.constant('1.5')),
                    externalId: fc.string(),
                  },
                  { requiredKeys: [] },
                ),
                { maxLength: 4 },
              ),
            },
            { requiredKeys: [] },
          ),
        ),
        async (body) => {
          const res = await post(body);
          expect(res.status).toBeLessThan(500);
          if (res.status >= 400) {
            expect(res.body.title).toBeTruthy();
            for (const e of res.body.errors ?? []) expect(e.path).toMatch(/^(\$|header:)/);
          }
        },
      ),
      { numRuns: 60 },
    );
    await stack.settle();
  });
});

describe('queries', () => {
  it('pages withdrawals, filters by state, finds by externalId, and reports balances', async () => {
    const list = recipients(
      30,
      (i) => btcAddress(`q-${i}`),
      (i) => `0.0${i + 10}`,
    ).map((r) => ({ ...r, externalId: `q-${r.externalId}` }));
    const created = await post({ currency: 'BTC', name: 'queries', recipients: list });
    const id = created.body.id;
    await stack.settle();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: any } = await stack.request(
        'GET',
        `/payouts/${id}/withdrawals?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((w: { address: string }) => w.address));
      cursor = page.body.cursor;
    } while (cursor);
    expect(seen).toEqual(list.map((r) => r.address));
    const pending = await stack.request(
      'GET',
      `/payouts/${id}/withdrawals?state=PENDING&limit=100`,
    );
    expect(pending.body.items).toHaveLength(30);
    const none = await stack.request('GET', `/payouts/${id}/withdrawals?state=COMPLETED`);
    expect(none.body.items).toHaveLength(0);
    const found = await stack.request('GET', `/withdrawals?externalId=${list[4]!.externalId}`);
    expect(found.body.items).toEqual([
      expect.objectContaining({ payoutId: id, address: list[4]!.address, amount: list[4]!.amount }),
    ]);
    const bad = await stack.request('GET', `/payouts/${id}/withdrawals?cursor=nonsense`);
    expect(bad.status).toBe(400);
    expect((await stack.request('GET', `/payouts/${randomUUID()}`)).status).toBe(404);
    const balances = await stack.request('GET', '/balances');
    expect(balances.status).toBe(200);
    expect(
      balances.body.balances.find((b: { currency: string }) => b.currency === 'BTC').amount,
    ).toMatch(/^\d+(\.\d+)?$/);
  });

  it('dry-runs a payout: the plan and whether the balance covers it, nothing stored', async () => {
    stack.sandbox.setBalance('ETH', '1.5');
    const list = recipients(
      3,
      (i) => evmAddress(`dry-${i}`),
      () => '1',
    );
    const res = await stack.request('POST', '/payouts?dryRun=true', {
      body: { currency: 'ETH', name: 'dry', recipients: list },
      headers: { 'idempotency-key': key() },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      dryRun: true,
      total: '3',
      recipientCount: 3,
      balance: { available: '1.5', covers: false },
    });
    expect(stack.sandbox.inspect.massPayouts().some((p) => p.name === 'dry')).toBe(false);
  });
});
