/**
 * Default idempotency keys, derived from what is being asked for, so that running the same
 * command twice (after a timeout, a lost answer, a crash) returns the first payout instead of
 * paying again.
 */
import { createHash } from 'node:crypto';
import { Decimal } from '../shared/domain/money.js';
import type { Recipient } from './recipients.js';

export interface CreatePayoutBody {
  currency: string;
  name: string;
  comment?: string;
  executionDate?: string;
  recipients: Recipient[];
}

/** What the API accepts as an Idempotency-Key. */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * `cli-` and the SHA-256 of the request: currency, name, comment, execution date and every
 * recipient in order. Values are compared as the API compares them (amounts by value, so 1.50
 * and 1.5 give the same key; execution dates as instants), so a request the API would treat as
 * the same gets the same key.
 */
export function defaultIdempotencyKey(body: CreatePayoutBody): string {
  const canonical = JSON.stringify([
    'payouts-cli/create/v1',
    body.currency,
    body.name,
    body.comment ?? null,
    body.executionDate === undefined ? null : instant(body.executionDate),
    body.recipients.map((r) => [r.address, amountValue(r.amount), r.externalId ?? null]),
  ]);
  return `cli-${createHash('sha256').update(canonical, 'utf8').digest('hex')}`;
}

/** The retry of a payout's failed payments: one per payout unless a key is given. */
export function defaultRetryKey(payoutId: string): string {
  return `retry-failed-${payoutId}`;
}

function amountValue(amount: string): string {
  return Decimal.tryParse(amount)?.normalize().toString() ?? amount;
}

function instant(date: string): string {
  const time = Date.parse(date);
  return Number.isNaN(time) ? date : new Date(time).toISOString();
}
