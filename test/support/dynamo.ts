/** A fresh table (from the shared definition) on the run's DynamoDB Local, per test file. */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { createTableInput } from '../../shared/store/table.js';

export async function createTestTable(prefix = 'payouts') {
  const endpoint = inject('dynamoEndpoint');
  const db = new DynamoDBClient({ endpoint });
  const tableName = `${prefix}-${randomUUID().slice(0, 8)}`;
  await db.send(new CreateTableCommand(createTableInput(tableName)));
  return { endpoint, db, tableName };
}
