/**
 * A cold-start floor: the smallest function that reads the table, the DynamoDB client and one
 * GetItem, built as the stack builds a function. Every handler that reads the table pays at least
 * this much to load.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';

const db = new DynamoDBClient({});

export const handler = async (event: { id: string }) =>
  db.send(
    new GetItemCommand({
      TableName: process.env.TABLE_NAME,
      Key: { PK: { S: event.id }, SK: { S: 'PAYOUT' } },
    }),
  );
