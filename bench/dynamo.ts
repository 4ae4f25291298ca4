/**
 * The benchmark's DynamoDB side: one client for everything, with a middleware that counts the
 * requests by command (and can hand their inputs to a listener), and fresh tables from the
 * shared definition.
 */
import { randomUUID } from 'node:crypto';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { sdkClientSettings } from '../shared/aws/client.js';
import { forEachLimit } from '../shared/concurrency.js';
import { createTableInput } from '../shared/store/table.js';

export type RequestCounts = Record<string, number>;

export class RequestCounter {
  private counts: RequestCounts = {};
  /** Items returned by GetItem and examined by Query, in total. */
  itemsRead = 0;
  private inFlight: RequestCounts = {};
  /** The most requests of each command in flight at once since the last `resetPeaks`. */
  peaks: RequestCounts = {};

  started(command: string): void {
    const now = (this.inFlight[command] ?? 0) + 1;
    this.inFlight[command] = now;
    if (now > (this.peaks[command] ?? 0)) this.peaks[command] = now;
  }

  finished(command: string): void {
    this.inFlight[command] = (this.inFlight[command] ?? 1) - 1;
  }

  resetPeaks(): void {
    this.peaks = {};
  }
  /** Called with every request's command name and input while set. */
  listener: ((command: string, input: unknown) => void) | undefined;

  add(command: string, input: unknown): void {
    this.counts[command] = (this.counts[command] ?? 0) + 1;
    this.listener?.(command, input);
  }

  snapshot(): RequestCounts {
    return { ...this.counts };
  }

  /** Requests made since `before`, by command. */
  since(before: RequestCounts): RequestCounts {
    const out: RequestCounts = {};
    for (const [command, n] of Object.entries(this.counts)) {
      const delta = n - (before[command] ?? 0);
      if (delta > 0) out[command] = delta;
    }
    return out;
  }
}

export function totalRequests(counts: RequestCounts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** `BatchWriteItem 401, TransactWriteItems 1, …` with the command names shortened. */
export function describeCounts(counts: RequestCounts, per = 1): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([command, n]) => {
      const value = n / per;
      const text = Number.isInteger(value) ? String(value) : value.toFixed(1);
      return `${command.replace(/Command$/, '')} ${text}`;
    })
    .join(', ');
}

export function countingClient(endpoint: string, counter: RequestCounter): DynamoDBClient {
  const client = new DynamoDBClient({ ...sdkClientSettings, endpoint, maxAttempts: 10 });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      counter.add(command, args.input);
      counter.started(command);
      try {
        const result = await next(args);
        const output = result.output as {
          ScannedCount?: number;
          Count?: number;
          Item?: unknown;
          Responses?: unknown;
        };
        // BatchGetItem answers items by table; BatchExecuteStatement, one answer per statement.
        const batchRead =
          output.Responses && !Array.isArray(output.Responses)
            ? Object.values(output.Responses as Record<string, unknown[]>).reduce(
                (n, items) => n + items.length,
                0,
              )
            : 0;
        counter.itemsRead += output.ScannedCount ?? output.Count ?? (output.Item ? 1 : batchRead);
        return result;
      } finally {
        counter.finished(command);
      }
    },
    { step: 'initialize', name: 'benchRequestCounter' },
  );
  return client;
}

/** A new table from the shared definition; returns its name. */
export async function createTable(db: DynamoDBClient, prefix: string): Promise<string> {
  const tableName = `bench-${prefix}-${randomUUID().slice(0, 8)}`;
  await db.send(new CreateTableCommand(createTableInput(tableName)));
  return tableName;
}

/**
 * Brings DynamoDB Local's JVM up to speed before anything is measured: writes and reads on a
 * scratch table, so the first figure does not pay for the JIT compiling its request paths.
 */
export async function warmUp(db: DynamoDBClient, batches = 200): Promise<void> {
  const tableName = await createTable(db, 'warm-up');
  const indexes = Array.from({ length: batches }, (_, i) => i);
  await forEachLimit(indexes, 4, async (i) => {
    await db.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [tableName]: Array.from({ length: 25 }, (_, j) => ({
            PutRequest: {
              Item: {
                PK: { S: `WARM#${i}` },
                SK: { S: `ITEM#${j}` },
                GSI1PK: { S: `WARM#${i}#${j}` },
                GSI1SK: { S: 'x' },
              },
            },
          })),
        },
      }),
    );
    await db.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': { S: `WARM#${i}` } },
        ConsistentRead: true,
      }),
    );
  });
}
