/** Key layout of the single table (DESIGN.md §4). Only shared/store/ imports this. */
import { fromItem, type Item } from './attributes.js';
import { INDEXES, TABLE } from './table.js';

const {
  openBatches: OPEN,
  pendingApproval: PENDING,
  byOwner: BY_OWNER,
  allPayouts: ALL,
} = TABLE.indexes;

const pad = (n: number, width: number) => String(n).padStart(width, '0');

export const keys = {
  payout: (id: string) => ({ PK: `PAYOUT#${id}`, SK: 'PAYOUT' }),
  batch: (payoutId: string, index: number) => ({
    PK: `PAYOUT#${payoutId}`,
    SK: `BATCH#${pad(index, 4)}`,
  }),
  withdrawal: (payoutId: string, batchIndex: number, position: number) => ({
    PK: `PAYOUT#${payoutId}`,
    SK: `WD#${pad(batchIndex, 4)}#${pad(position, 5)}`,
  }),
  /** A caller's Idempotency-Key, scoped by the payout owner (never by a session). */
  idempotency: (owner: string, key: string) => ({
    PK: `IDEMPOTENCY#${owner}#${key}`,
    SK: 'IDEMPOTENCY',
  }),
  providerKey: (idempotencyKey: string) => ({ PK: `CALYPSO#${idempotencyKey}`, SK: 'CALYPSO' }),
  /** Calypso's own mass payout id, once known. */
  providerId: (calypsoId: string) => ({ PK: `CALYPSO-ID#${calypsoId}`, SK: 'CALYPSO' }),
  payoutPartition: (id: string) => `PAYOUT#${id}`,
  audit: (payoutId: string, at: string, unique: string) => ({
    PK: `PAYOUT#${payoutId}`,
    SK: `AUDIT#${at}#${unique}`,
  }),
  auditPrefix: 'AUDIT#',
  webhookEvent: (eventId: string) => ({ PK: `EVENT#${eventId}`, SK: 'EVENT' }),
  batchPrefix: 'BATCH#',
  withdrawalPrefix: 'WD#',
  withdrawalBatchPrefix: (batchIndex: number) => `WD#${pad(batchIndex, 4)}#`,
  externalId: (externalId: string) => `EXT#${externalId}`,
  /** Sparse open-batch index entry: shard by payout id so no single partition runs hot. */
  openBatch: (payoutId: string, index: number, dueAt: string) => ({
    [OPEN.partitionKey]: `OPEN#${shardOf(payoutId)}`,
    [OPEN.sortKey]: `${dueAt}#${payoutId}#${pad(index, 4)}`,
  }),
  openShard: (shard: number) => `OPEN#${shard}`,
  /**
   * Sparse entry of a webhook event stored but not yet applied, in the open-batch index under its
   * own partitions, ordered by arrival: the reconciler applies what a worker left behind.
   */
  unappliedEvent: (eventId: string, receivedAt: string) => ({
    [OPEN.partitionKey]: `UNAPPLIED#${shardOf(eventId)}`,
    [OPEN.sortKey]: `${receivedAt}#${eventId}`,
  }),
  unappliedShard: (shard: number) => `UNAPPLIED#${shard}`,
  /** Sparse pending-approval index entry of a payout awaiting approval. */
  pendingApproval: 'PENDING_APPROVAL',
  pendingApprovalEntry: (createdAt: string, payoutId: string) => ({
    [PENDING.partitionKey]: 'PENDING_APPROVAL',
    [PENDING.sortKey]: `${createdAt}#${payoutId}`,
  }),
  /** A payout's entries in the listing indexes: its owner's, and everyone's (for auditors). */
  payoutListing: (owner: string, createdAt: string, payoutId: string) => ({
    [BY_OWNER.partitionKey]: `OWNER#${owner}`,
    [BY_OWNER.sortKey]: `${createdAt}#${payoutId}`,
    [ALL.partitionKey]: 'PAYOUTS',
    [ALL.sortKey]: `${createdAt}#${payoutId}`,
  }),
  ownerPartition: (owner: string) => `OWNER#${owner}`,
  allPayoutsPartition: 'PAYOUTS',
  /** An owner's rolling daily total in one currency. */
  limit: (owner: string, currency: string) => ({ PK: `LIMIT#${owner}#${currency}`, SK: 'LIMIT' }),
  /** The emergency pause of all submission. */
  pause: () => ({ PK: 'CONTROL', SK: 'PAUSE' }),
  /** Calypso's fee percentage last seen for a currency and kind of payout (the funds estimate). */
  feeSeen: (currency: string, kind: string) => ({ PK: 'CONTROL', SK: `FEE#${currency}#${kind}` }),
};

/** The shard of a sparse index an id's item goes to (a payout's open batches, an unapplied event). */
function shardOf(id: string): number {
  let hash = 0;
  for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) >>> 0;
  return hash % TABLE.openBatchShards;
}

/** The table's own attributes of an item (keys, index keys, kind, TTL), which no record carries. */
const TABLE_ATTRIBUTES = [
  TABLE.partitionKey,
  TABLE.sortKey,
  'type',
  TABLE.ttlAttribute,
  ...INDEXES.flatMap((index) => [index.partitionKey, index.sortKey]),
];

/** The record an item holds, without the table's own attributes. */
export function recordOf<T>(item: Item): T {
  const record = fromItem(item);
  for (const attribute of TABLE_ATTRIBUTES) delete record[attribute];
  return record as T;
}
