/**
 * The DynamoDB repository: the only code that knows the table's keys and indexes.
 */
import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type DynamoDBClient,
  type QueryCommandInput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { randomBytes } from 'node:crypto';
import {
  payoutCreated,
  type AuditEntry,
  type BatchRecord,
  type PayoutRecord,
  type PayoutState,
  type RetryClaim,
  type WebhookEventRecord,
  type WithdrawalRecord,
} from '../domain/payout.js';
import { forEachLimit } from '../concurrency.js';
import { SYSTEM_ACTORS } from '../domain/identity.js';
import { Decimal } from '../domain/money.js';
import { fromItem, toItem, type Item } from './attributes.js';
import { ExpressionBuilder, type UpdateSpec } from './expressions.js';
import { keys } from './keys.js';
import { TABLE } from './table.js';

export interface IdempotencyRecord {
  /** The payout owner the key is scoped by (a team or a principal, never a session). */
  owner: string;
  key: string;
  requestHash: string;
  payoutId: string;
  state: 'PENDING' | 'COMMITTED';
  /** Until then the writer that claimed the key owns it; afterwards a retry may finish its work. */
  leaseUntil: string;
  createdAt: string;
  /**
   * The single-payout threshold the payout was planned with: a retry that finishes the first
   * writer's work plans the same batches (the same keys for the same recipients) even if the
   * setting changed in between.
   */
  singlePayoutMax?: number;
}

/** Which payout and batch a Calypso reference points at. */
export interface BatchPointer {
  payoutId: string;
  batchIndex: number;
}

export type ClaimResult = { outcome: 'claimed' } | { outcome: 'exists'; record: IdempotencyRecord };

export interface Page<T> {
  items: T[];
  /** Opaque; absent on the last page. */
  cursor?: string;
}

/** The rolling 24-hour total of one owner in one currency (policy dailyLimit). */
interface LimitItem {
  version: number;
  entries: { payoutId: string; amount: string; at: string }[];
}

/** The emergency pause of all submission. */
export interface PauseRecord {
  paused: boolean;
  by: string;
  session?: string;
  reason?: string;
  at: string;
  /** Every pause and resume, newest last. */
  history?: Omit<PauseRecord, 'history'>[];
}

const APPROVAL_INDEX = TABLE.indexes.pendingApproval;

/**
 * The fixed tail of a payout's first audit entry's sort key: fixed, so a second writer of the same
 * payout cannot add a second one; all zeros, so it sorts before any entry of the same instant
 * (their tails are random hex of the same length).
 */
const CREATED_AUDIT_SUFFIX = '000000000000';

export class InvalidCursorError extends Error {
  constructor() {
    super('cursor is not valid for this listing');
    this.name = 'InvalidCursorError';
  }
}

export interface RepositoryOptions {
  /** Concurrent BatchWriteItem calls when writing withdrawals. */
  writeConcurrency?: number;
  sleep?: (ms: number) => Promise<void>;
}

const INTERNAL_ATTRIBUTES = [
  'PK',
  'SK',
  'type',
  'GSI1PK',
  'GSI1SK',
  'GSI2PK',
  'GSI2SK',
  'GSI3PK',
  'GSI3SK',
  'GSI4PK',
  'GSI4SK',
  'GSI5PK',
  'GSI5SK',
];
const OPEN_INDEX_ATTRIBUTES = [
  TABLE.indexes.openBatches.partitionKey,
  TABLE.indexes.openBatches.sortKey,
];

function strip<T>(item: Item): T {
  const record = fromItem(item);
  for (const attribute of INTERNAL_ATTRIBUTES) delete record[attribute];
  return record as T;
}

function isConditionFailure(err: unknown): boolean {
  if (err instanceof ConditionalCheckFailedException) return true;
  if (err instanceof TransactionCanceledException) {
    return (err.CancellationReasons ?? []).some((r) => r.Code === 'ConditionalCheckFailed');
  }
  return false;
}

function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

/** What a listing's cursor must look like: exactly these key attributes, with these values. */
interface CursorShape {
  /** Each attribute of the start key and the prefix (or exact value) its string must have. */
  attributes: Record<string, { prefix?: string; equals?: string }>;
}

function decodeCursor(cursor: string, shape: CursorShape): QueryCommandInput['ExclusiveStartKey'] {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  if (!key || typeof key !== 'object' || Array.isArray(key)) throw new InvalidCursorError();
  const entries = Object.entries(key as Record<string, unknown>);
  const expected = Object.keys(shape.attributes);
  if (entries.length !== expected.length) throw new InvalidCursorError();
  for (const [name, attribute] of entries) {
    const rule = Object.hasOwn(shape.attributes, name) ? shape.attributes[name] : undefined;
    if (!rule || typeof attribute !== 'object' || attribute === null)
      throw new InvalidCursorError();
    const value = (attribute as { S?: unknown }).S;
    if (typeof value !== 'string' || Object.keys(attribute).length !== 1)
      throw new InvalidCursorError();
    if (rule.equals !== undefined && value !== rule.equals) throw new InvalidCursorError();
    if (rule.prefix !== undefined && !value.startsWith(rule.prefix)) throw new InvalidCursorError();
  }
  return key as QueryCommandInput['ExclusiveStartKey'];
}

function isStartKeyRejection(err: unknown): boolean {
  return (
    err instanceof Error &&
    err.name === 'ValidationException' &&
    /start ?key|ExclusiveStartKey/i.test(err.message)
  );
}

export class PayoutRepository {
  private readonly writeConcurrency: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly db: DynamoDBClient,
    readonly tableName: string,
    options: RepositoryOptions = {},
  ) {
    this.writeConcurrency = options.writeConcurrency ?? 4;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Sends a conditional write: true if it applied, false if its condition did not hold. */
  private async conditionally(
    command: PutItemCommand | UpdateItemCommand | TransactWriteItemsCommand,
  ): Promise<boolean> {
    try {
      // send() is overloaded per command type; any of these resolves the same way here.
      await this.db.send(command as UpdateItemCommand);
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  // ---- idempotency ---------------------------------------------------------------------

  /** Claims a caller's idempotency key, or returns what already holds it. */
  async claimIdempotency(record: IdempotencyRecord): Promise<ClaimResult> {
    try {
      await this.db.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: toItem({
            ...keys.idempotency(record.owner, record.key),
            type: 'idempotency',
            ...record,
          }),
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
      return { outcome: 'claimed' };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    const existing = await this.getIdempotency(record.owner, record.key);
    // Deleted between the two calls only if someone removed it by hand: treat as held.
    if (!existing) throw new Error('idempotency record vanished while being read');
    return { outcome: 'exists', record: existing };
  }

  async getIdempotency(owner: string, key: string): Promise<IdempotencyRecord | undefined> {
    const got = await this.db.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: toItem(keys.idempotency(owner, key)),
        ConsistentRead: true,
      }),
    );
    return got.Item ? strip<IdempotencyRecord>(got.Item) : undefined;
  }

  /** Takes over a pending key whose writer's lease ran out; false if someone else did first. */
  async takeOverIdempotency(
    owner: string,
    key: string,
    expectedLeaseUntil: string,
    leaseUntil: string,
  ) {
    const expr = new ExpressionBuilder();
    return this.conditionally(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: toItem(keys.idempotency(owner, key)),
        UpdateExpression: expr.update({ set: { leaseUntil } }),
        ConditionExpression: `${expr.name('state')} = ${expr.value('PENDING')} AND ${expr.name('leaseUntil')} = ${expr.value(expectedLeaseUntil)}`,
        ...expr.attributes(),
      }),
    );
  }

  // ---- writing a new payout ------------------------------------------------------------

  private batchItem(batch: BatchRecord): Item {
    const open =
      batch.status !== 'REJECTED' &&
      batch.status !== 'FINAL' &&
      batch.status !== 'CANCELED' &&
      batch.status !== 'UNFUNDED' &&
      batch.nextLookAt
        ? keys.openBatch(batch.payoutId, batch.index, batch.nextLookAt)
        : {};
    return toItem({ ...keys.batch(batch.payoutId, batch.index), type: 'batch', ...open, ...batch });
  }

  private withdrawalItem(withdrawal: WithdrawalRecord): Item {
    const byExternalId = withdrawal.externalId
      ? {
          GSI1PK: keys.externalId(withdrawal.externalId),
          GSI1SK: `${keys.payoutPartition(withdrawal.payoutId)}#${keys.withdrawal(withdrawal.payoutId, withdrawal.batchIndex, withdrawal.position).SK}`,
        }
      : {};
    return toItem({
      ...keys.withdrawal(withdrawal.payoutId, withdrawal.batchIndex, withdrawal.position),
      type: 'withdrawal',
      ...byExternalId,
      ...withdrawal,
    });
  }

  /**
   * Writes a payout's batches and withdrawals before it is committed. Idempotent: the same
   * payout written twice yields the same items. Until commitPayout succeeds nothing submits them.
   */
  async writePayoutParts(batches: BatchRecord[], withdrawals: WithdrawalRecord[]): Promise<number> {
    const requests: WriteRequest[] = [
      ...batches.map((b) => ({ PutRequest: { Item: this.batchItem(b) } })),
      ...batches.map((b) => ({
        PutRequest: {
          Item: toItem({
            ...keys.providerKey(b.idempotencyKey),
            type: 'provider-key',
            payoutId: b.payoutId,
            batchIndex: b.index,
          }),
        },
      })),
      ...withdrawals.map((w) => ({ PutRequest: { Item: this.withdrawalItem(w) } })),
    ];
    return this.batchWrite(requests);
  }

  /** BatchWriteItem in chunks of 25 with bounded concurrency; unprocessed items retried. */
  private async batchWrite(requests: WriteRequest[]): Promise<number> {
    const chunks: WriteRequest[][] = [];
    for (let i = 0; i < requests.length; i += 25) chunks.push(requests.slice(i, i + 25));
    let calls = 0;
    await forEachLimit(chunks, this.writeConcurrency, async (chunk) => {
      let pending = chunk;
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= 10)
          throw new Error(`BatchWriteItem left ${pending.length} items unprocessed`);
        if (attempt > 0)
          await this.sleep(Math.min(2000, 50 * 2 ** attempt) * (0.5 + Math.random() / 2));
        calls++;
        const result = await this.db.send(
          new BatchWriteItemCommand({ RequestItems: { [this.tableName]: pending } }),
        );
        pending = result.UnprocessedItems?.[this.tableName] ?? [];
      }
    });
    return calls;
  }

  /**
   * Makes the payout visible and its batches submittable, atomically with marking the caller's
   * idempotency key committed, and with its first audit entry (who created it). Returns false when
   * the payout was already committed.
   */
  async commitPayout(payout: PayoutRecord): Promise<boolean> {
    const idem = new ExpressionBuilder();
    try {
      await this.db.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: toItem({
                  ...keys.payout(payout.id),
                  type: 'payout',
                  ...keys.payoutListing(payout.owner, payout.createdAt, payout.id),
                  ...(payout.hold === 'approval'
                    ? keys.pendingApprovalEntry(payout.createdAt, payout.id)
                    : {}),
                  ...payout,
                }),
                ConditionExpression: 'attribute_not_exists(PK)',
              },
            },
            {
              Update: {
                TableName: this.tableName,
                Key: toItem(keys.idempotency(payout.owner, payout.idempotencyKey)),
                UpdateExpression: idem.update({ set: { state: 'COMMITTED' } }),
                ConditionExpression: `${idem.name('requestHash')} = ${idem.value(payout.requestHash)} AND ${idem.name('payoutId')} = ${idem.value(payout.id)}`,
                ...idem.attributes(),
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: this.auditItem(payoutCreated(payout), CREATED_AUDIT_SUFFIX),
              },
            },
          ],
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      if (await this.getPayout(payout.id)) return false;
      throw err;
    }
  }

  // ---- reading --------------------------------------------------------------------------

  async getPayout(id: string): Promise<PayoutRecord | undefined> {
    const got = await this.db.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: toItem(keys.payout(id)),
        ConsistentRead: true,
      }),
    );
    return got.Item ? strip<PayoutRecord>(got.Item) : undefined;
  }

  /** The payout and all its batches in one query (SK from BATCH# up to PAYOUT). */
  async getPayoutWithBatches(
    id: string,
  ): Promise<{ payout: PayoutRecord; batches: BatchRecord[] } | undefined> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': { S: keys.payoutPartition(id) },
        ':from': { S: keys.batchPrefix },
        ':to': { S: keys.payout(id).SK },
      },
      ConsistentRead: true,
    });
    let payout: PayoutRecord | undefined;
    const batches: BatchRecord[] = [];
    for (const item of items) {
      if (item.type?.S === 'payout') payout = strip<PayoutRecord>(item);
      else if (item.type?.S === 'batch') batches.push(strip<BatchRecord>(item));
    }
    return payout ? { payout, batches } : undefined;
  }

  async getBatch(payoutId: string, index: number): Promise<BatchRecord | undefined> {
    const got = await this.db.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: toItem(keys.batch(payoutId, index)),
        ConsistentRead: true,
      }),
    );
    return got.Item ? strip<BatchRecord>(got.Item) : undefined;
  }

  async listBatchWithdrawals(payoutId: string, batchIndex: number): Promise<WithdrawalRecord[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: {
        ':pk': { S: keys.payoutPartition(payoutId) },
        ':prefix': { S: keys.withdrawalBatchPrefix(batchIndex) },
      },
      ConsistentRead: true,
    });
    return items.map((item) => strip<WithdrawalRecord>(item));
  }

  /** A page of a payout's withdrawals in request order, optionally of one state. */
  async listWithdrawals(
    payoutId: string,
    options: { state?: string; limit: number; cursor?: string },
  ): Promise<Page<WithdrawalRecord>> {
    const partition = keys.payoutPartition(payoutId);
    const expr = new ExpressionBuilder();
    const base: QueryCommandInput = {
      TableName: this.tableName,
      KeyConditionExpression: `PK = ${expr.value(partition)} AND begins_with(SK, ${expr.value(keys.withdrawalPrefix)})`,
      ...(options.state
        ? { FilterExpression: `${expr.name('state')} = ${expr.value(options.state)}` }
        : {}),
      ...expr.attributes(),
    };
    const start = options.cursor
      ? decodeCursor(options.cursor, {
          attributes: { PK: { equals: partition }, SK: { prefix: keys.withdrawalPrefix } },
        })
      : undefined;
    return this.queryPage(base, options.limit, start, (item) => strip<WithdrawalRecord>(item));
  }

  /** The withdrawal of one batch with this externalId (one small index query). */
  async findBatchWithdrawalByExternalId(
    payoutId: string,
    batchIndex: number,
    externalId: string,
  ): Promise<WithdrawalRecord | undefined> {
    const index = TABLE.indexes.byExternalId;
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: index.name,
        KeyConditionExpression: `${index.partitionKey} = :pk AND begins_with(${index.sortKey}, :prefix)`,
        ExpressionAttributeValues: {
          ':pk': { S: keys.externalId(externalId) },
          ':prefix': {
            S: `${keys.payoutPartition(payoutId)}#${keys.withdrawalBatchPrefix(batchIndex)}`,
          },
        },
        Limit: 1,
      }),
    );
    const item = result.Items?.[0];
    return item ? strip<WithdrawalRecord>(item) : undefined;
  }

  /** Withdrawals with this externalId, across payouts; only the owner's when one is given. */
  async findWithdrawalsByExternalId(
    externalId: string,
    options: { limit: number; cursor?: string; owner?: string },
  ): Promise<Page<WithdrawalRecord>> {
    const index = TABLE.indexes.byExternalId;
    const partition = keys.externalId(externalId);
    const expr = new ExpressionBuilder();
    const base: QueryCommandInput = {
      TableName: this.tableName,
      IndexName: index.name,
      KeyConditionExpression: `${index.partitionKey} = ${expr.value(partition)}`,
      ...(options.owner !== undefined
        ? { FilterExpression: `${expr.name('owner')} = ${expr.value(options.owner)}` }
        : {}),
      ...expr.attributes(),
    };
    const start = options.cursor
      ? decodeCursor(options.cursor, {
          attributes: {
            [index.partitionKey]: { equals: partition },
            [index.sortKey]: { prefix: 'PAYOUT#' },
            PK: { prefix: 'PAYOUT#' },
            SK: { prefix: keys.withdrawalPrefix },
          },
        })
      : undefined;
    return this.queryPage(base, options.limit, start, (item) => strip<WithdrawalRecord>(item));
  }

  /** Fills a page of up to `limit` items even when a filter thins DynamoDB's pages. */
  private async queryPage<T>(
    base: QueryCommandInput,
    limit: number,
    start: QueryCommandInput['ExclusiveStartKey'],
    map: (item: Item) => T,
  ): Promise<Page<T>> {
    const items: T[] = [];
    let exclusiveStartKey = start;
    do {
      let result;
      try {
        result = await this.db.send(
          new QueryCommand({
            ...base,
            Limit: limit - items.length,
            ExclusiveStartKey: exclusiveStartKey,
          }),
        );
      } catch (err) {
        // A well-formed cursor DynamoDB still refuses is a caller's mistake, not ours.
        if (exclusiveStartKey === start && start && isStartKeyRejection(err))
          throw new InvalidCursorError();
        throw err;
      }
      for (const item of result.Items ?? []) items.push(map(item));
      exclusiveStartKey = result.LastEvaluatedKey;
    } while (exclusiveStartKey && items.length < limit);
    return { items, ...(exclusiveStartKey ? { cursor: encodeCursor(exclusiveStartKey) } : {}) };
  }

  private async queryAll(input: QueryCommandInput): Promise<Item[]> {
    const items: Item[] = [];
    let exclusiveStartKey: QueryCommandInput['ExclusiveStartKey'];
    do {
      const result = await this.db.send(
        new QueryCommand({ ...input, ExclusiveStartKey: exclusiveStartKey }),
      );
      items.push(...(result.Items ?? []));
      exclusiveStartKey = result.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return items;
  }

  // ---- submission -----------------------------------------------------------------------

  /**
   * Claims a batch for a create attempt: PENDING, AWAITING_FUNDS, or SUBMITTING whose previous attempt's lease
   * ran out, becomes SUBMITTING with one more attempt. Only for a committed payout. Returns the
   * batch as claimed, or undefined when it is not ours to submit.
   */
  async beginSubmission(
    payoutId: string,
    index: number,
    now: Date,
    leaseMs: number,
  ): Promise<BatchRecord | undefined> {
    const expr = new ExpressionBuilder();
    const nowIso = now.toISOString();
    const staleBefore = new Date(now.getTime() - leaseMs).toISOString();
    const nextLookAt = new Date(now.getTime() + leaseMs).toISOString();
    const update = expr.update({
      set: {
        status: 'SUBMITTING',
        submittingSince: nowIso,
        updatedAt: nowIso,
        nextLookAt,
        ...keys.openBatch(payoutId, index, nextLookAt),
      },
      add: { attempts: 1 },
    });
    const status = expr.name('status');
    const since = expr.name('submittingSince');
    const condition = `${status} IN (${expr.value('PENDING')}, ${expr.value('AWAITING_FUNDS')}) OR (${status} = ${expr.value('SUBMITTING')} AND ${since} < ${expr.value(staleBefore)})`;
    try {
      await this.db.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              // Committed, not held for approval, not cancelled: checked in the same transaction
              // as the claim, so a cancel or a hold that wins the race stops the call.
              ConditionCheck: {
                TableName: this.tableName,
                Key: toItem(keys.payout(payoutId)),
                ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(#hold)',
                ExpressionAttributeNames: { '#hold': 'hold' },
              },
            },
            {
              // Not paused (the emergency stop).
              ConditionCheck: {
                TableName: this.tableName,
                Key: toItem(keys.pause()),
                ConditionExpression: 'attribute_not_exists(#paused) OR #paused = :no',
                ExpressionAttributeNames: { '#paused': 'paused' },
                ExpressionAttributeValues: { ':no': { BOOL: false } },
              },
            },
            {
              Update: {
                TableName: this.tableName,
                Key: toItem(keys.batch(payoutId, index)),
                UpdateExpression: update,
                ConditionExpression: condition,
                ...expr.attributes(),
              },
            },
          ],
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) return undefined;
      throw err;
    }
    return this.getBatch(payoutId, index);
  }

  /** Applies an update to a batch, keeping the open-batch index entry in step. */
  async updateBatch(
    payoutId: string,
    index: number,
    spec: UpdateSpec & { set: Partial<BatchRecord> & { updatedAt: string } },
    condition?: {
      status: BatchRecord['status'][];
      calypsoState?: string | null;
      /** The batch exactly as read: no other write in between (a read-modify-write of a list). */
      updatedAt?: string;
    },
  ): Promise<boolean> {
    const expr = new ExpressionBuilder();
    const set: Record<string, unknown> = { ...spec.set };
    const remove = [...(spec.remove ?? [])];
    // A REJECTED batch given a next look stays open until that confirming look; an UNFUNDED one
    // until its payments are recorded FAILED.
    const closes =
      set.status === 'FINAL' ||
      set.status === 'CANCELED' ||
      ((set.status === 'REJECTED' || set.status === 'UNFUNDED') && set.nextLookAt === undefined);
    if (closes) {
      remove.push('nextLookAt', ...OPEN_INDEX_ATTRIBUTES);
      delete set.nextLookAt;
    } else if (typeof set.nextLookAt === 'string') {
      Object.assign(set, keys.openBatch(payoutId, index, set.nextLookAt));
    }
    const update = expr.update({ set, remove, ...(spec.add ? { add: spec.add } : {}) });
    let conditionExpression = condition
      ? `${expr.name('status')} IN (${condition.status.map((s) => expr.value(s)).join(', ')})`
      : 'attribute_exists(PK)';
    if (condition?.calypsoState !== undefined) {
      // null: Calypso's state was not known yet when the batch was read.
      conditionExpression +=
        condition.calypsoState === null
          ? ` AND attribute_not_exists(${expr.name('calypsoState')})`
          : ` AND ${expr.name('calypsoState')} = ${expr.value(condition.calypsoState)}`;
    }
    if (condition?.updatedAt !== undefined) {
      conditionExpression += ` AND ${expr.name('updatedAt')} = ${expr.value(condition.updatedAt)}`;
    }
    return this.conditionally(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: toItem(keys.batch(payoutId, index)),
        UpdateExpression: update,
        ConditionExpression: conditionExpression,
        ...expr.attributes(),
      }),
    );
  }

  /** Moves the payout's stored state from `from` to `to`; false if someone moved it first. */
  async setPayoutState(
    payoutId: string,
    from: PayoutState,
    to: PayoutState,
    now: Date,
  ): Promise<boolean> {
    const expr = new ExpressionBuilder();
    return this.conditionally(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: toItem(keys.payout(payoutId)),
        UpdateExpression: expr.update({ set: { state: to, updatedAt: now.toISOString() } }),
        ConditionExpression: `${expr.name('state')} = ${expr.value(from)}`,
        ...expr.attributes(),
      }),
    );
  }

  /** Stores whether any of the payout's batches is stuck (for the `stuck` listing filter). */
  async setPayoutStuck(payoutId: string, stuck: boolean): Promise<boolean> {
    const expr = new ExpressionBuilder();
    return this.conditionally(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: toItem(keys.payout(payoutId)),
        UpdateExpression: expr.update({ set: { stuck } }),
        ConditionExpression: 'attribute_exists(PK)',
        ...expr.attributes(),
      }),
    );
  }

  /**
   * A page of payouts, newest first: one owner's (the byOwner index) or, without an owner,
   * everyone's (the allPayouts index). Never a scan; filters thin the pages, queryPage refills.
   */
  async listPayouts(options: {
    owner?: string;
    state?: string;
    stuck?: boolean;
    createdAfter?: string;
    limit: number;
    cursor?: string;
  }): Promise<Page<PayoutRecord>> {
    const index = options.owner !== undefined ? TABLE.indexes.byOwner : TABLE.indexes.allPayouts;
    const partition =
      options.owner !== undefined ? keys.ownerPartition(options.owner) : keys.allPayoutsPartition;
    const expr = new ExpressionBuilder();
    let keyCondition = `${expr.name(index.partitionKey)} = ${expr.value(partition)}`;
    // Sort keys are `<createdAt>#<id>`: `createdAt#~` sorts after every id of that instant.
    if (options.createdAfter !== undefined)
      keyCondition += ` AND ${expr.name(index.sortKey)} > ${expr.value(`${options.createdAfter}#~`)}`;
    const filters: string[] = [];
    if (options.state !== undefined)
      filters.push(`${expr.name('state')} = ${expr.value(options.state)}`);
    if (options.stuck === true) filters.push(`${expr.name('stuck')} = ${expr.value(true)}`);
    const base: QueryCommandInput = {
      TableName: this.tableName,
      IndexName: index.name,
      KeyConditionExpression: keyCondition,
      ScanIndexForward: false,
      ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
      ...expr.attributes(),
    };
    const start = options.cursor
      ? decodeCursor(options.cursor, {
          attributes: {
            [index.partitionKey]: { equals: partition },
            [index.sortKey]: { prefix: '' },
            PK: { prefix: 'PAYOUT#' },
            SK: { equals: 'PAYOUT' },
          },
        })
      : undefined;
    return this.queryPage(base, options.limit, start, (item) => strip<PayoutRecord>(item));
  }

  /** The payout and batch a Calypso idempotencyKey belongs to (for webhooks). */
  async resolveProviderKey(idempotencyKey: string): Promise<BatchPointer | undefined> {
    return this.getPointer(keys.providerKey(idempotencyKey));
  }

  /** The payout and batch a Calypso mass payout id belongs to (for webhooks without a key). */
  async resolveProviderId(calypsoId: string): Promise<BatchPointer | undefined> {
    return this.getPointer(keys.providerId(calypsoId));
  }

  /** Records which batch Calypso's mass payout id belongs to (written once Calypso answers). */
  async putProviderId(calypsoId: string, pointer: BatchPointer): Promise<void> {
    await this.db.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: toItem({ ...keys.providerId(calypsoId), type: 'provider-id', ...pointer }),
      }),
    );
  }

  private async getPointer(key: Record<string, string>): Promise<BatchPointer | undefined> {
    const got = await this.db.send(
      new GetItemCommand({ TableName: this.tableName, Key: toItem(key) }),
    );
    return got.Item ? strip<BatchPointer>(got.Item) : undefined;
  }

  // ---- tracking -------------------------------------------------------------------------

  /** Open batches of one shard whose next look is due, oldest first. */
  async listDueBatches(shard: number, now: Date, limit: number): Promise<BatchRecord[]> {
    const index = TABLE.indexes.openBatches;
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: index.name,
        KeyConditionExpression: `${index.partitionKey} = :pk AND ${index.sortKey} <= :due`,
        ExpressionAttributeValues: {
          ':pk': { S: keys.openShard(shard) },
          // Every sort key starting with a time up to now sorts before this.
          ':due': { S: `${now.toISOString()}#~` },
        },
        Limit: limit,
      }),
    );
    return (result.Items ?? []).map((item) => strip<BatchRecord>(item));
  }

  /** Updates one withdrawal if it is still in `expectedState`; false if someone moved it first. */
  async updateWithdrawal(
    w: Pick<WithdrawalRecord, 'payoutId' | 'batchIndex' | 'position'>,
    set: Partial<WithdrawalRecord> & { updatedAt: string },
    expectedState: string,
  ): Promise<boolean> {
    const expr = new ExpressionBuilder();
    return this.conditionally(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: toItem(keys.withdrawal(w.payoutId, w.batchIndex, w.position)),
        UpdateExpression: expr.update({ set }),
        ConditionExpression: `${expr.name('state')} = ${expr.value(expectedState)}`,
        ...expr.attributes(),
      }),
    );
  }

  /** An audit item; the actor defaults to the system part named by the cause. */
  private auditItem(entry: AuditEntry, unique = randomBytes(6).toString('hex')): Item {
    return toItem({
      ...keys.audit(entry.payoutId, entry.at, unique),
      type: 'audit',
      ...entry,
      actor: entry.actor ?? SYSTEM_ACTORS[entry.cause],
    });
  }

  /** Appends entries to payouts' audit trails. */
  async appendAudit(entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.batchWrite(
      entries.map((entry) => ({ PutRequest: { Item: this.auditItem(entry) } })),
    );
  }

  async listAudit(
    payoutId: string,
    options: { limit: number; cursor?: string },
  ): Promise<Page<AuditEntry>> {
    const partition = keys.payoutPartition(payoutId);
    const base: QueryCommandInput = {
      TableName: this.tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': { S: partition }, ':prefix': { S: keys.auditPrefix } },
    };
    const start = options.cursor
      ? decodeCursor(options.cursor, {
          attributes: { PK: { equals: partition }, SK: { prefix: keys.auditPrefix } },
        })
      : undefined;
    return this.queryPage(base, options.limit, start, (item) => strip<AuditEntry>(item));
  }

  /**
   * Stores a webhook event once (the dedupe record, one conditional write); false when that event
   * id was stored before. An event still to be applied (`received`) is also listed, by arrival, in
   * the sparse index the reconciler reads for events no worker applied.
   */
  async putWebhookEvent(event: WebhookEventRecord, retentionSeconds: number): Promise<boolean> {
    const expiresAt = Math.floor(Date.parse(event.receivedAt) / 1000) + retentionSeconds;
    return this.conditionally(
      new PutItemCommand({
        TableName: this.tableName,
        Item: toItem({
          ...keys.webhookEvent(event.eventId),
          type: 'webhook-event',
          ...(event.verdict === 'received'
            ? keys.unappliedEvent(event.eventId, event.receivedAt)
            : {}),
          ...event,
          [TABLE.ttlAttribute]: expiresAt,
        }),
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
  }

  /**
   * Claims a stored event for applying: one never applied (`received`), or one whose claim is
   * older than `leaseMs` (its worker died). Returns the event as claimed; undefined when it is
   * applied, being applied, or not stored.
   */
  async claimWebhookEvent(
    eventId: string,
    now: Date,
    leaseMs: number,
  ): Promise<WebhookEventRecord | undefined> {
    const expr = new ExpressionBuilder();
    const verdict = expr.name('verdict');
    const claimedAt = expr.name('claimedAt');
    const staleBefore = new Date(now.getTime() - leaseMs).toISOString();
    try {
      const result = await this.db.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: toItem(keys.webhookEvent(eventId)),
          UpdateExpression: expr.update({
            set: { verdict: 'applying', claimedAt: now.toISOString() },
          }),
          ConditionExpression: `${verdict} = ${expr.value('received')} OR (${verdict} = ${expr.value('applying')} AND ${claimedAt} < ${expr.value(staleBefore)})`,
          ReturnValues: 'ALL_NEW',
          ...expr.attributes(),
        }),
      );
      return result.Attributes ? this.webhookRecord(result.Attributes) : undefined;
    } catch (err) {
      if (isConditionFailure(err)) return undefined;
      throw err;
    }
  }

  /** Gives up a claim after applying failed, so the next worker can apply the event at once. */
  async releaseWebhookEvent(eventId: string): Promise<void> {
    const expr = new ExpressionBuilder();
    await this.conditionally(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: toItem(keys.webhookEvent(eventId)),
        UpdateExpression: expr.update({ set: { verdict: 'received' }, remove: ['claimedAt'] }),
        ConditionExpression: `${expr.name('verdict')} = ${expr.value('applying')}`,
        ...expr.attributes(),
      }),
    );
  }

  private webhookRecord(item: Item): WebhookEventRecord {
    const record = strip<WebhookEventRecord & Record<string, unknown>>(item);
    delete record[TABLE.ttlAttribute];
    return record;
  }

  async getWebhookEvent(eventId: string): Promise<WebhookEventRecord | undefined> {
    const got = await this.db.send(
      new GetItemCommand({ TableName: this.tableName, Key: toItem(keys.webhookEvent(eventId)) }),
    );
    return got.Item ? this.webhookRecord(got.Item) : undefined;
  }

  /** Records what applying the event found; it leaves the index of events to apply. */
  async setWebhookVerdict(
    eventId: string,
    verdict: WebhookEventRecord['verdict'],
    extra: { detail?: string; payoutId?: string; batchIndex?: number } = {},
  ): Promise<void> {
    const expr = new ExpressionBuilder();
    await this.db.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: toItem(keys.webhookEvent(eventId)),
        UpdateExpression: expr.update({
          set: { verdict, ...extra },
          remove: ['claimedAt', ...OPEN_INDEX_ATTRIBUTES],
        }),
        ...expr.attributes(),
      }),
    );
  }

  /**
   * Ids of events of one shard stored before `before` and never applied (their worker died or
   * was never started), oldest first: one query of the sparse index, no scan.
   */
  async listUnappliedWebhookEvents(shard: number, before: Date, limit: number): Promise<string[]> {
    const index = TABLE.indexes.openBatches;
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: index.name,
        KeyConditionExpression: `${index.partitionKey} = :pk AND ${index.sortKey} < :before`,
        ExpressionAttributeValues: {
          ':pk': { S: keys.unappliedShard(shard) },
          ':before': { S: before.toISOString() },
        },
        ProjectionExpression: 'eventId',
        Limit: limit,
      }),
    );
    return (result.Items ?? []).map((item) => item.eventId!.S!).filter(Boolean);
  }

  // ---- controls: approvals, cancellation, limits, the pause ------------------------------

  /** Forgets a key claimed by a request that was then refused (nothing else was written). */
  async releaseIdempotency(owner: string, key: string, payoutId: string): Promise<void> {
    const expr = new ExpressionBuilder();
    await this.conditionally(
      new DeleteItemCommand({
        TableName: this.tableName,
        Key: toItem(keys.idempotency(owner, key)),
        ConditionExpression: `${expr.name('state')} = ${expr.value('PENDING')} AND ${expr.name('payoutId')} = ${expr.value(payoutId)}`,
        ...expr.attributes(),
      }),
    );
  }

  /**
   * Records one approval, optimistic on the approvals read: false when another approval, a
   * cancel or the expiry got in first (read again and retry). The last approval needed lifts the
   * hold in the same write, and takes the payout out of the pending-approval index; its held
   * batches are released next (or by the reconciler, at the latest by the approval deadline).
   */
  async addApproval(
    payoutId: string,
    seen: number,
    approval: { principal: string; session?: string; at: string },
    completes: boolean,
  ): Promise<boolean> {
    const expr = new ExpressionBuilder();
    const approvals = `${expr.name('approval')}.${expr.name('approvals')}`;
    const sets = [
      `${approvals} = list_append(${approvals}, ${expr.value([approval])})`,
      `${expr.name('updatedAt')} = ${expr.value(approval.at)}`,
    ];
    const update =
      `SET ${sets.join(', ')}` +
      (completes
        ? ` REMOVE ${expr.name('hold')}, ${expr.name(APPROVAL_INDEX.partitionKey)}, ${expr.name(APPROVAL_INDEX.sortKey)}`
        : '');
    return this.conditionally(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: toItem(keys.payout(payoutId)),
        UpdateExpression: update,
        ConditionExpression: `${expr.name('hold')} = ${expr.value('approval')} AND size(${approvals}) = ${expr.value(seen)}`,
        ...expr.attributes(),
      }),
    );
  }

  /**
   * Fences a payout off from submission for good (`hold = canceled`), if it is still held for
   * approval or accepted and not yet fenced. False when it is already cancelled, or was never
   * held and is past acceptance.
   */
  async fenceForCancel(
    payoutId: string,
    cancellation: NonNullable<PayoutRecord['cancellation']>,
    /** `approval`: only while it still awaits approval (the expiry never cancels an approved one). */
    only?: 'approval',
  ): Promise<boolean> {
    const expr = new ExpressionBuilder();
    const hold = expr.name('hold');
    const allowed =
      only === 'approval'
        ? `${hold} = ${expr.value('approval')}`
        : `(attribute_not_exists(${hold}) OR ${hold} = ${expr.value('approval')})`;
    return this.conditionally(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: toItem(keys.payout(payoutId)),
        UpdateExpression: expr.update({
          set: { hold: 'canceled', cancellation, updatedAt: cancellation.at },
          remove: [APPROVAL_INDEX.partitionKey, APPROVAL_INDEX.sortKey],
        }),
        ConditionExpression: `attribute_exists(PK) AND ${allowed}`,
        ...expr.attributes(),
      }),
    );
  }

  /** Takes a cancel fence away again (something had been sent before it went up). */
  async liftCancelFence(payoutId: string, restore: PayoutRecord['hold'], at: string) {
    const expr = new ExpressionBuilder();
    await this.conditionally(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: toItem(keys.payout(payoutId)),
        UpdateExpression: expr.update({
          set: { updatedAt: at, ...(restore ? { hold: restore } : {}) },
          remove: restore ? ['cancellation'] : ['cancellation', 'hold'],
        }),
        ConditionExpression: `${expr.name('hold')} = ${expr.value('canceled')}`,
        ...expr.attributes(),
      }),
    );
  }

  /** Payouts awaiting approval, oldest first (a small sparse index). */
  async listPendingApproval(options: {
    limit: number;
    cursor?: string;
  }): Promise<Page<PayoutRecord>> {
    const base: QueryCommandInput = {
      TableName: this.tableName,
      IndexName: APPROVAL_INDEX.name,
      KeyConditionExpression: `${APPROVAL_INDEX.partitionKey} = :pk`,
      ExpressionAttributeValues: { ':pk': { S: keys.pendingApproval } },
    };
    const start = options.cursor
      ? decodeCursor(options.cursor, {
          attributes: {
            [APPROVAL_INDEX.partitionKey]: { equals: keys.pendingApproval },
            [APPROVAL_INDEX.sortKey]: { prefix: '' },
            PK: { prefix: 'PAYOUT#' },
            SK: { equals: 'PAYOUT' },
          },
        })
      : undefined;
    return this.queryPage(base, options.limit, start, (item) => strip<PayoutRecord>(item));
  }

  /**
   * Adds a payout's amount to its owner's rolling 24-hour total in the currency, if the total
   * stays within `limit`; idempotent per payout. One item per owner and currency, written with a
   * version check, so concurrent payouts that fit alone but not together cannot both pass.
   */
  async reserveLimit(input: {
    owner: string;
    currency: string;
    payoutId: string;
    amount: Decimal;
    limit: Decimal;
    now: Date;
  }): Promise<{ ok: true } | { ok: false; used: Decimal }> {
    const key = keys.limit(input.owner, input.currency);
    const since = new Date(input.now.getTime() - 24 * 3_600_000).toISOString();
    for (let attempt = 0; attempt < 60; attempt++) {
      const got = await this.db.send(
        new GetItemCommand({ TableName: this.tableName, Key: toItem(key), ConsistentRead: true }),
      );
      const item = got.Item ? (fromItem(got.Item) as unknown as LimitItem) : undefined;
      const entries = (item?.entries ?? []).filter((e) => e.at > since);
      if (entries.some((e) => e.payoutId === input.payoutId)) return { ok: true };
      const used = Decimal.sum(entries.map((e) => Decimal.parse(e.amount)));
      if (used.add(input.amount).compare(input.limit) > 0) return { ok: false, used };
      const written = await this.writeLimit(key, item?.version, [
        ...entries,
        { payoutId: input.payoutId, amount: input.amount.toString(), at: input.now.toISOString() },
      ]);
      if (written) return { ok: true };
      await this.sleep(Math.min(200, 5 * 2 ** Math.min(attempt, 5)) * Math.random());
    }
    throw new Error(`limit counter ${key.PK} too contended`);
  }

  /** Gives a payout's amount back to its owner's daily allowance (cancelled, rejected, failed). */
  async releaseLimit(owner: string, currency: string, payoutId: string): Promise<void> {
    const key = keys.limit(owner, currency);
    for (let attempt = 0; attempt < 60; attempt++) {
      const got = await this.db.send(
        new GetItemCommand({ TableName: this.tableName, Key: toItem(key), ConsistentRead: true }),
      );
      const item = got.Item ? (fromItem(got.Item) as unknown as LimitItem) : undefined;
      if (!item?.entries.some((e) => e.payoutId === payoutId)) return;
      const kept = item.entries.filter((e) => e.payoutId !== payoutId);
      if (await this.writeLimit(key, item.version, kept)) return;
      await this.sleep(Math.min(200, 5 * 2 ** Math.min(attempt, 5)) * Math.random());
    }
    throw new Error(`limit counter ${key.PK} too contended`);
  }

  private async writeLimit(
    key: { PK: string; SK: string },
    version: number | undefined,
    entries: LimitItem['entries'],
  ): Promise<boolean> {
    const expr = new ExpressionBuilder();
    return this.conditionally(
      new PutItemCommand({
        TableName: this.tableName,
        Item: toItem({ ...key, type: 'limit', entries, version: (version ?? 0) + 1 }),
        ConditionExpression:
          version === undefined
            ? 'attribute_not_exists(PK)'
            : `${expr.name('version')} = ${expr.value(version)}`,
        ...expr.attributes(),
      }),
    );
  }

  /** The emergency pause: whether all submission to Calypso is stopped, and by whom. */
  /** Calypso's fee percentage last seen on a payout of this currency and kind (decimal text). */
  async getFeeSeen(currency: string, kind: string): Promise<string | undefined> {
    const got = await this.db.send(
      new GetItemCommand({ TableName: this.tableName, Key: toItem(keys.feeSeen(currency, kind)) }),
    );
    const item = got.Item ? strip<{ percentage?: unknown }>(got.Item) : undefined;
    return typeof item?.percentage === 'string' ? item.percentage : undefined;
  }

  async putFeeSeen(currency: string, kind: string, percentage: string, at: string): Promise<void> {
    await this.db.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: toItem({ ...keys.feeSeen(currency, kind), type: 'control', percentage, at }),
      }),
    );
  }

  async getPause(): Promise<PauseRecord | undefined> {
    const got = await this.db.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: toItem(keys.pause()),
        ConsistentRead: true,
      }),
    );
    return got.Item ? strip<PauseRecord>(got.Item) : undefined;
  }

  /**
   * Sets the pause; false when it already was in that position (nothing changed). Each change is
   * kept in the item's history (newest last), the audit trail of the pause.
   */
  async setPause(record: PauseRecord): Promise<boolean> {
    const expr = new ExpressionBuilder();
    const paused = expr.name('paused');
    const history = expr.name('history');
    const { paused: to, ...rest } = record;
    const sets = Object.entries({ ...rest, paused: to, type: 'control' }).map(
      ([k, v]) => `${expr.name(k)} = ${expr.value(v)}`,
    );
    const removed = (['session', 'reason'] as const).filter((k) => record[k] === undefined);
    return this.conditionally(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: toItem(keys.pause()),
        UpdateExpression:
          `SET ${sets.join(', ')}, ${history} = list_append(if_not_exists(${history}, ${expr.value([])}), ${expr.value([record])})` +
          (removed.length ? ` REMOVE ${removed.map((k) => expr.name(k)).join(', ')}` : ''),
        ConditionExpression: record.paused
          ? `attribute_not_exists(${paused}) OR ${paused} = ${expr.value(false)}`
          : `${paused} = ${expr.value(true)}`,
        ...expr.attributes(),
      }),
    );
  }

  /**
   * Claims the one retry of a payout's failed payments: a conditional write on the original that
   * only the first claim passes. Returns the claim that holds (this one, or the earlier one, read
   * from the same call's ALL_OLD answer).
   */
  async claimRetry(
    payoutId: string,
    claim: RetryClaim,
  ): Promise<{ claimed: boolean; claim: RetryClaim } | undefined> {
    const expr = new ExpressionBuilder();
    try {
      await this.db.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: toItem(keys.payout(payoutId)),
          UpdateExpression: expr.update({ set: { retryClaim: claim } }),
          ConditionExpression: `attribute_exists(PK) AND attribute_not_exists(${expr.name('retryClaim')})`,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...expr.attributes(),
        }),
      );
      return { claimed: true, claim };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      const old = err.Item ? strip<PayoutRecord>(err.Item) : undefined;
      return old?.retryClaim ? { claimed: false, claim: old.retryClaim } : undefined;
    }
  }

  /** Links a retry payout to its original. */
  async addRetriedBy(payoutId: string, retryPayoutId: string, now: Date): Promise<void> {
    const expr = new ExpressionBuilder();
    const list = expr.name('retriedBy');
    const update = `SET ${list} = list_append(if_not_exists(${list}, ${expr.value([])}), ${expr.value([retryPayoutId])}), ${expr.name('updatedAt')} = ${expr.value(now.toISOString())}`;
    try {
      await this.db.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: toItem(keys.payout(payoutId)),
          UpdateExpression: update,
          // Once only, however often the retry request is repeated.
          ConditionExpression: `attribute_exists(PK) AND NOT contains(${list}, ${expr.value(retryPayoutId)})`,
          ...expr.attributes(),
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }
}
