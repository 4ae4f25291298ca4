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
    await deps.apply.trigger(eventId);
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
 * Applies one stored event, once: claimed first (a copy applied or being applied is left
 * alone), then its effect, then its verdict. A failure gives the claim back and is thrown (the
 * async invoke retries; the reconciler applies it at the latest). A final state it reports makes
 * the batch looked up at once: the lookup, not the event, sets it.
 */
export async function applyWebhookEvent(deps: TrackDeps, eventId: string): Promise<ApplyOutcome> {
  const now = deps.clock.now();
  const record = await deps.repository.claimWebhookEvent(eventId, now, WEBHOOK_CLAIM_LEASE_MS);
  if (!record) return 'not-claimed';
  let lookNow: BatchRecord | undefined;
  let outcome: { verdict: WebhookEventRecord['verdict']; detail?: string };
  try {
    const { envelope, problem } = parseWebhookEnvelope(record.rawBody);
    if (!envelope) {
      await deps.repository.setWebhookVerdict(eventId, 'malformed', {
        detail: (problem ?? '').slice(0, 500),
      });
      return 'malformed';
    }
    const eventType = envelope.eventType ?? envelope.data?.type ?? undefined;
    const idempotencyKey = envelope.data?.idempotencyKey ?? undefined;
    // By our idempotencyKey; failing that, by Calypso's id of the mass payout (parentExternalId).
    const calypsoId = text(envelope.data?.parentExternalId);
    const target =
      (idempotencyKey ? await deps.repository.resolveProviderKey(idempotencyKey) : undefined) ??
      (calypsoId ? await deps.repository.resolveProviderId(calypsoId) : undefined);
    const batch = target
      ? await deps.repository.getBatch(target.payoutId, target.batchIndex)
      : undefined;
    if (!target || !batch) {
      await deps.repository.setWebhookVerdict(eventId, 'unknown-payout', target ?? {});
      logger.warn('webhook for a payout we do not know', { eventId, eventType });
      return 'unknown-payout';
    }
    const applied = await apply(deps, batch, envelope, eventType, now);
    outcome = applied;
    lookNow = applied.lookNow;
    await deps.repository.setWebhookVerdict(eventId, outcome.verdict, {
      payoutId: batch.payoutId,
      batchIndex: batch.index,
      ...(outcome.detail ? { detail: outcome.detail } : {}),
    });
    logger.info('webhook applied', {
      eventId,
      eventType,
      payoutId: batch.payoutId,
      batch: batch.index,
      verdict: outcome.verdict,
    });
  } catch (err) {
    await deps.repository.releaseWebhookEvent(eventId).catch(() => undefined);
    throw err;
  }
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
  // A final batch has every payment confirmed by lookup: no event can move anything of it.
  if (batch.status === 'FINAL') return { verdict: 'stale', detail: 'batch already final' };

  // A payment's own state: written once, conditionally, whatever happens to the batch meanwhile.
  let forBatch = true;
  const externalId = text(data.externalId);
  if (
    eventType === 'PAYOUT_CHANGE_STATUS' &&
    externalId &&
    isTerminalWithdrawalState(data.payoutStatus ?? undefined)
  ) {
    // A payment ended (only a payment's events carry an externalId). Whether it did, and how, is
    // money: the lookup this event asks for confirms it, so nothing of the payment is read or
    // written here. Looked up at once: always when its mass payout has ended already (its last
    // payments lagging); otherwise as the batch's prompt look, at most one per poll interval
    // however many of its payments end together (the mass payout's own final event still asks).
    forBatch = false;
    detail = `withdrawal ${data.payoutStatus} awaits confirmation by lookup`;
    terminal =
      isTerminalCalypsoPayoutState(batch.calypsoState) || (await takePromptLook(deps, batch, now));
  } else if (eventType === 'PAYOUT_CHANGE_STATUS' && data.payoutStatus && externalId) {
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

/**
 * Takes the batch's prompt look: only a submitted batch, and not when the batch as read shows one
 * taken within the poll interval (no write then); otherwise one conditional write decides.
 */
async function takePromptLook(deps: TrackDeps, batch: BatchRecord, now: Date): Promise<boolean> {
  if (batch.status !== 'SUBMITTED') return false;
  const notAfter = new Date(now.getTime() - deps.pollIntervalMs).toISOString();
  if (batch.promptLookAt !== undefined && batch.promptLookAt > notAfter) return false;
  return deps.repository.claimPromptLook(batch.payoutId, batch.index, now.toISOString(), notAfter);
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
