import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, inject, it } from 'vitest';

describe('DynamoDB Local harness', () => {
  it('serves a real DynamoDB API on a loopback port', async () => {
    const endpoint = inject('dynamoEndpoint');
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = new DynamoDBClient({ endpoint });
    const table = `harness-${Date.now()}`;
    await client.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: { pk: { S: 'a' }, v: { N: '123456789.123456789012345678' } },
      }),
    );
    const got = await client.send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: 'a' } } }),
    );
    expect(got.Item?.v?.N).toBe('123456789.123456789012345678');
    client.destroy();
  });
});
