/**
 * Webhooks as the internet delivers them: duplicated, reordered, late, forged, and replayed long
 * after the payout is final. No event has a double effect, no state moves backwards, a forged
 * delivery is refused and not stored, and the reconciler's lookups stay the truth.
 */
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Context } from 'aws-lambda';
import { makeHandler as makeApplyHandler } from '../../functions/apply-webhook.js';
import { sign } from '../../shared/calypso/signing.js';
import { applyWebhookEvent } from '../../shared/payouts/webhooks.js';
import { trackDeps } from '../../shared/system.js';
import type { WebhookDeliverySnapshot } from '../../infra/local/calypso-sandbox/index.js';
import { countingRepository } from '../support/dynamo.js';
import { statusChangeBody, webhookHeaders } from '../support/webhooks.js';
import { startFaultStack, TICK_MS, type FaultStack } from './support/fault-stack.js';
import { btcPayout } from './support/payouts.js';

let stack: FaultStack;
beforeAll(async () => {
  stack = await startFaultStack();
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => {
  stack.sandbox.faults.clear();
  stack.setAutoApply(true);
});

const TERMINAL = new Set([
  'COMPLETED',
  'FAILED',
  'REPLACED',
  'COMPLETED_WITH_FAILURES',
  'CANCELED',
  'REJECTED',
  'PARTIAL',
]);

async function accept(tag: string, count = 3) {
  const res = await stack.post(btcPayout(tag, count));
  expect(res.status).toBe(202);
  await stack.settle();
  return res.body.id as string;
}

const view = async (id: string) => (await stack.request('GET', `/payouts/${id}`)).body;
const trail = async (id: string) =>
  (await stack.request('GET', `/payouts/${id}/events?limit=1000`)).body.items as any[];
const withdrawals = async (id: string) =>
  (await stack.request('GET', `/payouts/${id}/withdrawals?limit=1000`)).body.items as any[];

/** Each state reached once per thing, and nothing ever left a final state. */
function expectForwardOnly(entries: any[]) {
  const reached = new Set<string>();
  for (const e of entries) {
    const thing = `${e.entity}/${e.ref ?? ''}/${e.field}`;
    expect(reached.has(`${thing}=${e.to}`), `${thing} reached ${e.to} twice`).toBe(false);
    reached.add(`${thing}=${e.to}`);
    if (e.field === 'state' || e.field === 'calypsoState')
      expect(TERMINAL.has(e.from), `${thing} left ${e.from} for ${e.to}`).toBe(false);
    if (e.field === 'status') expect(e.from).not.toBe('FINAL');
  }
}

/** Deliveries of this payout's events (its batches' keys appear in the body). */
function deliveriesOf(keys: string[]): WebhookDeliverySnapshot[] {
  return stack.sandbox.inspect
    .webhookDeliveries()
    .filter((d) => keys.some((key) => d.body.includes(key)));
}

const batchKeys = async (id: string) =>
  ((await view(id)).batches as any[]).map((b) => b.idempotencyKey as string);

/** A snapshot of everything a webhook could wrongly change. */
async function snapshot(id: string) {
  const v = await view(id);
  return {
    state: v.state,
    counts: v.withdrawalCounts,
    batches: v.batches.map((b: any) => [b.status, b.calypsoState, b.validationErrors]),
    withdrawals: (await withdrawals(id)).map((w) => [w.state, w.transactionHash, w.fee]),
    trail: (await trail(id)).length,
  };
}

describe('unreliable delivery', () => {
  it('every event delivered three times: one effect each', async () => {
    stack.sandbox.faults.webhooks.duplicateNext({ count: 1000, copies: 2 });
    const id = await accept('duplicated');
    await stack.expectInvariants();
    expect((await view(id)).state).toBe('COMPLETED');
    const entries = await trail(id);
    expectForwardOnly(entries);
    expect(entries.filter((e) => e.entity === 'withdrawal' && e.to === 'COMPLETED')).toHaveLength(
      3,
    );

    const delivered = deliveriesOf(await batchKeys(id)).filter((d) => d.state === 'delivered');
    const byEvent = new Map<number, WebhookDeliverySnapshot[]>();
    for (const d of delivered) byEvent.set(d.eventId, [...(byEvent.get(d.eventId) ?? []), d]);
    expect(byEvent.size).toBeGreaterThan(0);
    for (const copies of byEvent.values()) {
      expect(copies).toHaveLength(3);
      const answers = copies.map((d) => d.attempts.at(-1)!.responseBody ?? '');
      expect(answers.filter((a) => a.includes('"duplicate":true'))).toHaveLength(2);
    }
    const published = stack.events.events.filter((e) => e.payoutId === id);
    const transitions = published.map((e) =>
      JSON.stringify([e.type, e.detail.position, e.detail.to]),
    );
    expect(new Set(transitions).size).toBe(transitions.length);
  });

  it('events delivered in reverse order: no regression, the right final states', async () => {
    const prefix = 'reordered';
    stack.sandbox.faults.failAddresses([btcPayout(prefix, 4).recipients[0]!.address]);
    stack.sandbox.faults.webhooks.reorderNext(8);
    const id = await accept(prefix, 4);
    await stack.expectInvariants();
    expect((await view(id)).state).toBe('COMPLETED_WITH_FAILURES');
    expect((await withdrawals(id)).map((w) => w.state)).toEqual([
      'FAILED',
      'COMPLETED',
      'COMPLETED',
      'COMPLETED',
    ]);
    expectForwardOnly(await trail(id));
    const deliveries = deliveriesOf(await batchKeys(id));
    expect(deliveries.length).toBeGreaterThan(8);
    for (const d of deliveries) expect(d.state).toBe('delivered');
  });

  it('events arriving after the reconciler finished the payout change nothing', async () => {
    stack.sandbox.faults.webhooks.delayNext({ ms: 10 * 60_000, count: 1000 });
    const id = await accept('late-webhooks');
    await stack.expectInvariants();
    expect((await view(id)).state).toBe('COMPLETED');
    const keys = await batchKeys(id);
    expect(deliveriesOf(keys).every((d) => d.attempts.length === 0)).toBe(true);
    const before = await snapshot(id);

    await stack.advance(11 * 60_000);
    const late = deliveriesOf(keys);
    expect(late.length).toBeGreaterThan(3);
    for (const d of late) expect(d.attempts.map((a) => a.status)).toEqual([200]);
    expect(await snapshot(id)).toEqual(before);
    expectForwardOnly(await trail(id));
    await stack.expectInvariants();
  });
});

describe('hostile deliveries', () => {
  it('a forged delivery is refused with 401 and not stored; the payout ends as Calypso says', async () => {
    stack.sandbox.faults.webhooks.badSignatureNext({ count: 3 });
    const prefix = 'forged';
    stack.sandbox.faults.failAddresses([btcPayout(prefix, 2).recipients[1]!.address]);
    const id = await accept(prefix, 2);
    const [batch] = (await view(id)).batches;

    // Someone who knows the public key claims both payments completed.
    const secret = stack.webhookKeys!.secretKey;
    const publicKey = stack.webhookKeys!.publicKey;
    const forge = (n: number, externalId: string) =>
      statusChangeBody({
        id: 990_000 + n,
        idempotencyKey: batch.idempotencyKey,
        payoutStatus: 'COMPLETED',
        externalId,
        hash: '0xforged',
      });
    const body = forge(1, `${prefix}-1`);
    const attempts = [
      { body, key: publicKey, sign: sign(body, 'not-the-secret') },
      { body, key: 'someone-else', sign: sign(body, secret) },
      // A genuine signature moved onto another body.
      { body: forge(2, `${prefix}-0`), key: publicKey, sign: sign(body, secret) },
      { body, key: publicKey, sign: '' },
    ];
    for (const a of attempts) {
      const res = await stack.request('POST', '/webhooks/calypso', {
        body: a.body,
        headers: { key: a.key, sign: a.sign, 'content-type': 'application/json' },
      });
      expect(res.status).toBe(401);
    }
    for (const n of [1, 2])
      expect(await stack.repository.getWebhookEvent(String(990_000 + n))).toBeUndefined();
    expect((await withdrawals(id)).map((w) => w.state)).toEqual(['PENDING', 'PENDING']);

    await stack.expectInvariants();
    expect((await withdrawals(id)).map((w) => [w.state, w.transactionHash])).toEqual([
      ['COMPLETED', expect.not.stringMatching(/forged/)],
      ['FAILED', null],
    ]);
    const refused = deliveriesOf([batch.idempotencyKey]).filter((d) => !d.signatureValid);
    expect(refused).toHaveLength(3);
    for (const d of refused) {
      expect(d.attempts.every((a) => a.status === 401)).toBe(true);
      expect(await stack.repository.getWebhookEvent(String(d.eventId))).toBeUndefined();
    }
  });

  it('genuine deliveries replayed after the payout is final: answered, no change', async () => {
    // Short of funds at Calypso once it was sent (the balance moved after our funds check), so
    // validation-error events are among those replayed.
    const id = await accept('replayed', 3);
    stack.sandbox.setBalance('BTC', '0.00002');
    await stack.advance(10_000);
    stack.sandbox.topUp('BTC', '1000');
    await stack.expectInvariants();
    expect((await view(id)).state).toBe('COMPLETED');
    const delivered = deliveriesOf(await batchKeys(id)).filter((d) => d.state === 'delivered');
    expect(delivered.map((d) => d.eventType)).toContain('PAYOUT_VALIDATION_ERROR');
    const before = await snapshot(id);

    const replay = async (d: WebhookDeliverySnapshot) =>
      stack.request('POST', '/webhooks/calypso', {
        body: d.body,
        headers: { key: d.headers.Key, sign: d.headers.Sign, 'content-type': 'application/json' },
      });
    await stack.advance(TICK_MS);
    for (const d of delivered) {
      const res = await replay(d);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ duplicate: true });
    }
    expect(await snapshot(id)).toEqual(before);

    // Long after, the dedupe records have expired (TTL): replayed again, newest first.
    for (const d of delivered) {
      await stack.db.send(
        new DeleteItemCommand({
          TableName: stack.tableName,
          Key: { PK: { S: `EVENT#${d.eventId}` }, SK: { S: 'EVENT' } },
        }),
      );
    }
    for (const d of [...delivered].reverse()) {
      const res = await replay(d);
      expect(res.status).toBe(200);
      expect(res.body.stored).toBe(true);
    }
    await stack.settle();
    expect(await snapshot(id)).toEqual(before);
    expectForwardOnly(await trail(id));
    await stack.expectInvariants();
  });
});

describe('storage first: stored, answered, applied after', () => {
  const verdicts = async (keys: string[]) =>
    Promise.all(
      deliveriesOf(keys)
        .filter((d) => d.state === 'delivered')
        .map(async (d) => (await stack.repository.getWebhookEvent(String(d.eventId)))?.verdict),
    );

  it('a worker that dies between storing and applying loses nothing: the reconciler applies', async () => {
    // No worker ever applies what the route stores (the async invoke is lost, or its worker dies).
    stack.setAutoApply(false);
    const prefix = 'worker-died';
    stack.sandbox.faults.failAddresses([btcPayout(prefix, 3).recipients[2]!.address]);
    const id = await accept(prefix, 3);
    await stack.advance(10_000);
    const keys = await batchKeys(id);
    const stored = await verdicts(keys);
    expect(stored.length).toBeGreaterThan(0);
    // Every delivery was answered 200 and stored, none applied yet.
    expect(new Set(stored)).toEqual(new Set(['received']));
    for (const d of deliveriesOf(keys)) expect(d.attempts.map((a) => a.status)).toEqual([200]);

    // One worker claimed an event and died mid-apply: its claim runs out, then it is applied.
    const first = deliveriesOf(keys)[0]!;
    expect(
      await stack.repository.claimWebhookEvent(
        String(first.eventId),
        new Date(stack.sandbox.now()),
        60_000,
      ),
    ).toBeDefined();

    await stack.expectInvariants();
    const view_ = await view(id);
    expect(view_.state).toBe('COMPLETED_WITH_FAILURES');
    const after = await verdicts(await batchKeys(id));
    expect(after.filter((v) => v === 'received' || v === 'applying')).toEqual([]);
    expectForwardOnly(await trail(id));
  });

  it("a payment's final webhook has its batch looked up at once, before the mass payout's own event", async () => {
    // Every status change is held back at Calypso: only what this test hands over arrives.
    stack.sandbox.faults.webhooks.withholdNext({ eventType: 'PAYOUT_CHANGE_STATUS', count: 1000 });
    const id = await accept('payment-final-at-once', 2);
    const keys = await batchKeys(id);
    for (let i = 0; i < 20; i++) {
      const done = stack.sandbox.inspect
        .massPayouts()
        .filter((p) => keys.includes(p.idempotencyKey))
        .every((p) => p.state === 'COMPLETED');
      if (done) break;
      await stack.advance(5_000);
    }
    expect((await view(id)).state).not.toBe('COMPLETED');
    const paymentEvents = deliveriesOf(keys).filter(
      (d) => d.state === 'withheld' && /"externalId":"payment-final-at-once-/.test(d.body),
    );
    expect(paymentEvents.length).toBeGreaterThanOrEqual(2);
    const deliver = async (d: WebhookDeliverySnapshot) => {
      const res = await stack.request('POST', '/webhooks/calypso', {
        body: d.body,
        headers: { ...d.headers, 'content-type': 'application/json' },
      });
      expect(res.status).toBe(200);
      await stack.settle();
    };
    const looks = () =>
      stack.sandbox.inspect.requests().filter((r) => r.operation === 'getMassPayout').length;

    // One payment's final event: no reconciler tick, no event for the mass payout, yet final.
    await deliver(paymentEvents[0]!);
    expect((await view(id)).state).toBe('COMPLETED');
    expect((await withdrawals(id)).map((w) => w.state)).toEqual(['COMPLETED', 'COMPLETED']);
    // The other payment's event finds the batch final: nothing left to read or look up.
    const before = looks();
    await deliver(paymentEvents[1]!);
    expect(looks()).toBe(before);
    const late = await stack.repository.getWebhookEvent(String(paymentEvents[1]!.eventId));
    expect(late).toMatchObject({ verdict: 'stale', detail: 'batch already final' });
    expectForwardOnly(await trail(id));
    await stack.expectInvariants();
  });

  /** A payout of `count` whose status events Calypso holds back, once its payments are sent. */
  async function sentWithStatusWithheld(prefix: string, count: number, firstEventId: number) {
    stack.sandbox.faults.webhooks.withholdNext({ eventType: 'PAYOUT_CHANGE_STATUS', count: 1000 });
    const id = await accept(prefix, count);
    const [batch] = (await view(id)).batches;
    for (let i = 0; i < 20; i++) {
      const [mass] = stack.sandbox.inspect
        .massPayouts()
        .filter((p) => p.idempotencyKey === batch.idempotencyKey);
      if (mass?.withdrawals.length && mass.withdrawals.every((w) => w.state === 'IN_PROGRESS'))
        break;
      await stack.advance(1_000);
    }
    const looks = () =>
      stack.sandbox.inspect
        .requests()
        .filter((r) => r.operation === 'getMassPayout' && r.body.includes(batch.calypsoId)).length;
    /**
     * Signed as Calypso signs, claims the payment at `position` completed (the event numbered
     * `firstEventId` + n), which Calypso has not completed; answers the event's id.
     */
    const claimCompleted = async (n: number, position: number) => {
      const body = statusChangeBody({
        id: firstEventId + n,
        idempotencyKey: batch.idempotencyKey,
        payoutStatus: 'COMPLETED',
        externalId: `${prefix}-${position}`,
        hash: `0xclaimed${n}`,
      });
      const res = await stack.request('POST', '/webhooks/calypso', {
        body,
        headers: webhookHeaders(body, stack.webhookKeys!),
      });
      expect(res.status).toBe(200);
      await stack.settle();
      return String(firstEventId + n);
    };
    return { id, looks, claimCompleted };
  }

  it("payments' final webhooks look their batch up at most once per poll interval, and are never taken for the truth", async () => {
    const { id, looks, claimCompleted } = await sentWithStatusWithheld(
      'prompt-look-once',
      3,
      880_000,
    );
    const start = looks();
    await claimCompleted(1, 0);
    expect(looks()).toBe(start + 1);
    // Calypso says otherwise: the lookup, not the event, decides.
    expect((await withdrawals(id)).map((w) => w.state)).not.toContain('COMPLETED');
    await claimCompleted(2, 1);
    await claimCompleted(3, 2);
    expect(looks()).toBe(start + 1);

    // A poll interval later, the next payment's event looks again.
    await stack.advance(TICK_MS);
    await claimCompleted(4, 0);
    expect(looks()).toBe(start + 2);
    expectForwardOnly(await trail(id));
    await stack.expectInvariants();
  });

  it("once its batch's look is taken, a payment's final webhook costs three requests: stored, read with its batch, settled; a live claim is left to its worker", async () => {
    const { id, looks, claimCompleted } = await sentWithStatusWithheld(
      'settled-quietly',
      4,
      890_000,
    );
    // The first takes the batch's look; after it, the next one asks the reconciler to look.
    await claimCompleted(1, 0);
    await claimCompleted(2, 1);
    const [batch] = await stack.batchesOf(id);
    expect(batch!.nextLookAt! <= new Date(stack.sandbox.now()).toISOString()).toBe(true);
    const start = looks();

    const { repository, commands } = countingRepository(stack.tableName, stack.endpoint);
    stack.useRepository(repository);
    try {
      const eventId = await claimCompleted(3, 2);
      // Stored by the route; read with its batch in one request (the batch's pointer read once
      // per container) and settled: no claim, no other write.
      expect(commands.splice(0)).toEqual([
        'PutItemCommand',
        'GetItemCommand',
        'BatchGetItemCommand',
        'UpdateItemCommand',
      ]);
      expect(await stack.repository.getWebhookEvent(eventId)).toMatchObject({
        verdict: 'applied',
        detail: 'withdrawal COMPLETED awaits confirmation by lookup',
        payoutId: id,
        batchIndex: 0,
      });
      await claimCompleted(4, 3);
      expect(commands).toEqual(['PutItemCommand', 'BatchGetItemCommand', 'UpdateItemCommand']);
    } finally {
      stack.useRepository();
    }
    expect((await stack.batchesOf(id))[0]).toEqual(batch);
    expect(looks()).toBe(start);

    // Stored and claimed by a worker still within its lease: the apply leaves it to that worker.
    stack.setAutoApply(false);
    const held = await claimCompleted(5, 0);
    const claimed = await stack.repository.claimWebhookEvent(
      held,
      new Date(stack.sandbox.now()),
      60_000,
    );
    expect(claimed?.verdict).toBe('applying');
    expect(await applyWebhookEvent(trackDeps(stack.system()), held)).toBe('not-claimed');
    expect((await stack.repository.getWebhookEvent(held))?.verdict).toBe('applying');
    // Its worker died: once the lease ran out, the event is applied, on the batch its stored body
    // names even when handed over with another payout's batch key.
    const other = (await view(await accept('settled-quietly-other', 1))).batches[0];
    await stack.advance(61_000);
    expect(await applyWebhookEvent(trackDeps(stack.system()), held, other.idempotencyKey)).toBe(
      'applied',
    );
    expect(await stack.repository.getWebhookEvent(held)).toMatchObject({
      verdict: 'applied',
      payoutId: id,
      batchIndex: 0,
    });
    expectForwardOnly(await trail(id));
    await stack.expectInvariants();
  });

  it('apply-webhook as invoked: applies the event its payload names; a payload without a usable event id is refused before anything is read', async () => {
    stack.setAutoApply(false);
    const id = await accept('apply-handler', 2);
    await stack.advance(10_000);
    const [key] = await batchKeys(id);
    const [stored] = deliveriesOf([key!]).filter((d) => d.state === 'delivered');
    const eventId = String(stored!.eventId);
    expect((await stack.repository.getWebhookEvent(eventId))?.verdict).toBe('received');

    const handler = makeApplyHandler(() => stack.system());
    const context = { awsRequestId: 'apply-handler-test' } as Context;
    for (const payload of [{}, { eventId: '' }, { eventId, providerKey: 7 }, 'x'])
      await expect(handler(payload, context)).rejects.toThrow();
    expect((await stack.repository.getWebhookEvent(eventId))?.verdict).toBe('received');

    const answer = await handler({ eventId, providerKey: key }, context);
    expect(answer).toEqual({ eventId, outcome: expect.not.stringMatching(/not-claimed/) });
    const after = await stack.repository.getWebhookEvent(eventId);
    expect(after?.verdict).toBe(answer.outcome);
    expect(after).toMatchObject({ payoutId: id, batchIndex: 0 });
    // The same payload again (an async invoke's retry): the event is left as it is.
    expect(await handler({ eventId, providerKey: key }, context)).toEqual({
      eventId,
      outcome: 'not-claimed',
    });
    await stack.expectInvariants();
  });

  it('a webhook saying the mass payout ended has the batch looked up at once, without a reconciler tick', async () => {
    const id = await accept('final-at-once', 2);
    for (let i = 0; i < 30 && !TERMINAL.has((await view(id)).state); i++)
      await stack.advance(5_000);
    // No reconcile() was called: the lookup the final webhook asked for confirmed it.
    expect((await view(id)).state).toBe('COMPLETED');
    const entries = await trail(id);
    const completed = entries.filter((e) => e.entity === 'payout' && e.to === 'COMPLETED');
    expect(completed).toHaveLength(1);
    expectForwardOnly(entries);
    await stack.expectInvariants();
  });
});
