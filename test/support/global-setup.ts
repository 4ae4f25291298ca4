/**
 * Vitest global setup: one DynamoDB Local for the whole run, on a free loopback port.
 * Tests read its endpoint with `inject('dynamoEndpoint')`.
 */
import type { TestProject } from 'vitest/node';
import './provided-context.js';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../infra/local/dynamodb-local.js';

let dynamo: DynamoDbLocal | undefined;

export async function setup(project: TestProject) {
  dynamo = await startDynamoDbLocal();
  project.provide('dynamoEndpoint', dynamo.endpoint);
}

export async function teardown() {
  await dynamo?.stop();
}
