/**
 * A cold-start floor: the DynamoDB client with what every API handler here is made of (middy,
 * the Powertools logger and metrics, problem+json answers, the configuration checked with zod),
 * and no product code beyond that. A read handler's load above this is its own code.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { loadConfig } from '../../shared/config.js';
import { apiHandler } from '../../shared/http/api-handler.js';
import { json } from '../../shared/http/middleware.js';

const db = new DynamoDBClient({});

export const handler = apiHandler(async (event) => {
  const { tableName } = loadConfig();
  const got = await db.send(
    new GetItemCommand({
      TableName: tableName,
      Key: { PK: { S: event.pathParameters?.id ?? '' }, SK: { S: 'PAYOUT' } },
    }),
  );
  return json(200, { found: got.Item !== undefined });
});
