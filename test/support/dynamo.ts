/** A fresh table (from the shared definition) on the run's DynamoDB Local, per test file. */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { PayoutRepository } from '../../shared/store/payout-repository.js';
import { createTableInput } from '../../shared/store/table.js';

export async function createTestTable(prefix = 'payouts') {
  const endpoint = inject('dynamoEndpoint');
  const db = new DynamoDBClient({ endpoint });
  const tableName = `${prefix}-${randomUUID().slice(0, 8)}`;
  await db.send(new CreateTableCommand(createTableInput(tableName)));
  return { endpoint, db, tableName };
}

/** A repository on a client of its own that records the name of every command it sends. */
export function countingRepository(tableName: string, endpoint = inject('dynamoEndpoint')) {
  const counted = new DynamoDBClient({ endpoint });
  const commands: string[] = [];
  counted.middlewareStack.add(
    (next, context) => (args) => {
      commands.push(context.commandName ?? '');
      return next(args);
    },
    { step: 'initialize' },
  );
  return { repository: new PayoutRepository(counted, tableName), commands };
}
