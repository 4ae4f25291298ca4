import { afterEach, describe, expect, it } from 'vitest';
import {
  assertJavaAvailable,
  JAVA_MISSING_MESSAGE,
  startDynamoDbLocal,
} from '../../infra/local/dynamodb-local.js';

const saved = { PATH: process.env.PATH, JAVA_HOME: process.env.JAVA_HOME };
afterEach(() => {
  process.env.PATH = saved.PATH;
  if (saved.JAVA_HOME === undefined) delete process.env.JAVA_HOME;
  else process.env.JAVA_HOME = saved.JAVA_HOME;
});

describe('DynamoDB Local without Java', () => {
  it('says how to install Java instead of failing obscurely', async () => {
    process.env.PATH = '/nonexistent';
    delete process.env.JAVA_HOME;
    expect(() => assertJavaAvailable()).toThrow(JAVA_MISSING_MESSAGE);
    await expect(startDynamoDbLocal()).rejects.toThrow(/openjdk-17-jre-headless/);
  });

  it('finds Java on the PATH here', () => {
    expect(() => assertJavaAvailable()).not.toThrow();
  });
});
