/** What the use cases need from the outside world; real services or small fakes are passed in. */
import type { CalypsoClient } from '../calypso/client.js';
import type { CalypsoOperation } from '../calypso/errors.js';
import type { WebhookKey } from '../config.js';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Hands a payout to submission asynchronously (Lambda async invoke on AWS, in-process locally). */
export interface SubmissionTrigger {
  trigger(payoutId: string): Promise<void>;
}

/**
 * Hands a stored webhook event to be applied after the answer (Lambda async invoke of the apply
 * function on AWS, in-process locally); resolves once handed over, not once applied.
 */
/**
 * A stored webhook event to apply: its id, and the provider key its verified body names, so the
 * apply reads that batch along with the event (the stored event still decides).
 */
export interface StoredEventRef {
  eventId: string;
  providerKey?: string;
}

export interface WebhookApplyTrigger {
  trigger(event: StoredEventRef): Promise<void>;
}

/** What the use cases call at Calypso: every operation but subscribing a webhook (set-up only). */
export type CalypsoApi = Pick<
  CalypsoClient,
  Exclude<CalypsoOperation, 'createWebhookSubscription'>
>;

/** The Calypso client for the current credentials (they may rotate). */
export type CalypsoProvider = () => Promise<CalypsoApi>;

/** The webhook subscriptions' keys we accept. */
export interface WebhookKeySource {
  current(): Promise<readonly WebhookKey[]>;
  /**
   * Reads the keys again now, for a delivery signed with a Key we do not know (the subscription
   * was rotated); undefined when they cannot be fresher than `current` (read too recently, or
   * fixed configuration).
   */
  refresh(): Promise<readonly WebhookKey[] | undefined>;
}
