import { beforeAll, describe, expect, it } from 'vitest';
import { fromItem, toItem } from '../../shared/store/attributes.js';
import { InvalidCursorError, TableClient } from '../../shared/store/table-client.js';
import { createTestTable } from '../support/dynamo.js';

let table: TableClient;

beforeAll(async () => {
  const { db, tableName } = await createTestTable('client');
  table = new TableClient(db, tableName);
});

const absent = 'attribute_not_exists(PK)';

describe('conditional writes', () => {
  it('answers false instead of throwing, with the refusing item when asked (ALL_OLD)', async () => {
    const item = toItem({ PK: 'CLAIM#a', SK: 'CLAIM', holder: 'first' });
    expect(await table.putIf({ Item: item, ConditionExpression: absent })).toEqual({
      applied: true,
    });
    const refused = await table.putIf({
      Item: toItem({ PK: 'CLAIM#a', SK: 'CLAIM', holder: 'second' }),
      ConditionExpression: absent,
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(refused.applied).toBe(false);
    expect(!refused.applied && refused.old && fromItem(refused.old).holder).toBe('first');
    expect(
      await table.putIf({ Item: item, ConditionExpression: absent }).then((r) => r.applied),
    ).toBe(false);
  });

  it('returns an update’s new attributes when asked', async () => {
    await table.put({ Item: toItem({ PK: 'COUNT#a', SK: 'COUNT', n: 1 }) });
    const written = await table.updateIf({
      Key: toItem({ PK: 'COUNT#a', SK: 'COUNT' }),
      UpdateExpression: 'SET n = n + :one',
      ConditionExpression: 'n = :one',
      ExpressionAttributeValues: { ':one': { N: '1' } },
      ReturnValues: 'ALL_NEW',
    });
    expect(written.applied && written.attributes && fromItem(written.attributes).n).toBe(2);
  });

  it('answers false for a transaction whose condition does not hold, and writes nothing', async () => {
    const applied = await table.transactIf([
      { Put: { Item: toItem({ PK: 'TX#a', SK: 'TX' }) } },
      {
        ConditionCheck: {
          Key: toItem({ PK: 'TX#missing', SK: 'TX' }),
          ConditionExpression: 'attribute_exists(PK)',
        },
      },
    ]);
    expect(applied).toBe(false);
    expect(await table.get({ PK: 'TX#a', SK: 'TX' })).toBeUndefined();
  });
});

describe('queries', () => {
  it('pages with an opaque cursor and refuses a cursor of another listing', async () => {
    await table.batchWrite(
      Array.from({ length: 7 }, (_, i) => ({
        PutRequest: { Item: toItem({ PK: 'LIST#a', SK: `ITEM#${i}`, i }) },
      })),
    );
    const query = {
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': { S: 'LIST#a' } },
    };
    const shape = { attributes: { PK: { equals: 'LIST#a' }, SK: { prefix: 'ITEM#' } } };
    const seen: unknown[] = [];
    let cursor: string | undefined;
    do {
      const page = await table.queryPage(
        query,
        { limit: 3, cursor, shape },
        (item) => fromItem(item).i,
      );
      seen.push(...page.items);
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(await table.queryAll(query)).toHaveLength(7);
    const foreign = Buffer.from(
      JSON.stringify({ PK: { S: 'LIST#b' }, SK: { S: 'ITEM#1' } }),
    ).toString('base64url');
    await expect(
      table.queryPage(query, { limit: 3, cursor: foreign, shape }, (item) => item),
    ).rejects.toBeInstanceOf(InvalidCursorError);
  });
});
