/**
 * Submitting batches to Calypso, shared by the submit function and the reconciler.
 *
 * Money leaves only through `createMassPayout` with the batch's stored, deterministic
 * idempotencyKey. A batch is claimed (PENDING → SUBMITTING) before the call, so two workers never
 * call for the same batch at once. Any attempt after the first looks the payout up by its key
 * before creating, and an unknown outcome or "already exists" is resolved by that lookup: a batch
 * is never created under a new key.
 */
import {
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

const RETRY_BASE_MS = 15_000;
const RETRY_MAX_MS = 15 * 60_000;

function retryDelay(attempts: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, attempts - 1));
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
    return failAttempt(deps, batch, err);
  }

  const recipients = await repository.listBatchWithdrawals(payout.id, index);
  if (recipients.length !== batch.recipientCount) {
    return failAttempt(
      deps,
      batch,
      new Error(`batch has ${recipients.length} of ${batch.recipientCount} withdrawals stored`),
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
        return failAttempt(deps, batch, lookupErr);
      }
      return failAttempt(deps, batch, err);
    }
    if (err instanceof CalypsoValidationError) {
      const at = deps.clock.now().toISOString();
      await repository.updateBatch(
        payout.id,
        index,
        {
          set: { status: 'REJECTED', lastError: errorText(err), updatedAt: at, progressAt: at },
          remove: ['submittingSince'],
        },
        { status: ['SUBMITTING'] },
      );
      logger.warn('Calypso rejected the batch', { ...log, error: errorText(err) });
      await audit(deps, batch, 'REJECTED', cause, errorText(err));
      return 'rejected';
    }
    return failAttempt(deps, batch, err);
  }
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
    { status: ['SUBMITTING', 'PENDING'] },
  );
  if (recorded) {
    await deps.repository.putProviderId(found.id, {
      payoutId: batch.payoutId,
      batchIndex: batch.index,
    });
    const how = outcome === 'created' ? 'created' : 'found by its idempotencyKey';
    await audit(deps, batch, 'SUBMITTED', cause, `Calypso mass payout ${found.id} ${how}`);
  } else {
    logger.info('batch was recorded by another worker', {
      payoutId: batch.payoutId,
      batch: batch.index,
    });
  }
  return outcome;
}

async function failAttempt(
  deps: SubmitDeps,
  batch: BatchRecord,
  err: unknown,
): Promise<BatchOutcome> {
  const now = deps.clock.now();
  const at = now.toISOString();
  logger.warn('batch submission attempt failed; will retry', {
    payoutId: batch.payoutId,
    batch: batch.index,
    attempt: batch.attempts,
    error: errorText(err),
  });
  await deps.repository.updateBatch(
    batch.payoutId,
    batch.index,
    {
      // Back to PENDING: the next claim counts one more attempt and so looks up before creating.
      set: {
        status: 'PENDING',
        lastError: errorText(err),
        nextLookAt: new Date(now.getTime() + retryDelay(batch.attempts)).toISOString(),
        updatedAt: at,
      },
      remove: ['submittingSince'],
    },
    { status: ['SUBMITTING'] },
  );
  return 'failed-will-retry';
}
