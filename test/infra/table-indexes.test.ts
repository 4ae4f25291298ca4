/** The table's indexes in CloudFormation, and leaving some out for a stage that adds them one by one. */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { payoutTable } from '../../infra/stack.js';
import { INDEXES } from '../../shared/store/table.js';

function indexNames(deferIndexes: string[]): string[] {
  const stack = new Stack(new App(), 'Indexes');
  payoutTable(stack, deferIndexes);
  const tables = Template.fromStack(stack).findResources('AWS::DynamoDB::Table');
  const [table] = Object.values(tables);
  return (table!.Properties.GlobalSecondaryIndexes as { IndexName: string }[]).map(
    (i) => i.IndexName,
  );
}

describe('the table definition in CloudFormation', () => {
  it('has every index of the shared definition', () => {
    expect(indexNames([])).toEqual(INDEXES.map((i) => i.name));
  });

  it('leaves the deferred indexes out, and only those', () => {
    expect(indexNames(['byOwner', 'allPayouts'])).toEqual(
      INDEXES.map((i) => i.name).filter((n) => n !== 'byOwner' && n !== 'allPayouts'),
    );
  });
});
