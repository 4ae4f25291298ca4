/**
 * Calypso sandbox: request faults (errors, late answers, a committed create whose answer is lost),
 * the admin HTTP API, seeded determinism, and the realtime clock.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  startCalypsoSandbox,
  type CalypsoSandbox,
} from '../../infra/local/calypso-sandbox/index.js';
import {
  call,
  createMassPayout,
  listing,
  massPayoutPayload,
  recipients,
  startTestSandbox,
  startWebhookReceiver,
  subscribe,
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

describe('failing calls', () => {
  it('fails the next N calls of an operation with 500 000, changing nothing', async () => {
    sandbox.faults.failNext('createMassPayout', { count: 2 });
    for (let i = 0; i < 2; i++) {
      const answer = await createMassPayout(sandbox, uuid(1), recipients(1));
      expect(answer.status).toBe(500);
      expect(answer.json).toMatchObject({ errorCode: '000', traceId: expect.any(String) });
      expect(sandbox.inspect.massPayoutCreates(uuid(1))).toBe(0);
    }
    expect((await call(sandbox, '/account')).status).toBe(200);
    expect((await createMassPayout(sandbox, uuid(1), recipients(1))).status).toBe(200);
    expect(sandbox.inspect.massPayoutCreates(uuid(1))).toBe(1);
    expect(
      sandbox.inspect.requests().map((r) => [r.operation, r.status, r.fault, r.verdict]),
    ).toEqual([
      ['createMassPayout', 500, 'fail', 'rejected'],
      ['createMassPayout', 500, 'fail', 'rejected'],
      ['getAccount', 200, null, 'accepted'],
      ['createMassPayout', 200, null, 'accepted'],
    ]);
  });

  it('can fail any operation with a chosen status and code, after the request checks', async () => {
    sandbox.faults.failNext('*', { status: 503, errorCode: '000', message: 'maintenance' });
    // A request that fails its checks does not use up the fault.
    expect((await call(sandbox, '/account', undefined, { secretKey: 'x' })).json.errorCode).toBe(
      '003',
    );
    const answer = await call(sandbox, '/subscription/webhook');
    expect(answer.status).toBe(503);
    expect(answer.json).toMatchObject({ errorCode: '000', message: 'maintenance' });
    expect((await call(sandbox, '/subscription/webhook')).status).toBe(200);
  });

  it('refuses nonsense fault options', () => {
    expect(() => sandbox.faults.failNext('nope' as 'getAccount')).toThrow(/unknown operation/);
    expect(() => sandbox.faults.failNext('getAccount', { count: 0 })).toThrow(/bad count/);
    expect(() => sandbox.faults.failNext('getAccount', { status: 200 })).toThrow(/error status/);
    expect(() => sandbox.faults.failNext('getAccount', { after: -1 })).toThrow(/bad after/);
    expect(() => sandbox.faults.webhooks.reorderNext(1)).toThrow(/at least 2/);
  });
});

describe('late answers', () => {
  it('commits the create at once and answers after the client gave up', async () => {
    sandbox.faults.delayNext('createMassPayout', { ms: 5_000 });
    const started = Date.now();
    const attempt = call(
      sandbox,
      '/payout/mass/create',
      massPayoutPayload(uuid(2), recipients(2)),
      { signal: AbortSignal.timeout(100) },
    );
    await expect(attempt).rejects.toThrow(/aborted/i);
    expect(Date.now() - started).toBeLessThan(4_000);
    // The caller does not know, but the payout exists: look it up by its key.
    expect(sandbox.inspect.massPayoutCreates(uuid(2))).toBe(1);
    const found = await call(sandbox, '/payout/mass', { idempotencyKey: uuid(2) });
    expect(found.status).toBe(200);
  });

  it('can hold a request before handling it', async () => {
    sandbox.faults.delayNext('createMassPayout', { ms: 300, phase: 'beforeHandling' });
    const attempt = call(
      sandbox,
      '/payout/mass/create',
      massPayoutPayload(uuid(3), recipients(1)),
      { signal: AbortSignal.timeout(20) },
    );
    await expect(attempt).rejects.toThrow(/aborted/i);
    expect(sandbox.inspect.massPayoutCreates(uuid(3))).toBe(0);
    await vi.waitFor(() => expect(sandbox.inspect.massPayoutCreates(uuid(3))).toBe(1), {
      timeout: 5_000,
      interval: 20,
    });
  });

  it('answers late but normally to a patient client', async () => {
    sandbox.faults.delayNext('getAccount', { ms: 150 });
    const started = performance.now();
    const answer = await call(sandbox, '/account');
    expect(answer.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(sandbox.inspect.requests()[0]).toMatchObject({ fault: 'delay', status: 200 });
  });
});

describe('a committed create whose answer is lost', () => {
  it('creates the payout, destroys the connection, and refuses a second create', async () => {
    sandbox.faults.dropResponseNext('createMassPayout');
    await expect(createMassPayout(sandbox, uuid(4), recipients(3))).rejects.toThrow();
    expect(sandbox.inspect.massPayoutCreates(uuid(4))).toBe(1);
    expect(sandbox.inspect.requests()[0]).toMatchObject({
      operation: 'createMassPayout',
      verdict: 'accepted',
      fault: 'drop',
      status: null,
    });
    // Resolving the unknown outcome: look it up by the idempotencyKey; never create it twice.
    const found = await call(sandbox, '/payout/mass', { idempotencyKey: uuid(4) });
    expect(found.json).toMatchObject({ idempotencyKey: uuid(4), state: 'CREATION_IN_PROGRESS' });
    const again = await createMassPayout(sandbox, uuid(4), recipients(3));
    expect(again.json.message).toBe(`IdempotencyKey ${uuid(4)} already exists`);
    expect(sandbox.inspect.massPayoutCreates(uuid(4))).toBe(1);
    expect(sandbox.inspect.massPayoutCreateAttempts(uuid(4))).toBe(2);
  });

  it('can then refuse the retries with a validation error while holding the first create', async () => {
    sandbox.faults.dropResponseNext('createMassPayout');
    sandbox.faults.failNext('createMassPayout', {
      after: 1,
      count: 2,
      status: 400,
      errorCode: '016',
      message: 'Can not create deal. Validation failed',
    });
    await expect(createMassPayout(sandbox, uuid(5), recipients(2))).rejects.toThrow();
    for (let i = 0; i < 2; i++) {
      const refused = await createMassPayout(sandbox, uuid(5), recipients(2));
      expect(refused.status).toBe(400);
      expect(refused.json).toMatchObject({ errorCode: '016', message: /Validation failed/ });
    }
    expect(sandbox.inspect.massPayoutCreates(uuid(5))).toBe(1);
    expect(
      sandbox.inspect.requests().map((r) => [r.operation, r.status, r.fault, r.verdict]),
    ).toEqual([
      ['createMassPayout', null, 'drop', 'accepted'],
      ['createMassPayout', 400, 'fail', 'rejected'],
      ['createMassPayout', 400, 'fail', 'rejected'],
    ]);
    // The fault is used up: the next create is told the key exists.
    const again = await createMassPayout(sandbox, uuid(5), recipients(2));
    expect(again.json.message).toBe(`IdempotencyKey ${uuid(5)} already exists`);
  });
});

describe('failing addresses', () => {
  it('fails only the chosen addresses, and no more once cleared', async () => {
    sandbox.faults.failAddresses(['0xaddr1']);
    expect(sandbox.faults.list()).toEqual([
      { target: 'address', kind: 'fail', address: '0xaddr1' },
    ]);
    await createMassPayout(sandbox, uuid(5), recipients(2));
    // Whether a payment fails is settled when it is sent.
    await sandbox.advance(TIMINGS.withdrawalsCreatedAfterMs + TIMINGS.inProgressAfterMs);
    sandbox.faults.clearFailedAddresses();
    await createMassPayout(sandbox, uuid(6), recipients(2));
    await sandbox.advance(60_000);
    expect(
      sandbox.inspect.massPayouts().map((p) => [p.state, p.withdrawals.map((w) => w.state)]),
    ).toEqual([
      ['COMPLETED', ['FAILED', 'COMPLETED']],
      ['COMPLETED', ['COMPLETED', 'COMPLETED']],
    ]);
  });
});

describe('admin HTTP API', () => {
  const admin = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${sandbox.url}/__sandbox${path}`, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as Json };
  };

  it('lists its endpoints', async () => {
    const index = await admin('GET', '');
    expect(index.status).toBe(200);
    expect(index.json.endpoints).toEqual(
      expect.arrayContaining([
        'POST /__sandbox/clock/advance',
        'POST /__sandbox/faults/drop-response',
        'GET /__sandbox/mass-payout-creates',
        'POST /__sandbox/reset',
      ]),
    );
  });

  it('mirrors the programmatic API: clock, balances, faults, inspection, reset', async () => {
    const before = sandbox.now();
    expect((await admin('POST', '/balances/set', { currency: 'USDT', amount: '1' })).json).toEqual({
      balances: expect.objectContaining({ USDT: '1' }),
    });
    const topUp = await admin('POST', '/balances/top-up', { currency: 'USDT', amount: '99.5' });
    expect(topUp.json.balances.USDT).toBe('100.5');

    await admin('POST', '/faults/fail', { operation: 'createMassPayout', count: 1 });
    await admin('POST', '/faults/fail-addresses', { addresses: ['0xaddr2'] });
    await admin('POST', '/faults/webhooks/withhold', { count: 1 });
    expect((await admin('GET', '/faults')).json.faults).toHaveLength(3);
    expect((await createMassPayout(sandbox, uuid(7), recipients(2))).status).toBe(500);
    expect((await createMassPayout(sandbox, uuid(7), recipients(2))).status).toBe(200);

    const clock = await admin('POST', '/clock/advance', { ms: 60_000 });
    expect(clock.json.now).toBe(before + 60_000);
    const [payout] = (await admin('GET', '/mass-payouts')).json.massPayouts;
    expect(payout).toMatchObject({ idempotencyKey: uuid(7), state: 'COMPLETED' });
    expect(payout.withdrawals[0]).toMatchObject({ amount: '1.5', calypsoFee: '0.0075' });
    expect((await admin('GET', `/mass-payout-creates?idempotencyKey=${uuid(7)}`)).json).toEqual({
      idempotencyKey: uuid(7),
      created: 1,
      attempts: 2,
    });
    const requests = (await admin('GET', '/requests')).json.requests;
    expect(requests.map((r: { status: number }) => r.status)).toEqual([500, 200]);

    await admin('DELETE', '/faults');
    expect((await admin('GET', '/faults')).json.faults).toEqual([]);
    await admin('POST', '/reset');
    expect((await admin('GET', '/mass-payouts')).json.massPayouts).toEqual([]);
    expect((await admin('GET', '/balances')).json.balances.USDT).toBe('1000000000');
    expect(sandbox.inspect.requests()).toEqual([]);
  });

  it('exposes webhook deliveries and releases withheld ones', async () => {
    const receiver = await startWebhookReceiver();
    try {
      await subscribe(sandbox, receiver.url);
      await admin('POST', '/faults/webhooks/withhold', { count: 1 });
      await admin('POST', '/faults/webhooks/duplicate', { eventType: 'PAYOUT_CHANGE_STATUS' });
      await createMassPayout(sandbox, uuid(8), recipients(1));
      await admin('POST', '/clock/advance', { ms: TIMINGS.withdrawalsCreatedAfterMs });
      expect(receiver.received).toEqual([]);
      expect((await admin('POST', '/faults/webhooks/release-withheld')).json).toEqual({
        released: 1,
      });
      await admin('POST', '/clock/advance', { ms: 0 });
      expect(receiver.received.map((h) => h.json.eventType)).toEqual(['PAYOUT_CONFIRMED']);
      const deliveries = (await admin('GET', '/webhook-deliveries')).json.deliveries;
      expect(deliveries[0]).toMatchObject({ eventType: 'PAYOUT_CONFIRMED', state: 'delivered' });
      expect((await admin('GET', '/events')).json.events).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });

  it('answers 400 for bad input and 404 for unknown endpoints, and is not recorded', async () => {
    expect((await admin('POST', '/clock/advance', { ms: 'soon' })).status).toBe(400);
    expect((await admin('POST', '/clock/advance', { ms: -1 })).status).toBe(400);
    expect((await admin('POST', '/balances/top-up', { currency: 'XYZ', amount: '1' })).status).toBe(
      400,
    );
    expect((await admin('POST', '/faults/fail', { operation: 'nope' })).status).toBe(400);
    expect((await admin('GET', '/mass-payout-creates')).status).toBe(400);
    expect((await admin('GET', '/nothing-here')).status).toBe(404);
    expect(sandbox.inspect.requests()).toEqual([]);
  });
});

describe('determinism', () => {
  async function scenario() {
    const run = await startTestSandbox({ seed: 42 });
    const receiver = await startWebhookReceiver();
    try {
      const subscription = await subscribe(run, receiver.url);
      const created = await createMassPayout(run, uuid(9), recipients(3));
      const bad = await call(run, '/payout/mass', { id: '1' });
      await run.advance(60_000);
      const withdrawals = await call(
        run,
        '/payout/withdrawal/all',
        listing({ dealId: created.json.id }),
      );
      return {
        answers: [
          [subscription.requestId, subscription.publicKey, subscription.secretKey],
          created.text,
          bad.text,
          withdrawals.text,
        ],
        webhooks: receiver.received.map((h) => [h.body, h.sign]),
      };
    } finally {
      await run.close();
      await receiver.close();
    }
  }

  it('gives the same ids, keys, hashes, trace ids and webhooks for the same seed', async () => {
    const first = await scenario();
    const second = await scenario();
    expect(second).toEqual(first);
    expect(first.webhooks).toHaveLength(9);
  });

  it('differs with another seed', async () => {
    const a = await startTestSandbox({ seed: 1 });
    const b = await startTestSandbox({ seed: 2 });
    try {
      const ids = await Promise.all(
        [a, b].map(async (s) => (await createMassPayout(s, uuid(10), recipients(1))).json.id),
      );
      expect(ids[0]).not.toBe(ids[1]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('realtime clock', () => {
  it('runs the lifecycle on the wall clock, its delays divided by the speed', async () => {
    const live = await startCalypsoSandbox({ clock: { mode: 'realtime', speed: 1_000 } });
    try {
      expect(Math.abs(live.now() - Date.now())).toBeLessThan(1_000);
      // Default timings (2 s, 5 s, 30 s) become 2, 5 and 30 ms.
      const created = (await createMassPayout(live, uuid(11), recipients(2))).json;
      await vi.waitFor(
        async () =>
          expect((await call(live, '/payout/mass', { id: created.id })).json.state).toBe(
            'COMPLETED',
          ),
        { timeout: 10_000, interval: 20 },
      );
      expect(live.inspect.internalErrors()).toEqual([]);
    } finally {
      await live.close();
    }
  });

  it('goes on with its payouts while webhook receivers have not answered, a bounded number at once', async () => {
    // A receiver that answers nothing until told to: Calypso does not wait for it.
    const held: http.ServerResponse[] = [];
    let mostAtOnce = 0;
    const receiver = http.createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        held.push(response);
        mostAtOnce = Math.max(mostAtOnce, held.filter((r) => !r.writableEnded).length);
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const live = await startCalypsoSandbox({
      clock: { mode: 'realtime', speed: 1_000 },
      webhookConcurrency: 2,
    });
    try {
      await subscribe(live, url);
      const created = (await createMassPayout(live, uuid(12), recipients(3))).json;
      await vi.waitFor(
        async () =>
          expect((await call(live, '/payout/mass', { id: created.id })).json.state).toBe(
            'COMPLETED',
          ),
        { timeout: 5_000, interval: 20 },
      );
      // Every event raised, none answered yet, and never more than two POSTs open at once.
      await vi.waitFor(() => expect(held).toHaveLength(2));
      expect(live.inspect.webhookDeliveries().some((d) => d.state === 'delivered')).toBe(false);
      const raised = live.inspect.events().length;
      expect(raised).toBeGreaterThan(4);
      // Answered, the rest go out in turn.
      await vi.waitFor(
        () => {
          for (const response of held) if (!response.writableEnded) response.end('ok');
          expect(
            live.inspect.webhookDeliveries().filter((d) => d.state === 'delivered'),
          ).toHaveLength(raised);
        },
        { timeout: 5_000, interval: 10 },
      );
      expect(mostAtOnce).toBe(2);
    } finally {
      await live.close();
      receiver.closeAllConnections();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });

  it('closes promptly with an answer still held back', async () => {
    const live = await startCalypsoSandbox({ clock: { mode: 'realtime' } });
    live.faults.delayNext('getAccount', { ms: 60_000 });
    const pending = call(live, '/account').catch((error: unknown) => error);
    await vi.waitFor(() => expect(live.inspect.requests()).toHaveLength(1));
    const started = Date.now();
    await live.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    await pending;
  });
});
