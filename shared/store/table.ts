/**
 * The single table's shape, in one place: the CDK stack, the local stack and the tests all build
 * the table from this definition.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export const TABLE = {
  partitionKey: 'PK',
  sortKey: 'SK',
  /** Epoch seconds after which DynamoDB may delete the item (webhook dedupe records). */
  ttlAttribute: 'expiresAt',
  indexes: {
    /** Withdrawals by the caller's externalId, across payouts (sparse). */
    byExternalId: { name: 'byExternalId', partitionKey: 'GSI1PK', sortKey: 'GSI1SK' },
    /** Batches that are not final, by due time; partition key sharded (sparse). */
    openBatches: { name: 'openBatches', partitionKey: 'GSI2PK', sortKey: 'GSI2SK' },
    /** Payouts awaiting approval, oldest first (sparse; small). */
    pendingApproval: { name: 'pendingApproval', partitionKey: 'GSI3PK', sortKey: 'GSI3SK' },
    /** An owner's payouts by creation time (GET /payouts for everyone but auditors). */
    byOwner: { name: 'byOwner', partitionKey: 'GSI4PK', sortKey: 'GSI4SK' },
    /** Every payout by creation time, in one partition (GET /payouts for auditors). */
    allPayouts: { name: 'allPayouts', partitionKey: 'GSI5PK', sortKey: 'GSI5SK' },
  },
  /** Shards of the open-batch index: the reconciler queries each, so no partition runs hot. */
  openBatchShards: 8,
} as const;

export interface IndexDefinition {
  name: string;
  partitionKey: string;
  sortKey: string;
}

export const INDEXES: IndexDefinition[] = Object.values(TABLE.indexes);

/** The CreateTable request for DynamoDB Local and tests (the CDK stack maps the same fields). */
export function createTableInput(tableName: string): CreateTableCommandInput {
  const keyAttributes = [
    TABLE.partitionKey,
    TABLE.sortKey,
    ...INDEXES.flatMap((index) => [index.partitionKey, index.sortKey]),
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: keyAttributes.map((name) => ({
      AttributeName: name,
      AttributeType: 'S',
    })),
    KeySchema: [
      { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: INDEXES.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
  };
}
