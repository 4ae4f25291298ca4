/**
 * The one small client of the single table: the DynamoDB mechanics every store shares, so a store
 * says only what it reads and writes. Conditional writes answer false instead of throwing (with
 * the item that refused them when asked), batch writes retry what DynamoDB left unprocessed,
 * queries page with opaque cursors, transactions run as one call, and many conditional updates go
 * 25 to a request.
 */
import {
  BatchExecuteStatementCommand,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type BatchStatementRequest,
  type DeleteItemCommandInput,
  type DynamoDBClient,
  type PutItemCommandInput,
  type QueryCommandInput,
  type TransactWriteItem,
  type UpdateItemCommandInput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { forEachLimit } from '../concurrency.js';
import { toAttribute, toItem, type Item } from './attributes.js';
import { ExpressionBuilder } from './expressions.js';

/** A table item's primary key. */
export interface TableKey {
  PK: string;
  SK: string;
}

/** A request of this table: the client names the table. */
type Request<T> = Omit<T, 'TableName'>;
export type PutInput = Request<PutItemCommandInput>;
export type UpdateInput = Request<UpdateItemCommandInput>;
export type DeleteInput = Request<DeleteItemCommandInput>;
export type QueryInput = Request<QueryCommandInput>;
/** A transaction's item; its TableName is the client's own (filled in). */
export type TransactItem = {
  [K in keyof TransactWriteItem]?: Omit<NonNullable<TransactWriteItem[K]>, 'TableName'>;
};

/** An update of one item by key: `set` written only where each attribute of `where` has its value. */
export interface KeyedUpdate {
  key: TableKey;
  set: Record<string, unknown>;
  where: Record<string, unknown>;
}

/** DynamoDB's most statements in one BatchExecuteStatement, and items in one BatchWriteItem. */
const ITEMS_PER_BATCH = 25;

/** `items` in runs of `size`, in order. */
function chunksOf<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** The identity of a key, whether given as strings or as DynamoDB attributes. */
const keyId = (pk: string | undefined, sk: string | undefined) => `${pk}\u0000${sk}`;

/** A PartiQL identifier: ours only, double-quoted. */
function quoted(identifier: string): string {
  if (identifier.includes('"'))
    throw new TypeError(`not an identifier of this table: ${identifier}`);
  return `"${identifier}"`;
}

/** A conditional write's outcome: applied, or refused with the item that refused it if asked. */
export type WriteOutcome = { applied: true; attributes?: Item } | { applied: false; old?: Item };

export interface Page<T> {
  items: T[];
  /** Opaque; absent on the last page. */
  cursor?: string;
}

/** What a listing's cursor must look like: exactly these key attributes, with these values. */
export interface CursorShape {
  /** Each attribute of the start key and the prefix (or exact value) its string must have. */
  attributes: Record<string, { prefix?: string; equals?: string }>;
}

export class InvalidCursorError extends Error {
  constructor() {
    super('cursor is not valid for this listing');
    this.name = 'InvalidCursorError';
  }
}

export interface TableClientOptions {
  /** Concurrent BatchWriteItem calls. */
  writeConcurrency?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Whether a write or transaction failed on its condition (not on anything else). */
export function isConditionFailure(err: unknown): boolean {
  if (err instanceof ConditionalCheckFailedException) return true;
  if (err instanceof TransactionCanceledException) {
    return (err.CancellationReasons ?? []).some((r) => r.Code === 'ConditionalCheckFailed');
  }
  return false;
}

function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
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

export class TableClient {
  private readonly writeConcurrency: number;
  readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly db: DynamoDBClient,
    readonly tableName: string,
    options: TableClientOptions = {},
  ) {
    this.writeConcurrency = options.writeConcurrency ?? 4;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** One item by key, or undefined. */
  async get(key: TableKey, consistentRead?: boolean): Promise<Item | undefined> {
    const got = await this.db.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: toItem({ ...key }),
        ...(consistentRead ? { ConsistentRead: true } : {}),
      }),
    );
    return got.Item;
  }

  /**
   * Several items by key in one request (BatchGetItem), each strongly consistent, in the order
   * asked (undefined: no such item). Keys DynamoDB leaves unprocessed are read again, a few
   * times, then one by one.
   */
  async getMany(keys: TableKey[]): Promise<(Item | undefined)[]> {
    const found = new Map<string, Item>();
    const id = (item: Item) => keyId(item.PK?.S, item.SK?.S);
    let pending = keys.map((key) => toItem({ ...key }));
    for (let attempt = 0; pending.length > 0 && attempt < 3; attempt++) {
      if (attempt > 0) await this.sleep(50 * 2 ** attempt * (0.5 + Math.random() / 2));
      const result = await this.db.send(
        new BatchGetItemCommand({
          RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } },
        }),
      );
      for (const item of result.Responses?.[this.tableName] ?? []) found.set(id(item), item);
      pending = result.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    for (const key of pending) {
      const item = await this.get({ PK: key.PK!.S!, SK: key.SK!.S! }, true);
      if (item) found.set(id(item), item);
    }
    return keys.map((key) => found.get(keyId(key.PK, key.SK)));
  }

  /** An unconditional put. */
  async put(input: PutInput): Promise<void> {
    await this.db.send(new PutItemCommand({ ...input, TableName: this.tableName }));
  }

  /** An unconditional update. */
  async update(input: UpdateInput): Promise<void> {
    await this.db.send(new UpdateItemCommand({ ...input, TableName: this.tableName }));
  }

  /** A conditional put: whether it applied (and the refusing item, with ALL_OLD). */
  async putIf(input: PutInput): Promise<WriteOutcome> {
    return this.conditionally(() =>
      this.db.send(new PutItemCommand({ ...input, TableName: this.tableName })),
    );
  }

  /** A conditional update: whether it applied (its attributes when ReturnValues asks for them). */
  async updateIf(input: UpdateInput): Promise<WriteOutcome> {
    return this.conditionally(() =>
      this.db.send(new UpdateItemCommand({ ...input, TableName: this.tableName })),
    );
  }

  /** A conditional delete: whether it applied. */
  async deleteIf(input: DeleteInput): Promise<WriteOutcome> {
    return this.conditionally(() =>
      this.db.send(new DeleteItemCommand({ ...input, TableName: this.tableName })),
    );
  }

  /** A transaction; false when a condition of it did not hold. */
  async transactIf(items: TransactItem[]): Promise<boolean> {
    const outcome = await this.conditionally(async () => {
      await this.transact(items);
      return {};
    });
    return outcome.applied;
  }

  /**
   * Conditional updates of many items, 25 to a request (PartiQL's BatchExecuteStatement), up to
   * `concurrency` requests at once. Each statement stands alone, as its UpdateItem would: the
   * answer says, in order, which applied (false: its condition failed, or there is no such
   * item). A statement DynamoDB refused for any other reason (throttled, in conflict with a
   * transaction) is sent again on its own as that UpdateItem, with the SDK's retries.
   */
  async updateEach(updates: KeyedUpdate[], concurrency: number): Promise<boolean[]> {
    const applied = updates.map(() => false);
    const chunks = chunksOf(
      updates.map((_, i) => i),
      ITEMS_PER_BATCH,
    );
    await forEachLimit(chunks, concurrency, async (chunk) => {
      const result = await this.db.send(
        new BatchExecuteStatementCommand({
          Statements: chunk.map((i) => this.updateStatement(updates[i]!)),
        }),
      );
      const responses = result.Responses ?? [];
      for (const [n, i] of chunk.entries()) {
        const response = responses[n];
        if (response && !response.Error) applied[i] = true;
        else if (response?.Error?.Code !== 'ConditionalCheckFailed')
          applied[i] = await this.updateWhere(updates[i]!);
      }
    });
    return applied;
  }

  private updateStatement({ key, set, where }: KeyedUpdate): BatchStatementRequest {
    const sets = Object.entries(set).filter(([, v]) => v !== undefined);
    const conditions = Object.entries({ PK: key.PK, SK: key.SK, ...where });
    return {
      Statement: `UPDATE ${quoted(this.tableName)} ${sets.map(([name]) => `SET ${quoted(name)} = ?`).join(' ')} WHERE ${conditions.map(([name]) => `${quoted(name)} = ?`).join(' AND ')}`,
      Parameters: [...sets, ...conditions].map(([, value]) => toAttribute(value)!),
    };
  }

  /** One update by key, applied only where the item exists and each attribute of `where` has its value. */
  async updateWhere({ key, set, where }: KeyedUpdate): Promise<boolean> {
    const expr = new ExpressionBuilder();
    // As the statement: no such item is no update.
    const conditions = [
      `attribute_exists(${expr.name('PK')})`,
      ...Object.entries(where).map(([name, value]) => `${expr.name(name)} = ${expr.value(value)}`),
    ];
    const outcome = await this.updateIf({
      Key: toItem({ ...key }),
      UpdateExpression: expr.update({ set }),
      ConditionExpression: conditions.join(' AND '),
      ...expr.attributes(),
    });
    return outcome.applied;
  }

  /** A transaction; throws whatever refused it. */
  async transact(items: TransactItem[]): Promise<void> {
    const TransactItems = items.map((item) => {
      const entry: TransactWriteItem = {};
      for (const [kind, request] of Object.entries(item))
        (entry as Record<string, unknown>)[kind] = { ...request, TableName: this.tableName };
      return entry;
    });
    await this.db.send(new TransactWriteItemsCommand({ TransactItems }));
  }

  private async conditionally(send: () => Promise<{ Attributes?: Item }>): Promise<WriteOutcome> {
    try {
      const result = await send();
      return result.Attributes
        ? { applied: true, attributes: result.Attributes }
        : { applied: true };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const old = err instanceof ConditionalCheckFailedException ? err.Item : undefined;
      return old ? { applied: false, old } : { applied: false };
    }
  }

  /** BatchWriteItem in chunks of 25 with bounded concurrency; unprocessed items retried. */
  async batchWrite(requests: WriteRequest[]): Promise<number> {
    const chunks = chunksOf(requests, ITEMS_PER_BATCH);
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

  /** One page of a query, as DynamoDB answers it (no refilling). */
  async query(input: QueryInput): Promise<Item[]> {
    const result = await this.db.send(new QueryCommand({ ...input, TableName: this.tableName }));
    return result.Items ?? [];
  }

  /** Every item a query matches, all its pages. */
  async queryAll(input: QueryInput): Promise<Item[]> {
    const items: Item[] = [];
    let exclusiveStartKey: QueryCommandInput['ExclusiveStartKey'];
    do {
      const result = await this.db.send(
        new QueryCommand({
          ...input,
          TableName: this.tableName,
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      items.push(...(result.Items ?? []));
      exclusiveStartKey = result.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return items;
  }

  /**
   * A page of up to `limit` items from the opaque `cursor` on, which must have the listing's
   * `shape`; fills the page even when a filter thins DynamoDB's pages.
   */
  async queryPage<T>(
    base: QueryInput,
    options: { limit: number; cursor?: string; shape: CursorShape },
    map: (item: Item) => T,
  ): Promise<Page<T>> {
    const { limit } = options;
    const start = options.cursor ? decodeCursor(options.cursor, options.shape) : undefined;
    const items: T[] = [];
    let exclusiveStartKey = start;
    do {
      let result;
      try {
        result = await this.db.send(
          new QueryCommand({
            ...base,
            TableName: this.tableName,
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
}
