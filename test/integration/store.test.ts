import {
  BatchExecuteStatementCommand,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DynamoDBClient,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { BatchRecord, PayoutRecord, WithdrawalRecord } from '../../shared/domain/payout.js';
import type { IdempotencyRecord } from '../../shared/store/idempotency-store.js';
import { PayoutRepository } from '../../shared/store/payout-repository.js';
import { TABLE } from '../../shared/store/table.js';
import { countingRepository, createTestTable } from '../support/dynamo.js';

let db: DynamoDBClient;
let tableName: string;
let repo: PayoutRepository;
const T0 = new Date('2030-01-01T00:00:00.000Z');

beforeAll(async () => {
  ({ db, tableName } = await createTestTable('store'));
  repo = new PayoutRepository(db, tableName);
});

let seq = 0;
function fixture(recipients: number, perBatch: number) {
  const id = `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`;
  const at = T0.toISOString();
  const batchCount = Math.ceil(recipients / perBatch);
  const payout: PayoutRecord = {
    id,
    owner: 'caller-a',
    createdBy: 'caller-a',
    idempotencyKey: `key-${id}`,
    requestHash: 'hash-1',
    currency: 'BTC',
    name: 'test',
    recipientCount: recipients,
    total: '0',
    batchCount,
    state: 'ACCEPTED',
    createdAt: at,
    updatedAt: at,
  };
  const batches: BatchRecord[] = Array.from({ length: batchCount }, (_, index) => ({
    payoutId: id,
    index,
    idempotencyKey: `00000000-0000-5000-8000-${String(seq * 100 + index).padStart(12, '0')}`,
    currency: 'BTC',
    recipientCount: Math.min(perBatch, recipients - index * perBatch),
    total: '1',
    status: 'PENDING',
    attempts: 0,
    nextLookAt: at,
    progressAt: at,
    withdrawalCounts: { PENDING: Math.min(perBatch, recipients - index * perBatch) },
    createdAt: at,
    updatedAt: at,
  }));
  const withdrawals: WithdrawalRecord[] = Array.from({ length: recipients }, (_, i) => ({
    payoutId: id,
    batchIndex: Math.floor(i / perBatch),
    position: i % perBatch,
    requestIndex: i,
    address: `addr-${i}`,
    amount: `0.${String(i + 1).padStart(8, '0')}`,
    currency: 'BTC',
    ...(i % 2 === 0 ? { externalId: `ext-${seq}-${i}` } : {}),
    state: i % 3 === 0 ? 'COMPLETED' : 'PENDING',
    updatedAt: at,
  }));
  return { payout, batches, withdrawals };
}

function claim(
  payout: PayoutRecord,
  overrides: Partial<IdempotencyRecord> = {},
): IdempotencyRecord {
  return {
    owner: payout.owner,
    key: payout.idempotencyKey,
    requestHash: payout.requestHash,
    payoutId: payout.id,
    state: 'PENDING',
    leaseUntil: new Date(T0.getTime() + 60_000).toISOString(),
    createdAt: T0.toISOString(),
    ...overrides,
  };
}

async function openIndexEntries(payoutId: string): Promise<number> {
  let count = 0;
  for (let shard = 0; shard < TABLE.openBatchShards; shard++) {
    const page = await db.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: TABLE.indexes.openBatches.name,
        KeyConditionExpression: 'GSI2PK = :pk',
        ExpressionAttributeValues: { ':pk': { S: `OPEN#${shard}` } },
      }),
    );
    count += (page.Items ?? []).filter((item) => item.payoutId?.S === payoutId).length;
  }
  return count;
}

describe('idempotency claims', () => {
  it('lets exactly one writer claim a key and shows the others what holds it', async () => {
    const { payout } = fixture(1, 1);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => repo.claimIdempotency(claim(payout))),
    );
    expect(results.filter((r) => r.outcome === 'claimed')).toHaveLength(1);
    for (const r of results.filter((r) => r.outcome === 'exists')) {
      expect(r.outcome === 'exists' && r.record.payoutId).toBe(payout.id);
    }
  });

  it('answers a held key with its record in the same call (no read after the write)', async () => {
    const { payout } = fixture(1, 1);
    const first = claim(payout);
    expect((await repo.claimIdempotency(first)).outcome).toBe('claimed');
    const { repository: counted, commands } = countingRepository(tableName);
    const again = await counted.claimIdempotency(claim(payout, { requestHash: 'other' }));
    expect(again).toEqual({ outcome: 'exists', record: first });
    expect(commands).toEqual(['PutItemCommand']);
  });

  it('scopes keys by caller', async () => {
    const { payout } = fixture(1, 1);
    expect((await repo.claimIdempotency(claim(payout))).outcome).toBe('claimed');
    expect((await repo.claimIdempotency(claim(payout, { owner: 'caller-b' }))).outcome).toBe(
      'claimed',
    );
  });

  it('allows one take-over of an expired lease', async () => {
    const { payout } = fixture(1, 1);
    const first = claim(payout);
    await repo.claimIdempotency(first);
    const later = new Date(T0.getTime() + 120_000).toISOString();
    const takeovers = await Promise.all([
      repo.takeOverIdempotency(payout.owner, payout.idempotencyKey, first.leaseUntil, later),
      repo.takeOverIdempotency(payout.owner, payout.idempotencyKey, first.leaseUntil, later + 'x'),
    ]);
    expect(takeovers.filter(Boolean)).toHaveLength(1);
  });
});

describe('writing and committing a payout', () => {
  it('stores parts, commits once, and marks the key committed', async () => {
    const { payout, batches, withdrawals } = fixture(60, 25);
    await repo.claimIdempotency(claim(payout));
    const calls = await repo.writePayoutParts(batches, withdrawals);
    // 60 withdrawals + 3 batches + 3 provider keys = 66 items = 3 calls of 25.
    expect(calls).toBe(3);
    expect(await repo.getPayout(payout.id)).toBeUndefined();
    expect(await repo.commitPayout(payout)).toBe(true);
    expect(await repo.commitPayout(payout)).toBe(false);
    expect((await repo.getIdempotency(payout.owner, payout.idempotencyKey))?.state).toBe(
      'COMMITTED',
    );
    const stored = await repo.getPayoutWithBatches(payout.id);
    expect(stored?.payout).toEqual(payout);
    expect(stored?.batches.map((b) => b.index)).toEqual([0, 1, 2]);
    expect(await repo.resolveProviderKey(batches[2]!.idempotencyKey)).toEqual({
      payoutId: payout.id,
      batchIndex: 2,
    });
    const batch1 = await repo.listBatchWithdrawals(payout.id, 1);
    expect(batch1.map((w) => w.requestIndex)).toEqual(Array.from({ length: 25 }, (_, i) => 25 + i));
    expect(batch1[0]?.amount).toBe('0.00000026');
  });

  it('reads a provider key once per store: a pointer never changes', async () => {
    const { payout, batches, withdrawals } = fixture(4, 2);
    const { repository: store, commands } = countingRepository(tableName);
    const key = batches[1]!.idempotencyKey;
    // Not written yet: not found, and read again next time rather than remembered as missing.
    expect(await store.resolveProviderKey(key)).toBeUndefined();
    await repo.writePayoutParts(batches, withdrawals);
    for (let i = 0; i < 3; i++) {
      expect(await store.resolveProviderKey(key)).toEqual({ payoutId: payout.id, batchIndex: 1 });
    }
    expect(commands).toEqual(['GetItemCommand', 'GetItemCommand']);
    // Another store (another container) reads it for itself.
    expect(await repo.resolveProviderKey(key)).toEqual({ payoutId: payout.id, batchIndex: 1 });
  });

  it('refuses to commit when the key holds another request', async () => {
    const { payout } = fixture(1, 1);
    await repo.claimIdempotency(claim(payout, { requestHash: 'other' }));
    await expect(repo.commitPayout(payout)).rejects.toThrow();
    expect(await repo.getPayout(payout.id)).toBeUndefined();
  });

  it('retries items DynamoDB leaves unprocessed', async () => {
    const { batches, withdrawals } = fixture(30, 30);
    const real = db;
    const flaky = new DynamoDBClient({ endpoint: inject('dynamoEndpoint') });
    const mock = mockClient(flaky);
    let calls = 0;
    mock.on(BatchWriteItemCommand).callsFake(async (input: BatchWriteItemCommand['input']) => {
      calls++;
      const requests = input.RequestItems![tableName]!;
      if (calls <= 2) {
        // Process the first five, hand back the rest as DynamoDB does under throttling.
        await real.send(
          new BatchWriteItemCommand({ RequestItems: { [tableName]: requests.slice(0, 5) } }),
        );
        return { UnprocessedItems: { [tableName]: requests.slice(5) } };
      }
      return real.send(new BatchWriteItemCommand(input));
    });
    const flakyRepo = new PayoutRepository(flaky, tableName, {
      writeConcurrency: 1,
      sleep: () => Promise.resolve(),
    });
    await flakyRepo.writePayoutParts(batches, withdrawals);
    expect(calls).toBeGreaterThan(2);
    expect(await repo.listBatchWithdrawals(batches[0]!.payoutId, 0)).toHaveLength(30);
    mock.restore();
  });
});

describe('reading', () => {
  it('pages a payout’s withdrawals with an opaque cursor and filters by state', async () => {
    const { payout, batches, withdrawals } = fixture(23, 10);
    await repo.claimIdempotency(claim(payout));
    await repo.writePayoutParts(batches, withdrawals);
    await repo.commitPayout(payout);
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await repo.listWithdrawals(payout.id, {
        limit: 7,
        ...(cursor ? { cursor } : {}),
      });
      expect(page.items.length).toBeLessThanOrEqual(7);
      seen.push(...page.items.map((w) => w.requestIndex));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 23 }, (_, i) => i));

    const completed = await repo.listWithdrawals(payout.id, { limit: 100, state: 'COMPLETED' });
    expect(completed.items.map((w) => w.requestIndex)).toEqual([0, 3, 6, 9, 12, 15, 18, 21]);
  });

  it('refuses a cursor from another listing', async () => {
    const a = fixture(5, 5);
    const b = fixture(5, 5);
    for (const f of [a, b]) {
      await repo.writePayoutParts(f.batches, f.withdrawals);
    }
    const page = await repo.listWithdrawals(a.payout.id, { limit: 2 });
    await expect(
      repo.listWithdrawals(b.payout.id, { limit: 2, cursor: page.cursor! }),
    ).rejects.toThrow(/cursor/);
    await expect(
      repo.listWithdrawals(a.payout.id, { limit: 2, cursor: 'not-a-cursor' }),
    ).rejects.toThrow(/cursor/);
  });

  it('finds withdrawals by externalId', async () => {
    const { payout, batches, withdrawals } = fixture(4, 4);
    await repo.writePayoutParts(batches, withdrawals);
    const found = await repo.findWithdrawalsByExternalId(`ext-${seq}-2`, { limit: 10 });
    expect(found.items).toHaveLength(1);
    expect(found.items[0]).toMatchObject({ payoutId: payout.id, requestIndex: 2 });
  });
});

describe('submission claims', () => {
  it('never claims a batch of an uncommitted payout', async () => {
    const { payout, batches, withdrawals } = fixture(2, 2);
    await repo.writePayoutParts(batches, withdrawals);
    expect(await repo.beginSubmission(payout.id, 0, T0, 60_000)).toBeUndefined();
  });

  it('claims once, refuses a second claimant, and lets one take over after the lease', async () => {
    const { payout, batches, withdrawals } = fixture(2, 2);
    await repo.claimIdempotency(claim(payout));
    await repo.writePayoutParts(batches, withdrawals);
    await repo.commitPayout(payout);
    const claims = await Promise.all(
      Array.from({ length: 5 }, () => repo.beginSubmission(payout.id, 0, T0, 60_000)),
    );
    const won = claims.filter((c) => c !== undefined);
    expect(won).toHaveLength(1);
    expect(won[0]).toMatchObject({ status: 'SUBMITTING', attempts: 1 });
    expect(
      await repo.beginSubmission(payout.id, 0, new Date(T0.getTime() + 59_000), 60_000),
    ).toBeUndefined();
    const takeover = await repo.beginSubmission(
      payout.id,
      0,
      new Date(T0.getTime() + 61_000),
      60_000,
    );
    expect(takeover).toMatchObject({ status: 'SUBMITTING', attempts: 2 });
  });

  it('keeps the open-batch index in step: final and rejected batches leave it', async () => {
    const { payout, batches, withdrawals } = fixture(3, 1);
    await repo.writePayoutParts(batches, withdrawals);
    expect(await openIndexEntries(payout.id)).toBe(3);
    const at = T0.toISOString();
    expect(
      await repo.updateBatch(payout.id, 0, { set: { status: 'REJECTED', updatedAt: at } }),
    ).toBe(true);
    expect(await repo.updateBatch(payout.id, 1, { set: { status: 'FINAL', updatedAt: at } })).toBe(
      true,
    );
    expect(await openIndexEntries(payout.id)).toBe(1);
    expect((await repo.getBatch(payout.id, 0))?.nextLookAt).toBeUndefined();
    // A conditional update whose condition does not hold changes nothing.
    expect(
      await repo.updateBatch(
        payout.id,
        2,
        { set: { status: 'SUBMITTED', updatedAt: at } },
        { status: ['SUBMITTING'] },
      ),
    ).toBe(false);
    expect((await repo.getBatch(payout.id, 2))?.status).toBe('PENDING');
  });
});

describe('updating many withdrawals', () => {
  it('writes each only over the state it was read in, 25 to a request, and says which applied', async () => {
    const { payout, batches, withdrawals } = fixture(60, 60);
    await repo.writePayoutParts(batches, withdrawals);
    const at = new Date(T0.getTime() + 1000).toISOString();
    // Two moved on since they were read; one does not exist.
    const moved = new Set([7, 41]);
    const updates = [
      ...withdrawals.map((w, i) => ({
        withdrawal: w,
        set: { state: 'COMPLETED', transactionHash: `0xhash${i}`, updatedAt: at },
        expectedState: moved.has(i) ? 'IN_PROGRESS' : w.state,
      })),
      {
        withdrawal: { payoutId: payout.id, batchIndex: 0, position: 999 },
        set: { state: 'COMPLETED', updatedAt: at },
        expectedState: 'PENDING',
      },
    ];
    const { repository: counted, commands } = countingRepository(tableName);
    const applied = await counted.updateWithdrawals(updates);
    expect(applied).toEqual(updates.map((_, i) => i < 60 && !moved.has(i)));
    expect(commands).toEqual(Array(3).fill('BatchExecuteStatementCommand'));

    const stored = await repo.listBatchWithdrawals(payout.id, 0);
    expect(stored).toHaveLength(60);
    for (const w of stored) {
      const original = withdrawals[w.position]!;
      if (moved.has(w.position)) expect(w).toEqual(original);
      else
        expect(w).toEqual({
          ...original,
          state: 'COMPLETED',
          transactionHash: `0xhash${w.position}`,
          updatedAt: at,
        });
    }
  });

  it('sends a statement DynamoDB refused for another reason than its condition again on its own', async () => {
    const { payout, batches, withdrawals } = fixture(5, 5);
    await repo.writePayoutParts(batches, withdrawals);
    const flaky = new DynamoDBClient({ endpoint: inject('dynamoEndpoint') });
    const mock = mockClient(flaky);
    const sent: string[] = [];
    // Statements 1 and 3 throttled (not run), 4 refused on its condition; the rest run.
    const throttledStatements = new Set([1, 3]);
    mock.on(BatchExecuteStatementCommand).callsFake(async (input) => {
      sent.push('BatchExecuteStatement');
      const run = input.Statements!.filter((_: unknown, n: number) => !throttledStatements.has(n));
      const real = await db.send(new BatchExecuteStatementCommand({ Statements: run }));
      let next = 0;
      return {
        Responses: input.Statements!.map((_: unknown, n: number) =>
          throttledStatements.has(n)
            ? { Error: { Code: 'ThrottlingError', Message: 'throttled' } }
            : real.Responses![next++],
        ),
      };
    });
    mock.on(UpdateItemCommand).callsFake(async (input) => {
      sent.push('UpdateItem');
      return db.send(new UpdateItemCommand(input));
    });
    const at = new Date(T0.getTime() + 1000).toISOString();
    const applied = await new PayoutRepository(flaky, tableName).updateWithdrawals(
      withdrawals.map((w, i) => ({
        withdrawal: w,
        set: { state: 'FAILED', updatedAt: at },
        expectedState: i === 4 ? 'COMPLETED' : w.state,
      })),
    );
    mock.restore();
    expect(applied).toEqual([true, true, true, true, false]);
    expect(sent).toEqual(['BatchExecuteStatement', 'UpdateItem', 'UpdateItem']);
    const stored = await repo.listBatchWithdrawals(payout.id, 0);
    expect(stored.map((w) => w.state)).toEqual(['FAILED', 'FAILED', 'FAILED', 'FAILED', 'PENDING']);
  });
});

describe('reading items together', () => {
  it('reads keys DynamoDB leaves unprocessed again, answering in the order asked', async () => {
    const { payout, batches, withdrawals } = fixture(2, 2);
    await repo.writePayoutParts(batches, withdrawals);
    await repo.putWebhookEvent(
      { eventId: 'together-1', receivedAt: T0.toISOString(), rawBody: '{}', verdict: 'received' },
      3600,
    );
    const flaky = new DynamoDBClient({ endpoint: inject('dynamoEndpoint') });
    const mock = mockClient(flaky);
    let calls = 0;
    mock.on(BatchGetItemCommand).callsFake(async (input) => {
      calls++;
      const { Keys, ConsistentRead } = input.RequestItems[tableName];
      expect(ConsistentRead).toBe(true);
      if (calls > 1) return db.send(new BatchGetItemCommand(input));
      // The first answer leaves the event's key unprocessed.
      const real = await db.send(
        new BatchGetItemCommand({
          RequestItems: { [tableName]: { Keys: Keys.slice(1), ConsistentRead } },
        }),
      );
      return {
        Responses: real.Responses,
        UnprocessedKeys: { [tableName]: { Keys: Keys.slice(0, 1) } },
      };
    });
    const read = await new PayoutRepository(flaky, tableName, {
      sleep: () => Promise.resolve(),
    }).getWebhookEventWithBatch('together-1', { payoutId: payout.id, batchIndex: 0 });
    mock.restore();
    expect(calls).toBe(2);
    expect(read.event?.eventId).toBe('together-1');
    expect(read.batch).toEqual(batches[0]);
    // Neither there: nothing.
    expect(
      await repo.getWebhookEventWithBatch('together-none', { payoutId: payout.id, batchIndex: 9 }),
    ).toEqual({});
  });
});
