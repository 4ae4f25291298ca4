/**
 * DynamoDB throttling and conditional-check races, injected at the SDK under the running system
 * (API, submission, reconciler and webhook receiver all use the faulty client). A request either
 * succeeds eventually or fails cleanly (a 5xx with a correlation id and nothing internal); a payout
 * is never accepted with withdrawals missing; every payout still ends final, created once.
 */
import { TABLE } from '../../shared/store/table.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPayout } from '../../shared/payouts/create-payout.js';
import { createDeps } from '../../shared/system.js';
import {
  FaultyDynamo,
  skOf,
  throttled,
  throttling,
  transactionCanceled,
} from './support/dynamo-faults.js';
import { startFaultStack, TICK_MS, type FaultStack } from './support/fault-stack.js';
import { checkInvariants } from './support/invariants.js';
import { btcPayout } from './support/payouts.js';

const LEASE_MS = 120_000;
const WRITE_LEASE_MS = 60_000;

let stack: FaultStack;
let dynamo: FaultyDynamo;
beforeAll(async () => {
  stack = await startFaultStack({
    env: {
      // 25 recipients per mass payout; one batch submitted at a time, so calls come in a fixed order.
      CURRENCY_OVERRIDES: '{"BTC":{"massPayoutLimit":25}}',
      SUBMIT_CONCURRENCY: '1',
      SUBMISSION_LEASE_MS: String(LEASE_MS),
    },
  });
  dynamo = new FaultyDynamo(stack.endpoint);
  stack.useRepository(dynamo.repository(stack.tableName));
});
beforeEach(() => {
  // Webhooks only hurry the reconciler along; only the last scenario lets them through.
  stack.sandbox.faults.clear();
  stack.sandbox.faults.webhooks.withholdNext({ count: 1_000_000 });
});
afterEach(() => {
  const unreached = dynamo.pending();
  dynamo.clear();
  stack.setAutoSubmit(true);
  expect(unreached, 'every injected fault was reached').toBe(0);
});
afterAll(async () => {
  await stack?.close();
  dynamo?.close();
});

const isPayoutParts = (input: any) =>
  Object.values(input.RequestItems ?? {})
    .flat()
    .some((r: any) => r.PutRequest?.Item?.type?.S === 'withdrawal');
const isCommit = (input: any) =>
  (input.TransactItems ?? []).some((t: any) => t.Put?.Item?.type?.S === 'payout');
const isClaimOfBatch = (input: any) =>
  (input.TransactItems ?? []).some((t: any) => t.ConditionCheck);
const isPayoutRead = (input: any) => /BETWEEN/.test(input.KeyConditionExpression ?? '');
const isDueListing = (input: any) => input.IndexName === 'openBatches';
const isAdoption = (input: any) =>
  skOf(input).startsWith('BATCH#') && JSON.stringify(input).includes('"SUBMITTED"');

async function payoutCount() {
  const report = await checkInvariants({
    db: stack.db,
    tableName: stack.tableName,
    sandbox: stack.sandbox,
  });
  return report.payouts.length;
}

/** Our failure, as the caller sees it: a 5xx problem with a correlation id and nothing internal. */
function expectCleanServerError(res: { status: number; headers: Headers; body: any }) {
  expect(res.status).toBe(500);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.body.correlationId).toBeTruthy();
  expect(res.body.correlationId).toBe(res.headers.get('x-correlation-id'));
  expect(JSON.stringify(res.body)).not.toMatch(
    /Throughput|Throttl|Transaction|Dynamo|Unprocessed/i,
  );
}

describe('throttling while accepting a payout', () => {
  it('throttled BatchWriteItem half way through the withdrawals: a clean 500, nothing accepted; the retry finishes it', async () => {
    const before = await payoutCount();
    const body = btcPayout('throttled-parts', 30);
    const key = 'throttled-parts';
    dynamo.inject({ command: 'BatchWriteItem', when: isPayoutParts, skip: 1, effect: throttled() });
    expectCleanServerError(await stack.post(body, { key }));
    expect(await payoutCount()).toBe(before);

    const soon = await stack.post(body, { key });
    expect(soon.status).toBe(409);
    expect(Number(soon.headers.get('retry-after'))).toBeGreaterThan(0);
    await stack.advance(WRITE_LEASE_MS + 1_000);
    const retry = await stack.post(body, { key });
    expect(retry.status).toBe(202);
    expect(retry.body.batches).toHaveLength(2);
    await stack.expectInvariants();
  });

  it('unprocessed items are written by the repository’s retries; left unprocessed for good, the write fails cleanly', async () => {
    dynamo.inject({
      command: 'BatchWriteItem',
      when: isPayoutParts,
      times: 3,
      effect: { kind: 'unprocessed', processed: 7 },
    });
    const injected = dynamo.injected('BatchWriteItem');
    const accepted = await stack.post(btcPayout('unprocessed-some', 30));
    expect(accepted.status).toBe(202);
    expect(dynamo.injected('BatchWriteItem') - injected).toBe(3);

    const before = await payoutCount();
    const body = btcPayout('unprocessed-all', 10);
    const key = 'unprocessed-all';
    dynamo.inject({
      command: 'BatchWriteItem',
      when: isPayoutParts,
      times: 10,
      effect: { kind: 'unprocessed', processed: 0 },
    });
    expectCleanServerError(await stack.post(body, { key }));
    expect(await payoutCount()).toBe(before);
    await stack.advance(WRITE_LEASE_MS + 1_000);
    expect((await stack.post(body, { key })).status).toBe(202);
    await stack.expectInvariants();
  });

  it('a throttled commit transaction fails cleanly; a commit whose answer is a lost race is read as done', async () => {
    const body = btcPayout('throttled-commit', 3);
    dynamo.inject({
      command: 'TransactWriteItems',
      when: isCommit,
      effect: transactionCanceled(['ThrottlingError', 'None']),
    });
    expectCleanServerError(await stack.post(body, { key: 'throttled-commit' }));
    await stack.advance(WRITE_LEASE_MS + 1_000);
    expect((await stack.post(body, { key: 'throttled-commit' })).status).toBe(202);

    // The commit applied, and DynamoDB says the payout's condition failed (someone committed it).
    const raced = btcPayout('raced-commit', 3);
    dynamo.inject({
      command: 'TransactWriteItems',
      when: isCommit,
      effect: transactionCanceled(['ConditionalCheckFailed', 'None'], true),
    });
    const first = await stack.post(raced, { key: 'raced-commit' });
    expect(first.status).toBe(200);
    expect(first.body.recipientCount).toBe(3);
    const again = await stack.post(raced, { key: 'raced-commit' });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    await stack.expectInvariants();
  });

  it('two writers race to commit the same payout: the loser’s cancelled transaction means “already committed”', async () => {
    const body = btcPayout('two-writers', 5);
    const key = 'two-writers';
    const repository = dynamo.repository(stack.tableName);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const stalled = Object.create(repository) as typeof repository;
    stalled.commitPayout = async (payout) => {
      await gate;
      return repository.commitPayout(payout);
    };
    let writing = false;
    stalled.writePayoutParts = async (...args) => {
      const written = await repository.writePayoutParts(...args);
      writing = true;
      return written;
    };
    const first = createPayout(
      { ...createDeps(stack.system()), repository: stalled },
      { caller: { principal: 'local:local' }, idempotencyKey: key, body },
    );
    while (!writing) await new Promise((resolve) => setImmediate(resolve));

    // The first writer's lease runs out; a retry takes over and commits.
    await stack.advance(WRITE_LEASE_MS + 1_000);
    const second = await stack.post(body, { key });
    expect(second.status).toBe(202);
    release();
    const late = await first;
    // The first writer finds its payout committed by the retry: not created by it (a 200).
    expect('created' in late && late.created).toBe(false);
    expect('payout' in late && late.payout.id).toBe(second.body.id);
    await stack.expectInvariants();
  });

  it('a throttled read after the commit: a clean 500, yet the payout is accepted whole and the retry answers 200', async () => {
    stack.setAutoSubmit(false);
    const before = await payoutCount();
    const body = btcPayout('throttled-read-back', 30);
    dynamo.inject({ command: 'Query', when: isPayoutRead, effect: throttling() });
    expectCleanServerError(await stack.post(body, { key: 'throttled-read-back' }));
    // Accepted: the invariant check (run below) finds it whole, with every withdrawal.
    expect(await payoutCount()).toBe(before + 1);
    const retry = await stack.post(body, { key: 'throttled-read-back' });
    expect(retry.status).toBe(200);
    expect(retry.body.recipientCount).toBe(30);
    await stack.expectInvariants();
  });
});

describe('throttling during submission and tracking', () => {
  it('a throttled claim and a throttled record of Calypso’s answer: the reconciler finishes, one create per batch', async () => {
    const failures = stack.submissionFailures.length;
    dynamo.inject({ command: 'TransactWriteItems', when: isClaimOfBatch, effect: throttled() });
    const unclaimed = await stack.post(btcPayout('throttled-claim', 30));
    await stack.settle();
    dynamo.inject({ command: 'UpdateItem', when: isAdoption, effect: throttled() });
    const unrecorded = await stack.post(btcPayout('throttled-record', 30));
    await stack.settle();
    // The failed claim ends the submission; the failed record is caught as a failed attempt.
    expect(stack.submissionFailures.length - failures).toBe(1);

    const batches = async (id: string) =>
      (await stack.request('GET', `/payouts/${id}`)).body.batches as any[];
    expect((await batches(unclaimed.body.id)).map((b) => b.status)).toEqual(['PENDING', 'PENDING']);
    const [created] = await batches(unrecorded.body.id);
    // Calypso holds it; we have not recorded it: the next attempt must look it up, not create.
    expect(created.status).toBe('PENDING');
    expect(created.calypsoId).toBeNull();
    expect(created.lastError).toMatch(/ProvisionedThroughputExceeded/);
    expect(stack.sandbox.inspect.massPayoutCreates(created.idempotencyKey)).toBe(1);

    await stack.advance(LEASE_MS + 1_000);
    await stack.reconcile();
    for (const id of [unclaimed.body.id, unrecorded.body.id]) {
      for (const b of await batches(id)) {
        expect(b.status).toMatch(/SUBMITTED|FINAL/);
        expect(stack.sandbox.inspect.massPayoutCreates(b.idempotencyKey)).toBe(1);
        expect(stack.sandbox.inspect.massPayoutCreateAttempts(b.idempotencyKey)).toBe(1);
      }
    }
    await stack.expectInvariants();
  });

  it('a throttled due-batch query and throttled withdrawal updates: a tick skips or half-applies, the next ones converge', async () => {
    const prefix = 'throttled-tracking';
    stack.sandbox.faults.failAddresses([btcPayout(prefix, 4).recipients[3]!.address]);
    const res = await stack.post(btcPayout(prefix, 4));
    await stack.settle();
    await stack.advance(TICK_MS);

    // Every shard's listing throttled: each is reported, nothing is looked at, the tick returns.
    dynamo.inject({
      command: 'Query',
      when: isDueListing,
      times: TABLE.openBatchShards,
      effect: throttled(),
    });
    const skippingTick = await stack.reconcile();
    expect(skippingTick).toMatchObject({ due: 0, errors: TABLE.openBatchShards });

    // Two of the look's four withdrawal updates throttled in the batched request, and the first
    // again when sent on its own (the SDK's retries given up): the look fails, the others written.
    dynamo.inject({
      command: 'BatchExecuteStatement',
      effect: { kind: 'statement-error', code: 'ThrottlingError', statements: [1, 2] },
    });
    dynamo.inject({
      command: 'UpdateItem',
      when: (input) => skOf(input).startsWith('WD#'),
      effect: throttled(),
    });
    const halfTick = await stack.reconcile();
    expect(halfTick.errors).toBe(1);
    const half = (await stack.request('GET', `/payouts/${res.body.id}`)).body;
    expect(half.state).not.toMatch(/COMPLETED/);

    await stack.expectInvariants();
    const done = (await stack.request('GET', `/payouts/${res.body.id}`)).body;
    expect(done.state).toBe('COMPLETED_WITH_FAILURES');
    expect(done.withdrawalCounts).toEqual({ COMPLETED: 3, FAILED: 1 });
  });

  it('throttled webhook storage: answered 500 with a correlation id, redelivered by Calypso, applied once', async () => {
    stack.sandbox.faults.clear();
    dynamo.inject({
      command: 'PutItem',
      when: (input) => input.Item?.PK?.S?.startsWith('EVENT#'),
      times: 3,
      effect: throttled(),
    });
    const res = await stack.post(btcPayout('throttled-webhooks', 2));
    await stack.expectInvariants();
    const key = res.body.batches[0].idempotencyKey as string;
    const deliveries = stack.sandbox.inspect
      .webhookDeliveries()
      .filter((d) => d.body.includes(key));
    const refused = deliveries.flatMap((d) => d.attempts.filter((a) => a.status === 500));
    expect(refused).toHaveLength(3);
    for (const attempt of refused) {
      const problem = JSON.parse(attempt.responseBody!);
      expect(problem.status).toBe(500);
      expect(problem.correlationId).toBeTruthy();
    }
    for (const d of deliveries) {
      expect(d.state).toBe('delivered');
      expect(d.attempts.at(-1)!.status).toBe(200);
      expect(await stack.repository.getWebhookEvent(String(d.eventId))).toBeDefined();
    }
    const trail = (await stack.request('GET', `/payouts/${res.body.id}/events?limit=1000`)).body
      .items as any[];
    const completed = trail.filter((e) => e.entity === 'withdrawal' && e.to === 'COMPLETED');
    expect(completed).toHaveLength(2);
  });

  it('a webhook stored but not applied (throttled update of its batch): answered 200 all the same, applied by the reconciler', async () => {
    stack.sandbox.faults.clear();
    const body = btcPayout('stored-not-applied', 2);
    dynamo.inject({
      command: 'UpdateItem',
      when: (input) =>
        skOf(input).startsWith('BATCH#') && JSON.stringify(input).includes('validationErrors'),
      effect: throttled(),
    });
    const failuresBefore = stack.applyFailures.length;
    const res = await stack.post(body);
    await stack.settle();
    // Once it is sent, the balance drops (another payout, a withdrawal): enough for the first
    // payment and its fee only, so the second is short of funds at Calypso.
    stack.sandbox.setBalance('BTC', '0.000011');
    await stack.advance(10_000);
    const key = res.body.batches[0].idempotencyKey as string;
    const [delivery, ...others] = stack.sandbox.inspect
      .webhookDeliveries()
      .filter((d) => d.eventType === 'PAYOUT_VALIDATION_ERROR' && d.body.includes(key));
    expect(others).toHaveLength(0);
    // Stored and answered 200 at once: applying it failed after the answer, not the delivery.
    expect(delivery!.attempts.map((a) => a.status)).toEqual([200]);
    expect(stack.applyFailures.length).toBeGreaterThan(failuresBefore);
    const eventId = String(delivery!.eventId);
    expect((await stack.repository.getWebhookEvent(eventId))?.verdict).toBe('received');

    // The reconciler applies what no worker did: the batch shows the validation error.
    await stack.advance(TICK_MS);
    await stack.reconcile();
    const [batch] = (await stack.request('GET', `/payouts/${res.body.id}`)).body.batches;
    expect(batch.validationErrors.map((e: { status: string }) => e.status)).toContain(
      'NOT_ENOUGH_FUNDS',
    );
    expect((await stack.repository.getWebhookEvent(eventId))?.verdict).toBe('applied');

    stack.sandbox.topUp('BTC', '1000');
    await stack.expectInvariants();
  });
});
