/**
 * Submitting batches to Calypso, shared by the submit function and the reconciler.
 *
 * Money leaves only through `createMassPayout` with the batch's stored, deterministic
 * idempotencyKey. A batch is claimed (PENDING → SUBMITTING) before the call, so two workers never
 * call for the same batch at once. Any attempt after the first looks the payout up by its key
 * before creating, and an unknown outcome or "already exists" is resolved by that lookup: a batch
 * is never created under a new key.
 *
 * A refusal is believed only when it is definite: Calypso holds nothing under the key (looked up
 * first) and no attempt, in this call or an earlier one of the batch, may have reached Calypso.
 * Otherwise the batch waits for another attempt (which looks up first), and stuck detection
 * alarms if it never resolves. A REJECTED batch is looked up once more a few minutes later.
 */
import {
  CalypsoError,
  CalypsoIdempotencyKeyExistsError,
  CalypsoNotFoundError,
  CalypsoUnknownOutcomeError,
  CalypsoValidationError,
} from '../calypso/errors.js';
import type { MassPayout } from '../calypso/schemas.js';
import { Decimal } from '../domain/money.js';
import {
  batchTransition,
  type BatchRecord,
  type Cause,
  type PayoutRecord,
} from '../domain/payout.js';
import { emitMetrics } from '../metrics.js';
import { logger } from '../observability.js';
import type { PayoutRepository } from '../store/payout-repository.js';
import type { EventPublisher } from './events.js';
import type { CalypsoApi, CalypsoProvider, Clock } from './ports.js';
import { recordPayoutState } from './record.js';

export interface SubmitDeps {
  repository: PayoutRepository;
  calypso: CalypsoProvider;
  clock: Clock;
  events: EventPublisher;
  /** A claim older than this may be taken over (longer than any function's run). */
  leaseMs: number;
  /** Batches of one payout submitted at once. */
  concurrency: number;
  /** First look after a successful submission. */
  firstLookAfterMs?: number;
}

export type BatchOutcome = 'created' | 'adopted' | 'rejected' | 'failed-will-retry' | 'not-claimed';

/** A REJECTED batch's confirming look: long enough for anything in flight at Calypso to land. */
export const REJECTION_CONFIRM_AFTER_MS = 10 * 60_000;

const RETRY_BASE_MS = 15_000;
const RETRY_MAX_MS = 15 * 60_000;

function retryDelay(attempts: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, attempts - 1));
}

/** Calypso's errors that say the request may have taken effect. */
const UNCERTAIN_CODES: ReadonlySet<string> = new Set(['000', 'timeout', 'connection-lost']);

/**
 * Whether a failed create may still have reached Calypso. Only a Calypso answer that settles the
 * request, or a connection never opened, says it did not; anything else may have.
 */
function mayHaveActed(err: unknown): boolean {
  if (!(err instanceof CalypsoError)) return true;
  return (
    err instanceof CalypsoUnknownOutcomeError ||
    err instanceof CalypsoIdempotencyKeyExistsError ||
    err.afterUncertainAttempt ||
    UNCERTAIN_CODES.has(err.errorCode) ||
    (err.httpStatus !== undefined && err.httpStatus >= 500)
  );
}

/** Whether an earlier attempt of this batch may have reached Calypso (or died without a record). */
function earlierAttemptUncertain(batch: BatchRecord): boolean {
  return batch.uncertainAttempt === true || batch.attempts - 1 > (batch.attemptsEnded ?? 0);
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { errorCode?: unknown }).errorCode;
    return `${err.name}${typeof code === 'string' ? ` ${code}` : ''}: ${err.message}`.slice(0, 500);
  }
  return String(err).slice(0, 500);
}

/** Submits every batch of the payout that is not yet at Calypso; returns each batch's outcome. */
export async function submitPayout(
  deps: SubmitDeps,
  payoutId: string,
): Promise<Map<number, BatchOutcome>> {
  const stored = await deps.repository.getPayoutWithBatches(payoutId);
  const outcomes = new Map<number, BatchOutcome>();
  if (!stored) {
    logger.warn('submit: payout not found (not committed)', { payoutId });
    return outcomes;
  }
  const todo = stored.batches.filter((b) => b.status === 'PENDING' || b.status === 'SUBMITTING');
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const batch = todo[next++]!;
      outcomes.set(batch.index, await submitBatch(deps, stored.payout, batch.index, 'api'));
    }
  };
  await Promise.all(Array.from({ length: Math.min(deps.concurrency, todo.length) }, worker));
  await recordPayoutState(deps, payoutId, deps.clock.now(), 'api', []);
  return outcomes;
}

async function lookUp(client: CalypsoApi, idempotencyKey: string): Promise<MassPayout | undefined> {
  try {
    return await client.getMassPayout({ idempotencyKey });
  } catch (err) {
    if (err instanceof CalypsoNotFoundError) return undefined;
    throw err;
  }
}

export async function submitBatch(
  deps: SubmitDeps,
  payout: PayoutRecord,
  index: number,
  cause: Cause,
): Promise<BatchOutcome> {
  const { repository } = deps;
  const batch = await repository.beginSubmission(payout.id, index, deps.clock.now(), deps.leaseMs);
  if (!batch) return 'not-claimed';
  const log = {
    payoutId: payout.id,
    batch: index,
    idempotencyKey: batch.idempotencyKey,
    attempt: batch.attempts,
  };

  let client: CalypsoApi;
  try {
    client = await deps.calypso();
    if (batch.attempts > 1) {
      // An earlier attempt may have reached Calypso: what it holds under the key wins.
      const found = await lookUp(client, batch.idempotencyKey);
      if (found) return await adopt(deps, batch, found, 'adopted', cause);
    }
  } catch (err) {
    return failAttempt(deps, batch, err, false);
  }

  const recipients = await repository.listBatchWithdrawals(payout.id, index);
  if (recipients.length !== batch.recipientCount) {
    return failAttempt(
      deps,
      batch,
      new Error(`batch has ${recipients.length} of ${batch.recipientCount} withdrawals stored`),
      false,
    );
  }
  try {
    const created = await client.createMassPayout({
      currency: payout.currency,
      name:
        payout.batchCount > 1 ? `${payout.name} (${index + 1}/${payout.batchCount})` : payout.name,
      ...(payout.comment !== undefined ? { comment: payout.comment } : {}),
      idempotencyKey: batch.idempotencyKey,
      ...(payout.executionDate ? { executionDate: payout.executionDate } : {}),
      massAddresses: recipients.map((r) => ({
        depositAddress: r.address,
        amount: parseAmount(r.amount),
        ...(r.externalId !== undefined ? { externalId: r.externalId } : {}),
      })),
    });
    logger.info('batch created at Calypso', { ...log, calypsoId: created.id });
    return await adopt(deps, batch, created, 'created', cause);
  } catch (err) {
    if (
      err instanceof CalypsoIdempotencyKeyExistsError ||
      err instanceof CalypsoUnknownOutcomeError
    ) {
      logger.warn('create outcome unknown or key exists: looking the payout up', {
        ...log,
        error: errorText(err),
      });
      try {
        const found = await lookUp(client, batch.idempotencyKey);
        if (found) return await adopt(deps, batch, found, 'adopted', cause);
      } catch (lookupErr) {
        return failAttempt(deps, batch, lookupErr, true);
      }
      return failAttempt(deps, batch, err, true);
    }
    if (err instanceof CalypsoValidationError) {
      return refused(deps, client, batch, err, cause);
    }
    return failAttempt(deps, batch, err, mayHaveActed(err));
  }
}

/**
 * A create answered with a refusal. What Calypso holds under the key wins; the batch is REJECTED
 * only when it holds nothing and no attempt may have reached it, else it is tried again later.
 */
async function refused(
  deps: SubmitDeps,
  client: CalypsoApi,
  batch: BatchRecord,
  err: CalypsoValidationError,
  cause: Cause,
): Promise<BatchOutcome> {
  const log = { payoutId: batch.payoutId, batch: batch.index, attempt: batch.attempts };
  const uncertain = err.afterUncertainAttempt || earlierAttemptUncertain(batch);
  let found: MassPayout | undefined;
  try {
    found = await lookUp(client, batch.idempotencyKey);
  } catch (lookupErr) {
    return failAttempt(deps, batch, lookupErr, uncertain);
  }
  if (found) {
    logger.warn('create refused, yet Calypso holds the payout under its key: adopted', {
      ...log,
      error: errorText(err),
    });
    return adopt(deps, batch, found, 'adopted', cause);
  }
  if (uncertain) {
    logger.warn('create refused after an attempt that may have reached Calypso; will retry', {
      ...log,
      error: errorText(err),
    });
    return failAttempt(deps, batch, err, true);
  }
  const now = deps.clock.now();
  const at = now.toISOString();
  const rejected = await deps.repository.updateBatch(
    batch.payoutId,
    batch.index,
    {
      set: {
        status: 'REJECTED',
        lastError: errorText(err),
        attemptsEnded: batch.attempts,
        // Kept in the open index for one confirming look by key.
        nextLookAt: new Date(now.getTime() + REJECTION_CONFIRM_AFTER_MS).toISOString(),
        updatedAt: at,
        progressAt: at,
      },
      remove: ['submittingSince'],
    },
    { status: ['SUBMITTING'] },
  );
  if (!rejected) {
    logger.info('batch was recorded by another worker', log);
    return 'not-claimed';
  }
  logger.warn('Calypso rejected the batch', { ...log, error: errorText(err) });
  await audit(deps, batch, 'REJECTED', cause, errorText(err));
  return 'rejected';
}

/**
 * The confirming look at a REJECTED batch: Calypso holding nothing under its key closes it; a
 * payout found there is adopted (tracking goes on), audited and alarmed (`RejectedButFound`).
 */
export async function confirmRejection(
  deps: SubmitDeps,
  batch: BatchRecord,
  cause: Cause,
): Promise<'confirmed' | 'adopted' | 'failed-will-retry' | 'not-claimed'> {
  const now = deps.clock.now();
  const at = now.toISOString();
  const log = {
    payoutId: batch.payoutId,
    batch: batch.index,
    idempotencyKey: batch.idempotencyKey,
  };
  let found: MassPayout | undefined;
  try {
    found = await lookUp(await deps.calypso(), batch.idempotencyKey);
  } catch (err) {
    logger.warn('confirming a rejection failed; will look again', {
      ...log,
      error: errorText(err),
    });
    const next = new Date(now.getTime() + retryDelay(1)).toISOString();
    await deps.repository.updateBatch(
      batch.payoutId,
      batch.index,
      { set: { status: 'REJECTED', nextLookAt: next, updatedAt: at } },
      { status: ['REJECTED'] },
    );
    return 'failed-will-retry';
  }
  if (!found) {
    // No nextLookAt: the batch leaves the open index.
    const closed = await deps.repository.updateBatch(
      batch.payoutId,
      batch.index,
      { set: { status: 'REJECTED', updatedAt: at } },
      { status: ['REJECTED'] },
    );
    return closed ? 'confirmed' : 'not-claimed';
  }
  logger.error('Calypso holds a payout under the key of a batch we marked REJECTED: adopting it', {
    ...log,
    calypsoId: found.id,
    lastError: batch.lastError,
  });
  const recorded = await record(
    deps,
    batch,
    found,
    ['REJECTED'],
    cause,
    `Calypso holds mass payout ${found.id} under the batch's idempotencyKey: the rejection is corrected`,
  );
  if (!recorded) return 'not-claimed';
  emitMetrics({ RejectedButFound: 1 });
  return 'adopted';
}

function parseAmount(text: string): Decimal {
  return Decimal.parse(text);
}

async function audit(
  deps: SubmitDeps,
  batch: BatchRecord,
  to: string,
  cause: Cause,
  detail: string,
) {
  const at = deps.clock.now().toISOString();
  const entry = batchTransition(batch, {
    field: 'status',
    from: batch.status,
    to,
    cause,
    at,
    detail,
  });
  await deps.repository.appendAudit([entry]);
}

async function adopt(
  deps: SubmitDeps,
  batch: BatchRecord,
  found: MassPayout,
  outcome: 'created' | 'adopted',
  cause: Cause,
) {
  const how = outcome === 'created' ? 'created' : 'found by its idempotencyKey';
  const recorded = await record(
    deps,
    batch,
    found,
    ['SUBMITTING', 'PENDING'],
    cause,
    `Calypso mass payout ${found.id} ${how}`,
  );
  if (!recorded) {
    logger.info('batch was recorded by another worker', {
      payoutId: batch.payoutId,
      batch: batch.index,
    });
  } else emitMetrics({ BatchesSubmitted: 1 });
  return outcome;
}

/** Records the mass payout Calypso holds for the batch, if the batch is still in `from`. */
async function record(
  deps: SubmitDeps,
  batch: BatchRecord,
  found: MassPayout,
  from: BatchRecord['status'][],
  cause: Cause,
  detail: string,
): Promise<boolean> {
  const now = deps.clock.now();
  const at = now.toISOString();
  const recorded = await deps.repository.updateBatch(
    batch.payoutId,
    batch.index,
    {
      set: {
        status: 'SUBMITTED',
        calypsoId: found.id,
        calypsoState: found.state,
        ...(found.totalCalypsoFee ? { totalFee: found.totalCalypsoFee.toString() } : {}),
        ...(found.totalCalypsoFeePercentage
          ? { feePercentage: found.totalCalypsoFeePercentage.toString() }
          : {}),
        nextLookAt: new Date(now.getTime() + (deps.firstLookAfterMs ?? 30_000)).toISOString(),
        progressAt: at,
        updatedAt: at,
      },
      remove: ['submittingSince', 'lastError'],
    },
    { status: from },
  );
  if (!recorded) return false;
  await deps.repository.putProviderId(found.id, {
    payoutId: batch.payoutId,
    batchIndex: batch.index,
  });
  await audit(deps, batch, 'SUBMITTED', cause, detail);
  return true;
}

/** Ends the attempt without a result; `uncertain`: it may have reached Calypso. */
async function failAttempt(
  deps: SubmitDeps,
  batch: BatchRecord,
  err: unknown,
  uncertain: boolean,
): Promise<BatchOutcome> {
  const now = deps.clock.now();
  const at = now.toISOString();
  emitMetrics({ SubmissionFailures: 1 });
  logger.warn('batch submission attempt failed; will retry', {
    payoutId: batch.payoutId,
    batch: batch.index,
    attempt: batch.attempts,
    error: errorText(err),
    uncertain,
  });
  await deps.repository.updateBatch(
    batch.payoutId,
    batch.index,
    {
      // Back to PENDING: the next claim counts one more attempt and so looks up before creating.
      set: {
        status: 'PENDING',
        lastError: errorText(err),
        attemptsEnded: batch.attempts,
        // Carried forward too: an earlier attempt that died unrecorded stays uncertain.
        ...(uncertain || earlierAttemptUncertain(batch) ? { uncertainAttempt: true } : {}),
        nextLookAt: new Date(now.getTime() + retryDelay(batch.attempts)).toISOString(),
        updatedAt: at,
      },
      remove: ['submittingSince'],
    },
    { status: ['SUBMITTING'] },
  );
  return 'failed-will-retry';
}
