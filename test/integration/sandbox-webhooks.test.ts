/**
 * Calypso sandbox: webhooks. The documented envelope and payout events, signed with each
 * subscription's own secret, redelivered on non-200, and the webhook faults (duplicate, reorder,
 * delay, withhold, bad signature). A receiver on 127.0.0.1 checks every signature itself.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signatureMatches } from '../../shared/calypso/signing.js';
import {
  CALYPSO_RETRY_SCHEDULE_MS,
  type CalypsoSandbox,
} from '../../infra/local/calypso-sandbox/index.js';
import {
  allWithdrawals,
  call,
  createMassPayout,
  num,
  recipients,
  startTestSandbox,
  startWebhookReceiver,
  subscribe,
  TIMINGS,
  uuid,
  type Json,
  type ReceivedWebhook,
  type WebhookReceiver,
} from '../support/sandbox-helpers.js';

const UNTIL_DONE =
  TIMINGS.withdrawalsCreatedAfterMs + TIMINGS.inProgressAfterMs + TIMINGS.completedAfterMs;

let sandbox: CalypsoSandbox;
let receiver: WebhookReceiver;
let secret: string;
let publicKey: string;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await sandbox.close();
  await receiver.close();
});
beforeEach(async () => {
  sandbox.reset();
  receiver.received.length = 0;
  receiver.respondWith(200);
  ({ secretKey: secret, publicKey } = await subscribe(sandbox, receiver.url, uuid(900)));
});
afterEach(() => expect(sandbox.inspect.internalErrors()).toEqual([]));

/** Checks what every delivery must satisfy, and returns `[eventType, payoutStatus]` per webhook. */
function verified(hooks: ReceivedWebhook[] = receiver.received): [string, string | undefined][] {
  for (const hook of hooks) {
    expect(hook.key).toBe(publicKey);
    expect(hook.contentType).toBe('application/json');
    expect(signatureMatches(hook.body, hook.sign ?? '', secret)).toBe(true);
  }
  return hooks.map((h) => [h.json.eventType, h.json.data.payoutStatus]);
}

describe('payout events', () => {
  it('follows a mass payout with signed events in the documented envelope', async () => {
    const created = (await createMassPayout(sandbox, uuid(1), recipients(2))).json;
    await sandbox.advance(UNTIL_DONE);

    expect(verified()).toEqual([
      ['PAYOUT_CONFIRMED', 'CONFIRMED'],
      ['PAYOUT_CHANGE_STATUS', 'IN_PROGRESS'],
      ['PAYOUT_HASH_RECEIVED', 'IN_PROGRESS'],
      ['PAYOUT_HASH_RECEIVED', 'IN_PROGRESS'],
      ['PAYOUT_CHANGE_STATUS', 'COMPLETED'],
      ['PAYOUT_CHANGE_STATUS', 'COMPLETED'],
      ['PAYOUT_CHANGE_STATUS', 'COMPLETED'],
    ]);
    const ids = receiver.received.map((h) => Number(h.json.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);

    const [confirmed] = receiver.received;
    expect(Object.keys(confirmed!.json)).toEqual([
      'requestId',
      'id',
      'createdDate',
      'level',
      'service',
      'eventType',
      'data',
    ]);
    expect(confirmed!.json).toMatchObject({
      requestId: uuid(900),
      level: 'INFO',
      service: 'PAYOUT',
      data: {
        type: 'PAYOUT_CONFIRMED',
        currency: 'USDT',
        idempotencyKey: uuid(1),
        parentExternalId: created.id,
      },
    });
    // The event id and parentExternalId are JSON numbers; dates have no zone and microseconds.
    expect(confirmed!.body).toMatch(/^\{"requestId":"[^"]+","id":\d+,"createdDate":"/);
    expect(confirmed!.body).toContain(`"parentExternalId":${created.id}`);
    expect(confirmed!.json.createdDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);

    const withdrawals = await allWithdrawals(sandbox, { dealId: created.id });
    const hashes = receiver.received.filter((h) => h.json.eventType === 'PAYOUT_HASH_RECEIVED');
    expect(hashes.map((h) => [h.json.data.hash, h.json.data.externalId])).toEqual(
      withdrawals.map((w: Json) => [w.transactionHash, w.externalId]),
    );
    const [, , , , first, , final] = receiver.received;
    expect(first!.json).toMatchObject({
      level: 'SUCCESS',
      data: {
        hash: withdrawals[0].transactionHash,
        externalId: 'ext-1',
        payoutStatus: 'COMPLETED',
      },
    });
    // The payout's own final event carries no hash nor externalId.
    expect(final!.json.data).toEqual({
      type: 'PAYOUT_CHANGE_STATUS',
      hash: null,
      currency: 'USDT',
      createdDate: expect.any(String),
      payoutStatus: 'COMPLETED',
      idempotencyKey: uuid(1),
      parentExternalId: created.id,
    });
  });

  it('reports a funds shortage with PAYOUT_VALIDATION_ERROR (WARNING)', async () => {
    sandbox.setBalance('USDT', '2');
    const created = (await createMassPayout(sandbox, uuid(2), recipients(2))).json;
    await sandbox.advance(3_000);
    const [withdrawal] = (await allWithdrawals(sandbox, { dealId: created.id })).slice(1);
    const hook = receiver.received.find((h) => h.json.eventType === 'PAYOUT_VALIDATION_ERROR');
    verified([hook!]);
    expect(hook!.json.level).toBe('WARNING');
    expect(hook!.json.data).toEqual({
      type: 'PAYOUT_VALIDATION_ERROR',
      message: expect.stringContaining('Not enough funds'),
      currency: 'USDT',
      externalId: 'ext-2',
      createdDate: expect.any(String),
      idempotencyKey: uuid(2),
      dealWithdrawalId: withdrawal.id,
      parentExternalId: created.id,
      validationStatus: 'NOT_ENOUGH_FUNDS',
    });
  });

  it('sends a failed payment as WARNING, and the payout with some failed payments as the guide shows: COMPLETED, SUCCESS', async () => {
    sandbox.faults.failAddresses(['0xaddr1']);
    await createMassPayout(sandbox, uuid(3), recipients(2));
    await sandbox.advance(UNTIL_DONE);
    const statuses = receiver.received
      .filter((h) => h.json.eventType === 'PAYOUT_CHANGE_STATUS')
      .map((h) => [h.json.level, h.json.data.payoutStatus, h.json.data.hash === null]);
    expect(statuses).toEqual([
      ['INFO', 'IN_PROGRESS', true],
      ['WARNING', 'FAILED', true],
      ['SUCCESS', 'COMPLETED', false],
      ['SUCCESS', 'COMPLETED', true],
    ]);
  });

  it('sends only the event types a subscription asked for, each with its own keys', async () => {
    const second = await startWebhookReceiver();
    try {
      const narrow = await subscribe(sandbox, second.url, uuid(901), {
        notificationEventTypes: ['PAYOUT_HASH_RECEIVED'],
      });
      await createMassPayout(sandbox, uuid(4), recipients(2));
      await sandbox.advance(UNTIL_DONE);
      expect(second.received.map((h) => h.json.eventType)).toEqual([
        'PAYOUT_HASH_RECEIVED',
        'PAYOUT_HASH_RECEIVED',
      ]);
      for (const hook of second.received) {
        expect(hook.key).toBe(narrow.publicKey);
        expect(hook.json.requestId).toBe(uuid(901));
        expect(signatureMatches(hook.body, hook.sign!, narrow.secretKey)).toBe(true);
        expect(signatureMatches(hook.body, hook.sign!, secret)).toBe(false);
      }
      expect(receiver.received).toHaveLength(7);
    } finally {
      await second.close();
    }
  });

  it('follows a single payout with its hash and externalId on every event', async () => {
    await call(sandbox, '/payout/create', {
      depositAddress: 'bc1qsingle',
      amount: num('0.001'),
      currency: 'BTC',
      idempotencyKey: uuid(5),
      externalId: 'one',
    });
    await sandbox.advance(UNTIL_DONE);
    const hooks = receiver.received.map((h) => h.json);
    expect(hooks.map((h) => [h.eventType, h.data.payoutStatus, h.data.externalId])).toEqual([
      ['PAYOUT_CONFIRMED', 'CONFIRMED', 'one'],
      ['PAYOUT_CHANGE_STATUS', 'IN_PROGRESS', 'one'],
      ['PAYOUT_HASH_RECEIVED', 'IN_PROGRESS', 'one'],
      ['PAYOUT_CHANGE_STATUS', 'COMPLETED', 'one'],
    ]);
    expect(hooks[3].data.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hooks[3].data.hash).toBe(hooks[2].data.hash);
  });
});

describe('redelivery', () => {
  it('retries anything but 200 on the schedule, the same body and Sign each time', async () => {
    receiver.respondWith(503);
    await createMassPayout(sandbox, uuid(10), recipients(1));
    const sentAt = sandbox.now() + TIMINGS.withdrawalsCreatedAfterMs;
    await sandbox.advance(TIMINGS.withdrawalsCreatedAfterMs);
    expect(verified()).toEqual([['PAYOUT_CONFIRMED', 'CONFIRMED']]);

    await sandbox.advance(999);
    expect(receiver.received).toHaveLength(1);
    await sandbox.advance(1); // 1 s after the first try
    const confirmed = () =>
      receiver.received.filter((h) => h.json.eventType === 'PAYOUT_CONFIRMED');
    expect(confirmed()).toHaveLength(2);
    receiver.respondWith(200);
    await sandbox.advance(2_000); // the second retry, 2 s later, succeeds
    expect(confirmed()).toHaveLength(3);
    expect(new Set(confirmed().map((h) => h.body + h.sign)).size).toBe(1);
    await sandbox.advance(60_000);
    expect(confirmed()).toHaveLength(3);

    const delivery = sandbox.inspect
      .webhookDeliveries()
      .find((d) => d.eventType === 'PAYOUT_CONFIRMED')!;
    expect(delivery.state).toBe('delivered');
    expect(delivery.attempts.map((a) => [a.at - sentAt, a.status, a.responseBody])).toEqual([
      [0, 503, 'not now'],
      [1_000, 503, 'not now'],
      [3_000, 200, 'ok'],
    ]);
  });

  it('gives up after the last scheduled retry', async () => {
    receiver.respondWith(500);
    await createMassPayout(sandbox, uuid(11), recipients(1));
    await sandbox.advance(TIMINGS.withdrawalsCreatedAfterMs + 7_000);
    const delivery = sandbox.inspect.webhookDeliveries()[0]!;
    expect(delivery.attempts.map((a) => a.at - delivery.attempts[0]!.at)).toEqual([
      0, 1_000, 3_000, 7_000,
    ]);
    expect(delivery.state).toBe('failed');
  });

  it('records an unreachable receiver as a failed attempt and stops when unsubscribed', async () => {
    await call(sandbox, '/subscription/webhook', { requestId: uuid(900) }, { method: 'DELETE' });
    const gone = await startWebhookReceiver();
    await gone.close(); // nothing listens on its port any more
    await subscribe(sandbox, gone.url, uuid(902));
    await createMassPayout(sandbox, uuid(12), recipients(1));
    await sandbox.advance(TIMINGS.withdrawalsCreatedAfterMs);
    const [first] = sandbox.inspect.webhookDeliveries();
    expect(first!.attempts).toEqual([
      expect.objectContaining({ status: null, error: expect.any(String) }),
    ]);
    await call(sandbox, '/subscription/webhook', { requestId: uuid(902) }, { method: 'DELETE' });
    await sandbox.advance(60_000);
    expect(sandbox.inspect.webhookDeliveries()[0]).toMatchObject({ state: 'canceled' });
    expect(sandbox.inspect.webhookDeliveries()[0]!.attempts).toHaveLength(1);
  });

  it('defaults to Calypso’s schedule: 19 tries, 30 s first, about 3.8 days in all', () => {
    expect(CALYPSO_RETRY_SCHEDULE_MS).toHaveLength(18);
    expect(CALYPSO_RETRY_SCHEDULE_MS.slice(0, 5)).toEqual([
      30_000, 60_000, 90_000, 150_000, 240_000,
    ]);
    const total = CALYPSO_RETRY_SCHEDULE_MS.reduce((a, b) => a + b, 0);
    expect(total / 86_400_000).toBeCloseTo(3.8, 1);
  });

  it('blocks a subscription after more than 100 failures in 10 minutes', async () => {
    const strict = await startTestSandbox({ webhookRetryScheduleMs: [] });
    const failing = await startWebhookReceiver();
    try {
      failing.respondWith(500);
      await subscribe(strict, failing.url, uuid(903));
      await createMassPayout(strict, uuid(13), recipients(120));
      await strict.advance(TIMINGS.withdrawalsCreatedAfterMs + TIMINGS.inProgressAfterMs);
      // CONFIRMED, IN_PROGRESS, then hashes: the 101st failure blocks the subscription.
      expect(failing.received).toHaveLength(101);
      expect(strict.inspect.subscriptions()[0]!.blocked).toBe(true);
      await strict.advance(TIMINGS.completedAfterMs);
      expect(failing.received).toHaveLength(101);
    } finally {
      await strict.close();
      await failing.close();
    }
  });
});

describe('webhook faults', () => {
  it('duplicates an event: the same body, event id and Sign twice', async () => {
    sandbox.faults.webhooks.duplicateNext({ eventType: 'PAYOUT_CONFIRMED' });
    await createMassPayout(sandbox, uuid(20), recipients(1));
    await sandbox.advance(UNTIL_DONE);
    const confirmed = receiver.received.filter((h) => h.json.eventType === 'PAYOUT_CONFIRMED');
    expect(confirmed).toHaveLength(2);
    expect(confirmed[0]!.body).toBe(confirmed[1]!.body);
    verified(confirmed);
    const copies = sandbox.inspect.webhookDeliveries().filter((d) => d.duplicateOf !== null);
    expect(copies).toHaveLength(1);
  });

  it('reorders the next events', async () => {
    sandbox.faults.webhooks.reorderNext(2);
    await createMassPayout(sandbox, uuid(21), recipients(1));
    await sandbox.advance(UNTIL_DONE);
    expect(verified().slice(0, 2)).toEqual([
      ['PAYOUT_CHANGE_STATUS', 'IN_PROGRESS'],
      ['PAYOUT_CONFIRMED', 'CONFIRMED'],
    ]);
  });

  it('delays an event on the sandbox clock, so later ones overtake it', async () => {
    sandbox.faults.webhooks.delayNext({ ms: 5_000, eventType: 'PAYOUT_CONFIRMED' });
    await createMassPayout(sandbox, uuid(22), recipients(1));
    await sandbox.advance(TIMINGS.withdrawalsCreatedAfterMs + 4_999);
    expect(verified()).toEqual([
      ['PAYOUT_CHANGE_STATUS', 'IN_PROGRESS'],
      ['PAYOUT_HASH_RECEIVED', 'IN_PROGRESS'],
    ]);
    await sandbox.advance(1);
    expect(verified().at(-1)).toEqual(['PAYOUT_CONFIRMED', 'CONFIRMED']);
  });

  it('withholds events until released', async () => {
    sandbox.faults.webhooks.withholdNext({ count: 3, eventType: 'PAYOUT_CHANGE_STATUS' });
    await createMassPayout(sandbox, uuid(23), recipients(1));
    await sandbox.advance(UNTIL_DONE);
    expect(verified()).toEqual([
      ['PAYOUT_CONFIRMED', 'CONFIRMED'],
      ['PAYOUT_HASH_RECEIVED', 'IN_PROGRESS'],
    ]);
    expect(sandbox.faults.webhooks.releaseWithheld()).toBe(3);
    await sandbox.advance(0);
    expect(verified().slice(2)).toEqual([
      ['PAYOUT_CHANGE_STATUS', 'IN_PROGRESS'],
      ['PAYOUT_CHANGE_STATUS', 'COMPLETED'],
      ['PAYOUT_CHANGE_STATUS', 'COMPLETED'],
    ]);
  });

  it('sends an event with a Sign that does not match its body', async () => {
    sandbox.faults.webhooks.badSignatureNext();
    await createMassPayout(sandbox, uuid(24), recipients(1));
    await sandbox.advance(UNTIL_DONE);
    const [bad, ...rest] = receiver.received;
    expect(bad!.key).toBe(publicKey);
    expect(bad!.sign).toMatch(/^[0-9a-f]{128}$/);
    expect(signatureMatches(bad!.body, bad!.sign!, secret)).toBe(false);
    verified(rest);
    expect(sandbox.inspect.webhookDeliveries().map((d) => d.signatureValid)).toEqual([
      false,
      ...rest.map(() => true),
    ]);
  });
});
