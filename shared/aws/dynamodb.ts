/**
 * The payout table as a Lambda function reaches it: one DynamoDB client per container, the
 * table named by the configuration. Also the whole system of a function that only reads it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Config } from '../config.js';
import { PayoutRepository } from '../store/payout-repository.js';
import type { System } from '../system.js';
import { oncePerContainer, sdkClientSettings } from './client.js';
import { containerSystem } from './container.js';

const dynamoDb = oncePerContainer(() => new DynamoDBClient(sdkClientSettings));

export function tableRepository(config: Pick<Config, 'tableName'>): PayoutRepository {
  return new PayoutRepository(dynamoDb(), config.tableName);
}

/** The system of a function that reads the table and calls nothing else. */
export function tableReaderSystem(): () => System<'repository'> {
  return containerSystem((config) => ({ repository: tableRepository(config) }));
}
