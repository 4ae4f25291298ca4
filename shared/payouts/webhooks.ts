/**
 * Receiving Calypso's webhooks, storage first. The route checks the signature on the raw body,
 * stores the event with one conditional write (the dedupe record) and answers; applying it comes
 * after the answer (an async invoke of the apply function on AWS, in-process locally), and the
 * reconciler applies whatever a worker left behind. So a DynamoDB error while applying never
 * becomes a webhook error. Applying only moves state forward; webhooks are hints: a final state
 * is set by the lookup the event asks for at once, and the reconciler's lookups stay the truth.
 */
import { createHash } from 'node:crypto';
import { parseWebhookEnvelope, type WebhookEnvelope } from '../calypso/webhook-schema.js';
import { verifyWebhookSignature } from '../calypso/webhook-signature.js';
import {
  batchTransition,
  withdrawalTransition,
  isTerminalCalypsoPayoutState,
  isTerminalWithdrawalState,
  type AuditEntry,
  type BatchRecord,
  type ValidationIssue,
  type WebhookEventRecord,
} from '../domain/payout.js';
import { forwardMassPayoutState, forwardWithdrawalState } from '../domain/progress.js';
import type { BatchPointer } from '../store/payouts-store.js';
import type { VerdictDetail } from '../store/webhook-events-store.js';
import { emitMetrics } from '../metrics.js';
import { logger } from '../observability.js';
import type { Clock, WebhookApplyTrigger, WebhookKeySource } from './ports.js';
import { recordPayoutState } from './record.js';
import { refreshBatch, type TrackDeps } from './track.js';

export interface WebhookDeps {
  repository: TrackDeps['repository'];
  webhookKeys: WebhookKeySource;
  clock: Clock;
  /** Hands a stored event to be applied after the answer. */
  apply: WebhookApplyTrigger;
  /** How long stored events are kept (DynamoDB TTL). */
  retentionSeconds: number;
}

/**
 * What became of a delivery. Every outcome but `bad-signature` means the event is stored: Calypso
 * need not deliver it again.
 */
export type WebhookOutcome =
  /** Not signed by any of our subscriptions' keys: nothing stored. */
  | { kind: 'bad-signature' }
  /** New, stored, and handed over to be applied. */
  | { kind: 'stored' }
  /** Signed, but not an event we can read: stored as it came, never applied. */
  | { kind: 'stored-malformed' }
  /** Stored before (a redelivery): nothing more to do. */
  | { kind: 'duplicate' };

/** Longer than an apply may run: a claim older than this was abandoned (its worker died). */
export const WEBHOOK_CLAIM_LEASE_MS = 60_000;

const text = (v: unknown) => (v === undefined || v === null ? undefined : String(v));

/**
 * The webhook route: verify, store once, hand over, answer. Only storing can fail the delivery
 * (then Calypso delivers it again); nothing about applying it can.
 */
export async function receiveWebhook(
  deps: WebhookDeps,
  rawBody: string,
  headers: Record<string, string | undefined>,
): Promise<WebhookOutcome> {
  let verdict = verifyWebhookSignature(rawBody, headers, await deps.webhookKeys.current());
  if (!verdict.ok && verdict.reason === 'unknown-key') {
    // Perhaps a subscription rotated since the keys were read: look once more before refusing,
    // so its deliveries do not pile up errors until the cache expires.
    const fresher = await deps.webhookKeys.refresh().catch((err: unknown) => {
      logger.warn('webhook keys could not be read again', { error: err as Error });
      return undefined;
    });
    if (fresher) verdict = verifyWebhookSignature(rawBody, headers, fresher);
  }
  if (!verdict.ok) {
    emitMetrics({ WebhookSignatureRejected: 1 });
    logger.warn('webhook rejected', { reason: verdict.reason });
    return { kind: 'bad-signature' };
  }
  emitMetrics({ WebhooksReceived: 1 });
  const receivedAt = deps.clock.now().toISOString();
  const { envelope, problem } = parseWebhookEnvelope(rawBody);

  if (!envelope) {
    // Signed by Calypso but not what we understand: keep it, so it is not resent forever.
    const eventId = `body-sha256:${createHash('sha256').update(rawBody).digest('hex')}`;
    await deps.repository.putWebhookEvent(
      { eventId, receivedAt, rawBody, verdict: 'malformed', detail: (problem ?? '').slice(0, 500) },
      deps.retentionSeconds,
    );
    logger.warn('signed webhook could not be read; stored', { eventId, problem });
    return { kind: 'stored-malformed' };
  }

  const eventType = envelope.eventType ?? envelope.data?.type ?? undefined;
  const idempotencyKey = envelope.data?.idempotencyKey ?? undefined;
  const eventId = envelope.id;
  const isNew = await deps.repository.putWebhookEvent(
    {
      eventId,
      receivedAt,
      rawBody,
      verdict: 'received',
      ...(eventType ? { eventType } : {}),
      ...(idempotencyKey ? { idempotencyKey } : {}),
    },
    deps.retentionSeconds,
  );
  if (!isNew) {
    // Stored before: applied, being applied, or left to the reconciler. Nothing more to do here.
    logger.info('duplicate webhook ignored', { eventId });
    return { kind: 'duplicate' };
  }
  try {
    await deps.apply.trigger({
      eventId,
      ...(idempotencyKey ? { providerKey: idempotencyKey } : {}),
    });
  } catch (err) {
    // Stored: the reconciler applies it. Calypso must not see our trouble as its delivery's.
    logger.error('could not hand a stored webhook over to be applied; the reconciler will', {
      eventId,
      error: err as Error,
    });
  }
  return { kind: 'stored' };
}

export type ApplyOutcome = WebhookEventRecord['verdict'] | 'not-claimed';

/**
 * Applies one stored event, once. The event as stored is read first: one a worker holds or has
 * settled is left alone. One that needs no write but its verdict (its batch final, or a look due
 * already) is settled with that one conditional write, as a claim would be taken. Any other is
 * claimed, then its effect written, then its verdict. A failure gives the claim back and is
 * thrown (the async invoke retries; the reconciler applies it at the latest). A final state it
 * reports makes the batch looked up at once: the lookup, not the event, sets it.
 */
export async function applyWebhookEvent(
  deps: TrackDeps,
  eventId: string,
  /** The provider key the route read in the event's body: its batch is read along with it. */
  providerKey?: string,
): Promise<ApplyOutcome> {
  const now = deps.clock.now();
  const hinted = providerKey ? await deps.repository.resolveProviderKey(providerKey) : undefined;
  const read = hinted
    ? await deps.repository.getWebhookEventWithBatch(eventId, hinted)
    : { event: await deps.repository.getWebhookEvent(eventId) };
  const stored = read.event;
  if (!stored || !claimable(stored, now)) return 'not-claimed';
  const settle = async (
    verdict: WebhookEventRecord['verdict'],
    extra: VerdictDetail = {},
  ): Promise<ApplyOutcome> =>
    (await deps.repository.settleUnclaimedWebhookEvent(
      eventId,
      now,
      WEBHOOK_CLAIM_LEASE_MS,
      verdict,
      extra,
    ))
      ? verdict
      : 'not-claimed';

  const { envelope, problem } = parseWebhookEnvelope(stored.rawBody);
  if (!envelope) return settle('malformed', { detail: (problem ?? '').slice(0, 500) });
  const eventType = envelope.eventType ?? envelope.data?.type ?? undefined;
  const idempotencyKey = envelope.data?.idempotencyKey ?? undefined;
  // By our idempotencyKey; failing that, by Calypso's id of the mass payout (parentExternalId).
  const calypsoId = text(envelope.data?.parentExternalId);
  const target =
    (idempotencyKey ? await deps.repository.resolveProviderKey(idempotencyKey) : undefined) ??
    (calypsoId ? await deps.repository.resolveProviderId(calypsoId) : undefined);
  // The batch read along with the event when it is the one the stored event names.
  const batch = !target
    ? undefined
    : hinted && read.batch && sameBatch(hinted, target)
      ? read.batch
      : await deps.repository.getBatch(target.payoutId, target.batchIndex);
  if (!target || !batch) {
    logger.warn('webhook for a payout we do not know', { eventId, eventType });
    return settle('unknown-payout', target ?? {});
  }
  const onBatch = { payoutId: batch.payoutId, batchIndex: batch.index };
  const logApplied = (verdict: ApplyOutcome) =>
    logger.info('webhook applied', { eventId, eventType, ...onBatch, verdict });

  const quiet = outcomeWithoutWrites(deps, batch, envelope, eventType, now);
  if (quiet) {
    const verdict = await settle(quiet.verdict, {
      ...onBatch,
      ...(quiet.detail ? { detail: quiet.detail } : {}),
    });
    logApplied(verdict);
    return verdict;
  }

  if (!(await deps.repository.claimWebhookEvent(eventId, now, WEBHOOK_CLAIM_LEASE_MS)))
    return 'not-claimed';
  let outcome: Awaited<ReturnType<typeof apply>>;
  try {
    outcome = await apply(deps, batch, envelope, eventType, now);
    await deps.repository.setWebhookVerdict(eventId, outcome.verdict, {
      ...onBatch,
      ...(outcome.detail ? { detail: outcome.detail } : {}),
    });
    logApplied(outcome.verdict);
  } catch (err) {
    await deps.repository.releaseWebhookEvent(eventId).catch(() => undefined);
    throw err;
  }
  const lookNow = outcome.lookNow;
  if (lookNow) {
    // The event is applied and on record; the lookup is extra: if it fails, the batch is due
    // and the reconciler looks.
    try {
      const current = await deps.repository.getBatch(lookNow.payoutId, lookNow.index);
      if (current?.status === 'SUBMITTED') await refreshBatch(deps, current, 'reconcile');
    } catch (err) {
      logger.warn('the lookup a final webhook asked for failed; the reconciler will look', {
        eventId,
        error: err as Error,
      });
    }
  }
  return outcome.verdict;
}

const sameBatch = (a: BatchPointer, b: BatchPointer) =>
  a.payoutId === b.payoutId && a.batchIndex === b.batchIndex;

/** Whether a worker may take the event on: never applied, or its claim's worker died. */
function claimable(event: WebhookEventRecord, now: Date): boolean {
  if (event.verdict === 'received') return true;
  const staleBefore = new Date(now.getTime() - WEBHOOK_CLAIM_LEASE_MS).toISOString();
  return event.verdict === 'applying' && (event.claimedAt ?? '') < staleBefore;
}

/** Events stored this long ago and still not applied are the reconciler's to apply. */
export const UNAPPLIED_GRACE_MS = 30_000;

/**
 * The reconciler's share: applies events whose worker died or never started (stored, never
 * applied, older than the grace period). One query of the sparse index per shard.
 */
export async function applyLeftoverWebhooks(
  deps: TrackDeps,
  shards: number,
  limit = 100,
): Promise<{ applied: number; errors: number }> {
  const before = new Date(deps.clock.now().getTime() - UNAPPLIED_GRACE_MS);
  let applied = 0;
  let errors = 0;
  for (let shard = 0; shard < shards; shard++) {
    let ids: string[];
    try {
      ids = await deps.repository.listUnappliedWebhookEvents(shard, before, limit);
    } catch (err) {
      errors++;
      logger.warn('could not list unapplied webhook events', { shard, error: err as Error });
      continue;
    }
    for (const eventId of ids) {
      try {
        if ((await applyWebhookEvent(deps, eventId)) !== 'not-claimed') applied++;
      } catch (err) {
        errors++;
        logger.error('applying a stored webhook failed', { eventId, error: err as Error });
      }
    }
  }
  if (applied > 0) logger.warn('applied webhooks no worker had applied', { applied });
  return { applied, errors };
}

/** What an event is about: a payment that ended, a payment's other state, or the batch. */
type EventKind = 'payment-final' | 'payment-state' | 'batch';

function eventKind(envelope: WebhookEnvelope, eventType: string | undefined): EventKind {
  const data = envelope.data ?? {};
  // Only a payment's events carry an externalId.
  if (eventType !== 'PAYOUT_CHANGE_STATUS' || !text(data.externalId) || !data.payoutStatus)
    return 'batch';
  return isTerminalWithdrawalState(data.payoutStatus) ? 'payment-final' : 'payment-state';
}

const FINAL_BATCH = { verdict: 'stale', detail: 'batch already final' } as const;
const paymentFinalDetail = (status: string | null | undefined) =>
  `withdrawal ${status} awaits confirmation by lookup`;

/**
 * The outcome `apply` would reach on the batch as read without writing anything but the event's
 * verdict: the batch final, or nothing to record and a look due already. Undefined for every other
 * event (a payment's state to write, a look to take or to ask for, the batch to write).
 */
function outcomeWithoutWrites(
  deps: TrackDeps,
  batch: BatchRecord,
  envelope: WebhookEnvelope,
  eventType: string | undefined,
  now: Date,
): { verdict: WebhookEventRecord['verdict']; detail?: string } | undefined {
  // A final batch has every payment confirmed by lookup: no event can move anything of it.
  if (batch.status === 'FINAL') return FINAL_BATCH;
  const data = envelope.data ?? {};
  const kind = eventKind(envelope, eventType);
  if (kind === 'payment-state') return undefined;
  if (kind === 'payment-final') {
    if (isTerminalCalypsoPayoutState(batch.calypsoState) || promptLookOpen(deps, batch, now))
      return undefined;
  } else if (
    eventType === 'PAYOUT_CHANGE_STATUS' &&
    isTerminalCalypsoPayoutState(data.payoutStatus ?? '')
  ) {
    return undefined;
  }
  const change = batchChange(batch, envelope, eventType, kind === 'batch', now.toISOString());
  if (change.write) return undefined;
  if (kind === 'payment-final')
    return { verdict: 'applied', detail: paymentFinalDetail(data.payoutStatus) };
  return { verdict: change.verdict, ...(change.detail ? { detail: change.detail } : {}) };
}

async function apply(
  deps: TrackDeps,
  batch: BatchRecord,
  envelope: WebhookEnvelope,
  eventType: string | undefined,
  now: Date,
): Promise<{ verdict: WebhookEventRecord['verdict']; detail?: string; lookNow?: BatchRecord }> {
  const at = now.toISOString();
  const audit: AuditEntry[] = [];
  const data = envelope.data ?? {};
  let verdict: WebhookEventRecord['verdict'] = 'applied';
  let detail: string | undefined;
  let terminal =
    eventType === 'PAYOUT_CHANGE_STATUS' && isTerminalCalypsoPayoutState(data.payoutStatus ?? '');
  // A final batch never gets here: `outcomeWithoutWrites` settles its events as stale.

  // A payment's own state: written once, conditionally, whatever happens to the batch meanwhile.
  let forBatch = true;
  const externalId = text(data.externalId);
  const kind = eventKind(envelope, eventType);
  if (kind === 'payment-final') {
    // A payment ended. Whether it did, and how, is money: the lookup this event asks for confirms
    // it, so nothing of the payment is read or written here. Looked up at once: always when its
    // mass payout has ended already (its last payments lagging); otherwise as the batch's prompt
    // look, at most one per poll interval however many of its payments end together (the mass
    // payout's own final event still asks).
    forBatch = false;
    detail = paymentFinalDetail(data.payoutStatus);
    terminal =
      isTerminalCalypsoPayoutState(batch.calypsoState) || (await takePromptLook(deps, batch, now));
  } else if (kind === 'payment-state' && externalId && data.payoutStatus) {
    const withdrawal = await deps.repository.findBatchWithdrawalByExternalId(
      batch.payoutId,
      batch.index,
      externalId,
    );
    if (withdrawal) {
      forBatch = false;
      const next = forwardWithdrawalState(withdrawal.state, data.payoutStatus);
      if (next !== withdrawal.state) {
        const moved = await deps.repository.updateWithdrawal(
          withdrawal,
          { state: next, ...(data.hash ? { transactionHash: data.hash } : {}), updatedAt: at },
          withdrawal.state,
        );
        if (moved) {
          audit.push(
            withdrawalTransition(withdrawal, {
              from: withdrawal.state,
              to: next,
              cause: 'webhook',
              at,
            }),
          );
        }
      } else {
        verdict = 'stale';
        detail = `withdrawal already ${withdrawal.state}`;
      }
    }
  }

  // The batch: written only over the batch as read (a look may finish it meanwhile); when
  // another writer got in between, read it again and work the change out anew.
  let current: BatchRecord | undefined = batch;
  let settled = false;
  for (let tries = 0; current && tries < 5; tries++) {
    const change = batchChange(current, envelope, eventType, forBatch, at);
    if (!change.write) {
      // Nothing to record on the batch and a look already due: leave its item alone.
      if (forBatch) {
        verdict = change.verdict;
        detail = change.detail;
      }
      settled = true;
      break;
    }
    // Over the batch exactly as read: a concurrent event's validation error is not overwritten.
    const written = await deps.repository.updateBatch(
      current.payoutId,
      current.index,
      { set: change.set },
      {
        status: [current.status],
        calypsoState: current.calypsoState ?? null,
        updatedAt: current.updatedAt,
      },
    );
    if (written) {
      audit.push(...change.audit);
      if (forBatch) {
        verdict = change.verdict;
        detail = change.detail;
      }
      settled = true;
      break;
    }
    current = await deps.repository.getBatch(batch.payoutId, batch.index);
  }
  // Never recorded as applied when it was not: the claim goes back and the event is applied later.
  if (current && !settled) throw new Error('the batch kept changing while the event was applied');
  if (audit.length)
    await recordPayoutState(
      { repository: deps.repository, events: deps.events },
      batch.payoutId,
      now,
      'webhook',
      audit,
    );
  return {
    verdict,
    ...(detail ? { detail } : {}),
    ...(terminal && batch.status === 'SUBMITTED' ? { lookNow: batch } : {}),
  };
}

/** A prompt look taken at or before this instant no longer counts: one poll interval ago. */
const promptLookCutoff = (deps: TrackDeps, now: Date) =>
  new Date(now.getTime() - deps.pollIntervalMs).toISOString();

/** A prompt look is still to take: a submitted batch, none taken within the poll interval. */
function promptLookOpen(deps: TrackDeps, batch: BatchRecord, now: Date): boolean {
  if (batch.status !== 'SUBMITTED') return false;
  return batch.promptLookAt === undefined || batch.promptLookAt <= promptLookCutoff(deps, now);
}

/**
 * Takes the batch's prompt look: none when the batch as read shows it taken (no write then);
 * otherwise one conditional write decides.
 */
async function takePromptLook(deps: TrackDeps, batch: BatchRecord, now: Date): Promise<boolean> {
  if (!promptLookOpen(deps, batch, now)) return false;
  return deps.repository.claimPromptLook(
    batch.payoutId,
    batch.index,
    now.toISOString(),
    promptLookCutoff(deps, now),
  );
}

/** What the event changes on the batch as read; `forBatch` false: it was about one payment. */
function batchChange(
  batch: BatchRecord,
  envelope: WebhookEnvelope,
  eventType: string | undefined,
  forBatch: boolean,
  at: string,
): {
  set: Partial<BatchRecord> & { updatedAt: string };
  /** Whether the batch item needs writing at all. */
  write: boolean;
  audit: AuditEntry[];
  verdict: WebhookEventRecord['verdict'];
  detail?: string;
} {
  const data = envelope.data ?? {};
  const audit: AuditEntry[] = [];
  // Ask for a look now, unless one is due already, the batch is closed or its submission owns
  // the schedule.
  const askLook =
    batch.status === 'SUBMITTED' && !(batch.nextLookAt !== undefined && batch.nextLookAt <= at);
  const set: Partial<BatchRecord> & { updatedAt: string } = {
    updatedAt: at,
    ...(askLook ? { nextLookAt: at } : {}),
  };
  let verdict: WebhookEventRecord['verdict'] = 'applied';
  let detail: string | undefined;
  const write = () => Object.keys(set).length > 1;
  if (!forBatch) return { set, write: write(), audit, verdict };

  if (eventType === 'PAYOUT_CHANGE_STATUS' && data.payoutStatus) {
    if (data.payoutStatus === 'REPLACED') {
      // A payment's state, never a mass payout's: the look this event asks for tells the rest.
      detail = 'a payment was replaced; awaits the lookup';
    } else if (isTerminalCalypsoPayoutState(data.payoutStatus)) {
      // A final state is confirmed by looking the payout up, which this event asks for now.
      detail = `terminal ${data.payoutStatus} awaits confirmation by lookup`;
    } else {
      const next = forwardMassPayoutState(batch.calypsoState, data.payoutStatus);
      if (next !== batch.calypsoState) {
        set.calypsoState = next;
        set.progressAt = at;
        audit.push(
          batchTransition(batch, {
            field: 'calypsoState',
            from: batch.calypsoState ?? null,
            to: next,
            cause: 'webhook',
            at,
          }),
        );
      } else {
        verdict = 'stale';
        detail = `batch already ${batch.calypsoState ?? 'unknown'}`;
      }
    }
  } else if (
    eventType === 'PAYOUT_VALIDATION_ERROR' ||
    eventType === 'PAYOUT_WITHDRAWALS_CREATING_VALIDATION_ERROR'
  ) {
    const issue: ValidationIssue = {
      status: data.validationStatus ?? eventType,
      ...(data.message ? { message: data.message.slice(0, 500) } : {}),
      resolved: false,
      at,
    };
    const existing = batch.validationErrors ?? [];
    // Seen before (a copy, or a replay of one a lookup has since marked resolved), or the batch
    // is final: nothing stands any more.
    const seen = existing.some((e) => e.status === issue.status && e.message === issue.message);
    if (batch.status === 'FINAL' || seen) {
      verdict = 'stale';
    } else set.validationErrors = [...existing, issue].slice(-20);
    detail = issue.status;
  } else if (
    eventType !== 'PAYOUT_CONFIRMED' &&
    eventType !== 'PAYOUT_HASH_RECEIVED' &&
    eventType !== 'PAYOUT_SPEEDED_UP' &&
    eventType !== 'PAYOUT_CHANGE_STATUS'
  ) {
    verdict = 'unknown-type';
  }
  return { set, write: write(), audit, verdict, ...(detail ? { detail } : {}) };
}
