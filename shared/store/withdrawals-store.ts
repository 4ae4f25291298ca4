/**
 * A payout's withdrawals (one payment each), in its partition by batch and position, and across
 * payouts by the caller's externalId.
 */
import type { WithdrawalRecord } from '../domain/payout.js';
import { toItem, type Item } from './attributes.js';
import { ExpressionBuilder } from './expressions.js';
import { keys, recordOf } from './keys.js';
import { TABLE } from './table.js';
import type { Page, TableClient } from './table-client.js';

export interface WithdrawalUpdate {
  withdrawal: Pick<WithdrawalRecord, 'payoutId' | 'batchIndex' | 'position'>;
  set: Partial<WithdrawalRecord> & { updatedAt: string };
  expectedState: string;
}

/** Requests of 25 updates in flight at once: a first look may change a thousand withdrawals. */
const UPDATE_REQUESTS_IN_FLIGHT = 4;

export interface WithdrawalStore {
  listBatchWithdrawals(payoutId: string, batchIndex: number): Promise<WithdrawalRecord[]>;
  /** A page of a payout's withdrawals in request order, optionally of one state. */
  listWithdrawals(
    payoutId: string,
    options: { state?: string; limit: number; cursor?: string },
  ): Promise<Page<WithdrawalRecord>>;
  /** The withdrawal of one batch with this externalId (one small index query). */
  findBatchWithdrawalByExternalId(
    payoutId: string,
    batchIndex: number,
    externalId: string,
  ): Promise<WithdrawalRecord | undefined>;
  /** Withdrawals with this externalId, across payouts; only the owner's when one is given. */
  findWithdrawalsByExternalId(
    externalId: string,
    options: { limit: number; cursor?: string; owner?: string },
  ): Promise<Page<WithdrawalRecord>>;
  /**
   * Updates many withdrawals, each only if it is still in its `expectedState`, 25 to a request;
   * answers, in order, which applied (false: someone moved it first).
   */
  updateWithdrawals(updates: WithdrawalUpdate[]): Promise<boolean[]>;
  /** Updates one withdrawal if it is still in `expectedState`; false if someone moved it first. */
  updateWithdrawal(
    w: Pick<WithdrawalRecord, 'payoutId' | 'batchIndex' | 'position'>,
    set: Partial<WithdrawalRecord> & { updatedAt: string },
    expectedState: string,
  ): Promise<boolean>;
}

const EXTERNAL_ID_INDEX = TABLE.indexes.byExternalId;

/** A withdrawal's item, in the externalId index when it has one (written with its payout). */
export function withdrawalItem(withdrawal: WithdrawalRecord): Item {
  const key = keys.withdrawal(withdrawal.payoutId, withdrawal.batchIndex, withdrawal.position);
  const byExternalId = withdrawal.externalId
    ? {
        [EXTERNAL_ID_INDEX.partitionKey]: keys.externalId(withdrawal.externalId),
        [EXTERNAL_ID_INDEX.sortKey]: `${keys.payoutPartition(withdrawal.payoutId)}#${key.SK}`,
      }
    : {};
  return toItem({ ...key, type: 'withdrawal', ...byExternalId, ...withdrawal });
}

export class DynamoWithdrawalStore implements WithdrawalStore {
  constructor(private readonly table: TableClient) {}

  async listBatchWithdrawals(payoutId: string, batchIndex: number): Promise<WithdrawalRecord[]> {
    const items = await this.table.queryAll({
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: {
        ':pk': { S: keys.payoutPartition(payoutId) },
        ':prefix': { S: keys.withdrawalBatchPrefix(batchIndex) },
      },
      ConsistentRead: true,
    });
    return items.map((item) => recordOf<WithdrawalRecord>(item));
  }

  async listWithdrawals(
    payoutId: string,
    options: { state?: string; limit: number; cursor?: string },
  ): Promise<Page<WithdrawalRecord>> {
    const partition = keys.payoutPartition(payoutId);
    const expr = new ExpressionBuilder();
    return this.table.queryPage(
      {
        KeyConditionExpression: `PK = ${expr.value(partition)} AND begins_with(SK, ${expr.value(keys.withdrawalPrefix)})`,
        ...(options.state
          ? { FilterExpression: `${expr.name('state')} = ${expr.value(options.state)}` }
          : {}),
        ...expr.attributes(),
      },
      {
        limit: options.limit,
        cursor: options.cursor,
        shape: { attributes: { PK: { equals: partition }, SK: { prefix: keys.withdrawalPrefix } } },
      },
      (item) => recordOf<WithdrawalRecord>(item),
    );
  }

  async findBatchWithdrawalByExternalId(
    payoutId: string,
    batchIndex: number,
    externalId: string,
  ): Promise<WithdrawalRecord | undefined> {
    const index = EXTERNAL_ID_INDEX;
    const [item] = await this.table.query({
      IndexName: index.name,
      KeyConditionExpression: `${index.partitionKey} = :pk AND begins_with(${index.sortKey}, :prefix)`,
      ExpressionAttributeValues: {
        ':pk': { S: keys.externalId(externalId) },
        ':prefix': {
          S: `${keys.payoutPartition(payoutId)}#${keys.withdrawalBatchPrefix(batchIndex)}`,
        },
      },
      Limit: 1,
    });
    return item ? recordOf<WithdrawalRecord>(item) : undefined;
  }

  async findWithdrawalsByExternalId(
    externalId: string,
    options: { limit: number; cursor?: string; owner?: string },
  ): Promise<Page<WithdrawalRecord>> {
    const index = EXTERNAL_ID_INDEX;
    const partition = keys.externalId(externalId);
    const expr = new ExpressionBuilder();
    return this.table.queryPage(
      {
        IndexName: index.name,
        KeyConditionExpression: `${index.partitionKey} = ${expr.value(partition)}`,
        ...(options.owner !== undefined
          ? { FilterExpression: `${expr.name('owner')} = ${expr.value(options.owner)}` }
          : {}),
        ...expr.attributes(),
      },
      {
        limit: options.limit,
        cursor: options.cursor,
        shape: {
          attributes: {
            [index.partitionKey]: { equals: partition },
            [index.sortKey]: { prefix: 'PAYOUT#' },
            PK: { prefix: 'PAYOUT#' },
            SK: { prefix: keys.withdrawalPrefix },
          },
        },
      },
      (item) => recordOf<WithdrawalRecord>(item),
    );
  }

  updateWithdrawals(updates: WithdrawalUpdate[]): Promise<boolean[]> {
    return this.table.updateEach(
      updates.map(({ withdrawal: w, set, expectedState }) => ({
        key: keys.withdrawal(w.payoutId, w.batchIndex, w.position),
        set,
        where: { state: expectedState },
      })),
      UPDATE_REQUESTS_IN_FLIGHT,
    );
  }

  async updateWithdrawal(
    w: Pick<WithdrawalRecord, 'payoutId' | 'batchIndex' | 'position'>,
    set: Partial<WithdrawalRecord> & { updatedAt: string },
    expectedState: string,
  ): Promise<boolean> {
    return this.table.updateWhere({
      key: keys.withdrawal(w.payoutId, w.batchIndex, w.position),
      set,
      where: { state: expectedState },
    });
  }
}
