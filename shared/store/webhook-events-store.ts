/**
 * Calypso's webhook events, stored once (the dedupe record) and then claimed for applying; those
 * no worker applied stay in a sparse index the reconciler reads.
 */
import type { BatchRecord, WebhookEventRecord } from '../domain/payout.js';
import type { BatchPointer } from './payouts-store.js';
import { toItem } from './attributes.js';
import { ExpressionBuilder } from './expressions.js';
import { keys, recordOf } from './keys.js';
import { TABLE } from './table.js';
import type { TableClient } from './table-client.js';

export interface WebhookEventStore {
  /** Stores an event once; false when that event id was stored before. */
  putWebhookEvent(event: WebhookEventRecord, retentionSeconds: number): Promise<boolean>;
  /** Claims a stored event for applying; undefined when it is not (or no longer) to apply. */
  claimWebhookEvent(
    eventId: string,
    now: Date,
    leaseMs: number,
  ): Promise<WebhookEventRecord | undefined>;
  /** Gives up a claim after applying failed, so the next worker can apply the event at once. */
  releaseWebhookEvent(eventId: string): Promise<void>;
  /** The event as stored (a strongly consistent read). */
  getWebhookEvent(eventId: string): Promise<WebhookEventRecord | undefined>;
  /** The event and the batch it is believed to be about, as stored, in one request. */
  getWebhookEventWithBatch(
    eventId: string,
    batch: BatchPointer,
  ): Promise<{ event?: WebhookEventRecord; batch?: BatchRecord }>;
  /**
   * Records the verdict of an event that needs no other write, in one conditional write: only
   * while no live claim holds it, as a claim would be taken. False when a worker holds it or it
   * was settled meanwhile.
   */
  settleUnclaimedWebhookEvent(
    eventId: string,
    now: Date,
    leaseMs: number,
    verdict: WebhookEventRecord['verdict'],
    extra?: VerdictDetail,
  ): Promise<boolean>;
  /** Records what applying the event found; it leaves the index of events to apply. */
  setWebhookVerdict(
    eventId: string,
    verdict: WebhookEventRecord['verdict'],
    extra?: VerdictDetail,
  ): Promise<void>;
  /** Ids of events of one shard stored before `before` and never applied, oldest first. */
  listUnappliedWebhookEvents(shard: number, before: Date, limit: number): Promise<string[]>;
}

export interface VerdictDetail {
  detail?: string;
  payoutId?: string;
  batchIndex?: number;
}

const UNAPPLIED_INDEX = TABLE.indexes.openBatches;

/**
 * The condition under which a worker may take an event on: never applied (`received`), or claimed
 * longer than `leaseMs` ago (its worker died).
 */
function claimable(expr: ExpressionBuilder, now: Date, leaseMs: number): string {
  const verdict = expr.name('verdict');
  const staleBefore = new Date(now.getTime() - leaseMs).toISOString();
  return `${verdict} = ${expr.value('received')} OR (${verdict} = ${expr.value('applying')} AND ${expr.name('claimedAt')} < ${expr.value(staleBefore)})`;
}

/** The verdict set, the claim and the event's entry in the index of events to apply removed. */
function verdictUpdate(
  expr: ExpressionBuilder,
  verdict: WebhookEventRecord['verdict'],
  extra: VerdictDetail,
): string {
  return expr.update({
    set: { verdict, ...extra },
    remove: ['claimedAt', UNAPPLIED_INDEX.partitionKey, UNAPPLIED_INDEX.sortKey],
  });
}

export class DynamoWebhookEventStore implements WebhookEventStore {
  constructor(private readonly table: TableClient) {}

  /**
   * One conditional write. An event still to be applied (`received`) is also listed, by arrival,
   * in the sparse index the reconciler reads for events no worker applied.
   */
  async putWebhookEvent(event: WebhookEventRecord, retentionSeconds: number): Promise<boolean> {
    const expiresAt = Math.floor(Date.parse(event.receivedAt) / 1000) + retentionSeconds;
    const written = await this.table.putIf({
      Item: toItem({
        ...keys.webhookEvent(event.eventId),
        type: 'webhook-event',
        ...(event.verdict === 'received'
          ? keys.unappliedEvent(event.eventId, event.receivedAt)
          : {}),
        ...event,
        [TABLE.ttlAttribute]: expiresAt,
      }),
      ConditionExpression: 'attribute_not_exists(PK)',
    });
    return written.applied;
  }

  /**
   * Claims one never applied (`received`), or one whose claim is older than `leaseMs` (its worker
   * died). Returns the event as claimed.
   */
  async claimWebhookEvent(
    eventId: string,
    now: Date,
    leaseMs: number,
  ): Promise<WebhookEventRecord | undefined> {
    const expr = new ExpressionBuilder();
    const written = await this.table.updateIf({
      Key: toItem(keys.webhookEvent(eventId)),
      UpdateExpression: expr.update({
        set: { verdict: 'applying', claimedAt: now.toISOString() },
      }),
      ConditionExpression: claimable(expr, now, leaseMs),
      ReturnValues: 'ALL_NEW',
      ...expr.attributes(),
    });
    return written.applied && written.attributes
      ? recordOf<WebhookEventRecord>(written.attributes)
      : undefined;
  }

  async releaseWebhookEvent(eventId: string): Promise<void> {
    const expr = new ExpressionBuilder();
    await this.table.updateIf({
      Key: toItem(keys.webhookEvent(eventId)),
      UpdateExpression: expr.update({ set: { verdict: 'received' }, remove: ['claimedAt'] }),
      ConditionExpression: `${expr.name('verdict')} = ${expr.value('applying')}`,
      ...expr.attributes(),
    });
  }

  async getWebhookEvent(eventId: string): Promise<WebhookEventRecord | undefined> {
    const item = await this.table.get(keys.webhookEvent(eventId), true);
    return item ? recordOf<WebhookEventRecord>(item) : undefined;
  }

  async getWebhookEventWithBatch(
    eventId: string,
    { payoutId, batchIndex }: BatchPointer,
  ): Promise<{ event?: WebhookEventRecord; batch?: BatchRecord }> {
    const [event, batch] = await this.table.getMany([
      keys.webhookEvent(eventId),
      keys.batch(payoutId, batchIndex),
    ]);
    return {
      ...(event ? { event: recordOf<WebhookEventRecord>(event) } : {}),
      ...(batch ? { batch: recordOf<BatchRecord>(batch) } : {}),
    };
  }

  async settleUnclaimedWebhookEvent(
    eventId: string,
    now: Date,
    leaseMs: number,
    verdict: WebhookEventRecord['verdict'],
    extra: VerdictDetail = {},
  ): Promise<boolean> {
    const expr = new ExpressionBuilder();
    const written = await this.table.updateIf({
      Key: toItem(keys.webhookEvent(eventId)),
      UpdateExpression: verdictUpdate(expr, verdict, extra),
      ConditionExpression: claimable(expr, now, leaseMs),
      ...expr.attributes(),
    });
    return written.applied;
  }

  async setWebhookVerdict(
    eventId: string,
    verdict: WebhookEventRecord['verdict'],
    extra: VerdictDetail = {},
  ): Promise<void> {
    const expr = new ExpressionBuilder();
    await this.table.update({
      Key: toItem(keys.webhookEvent(eventId)),
      UpdateExpression: verdictUpdate(expr, verdict, extra),
      ...expr.attributes(),
    });
  }

  /** One query of the sparse index, no scan. */
  async listUnappliedWebhookEvents(shard: number, before: Date, limit: number): Promise<string[]> {
    const items = await this.table.query({
      IndexName: UNAPPLIED_INDEX.name,
      KeyConditionExpression: `${UNAPPLIED_INDEX.partitionKey} = :pk AND ${UNAPPLIED_INDEX.sortKey} < :before`,
      ExpressionAttributeValues: {
        ':pk': { S: keys.unappliedShard(shard) },
        ':before': { S: before.toISOString() },
      },
      ProjectionExpression: 'eventId',
      Limit: limit,
    });
    return items.map((item) => item.eventId!.S!).filter(Boolean);
  }
}
