/**
 * Splits a payout into batches, one Calypso payout each. A payout of at most `singlePayoutMax`
 * recipients goes as single payouts, one batch per recipient (the guide: mass payouts pay off
 * above 5 payments; below, single payouts are cheaper). A larger one goes as mass payouts of at
 * most the currency's `massPayoutLimit` recipients (calypso-api.md §3). Recipients keep their
 * request order: batch 0 takes the first, batch 1 the next, and so on. Every batch carries a
 * deterministic idempotencyKey derived from the payout id and the batch index, so a retry after
 * any failure sends the same key and can never create a second mass payout.
 */
import type { Currency } from './currencies.js';
import { uuidV5 } from './ids.js';
import { Decimal } from './money.js';

export interface RecipientInput {
  address: string;
  amount: Decimal;
  externalId?: string;
}

export interface PlannedRecipient extends RecipientInput {
  /** Position in the request, 0-based. */
  index: number;
}

/** How a batch goes to Calypso: one mass payout, or one single payout (one recipient). */
export type BatchKind = 'mass' | 'single';

/** The guide's break-even: "more than 5 payments" go as a mass payout. */
export const DEFAULT_SINGLE_PAYOUT_MAX = 5;

export interface PlannedBatch {
  /** Position of the batch in the payout, 0-based. */
  index: number;
  kind: BatchKind;
  /** Calypso idempotencyKey of this batch's payout. */
  idempotencyKey: string;
  recipients: PlannedRecipient[];
  /** Exact sum of the batch's amounts. */
  total: Decimal;
}

export interface PayoutPlan {
  batches: PlannedBatch[];
  /** Exact sum of every amount in the payout. */
  total: Decimal;
  recipientCount: number;
}

/**
 * Namespace of batch idempotency keys. Never change it: the keys of payouts already stored or in
 * flight are derived from it, and a different key for the same batch could pay it twice.
 */
export const BATCH_KEY_NAMESPACE = 'bdfa4cd7-966e-4ed9-9526-45f238bced2e';

/** The Calypso idempotencyKey of batch `batchIndex` of payout `payoutId` (a UUID v5). */
export function batchIdempotencyKey(payoutId: string, batchIndex: number): string {
  if (payoutId === '') throw new TypeError('payout id is empty');
  if (!Number.isSafeInteger(batchIndex) || batchIndex < 0) {
    throw new RangeError(`bad batch index ${batchIndex}`);
  }
  return uuidV5(`${payoutId}:${batchIndex}`, BATCH_KEY_NAMESPACE);
}

/**
 * Plans the batches of payout `payoutId`. Pure and deterministic: the same arguments always give
 * the same plan, keys included. Throws when there are no recipients or the limit is not a whole
 * number of at least 1. `singlePayoutMax` 0 sends everything as mass payouts.
 */
export function planBatches(
  payoutId: string,
  recipients: readonly RecipientInput[],
  currency: Pick<Currency, 'massPayoutLimit'>,
  singlePayoutMax = 0,
): PayoutPlan {
  const limit = currency.massPayoutLimit;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(`bad mass payout limit ${limit}`);
  }
  if (!Number.isSafeInteger(singlePayoutMax) || singlePayoutMax < 0) {
    throw new RangeError(`bad single payout maximum ${singlePayoutMax}`);
  }
  if (recipients.length === 0) throw new RangeError('a payout needs at least one recipient');

  // Few enough recipients: one single payout each; otherwise mass payouts of up to `limit`.
  const single = recipients.length <= singlePayoutMax;
  const size = single ? 1 : limit;
  const batches: PlannedBatch[] = [];
  for (let start = 0; start < recipients.length; start += size) {
    const batchIndex = batches.length;
    const planned = recipients
      .slice(start, start + size)
      .map((recipient, offset) => plannedRecipient(recipient, start + offset));
    batches.push({
      index: batchIndex,
      kind: single ? 'single' : 'mass',
      idempotencyKey: batchIdempotencyKey(payoutId, batchIndex),
      recipients: planned,
      total: Decimal.sum(planned.map((r) => r.amount)),
    });
  }
  return {
    batches,
    total: Decimal.sum(batches.map((b) => b.total)),
    recipientCount: recipients.length,
  };
}

/** A copy of the recipient's own fields (nothing else the object may carry) and its position. */
function plannedRecipient(recipient: RecipientInput, index: number): PlannedRecipient {
  const { address, amount, externalId } = recipient;
  return externalId === undefined
    ? { address, amount, index }
    : { address, amount, externalId, index };
}
