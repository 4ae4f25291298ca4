/**
 * Receiving Calypso's webhooks. The signature is checked on the raw body before anything else;
 * every verified delivery is stored once (dedupe by event id); its effect only moves state
 * forward, and it asks the reconciler to look at the batch now. Webhooks are hints: the lookup
 * confirms, so a batch's terminal state and the money truth come from the reconciler.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { parseJsonLossless } from '../calypso/json.js';
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
import type { PayoutRepository } from '../store/payout-repository.js';
import type { EventPublisher } from './events.js';
import type { Clock, WebhookKeySource } from './ports.js';
import { recordPayoutState } from './record.js';

export interface WebhookDeps {
  repository: PayoutRepository;
  webhookKeys: WebhookKeySource;
  clock: Clock;
  events: EventPublisher;
  /** How long stored events are kept (DynamoDB TTL). */
  retentionSeconds: number;
}

export interface WebhookReply {
  status: number;
  body: Record<string, unknown>;
}

/** A JSON number arrives as its text; ids may also be strings. */
const idText = z.pipe(
  z.union([z.string(), z.number()]),
  z.transform((v) => String(v)),
);
const optionalText = z.optional(z.nullable(z.union([z.string(), z.number(), z.boolean()])));
const envelopeSchema = z.object({
  id: idText,
  requestId: z.optional(z.nullable(z.string())),
  createdDate: optionalText,
  eventType: z.optional(z.nullable(z.string())),
  data: z.optional(
    z.nullable(
      z.object({
        type: z.optional(z.nullable(z.string())),
        idempotencyKey: z.optional(z.nullable(z.string())),
        payoutStatus: z.optional(z.nullable(z.string())),
        externalId: optionalText,
        hash: z.optional(z.nullable(z.string())),
        message: z.optional(z.nullable(z.string())),
        validationStatus: z.optional(z.nullable(z.string())),
        dealWithdrawalId: optionalText,
        parentExternalId: optionalText,
      }),
    ),
  ),
});
type Envelope = z.infer<typeof envelopeSchema>;

/** Longer than the webhook function may run: a claim older than this was abandoned. */
const WEBHOOK_CLAIM_LEASE_MS = 60_000;

const text = (v: unknown) => (v === undefined || v === null ? undefined : String(v));

export async function receiveWebhook(
  deps: WebhookDeps,
  rawBody: string,
  headers: Record<string, string | undefined>,
): Promise<WebhookReply> {
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
    return { status: 401, body: { error: 'signature not valid' } };
  }
  emitMetrics({ WebhooksReceived: 1 });
  const now = deps.clock.now();
  const receivedAt = now.toISOString();

  let envelope: Envelope | undefined;
  let parseProblem: string | undefined;
  try {
    const parsed = envelopeSchema.safeParse(parseJsonLossless(rawBody));
    if (parsed.success) envelope = parsed.data;
    else
      parseProblem = parsed.error.issues
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ');
  } catch (err) {
    parseProblem = `not JSON: ${(err as Error).message}`;
  }

  if (!envelope) {
    // Signed by Calypso but not what we understand: keep it, answer 200 so it is not resent forever.
    const eventId = `body-sha256:${createHash('sha256').update(rawBody).digest('hex')}`;
    await deps.repository.putWebhookEvent(
      {
        eventId,
        receivedAt,
        rawBody,
        verdict: 'malformed',
        detail: (parseProblem ?? '').slice(0, 500),
      },
      deps.retentionSeconds,
    );
    logger.warn('signed webhook could not be read; stored', { eventId, problem: parseProblem });
    return { status: 200, body: { stored: true, verdict: 'malformed' } };
  }

  const eventType = envelope.eventType ?? envelope.data?.type ?? undefined;
  const idempotencyKey = envelope.data?.idempotencyKey ?? undefined;
  const eventId = envelope.id;
  const record: WebhookEventRecord = {
    eventId,
    receivedAt,
    rawBody,
    verdict: 'received',
    ...(eventType ? { eventType } : {}),
    ...(idempotencyKey ? { idempotencyKey } : {}),
  };
  const isNew = await deps.repository.putWebhookEvent(record, deps.retentionSeconds);
  // Claim it for applying: a copy seen before is applied only if no worker ever finished it
  // (one died after storing it); a copy being applied right now is left to that worker.
  if (!(await deps.repository.claimWebhookEvent(eventId, now, WEBHOOK_CLAIM_LEASE_MS))) {
    const stored = isNew ? undefined : await deps.repository.getWebhookEvent(eventId);
    if (stored?.verdict === 'applying') {
      logger.info('webhook copy arrived while another is being applied; asking for redelivery', {
        eventId,
      });
      return { status: 503, body: { retry: true } };
    }
    logger.info('duplicate webhook ignored', { eventId });
    return { status: 200, body: { duplicate: true } };
  }
  if (!isNew) logger.warn('applying a webhook stored earlier but never applied', { eventId });

  try {
    // By our idempotencyKey; failing that, by Calypso's id of the mass payout (parentExternalId).
    const calypsoId = text(envelope.data?.parentExternalId);
    const target =
      (idempotencyKey ? await deps.repository.resolveProviderKey(idempotencyKey) : undefined) ??
      (calypsoId ? await deps.repository.resolveProviderId(calypsoId) : undefined);
    if (!target) {
      await deps.repository.setWebhookVerdict(eventId, 'unknown-payout');
      logger.warn('webhook for a payout we do not know', { eventId, eventType });
      return { status: 200, body: { stored: true, verdict: 'unknown-payout' } };
    }
    const batch = await deps.repository.getBatch(target.payoutId, target.batchIndex);
    if (!batch) {
      await deps.repository.setWebhookVerdict(eventId, 'unknown-payout', target);
      return { status: 200, body: { stored: true, verdict: 'unknown-payout' } };
    }

    const outcome = await apply(deps, batch, envelope, eventType, now);
    await deps.repository.setWebhookVerdict(eventId, outcome.verdict, {
      payoutId: batch.payoutId,
      batchIndex: batch.index,
      ...(outcome.detail ? { detail: outcome.detail } : {}),
    });
    logger.info('webhook recorded', {
      eventId,
      eventType,
      payoutId: batch.payoutId,
      batch: batch.index,
      verdict: outcome.verdict,
    });
    return { status: 200, body: { stored: true, verdict: outcome.verdict } };
  } catch (err) {
    // Let Calypso's redelivery apply it now rather than after the claim's lease.
    await deps.repository.releaseWebhookEvent(eventId).catch(() => undefined);
    throw err;
  }
}

async function apply(
  deps: WebhookDeps,
  batch: BatchRecord,
  envelope: Envelope,
  eventType: string | undefined,
  now: Date,
): Promise<{ verdict: WebhookEventRecord['verdict']; detail?: string }> {
  const at = now.toISOString();
  const audit: AuditEntry[] = [];
  const data = envelope.data ?? {};
  let verdict: WebhookEventRecord['verdict'] = 'applied';
  let detail: string | undefined;

  // A payment's own state: written once, conditionally, whatever happens to the batch meanwhile.
  let forBatch = true;
  if (eventType === 'PAYOUT_CHANGE_STATUS' && data.payoutStatus) {
    const externalId = text(data.externalId);
    const withdrawal = externalId
      ? await deps.repository.findBatchWithdrawalByExternalId(
          batch.payoutId,
          batch.index,
          externalId,
        )
      : undefined;
    if (withdrawal) {
      forBatch = false;
      if (isTerminalWithdrawalState(data.payoutStatus)) {
        // Whether a payment ended, and how, is money: the lookup this event asks for confirms it.
        detail = `withdrawal ${data.payoutStatus} awaits confirmation by lookup`;
      } else {
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
  }

  // The batch: written only over the batch as read (a look may finish it meanwhile); when
  // another writer got in between, read it again and work the change out anew.
  let current: BatchRecord | undefined = batch;
  for (let tries = 0; current && tries < 3; tries++) {
    const change = batchChange(current, envelope, eventType, forBatch, at);
    const written = await deps.repository.updateBatch(
      current.payoutId,
      current.index,
      { set: change.set },
      { status: [current.status], calypsoState: current.calypsoState ?? null },
    );
    if (written) {
      audit.push(...change.audit);
      if (forBatch) {
        verdict = change.verdict;
        detail = change.detail;
      }
      break;
    }
    current = await deps.repository.getBatch(batch.payoutId, batch.index);
  }
  if (audit.length)
    await recordPayoutState(
      { repository: deps.repository, events: deps.events },
      batch.payoutId,
      now,
      'webhook',
      audit,
    );
  return { verdict, ...(detail ? { detail } : {}) };
}

/** What the event changes on the batch as read; `forBatch` false: it was about one payment. */
function batchChange(
  batch: BatchRecord,
  envelope: Envelope,
  eventType: string | undefined,
  forBatch: boolean,
  at: string,
): {
  set: Partial<BatchRecord> & { updatedAt: string };
  audit: AuditEntry[];
  verdict: WebhookEventRecord['verdict'];
  detail?: string;
} {
  const data = envelope.data ?? {};
  const audit: AuditEntry[] = [];
  // Ask for a look now, unless the batch is closed or its submission owns the schedule.
  const set: Partial<BatchRecord> & { updatedAt: string } = {
    updatedAt: at,
    ...(batch.status === 'SUBMITTED' ? { nextLookAt: at } : {}),
  };
  let verdict: WebhookEventRecord['verdict'] = 'applied';
  let detail: string | undefined;
  if (!forBatch) return { set, audit, verdict };

  if (eventType === 'PAYOUT_CHANGE_STATUS' && data.payoutStatus) {
    if (isTerminalCalypsoPayoutState(data.payoutStatus)) {
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
    const same = existing.some(
      (e) => e.status === issue.status && e.message === issue.message && !e.resolved,
    );
    if (!same) set.validationErrors = [...existing, issue].slice(-20);
    detail = issue.status;
  } else if (
    eventType !== 'PAYOUT_CONFIRMED' &&
    eventType !== 'PAYOUT_HASH_RECEIVED' &&
    eventType !== 'PAYOUT_SPEEDED_UP' &&
    eventType !== 'PAYOUT_CHANGE_STATUS'
  ) {
    verdict = 'unknown-type';
  }
  return { set, audit, verdict, ...(detail ? { detail } : {}) };
}
