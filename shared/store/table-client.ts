/**
 * The one small client of the single table: the DynamoDB mechanics every store shares, so a store
 * says only what it reads and writes. Conditional writes answer false instead of throwing (with
 * the item that refused them when asked), batch writes retry what DynamoDB left unprocessed,
 * queries page with opaque cursors, transactions run as one call.
 */
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type DeleteItemCommandInput,
  type DynamoDBClient,
  type PutItemCommandInput,
  type QueryCommandInput,
  type TransactWriteItem,
  type UpdateItemCommandInput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { forEachLimit } from '../concurrency.js';
import { toItem, type Item } from './attributes.js';

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
