/**
 * A caller's Idempotency-Key: claimed before a payout is written, committed with it, so a repeated
 * request finds the payout the first one made.
 */
import { toItem } from './attributes.js';
import { ExpressionBuilder } from './expressions.js';
import { keys, recordOf } from './keys.js';
import type { TableClient } from './table-client.js';

export interface IdempotencyRecord {
  /** The payout owner the key is scoped by (a team or a principal, never a session). */
  owner: string;
  key: string;
  requestHash: string;
  payoutId: string;
  state: 'PENDING' | 'COMMITTED';
  /** Until then the writer that claimed the key owns it; afterwards a retry may finish its work. */
  leaseUntil: string;
  createdAt: string;
  /**
   * The single-payout threshold the payout was planned with: a retry that finishes the first
   * writer's work plans the same batches (the same keys for the same recipients) even if the
   * setting changed in between.
   */
  singlePayoutMax?: number;
}

export type ClaimResult = { outcome: 'claimed' } | { outcome: 'exists'; record: IdempotencyRecord };

export interface IdempotencyStore {
  /** Claims a caller's idempotency key, or returns what already holds it (one conditional write). */
  claimIdempotency(record: IdempotencyRecord): Promise<ClaimResult>;
  getIdempotency(owner: string, key: string): Promise<IdempotencyRecord | undefined>;
  /** Takes over a pending key whose writer's lease ran out; false if someone else did first. */
  takeOverIdempotency(
    owner: string,
    key: string,
    expectedLeaseUntil: string,
    leaseUntil: string,
  ): Promise<boolean>;
  /** Forgets a key claimed by a request that was then refused (nothing else was written). */
  releaseIdempotency(owner: string, key: string, payoutId: string): Promise<void>;
}

export class DynamoIdempotencyStore implements IdempotencyStore {
  constructor(private readonly table: TableClient) {}

  async claimIdempotency(record: IdempotencyRecord): Promise<ClaimResult> {
    const written = await this.table.putIf({
      Item: toItem({
        ...keys.idempotency(record.owner, record.key),
        type: 'idempotency',
        ...record,
      }),
      ConditionExpression: 'attribute_not_exists(PK)',
      // One call: a refused claim answers with the record that holds the key.
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    if (written.applied) return { outcome: 'claimed' };
    // The condition fails only on an existing item, which ALL_OLD always returns.
    if (!written.old) throw new Error('idempotency key held, but DynamoDB returned no record');
    return { outcome: 'exists', record: recordOf<IdempotencyRecord>(written.old) };
  }

  async getIdempotency(owner: string, key: string): Promise<IdempotencyRecord | undefined> {
    const item = await this.table.get(keys.idempotency(owner, key), true);
    return item ? recordOf<IdempotencyRecord>(item) : undefined;
  }

  async takeOverIdempotency(
    owner: string,
    key: string,
    expectedLeaseUntil: string,
    leaseUntil: string,
  ): Promise<boolean> {
    const expr = new ExpressionBuilder();
    const written = await this.table.updateIf({
      Key: toItem(keys.idempotency(owner, key)),
      UpdateExpression: expr.update({ set: { leaseUntil } }),
      ConditionExpression: `${expr.name('state')} = ${expr.value('PENDING')} AND ${expr.name('leaseUntil')} = ${expr.value(expectedLeaseUntil)}`,
      ...expr.attributes(),
    });
    return written.applied;
  }

  async releaseIdempotency(owner: string, key: string, payoutId: string): Promise<void> {
    const expr = new ExpressionBuilder();
    await this.table.deleteIf({
      Key: toItem(keys.idempotency(owner, key)),
      ConditionExpression: `${expr.name('state')} = ${expr.value('PENDING')} AND ${expr.name('payoutId')} = ${expr.value(payoutId)}`,
      ...expr.attributes(),
    });
  }
}
