/**
 * Payouts and their batches: the payout item and each batch item in the payout's partition, the
 * pointers from Calypso's references to a batch, and the indexes that list payouts (by owner,
 * everyone's, awaiting approval) and the batches due for a look.
 */
import type { WriteRequest } from '@aws-sdk/client-dynamodb';
import {
  payoutCreated,
  type BatchRecord,
  type PayoutRecord,
  type PayoutState,
  type RetryClaim,
  type WithdrawalRecord,
} from '../domain/payout.js';
import { toItem, type Item } from './attributes.js';
import { auditItem } from './audit-store.js';
import { ExpressionBuilder, type UpdateSpec } from './expressions.js';
import { keys, recordOf } from './keys.js';
import { TABLE } from './table.js';
import {
  isConditionFailure,
  type Page,
  type QueryInput,
  type TableClient,
} from './table-client.js';
import { withdrawalItem } from './withdrawals-store.js';

/** Which payout and batch a Calypso reference points at. */
export interface BatchPointer {
  payoutId: string;
  batchIndex: number;
}

/** A batch's update: what it sets (always its update time), removes and adds. */
export type BatchUpdate = UpdateSpec & { set: Partial<BatchRecord> & { updatedAt: string } };

/** What a batch must still be for an update to apply. */
export interface BatchCondition {
  status: BatchRecord['status'][];
  /** null: Calypso's state was not known yet when the batch was read. */
  calypsoState?: string | null;
  /** The batch exactly as read: no other write in between (a read-modify-write of a list). */
  updatedAt?: string;
}

/** Which payouts a listing shows, and which page. */
export interface PayoutListing {
  owner?: string;
  state?: string;
  stuck?: boolean;
  createdAfter?: string;
  limit: number;
  cursor?: string;
}

export interface PayoutStore {
  /**
   * Writes a payout's batches and withdrawals before it is committed. Idempotent: the same
   * payout written twice yields the same items. Until commitPayout succeeds nothing submits them.
   * Returns the number of BatchWriteItem calls.
   */
  writePayoutParts(batches: BatchRecord[], withdrawals: WithdrawalRecord[]): Promise<number>;
  /**
   * Makes the payout visible and its batches submittable, atomically with marking the caller's
   * idempotency key committed, and with its first audit entry (who created it). Returns false when
   * the payout was already committed.
   */
  commitPayout(payout: PayoutRecord): Promise<boolean>;
  getPayout(id: string): Promise<PayoutRecord | undefined>;
  /** The payout and all its batches in one query. */
  getPayoutWithBatches(
    id: string,
  ): Promise<{ payout: PayoutRecord; batches: BatchRecord[] } | undefined>;
  getBatch(payoutId: string, index: number): Promise<BatchRecord | undefined>;
  /**
   * Claims a batch for a create attempt. Returns the batch as claimed, or undefined when it is not
   * ours to submit.
   */
  beginSubmission(
    payoutId: string,
    index: number,
    now: Date,
    leaseMs: number,
  ): Promise<BatchRecord | undefined>;
  /** Applies an update to a batch, keeping the open-batch index entry in step. */
  updateBatch(
    payoutId: string,
    index: number,
    spec: BatchUpdate,
    condition?: BatchCondition,
  ): Promise<boolean>;
  /** Moves the payout's stored state from `from` to `to`; false if someone moved it first. */
  setPayoutState(payoutId: string, from: PayoutState, to: PayoutState, now: Date): Promise<boolean>;
  /**
   * Takes the batch's prompt look (a payment's final webhook asking for a look at once): true
   * when the batch is submitted and no prompt look was taken after `notAfter`; `at` is recorded.
   * Touches nothing else on the batch, so no other writer's condition is disturbed.
   */
  claimPromptLook(payoutId: string, index: number, at: string, notAfter: string): Promise<boolean>;
  /** Stores whether any of the payout's batches is stuck (for the `stuck` listing filter). */
  setPayoutStuck(payoutId: string, stuck: boolean): Promise<boolean>;
  /** A page of payouts, newest first: one owner's or, without an owner, everyone's. */
  listPayouts(options: PayoutListing): Promise<Page<PayoutRecord>>;
  /**
   * The payout and batch a Calypso idempotencyKey belongs to (for webhooks). A pointer never
   * changes once written, so one found is kept for the store's life: a batch's webhooks read it
   * once per container, not once per event.
   */
  resolveProviderKey(idempotencyKey: string): Promise<BatchPointer | undefined>;
  /** The payout and batch a Calypso mass payout id belongs to (for webhooks without a key). */
  resolveProviderId(calypsoId: string): Promise<BatchPointer | undefined>;
  /** Records which batch Calypso's mass payout id belongs to (written once Calypso answers). */
  putProviderId(calypsoId: string, pointer: BatchPointer): Promise<void>;
  /** Open batches of one shard whose next look is due, oldest first. */
  listDueBatches(shard: number, now: Date, limit: number): Promise<BatchRecord[]>;
  /** Records one approval, optimistic on the approvals read: false when something got in first. */
  addApproval(
    payoutId: string,
    seen: number,
    approval: { principal: string; session?: string; at: string },
    completes: boolean,
  ): Promise<boolean>;
  /** Fences a payout off from submission for good (`hold = canceled`), if it still may be. */
  fenceForCancel(
    payoutId: string,
    cancellation: NonNullable<PayoutRecord['cancellation']>,
    only?: 'approval',
  ): Promise<boolean>;
  /** Takes a cancel fence away again (something had been sent before it went up). */
  liftCancelFence(payoutId: string, restore: PayoutRecord['hold'], at: string): Promise<void>;
  /** Payouts awaiting approval, oldest first (a small sparse index). */
  listPendingApproval(options: { limit: number; cursor?: string }): Promise<Page<PayoutRecord>>;
  /** Claims the one retry of a payout's failed payments; the claim that holds. */
  claimRetry(
    payoutId: string,
    claim: RetryClaim,
  ): Promise<{ claimed: boolean; claim: RetryClaim } | undefined>;
  /** Links a retry payout to its original. */
  addRetriedBy(payoutId: string, retryPayoutId: string, now: Date): Promise<void>;
}

const APPROVAL_INDEX = TABLE.indexes.pendingApproval;
const OPEN_INDEX = TABLE.indexes.openBatches;

/**
 * The fixed tail of a payout's first audit entry's sort key: fixed, so a second writer of the same
 * payout cannot add a second one; all zeros, so it sorts before any entry of the same instant
 * (their tails are random hex of the same length).
 */
const CREATED_AUDIT_SUFFIX = '000000000000';

function batchItem(batch: BatchRecord): Item {
  const open =
    batch.status !== 'REJECTED' &&
    batch.status !== 'FINAL' &&
    batch.status !== 'CANCELED' &&
    batch.status !== 'UNFUNDED' &&
    batch.nextLookAt
      ? keys.openBatch(batch.payoutId, batch.index, batch.nextLookAt)
      : {};
  return toItem({ ...keys.batch(batch.payoutId, batch.index), type: 'batch', ...open, ...batch });
}

/** Pointers kept per store: a few hundred bytes each, far more than one container's batches. */
const POINTERS_KEPT = 10_000;

export class DynamoPayoutStore implements PayoutStore {
  /** Pointers found, by item key: written once and never changed, so never stale. */
  private readonly pointers = new Map<string, BatchPointer>();

  constructor(private readonly table: TableClient) {}

  async writePayoutParts(batches: BatchRecord[], withdrawals: WithdrawalRecord[]): Promise<number> {
    const requests: WriteRequest[] = [
      ...batches.map((b) => ({ PutRequest: { Item: batchItem(b) } })),
      ...batches.map((b) => ({
        PutRequest: {
          Item: toItem({
            ...keys.providerKey(b.idempotencyKey),
            type: 'provider-key',
            payoutId: b.payoutId,
            batchIndex: b.index,
          }),
        },
      })),
      ...withdrawals.map((w) => ({ PutRequest: { Item: withdrawalItem(w) } })),
    ];
    return this.table.batchWrite(requests);
  }

  async commitPayout(payout: PayoutRecord): Promise<boolean> {
    const idem = new ExpressionBuilder();
    try {
      await this.table.transact([
        {
          Put: {
            Item: toItem({
              ...keys.payout(payout.id),
              type: 'payout',
              ...keys.payoutListing(payout.owner, payout.createdAt, payout.id),
              ...(payout.hold === 'approval'
                ? keys.pendingApprovalEntry(payout.createdAt, payout.id)
                : {}),
              ...payout,
            }),
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
        {
          Update: {
            Key: toItem(keys.idempotency(payout.owner, payout.idempotencyKey)),
            UpdateExpression: idem.update({ set: { state: 'COMMITTED' } }),
            ConditionExpression: `${idem.name('requestHash')} = ${idem.value(payout.requestHash)} AND ${idem.name('payoutId')} = ${idem.value(payout.id)}`,
            ...idem.attributes(),
          },
        },
        { Put: { Item: auditItem(payoutCreated(payout), CREATED_AUDIT_SUFFIX) } },
      ]);
      return true;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      if (await this.getPayout(payout.id)) return false;
      throw err;
    }
  }

  async getPayout(id: string): Promise<PayoutRecord | undefined> {
    const item = await this.table.get(keys.payout(id), true);
    return item ? recordOf<PayoutRecord>(item) : undefined;
  }

  /** One query: SK from BATCH# up to PAYOUT. */
  async getPayoutWithBatches(
    id: string,
  ): Promise<{ payout: PayoutRecord; batches: BatchRecord[] } | undefined> {
    const items = await this.table.queryAll({
      KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': { S: keys.payoutPartition(id) },
        ':from': { S: keys.batchPrefix },
        ':to': { S: keys.payout(id).SK },
      },
      ConsistentRead: true,
    });
    let payout: PayoutRecord | undefined;
    const batches: BatchRecord[] = [];
    for (const item of items) {
      if (item.type?.S === 'payout') payout = recordOf<PayoutRecord>(item);
      else if (item.type?.S === 'batch') batches.push(recordOf<BatchRecord>(item));
    }
    return payout ? { payout, batches } : undefined;
  }

  async getBatch(payoutId: string, index: number): Promise<BatchRecord | undefined> {
    const item = await this.table.get(keys.batch(payoutId, index), true);
    return item ? recordOf<BatchRecord>(item) : undefined;
  }

  /**
   * PENDING, AWAITING_FUNDS, or SUBMITTING whose previous attempt's lease ran out, becomes
   * SUBMITTING with one more attempt. Only for a committed payout.
   */
  async beginSubmission(
    payoutId: string,
    index: number,
    now: Date,
    leaseMs: number,
  ): Promise<BatchRecord | undefined> {
    const expr = new ExpressionBuilder();
    const nowIso = now.toISOString();
    const staleBefore = new Date(now.getTime() - leaseMs).toISOString();
    const nextLookAt = new Date(now.getTime() + leaseMs).toISOString();
    const update = expr.update({
      set: {
        status: 'SUBMITTING',
        submittingSince: nowIso,
        updatedAt: nowIso,
        nextLookAt,
        ...keys.openBatch(payoutId, index, nextLookAt),
      },
      add: { attempts: 1 },
    });
    const status = expr.name('status');
    const since = expr.name('submittingSince');
    const condition = `${status} IN (${expr.value('PENDING')}, ${expr.value('AWAITING_FUNDS')}) OR (${status} = ${expr.value('SUBMITTING')} AND ${since} < ${expr.value(staleBefore)})`;
    const claimed = await this.table.transactIf([
      {
        // Committed, not held for approval, not cancelled: checked in the same transaction
        // as the claim, so a cancel or a hold that wins the race stops the call.
        ConditionCheck: {
          Key: toItem(keys.payout(payoutId)),
          ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(#hold)',
          ExpressionAttributeNames: { '#hold': 'hold' },
        },
      },
      {
        // Not paused (the emergency stop).
        ConditionCheck: {
          Key: toItem(keys.pause()),
          ConditionExpression: 'attribute_not_exists(#paused) OR #paused = :no',
          ExpressionAttributeNames: { '#paused': 'paused' },
          ExpressionAttributeValues: { ':no': { BOOL: false } },
        },
      },
      {
        Update: {
          Key: toItem(keys.batch(payoutId, index)),
          UpdateExpression: update,
          ConditionExpression: condition,
          ...expr.attributes(),
        },
      },
    ]);
    return claimed ? this.getBatch(payoutId, index) : undefined;
  }

  async updateBatch(
    payoutId: string,
    index: number,
    spec: BatchUpdate,
    condition?: BatchCondition,
  ): Promise<boolean> {
    const expr = new ExpressionBuilder();
    const set: Record<string, unknown> = { ...spec.set };
    const remove = [...(spec.remove ?? [])];
    // A REJECTED batch given a next look stays open until that confirming look; an UNFUNDED one
    // until its payments are recorded FAILED.
    const closes =
      set.status === 'FINAL' ||
      set.status === 'CANCELED' ||
      ((set.status === 'REJECTED' || set.status === 'UNFUNDED') && set.nextLookAt === undefined);
    if (closes) {
      remove.push('nextLookAt', OPEN_INDEX.partitionKey, OPEN_INDEX.sortKey);
      delete set.nextLookAt;
    } else if (typeof set.nextLookAt === 'string') {
      Object.assign(set, keys.openBatch(payoutId, index, set.nextLookAt));
    }
    const update = expr.update({ set, remove, ...(spec.add ? { add: spec.add } : {}) });
    let conditionExpression = condition
      ? `${expr.name('status')} IN (${condition.status.map((s) => expr.value(s)).join(', ')})`
      : 'attribute_exists(PK)';
    if (condition?.calypsoState !== undefined) {
      // null: Calypso's state was not known yet when the batch was read.
      conditionExpression +=
        condition.calypsoState === null
          ? ` AND attribute_not_exists(${expr.name('calypsoState')})`
          : ` AND ${expr.name('calypsoState')} = ${expr.value(condition.calypsoState)}`;
    }
    if (condition?.updatedAt !== undefined) {
      conditionExpression += ` AND ${expr.name('updatedAt')} = ${expr.value(condition.updatedAt)}`;
    }
    const written = await this.table.updateIf({
      Key: toItem(keys.batch(payoutId, index)),
      UpdateExpression: update,
      ConditionExpression: conditionExpression,
      ...expr.attributes(),
    });
    return written.applied;
  }

  async setPayoutState(
    payoutId: string,
    from: PayoutState,
    to: PayoutState,
    now: Date,
  ): Promise<boolean> {
    const expr = new ExpressionBuilder();
    const written = await this.table.updateIf({
      Key: toItem(keys.payout(payoutId)),
      UpdateExpression: expr.update({ set: { state: to, updatedAt: now.toISOString() } }),
      ConditionExpression: `${expr.name('state')} = ${expr.value(from)}`,
      ...expr.attributes(),
    });
    return written.applied;
  }

  async claimPromptLook(
    payoutId: string,
    index: number,
    at: string,
    notAfter: string,
  ): Promise<boolean> {
    const expr = new ExpressionBuilder();
    const promptLookAt = expr.name('promptLookAt');
    const written = await this.table.updateIf({
      Key: toItem(keys.batch(payoutId, index)),
      UpdateExpression: expr.update({ set: { promptLookAt: at } }),
      ConditionExpression: `${expr.name('status')} = ${expr.value('SUBMITTED')} AND (attribute_not_exists(${promptLookAt}) OR ${promptLookAt} <= ${expr.value(notAfter)})`,
      ...expr.attributes(),
    });
    return written.applied;
  }

  async setPayoutStuck(payoutId: string, stuck: boolean): Promise<boolean> {
    const expr = new ExpressionBuilder();
    const written = await this.table.updateIf({
      Key: toItem(keys.payout(payoutId)),
      UpdateExpression: expr.update({ set: { stuck } }),
      ConditionExpression: 'attribute_exists(PK)',
      ...expr.attributes(),
    });
    return written.applied;
  }

  /**
   * One owner's (the byOwner index) or everyone's (the allPayouts index). Never a scan; filters
   * thin the pages, the table client refills them.
   */
  async listPayouts(options: PayoutListing): Promise<Page<PayoutRecord>> {
    const index = options.owner !== undefined ? TABLE.indexes.byOwner : TABLE.indexes.allPayouts;
    const partition =
      options.owner !== undefined ? keys.ownerPartition(options.owner) : keys.allPayoutsPartition;
    const expr = new ExpressionBuilder();
    let keyCondition = `${expr.name(index.partitionKey)} = ${expr.value(partition)}`;
    // Sort keys are `<createdAt>#<id>`: `createdAt#~` sorts after every id of that instant.
    if (options.createdAfter !== undefined)
      keyCondition += ` AND ${expr.name(index.sortKey)} > ${expr.value(`${options.createdAfter}#~`)}`;
    const filters: string[] = [];
    if (options.state !== undefined)
      filters.push(`${expr.name('state')} = ${expr.value(options.state)}`);
    if (options.stuck === true) filters.push(`${expr.name('stuck')} = ${expr.value(true)}`);
    const base: QueryInput = {
      IndexName: index.name,
      KeyConditionExpression: keyCondition,
      ScanIndexForward: false,
      ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
      ...expr.attributes(),
    };
    return this.table.queryPage(
      base,
      { limit: options.limit, cursor: options.cursor, shape: payoutCursor(index, partition) },
      (item) => recordOf<PayoutRecord>(item),
    );
  }

  async resolveProviderKey(idempotencyKey: string): Promise<BatchPointer | undefined> {
    return this.getPointer(keys.providerKey(idempotencyKey));
  }

  async resolveProviderId(calypsoId: string): Promise<BatchPointer | undefined> {
    return this.getPointer(keys.providerId(calypsoId));
  }

  async putProviderId(calypsoId: string, pointer: BatchPointer): Promise<void> {
    await this.table.put({
      Item: toItem({ ...keys.providerId(calypsoId), type: 'provider-id', ...pointer }),
    });
  }

  /** Read once, then kept; one not found is read again next time (it may be written since). */
  private async getPointer(key: { PK: string; SK: string }): Promise<BatchPointer | undefined> {
    const name = `${key.PK}\u0000${key.SK}`;
    const kept = this.pointers.get(name);
    if (kept) return { ...kept };
    const item = await this.table.get(key);
    if (!item) return undefined;
    const { payoutId, batchIndex } = recordOf<BatchPointer>(item);
    if (this.pointers.size >= POINTERS_KEPT) {
      // The oldest goes first (a Map keeps insertion order).
      this.pointers.delete(this.pointers.keys().next().value!);
    }
    this.pointers.set(name, { payoutId, batchIndex });
    return { payoutId, batchIndex };
  }

  async listDueBatches(shard: number, now: Date, limit: number): Promise<BatchRecord[]> {
    const items = await this.table.query({
      IndexName: OPEN_INDEX.name,
      KeyConditionExpression: `${OPEN_INDEX.partitionKey} = :pk AND ${OPEN_INDEX.sortKey} <= :due`,
      ExpressionAttributeValues: {
        ':pk': { S: keys.openShard(shard) },
        // Every sort key starting with a time up to now sorts before this.
        ':due': { S: `${now.toISOString()}#~` },
      },
      Limit: limit,
    });
    return items.map((item) => recordOf<BatchRecord>(item));
  }

  /**
   * Optimistic on the approvals read: false when another approval, a cancel or the expiry got in
   * first (read again and retry). The last approval needed lifts the hold in the same write, and
   * takes the payout out of the pending-approval index; its held batches are released next (or by
   * the reconciler, at the latest by the approval deadline).
   */
  async addApproval(
    payoutId: string,
    seen: number,
    approval: { principal: string; session?: string; at: string },
    completes: boolean,
  ): Promise<boolean> {
    const expr = new ExpressionBuilder();
    const approvals = `${expr.name('approval')}.${expr.name('approvals')}`;
    const sets = [
      `${approvals} = list_append(${approvals}, ${expr.value([approval])})`,
      `${expr.name('updatedAt')} = ${expr.value(approval.at)}`,
    ];
    const update =
      `SET ${sets.join(', ')}` +
      (completes
        ? ` REMOVE ${expr.name('hold')}, ${expr.name(APPROVAL_INDEX.partitionKey)}, ${expr.name(APPROVAL_INDEX.sortKey)}`
        : '');
    const written = await this.table.updateIf({
      Key: toItem(keys.payout(payoutId)),
      UpdateExpression: update,
      ConditionExpression: `${expr.name('hold')} = ${expr.value('approval')} AND size(${approvals}) = ${expr.value(seen)}`,
      ...expr.attributes(),
    });
    return written.applied;
  }

  /**
   * If it is still held for approval or accepted and not yet fenced. False when it is already
   * cancelled, or was never held and is past acceptance.
   */
  async fenceForCancel(
    payoutId: string,
    cancellation: NonNullable<PayoutRecord['cancellation']>,
    /** `approval`: only while it still awaits approval (the expiry never cancels an approved one). */
    only?: 'approval',
  ): Promise<boolean> {
    const expr = new ExpressionBuilder();
    const hold = expr.name('hold');
    const allowed =
      only === 'approval'
        ? `${hold} = ${expr.value('approval')}`
        : `(attribute_not_exists(${hold}) OR ${hold} = ${expr.value('approval')})`;
    const written = await this.table.updateIf({
      Key: toItem(keys.payout(payoutId)),
      UpdateExpression: expr.update({
        set: { hold: 'canceled', cancellation, updatedAt: cancellation.at },
        remove: [APPROVAL_INDEX.partitionKey, APPROVAL_INDEX.sortKey],
      }),
      ConditionExpression: `attribute_exists(PK) AND ${allowed}`,
      ...expr.attributes(),
    });
    return written.applied;
  }

  async liftCancelFence(payoutId: string, restore: PayoutRecord['hold'], at: string) {
    const expr = new ExpressionBuilder();
    await this.table.updateIf({
      Key: toItem(keys.payout(payoutId)),
      UpdateExpression: expr.update({
        set: { updatedAt: at, ...(restore ? { hold: restore } : {}) },
        remove: restore ? ['cancellation'] : ['cancellation', 'hold'],
      }),
      ConditionExpression: `${expr.name('hold')} = ${expr.value('canceled')}`,
      ...expr.attributes(),
    });
  }

  async listPendingApproval(options: {
    limit: number;
    cursor?: string;
  }): Promise<Page<PayoutRecord>> {
    return this.table.queryPage(
      {
        IndexName: APPROVAL_INDEX.name,
        KeyConditionExpression: `${APPROVAL_INDEX.partitionKey} = :pk`,
        ExpressionAttributeValues: { ':pk': { S: keys.pendingApproval } },
      },
      {
        limit: options.limit,
        cursor: options.cursor,
        shape: payoutCursor(APPROVAL_INDEX, keys.pendingApproval),
      },
      (item) => recordOf<PayoutRecord>(item),
    );
  }

  /**
   * A conditional write on the original that only the first claim passes. Returns the claim that
   * holds (this one, or the earlier one, read from the same call's ALL_OLD answer).
   */
  async claimRetry(
    payoutId: string,
    claim: RetryClaim,
  ): Promise<{ claimed: boolean; claim: RetryClaim } | undefined> {
    const expr = new ExpressionBuilder();
    const written = await this.table.updateIf({
      Key: toItem(keys.payout(payoutId)),
      UpdateExpression: expr.update({ set: { retryClaim: claim } }),
      ConditionExpression: `attribute_exists(PK) AND attribute_not_exists(${expr.name('retryClaim')})`,
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      ...expr.attributes(),
    });
    if (written.applied) return { claimed: true, claim };
    const old = written.old ? recordOf<PayoutRecord>(written.old) : undefined;
    return old?.retryClaim ? { claimed: false, claim: old.retryClaim } : undefined;
  }

  async addRetriedBy(payoutId: string, retryPayoutId: string, now: Date): Promise<void> {
    const expr = new ExpressionBuilder();
    const list = expr.name('retriedBy');
    const update = `SET ${list} = list_append(if_not_exists(${list}, ${expr.value([])}), ${expr.value([retryPayoutId])}), ${expr.name('updatedAt')} = ${expr.value(now.toISOString())}`;
    await this.table.updateIf({
      Key: toItem(keys.payout(payoutId)),
      UpdateExpression: update,
      // Once only, however often the retry request is repeated.
      ConditionExpression: `attribute_exists(PK) AND NOT contains(${list}, ${expr.value(retryPayoutId)})`,
      ...expr.attributes(),
    });
  }
}

/** The cursor of a payout listing index: its partition, any sort key, and a payout's key. */
function payoutCursor(index: { partitionKey: string; sortKey: string }, partition: string) {
  return {
    attributes: {
      [index.partitionKey]: { equals: partition },
      [index.sortKey]: { prefix: '' },
      PK: { prefix: 'PAYOUT#' },
      SK: { equals: 'PAYOUT' },
    },
  };
}
