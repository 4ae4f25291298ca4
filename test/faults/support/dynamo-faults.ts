/**
 * DynamoDB failures injected at the SDK: a DynamoDBClient whose `send` is replaced (with
 * aws-sdk-client-mock) by a dispatcher that forwards every command to a real client on the test
 * endpoint, except the ones a test has asked to fail. An injected error is what the repository
 * sees after the SDK's own retries gave up (the mock replaces `send`, so those retries do not run).
 */
import {
  BatchExecuteStatementCommand,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  ThrottlingException,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type BatchExecuteStatementCommandInput,
  type BatchExecuteStatementCommandOutput,
  type BatchWriteItemCommandInput,
  type BatchWriteItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { PayoutRepository } from '../../../shared/store/payout-repository.js';

const COMMANDS = {
  GetItem: GetItemCommand,
  PutItem: PutItemCommand,
  UpdateItem: UpdateItemCommand,
  DeleteItem: DeleteItemCommand,
  Query: QueryCommand,
  Scan: ScanCommand,
  BatchWriteItem: BatchWriteItemCommand,
  BatchExecuteStatement: BatchExecuteStatementCommand,
  BatchGetItem: BatchGetItemCommand,
  TransactWriteItems: TransactWriteItemsCommand,
} as const;
export type CommandName = keyof typeof COMMANDS;

export type FaultEffect =
  /** The command never reaches the table; this error comes back. */
  | { kind: 'error'; error: () => Error }
  /** The command takes effect, then this error comes back (the answer is lost or misleading). */
  | { kind: 'error-after-effect'; error: () => Error }
  /** BatchWriteItem: only the first `processed` requests are written, the rest come back unprocessed. */
  | { kind: 'unprocessed'; processed: number }
  /** BatchExecuteStatement: these statements (by index) answer this error code, not run; the rest run. */
  | { kind: 'statement-error'; code: string; statements: number[] };

export interface DynamoFault {
  command: CommandName;
  /** Which calls of that command count (default: all). */
  when?: (input: any) => boolean;
  /** Matching calls to let through before failing (default 0). */
  skip?: number;
  /** How many matching calls fail (default 1). */
  times?: number;
  effect: FaultEffect;
}

export const throttled = (): FaultEffect => ({
  kind: 'error',
  error: () =>
    new ProvisionedThroughputExceededException({
      message: 'The level of configured provisioned throughput for the table was exceeded.',
      $metadata: { httpStatusCode: 400 },
    }),
});

export const throttling = (): FaultEffect => ({
  kind: 'error',
  error: () =>
    new ThrottlingException({
      message: 'Throughput exceeds the current capacity of your table or index.',
      $metadata: { httpStatusCode: 400 },
    }),
});

/** A transaction cancelled; `reasons` per item, e.g. ['ConditionalCheckFailed', 'None']. */
export function transactionCanceled(reasons: string[], afterEffect = false): FaultEffect {
  const error = () =>
    new TransactionCanceledException({
      message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.join(', ')}]`,
      $metadata: { httpStatusCode: 400 },
      CancellationReasons: reasons.map((Code) => ({ Code })),
    });
  return afterEffect ? { kind: 'error-after-effect', error } : { kind: 'error', error };
}

interface Armed extends DynamoFault {
  skipped: number;
  failed: number;
}

export class FaultyDynamo {
  /** Give this to the system: every command goes through the fault plan. */
  readonly client: DynamoDBClient;
  private readonly real: DynamoDBClient;
  private readonly stub: ReturnType<typeof mockClient>;
  private faults: Armed[] = [];
  /** Every command sent, and whether it was failed. */
  readonly log: { command: CommandName; injected: boolean }[] = [];

  constructor(endpoint: string) {
    this.real = new DynamoDBClient({ endpoint });
    this.client = new DynamoDBClient({ endpoint });
    this.stub = mockClient(this.client);
    for (const [name, Command] of Object.entries(COMMANDS) as [CommandName, any][]) {
      this.stub.on(Command).callsFake((input: any) => this.dispatch(name, Command, input));
    }
  }

  /** A repository on the faulty client (no waiting between its own BatchWriteItem retries). */
  repository(tableName: string): PayoutRepository {
    return new PayoutRepository(this.client, tableName, { sleep: () => Promise.resolve() });
  }

  inject(fault: DynamoFault): void {
    this.faults.push({ ...fault, skipped: 0, failed: 0 });
  }

  /** How many injected failures of this command happened. */
  injected(command?: CommandName): number {
    return this.log.filter((c) => c.injected && (!command || c.command === command)).length;
  }

  /** Faults still waiting for a matching call. */
  pending(): number {
    return this.faults.filter((f) => f.failed < (f.times ?? 1)).length;
  }

  clear(): void {
    this.faults = [];
  }

  close(): void {
    this.stub.restore();
    this.client.destroy();
    this.real.destroy();
  }

  private async dispatch(name: CommandName, Command: any, input: any): Promise<unknown> {
    const fault = this.faults.find(
      (f) => f.command === name && f.failed < (f.times ?? 1) && (!f.when || f.when(input)),
    );
    if (fault && fault.skipped < (fault.skip ?? 0)) {
      fault.skipped += 1;
    } else if (fault) {
      fault.failed += 1;
      this.log.push({ command: name, injected: true });
      const { effect } = fault;
      if (effect.kind === 'error') throw effect.error();
      if (effect.kind === 'error-after-effect') {
        await this.real.send(new Command(input));
        throw effect.error();
      }
      if (effect.kind === 'statement-error')
        return this.partialStatements(input as BatchExecuteStatementCommandInput, effect);
      return this.partialBatchWrite(input as BatchWriteItemCommandInput, effect.processed);
    }
    this.log.push({ command: name, injected: false });
    return this.real.send(new Command(input));
  }

  private async partialStatements(
    input: BatchExecuteStatementCommandInput,
    effect: { code: string; statements: number[] },
  ): Promise<BatchExecuteStatementCommandOutput> {
    const statements = input.Statements ?? [];
    const run = statements.filter((_, n) => !effect.statements.includes(n));
    const ran = run.length
      ? ((await this.real.send(new BatchExecuteStatementCommand({ Statements: run }))).Responses ??
        [])
      : [];
    let next = 0;
    return {
      Responses: statements.map((_, n) =>
        effect.statements.includes(n)
          ? { Error: { Code: effect.code as 'ThrottlingError', Message: 'injected' } }
          : ran[next++]!,
      ),
      $metadata: { httpStatusCode: 200 },
    };
  }

  private async partialBatchWrite(
    input: BatchWriteItemCommandInput,
    processed: number,
  ): Promise<BatchWriteItemCommandOutput> {
    const [table, requests] = Object.entries(input.RequestItems ?? {})[0]!;
    const written = requests.slice(0, processed);
    if (written.length > 0)
      await this.real.send(new BatchWriteItemCommand({ RequestItems: { [table]: written } }));
    const rest = requests.slice(processed);
    return {
      UnprocessedItems: rest.length > 0 ? { [table]: rest } : {},
      $metadata: { httpStatusCode: 200 },
    };
  }
}

/** The sort key of the item a single-item command addresses. */
export const skOf = (input: any): string => input?.Key?.SK?.S ?? input?.Item?.SK?.S ?? '';
