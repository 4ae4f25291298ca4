/**
 * Submitting batches to Calypso, shared by the submit function and the reconciler.
 *
 * Money leaves only through a create (a mass payout, or a single payout for a single batch) with
 * the batch's stored, deterministic idempotencyKey. A batch is claimed (PENDING or AWAITING_FUNDS
 * → SUBMITTING) before the call, so two workers never call for the same batch at once. Any attempt
 * after one that may have called Calypso looks the payout up by its key before creating, and an
 * unknown outcome or "already exists" is resolved by that lookup: a batch is never created under
 * a new key.
 *
 * Before the create, the account's balance must cover the batch's amounts and estimated fees, in
 * the currency and in the fee coin (shared/domain/funds.ts). A batch it does not cover waits in
 * AWAITING_FUNDS with nothing sent, is checked again at each look, and after the wait limit ends
 * UNFUNDED (its payments FAILED), nothing sent.
 *
 * A payout whose executionDate has passed before its batch went out is sent without the date, at
 * once: the date said when to pay at the earliest, and a date in the past is one Calypso may
 * refuse. The audit trail records that it went late.
 *
 * A refusal is believed only when it is definite: Calypso holds nothing under the key (looked up
 * first) and no attempt, in this call or an earlier one of the batch, may have reached Calypso.
 * Otherwise the batch waits for another attempt (which looks up first), and stuck detection
 * alarms if it never resolves. A REJECTED batch is looked up once more a few minutes later.
 */
import {
  CalypsoError,
  CalypsoIdempotencyKeyExistsError,
  CalypsoUnknownOutcomeError,
  CalypsoValidationError,
} from '../calypso/errors.js';
import { forEachLimit } from '../concurrency.js';
import { batchNeeds, type Shortfall } from '../domain/funds.js';
import { Decimal } from '../domain/money.js';
import {
  batchTransition,
  withdrawalTransition,
  countByState,
  type AuditEntry,
  type BatchRecord,
  type Cause,
  type FundsShortfallRecord,
  type PayoutRecord,
  type WithdrawalRecord,
} from '../domain/payout.js';
import { emitMetrics } from '../metrics.js';
import { logger } from '../observability.js';
import type { ControlStore } from '../store/controls-store.js';
import type { WithdrawalStore } from '../store/withdrawals-store.js';
import type { EventPublisher } from './events.js';
import { createAtCalypso, findByKey, type CalypsoBatch } from './calypso-batch.js';
import { BalanceSnapshot, type FundsSettings } from './funds-check.js';
import type { CalypsoApi, CalypsoProvider, Clock } from './ports.js';
import { recordPayoutState, type RecordDeps } from './record.js';

export interface SubmitDeps {
  repository: RecordDeps['repository'] & WithdrawalStore & ControlStore;
  calypso: CalypsoProvider;
  clock: Clock;
  events: EventPublisher;
  /** A claim older than this may be taken over (longer than any function's run). */
  leaseMs: number;
  /** Batches of one payout submitted at once. */
  concurrency: number;
  /** First look after a successful submission. */
  firstLookAfterMs?: number;
  funds: FundsSettings;
}

export type BatchOutcome =
  | 'created'
  | 'adopted'
  | 'rejected'
  | 'failed-will-retry'
  | 'not-claimed'
  | 'awaiting-funds'
  | 'unfunded';

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

/**
 * Whether an earlier attempt may have called create: every attempt but those that ended at the
 * funds check, which ends before any call that could pay.
 */
function earlierAttemptMayHaveCreated(batch: BatchRecord): boolean {
  return batch.attempts - 1 > (batch.fundsWaits ?? 0);
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
  const balances = new BalanceSnapshot(async () => (await deps.calypso()).getAccount());
  await forEachLimit(todo, deps.concurrency, async (batch) => {
    outcomes.set(batch.index, await submitBatch(deps, stored.payout, batch.index, 'api', balances));
  });
  await recordPayoutState(deps, payoutId, deps.clock.now(), 'api', []);
  return outcomes;
}

export async function submitBatch(
  deps: SubmitDeps,
  payout: PayoutRecord,
  index: number,
  cause: Cause,
  balances: BalanceSnapshot,
): Promise<BatchOutcome> {
  const { repository } = deps;
  const batch = await repository.beginSubmission(payout.id, index, deps.clock.now(), deps.leaseMs);
  if (!batch) return 'not-claimed';
  const log = {
    payoutId: payout.id,
    batch: index,
    kind: batch.kind ?? 'mass',
    idempotencyKey: batch.idempotencyKey,
    attempt: batch.attempts,
  };

  let client: CalypsoApi;
  try {
    client = await deps.calypso();
    if (earlierAttemptMayHaveCreated(batch)) {
      // An earlier attempt may have reached Calypso: what it holds under the key wins.
      const found = await findByKey(client, batch);
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
  let short: Shortfall[];
  try {
    short = await checkFunds(deps, deps.funds, balances, payout, batch, recipients);
  } catch (err) {
    return failAttempt(deps, batch, err, false);
  }
  if (short.length > 0) return awaitFunds(deps, deps.funds, batch, short, cause);
  // A date already past is not sent: the payment goes now (see the header).
  const late =
    payout.executionDate !== undefined &&
    Date.parse(payout.executionDate) <= deps.clock.now().getTime();
  try {
    const created = await createAtCalypso(
      client,
      payout,
      batch,
      recipients,
      late ? undefined : payout.executionDate,
    );
    logger.info('batch created at Calypso', { ...log, calypsoId: created.id, late });
    return await adopt(
      deps,
      batch,
      created,
      'created',
      cause,
      late ? `; its executionDate ${payout.executionDate} had passed: sent without it` : '',
    );
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
        const found = await findByKey(client, batch);
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

/** What the batch lacks, if anything, once its needs are taken from the snapshot's balances. */
async function checkFunds(
  deps: SubmitDeps,
  funds: FundsSettings,
  snapshot: BalanceSnapshot,
  payout: PayoutRecord,
  batch: BatchRecord,
  recipients: WithdrawalRecord[],
): Promise<Shortfall[]> {
  const currency = funds.currencies.require(payout.currency);
  const fee = await snapshot.fee(deps, funds, payout.currency, batch.kind ?? 'mass');
  const needs = batchNeeds(
    currency,
    recipients.map((r) => Decimal.parse(r.amount)),
    fee,
  );
  return (await snapshot.get()).reserve(needs);
}

function shortfallRecords(short: Shortfall[]): FundsShortfallRecord[] {
  return short.map((s) => ({
    currency: s.currency,
    needed: s.needed.toString(),
    available: s.available.normalize().toString(),
    missing: s.missing.toString(),
  }));
}

function describeShortfall(short: FundsShortfallRecord[]): string {
  return short
    .map((s) => `${s.missing} ${s.currency} missing (${s.needed} needed, ${s.available} held)`)
    .join('; ');
}

/**
 * The balance does not cover the batch: it waits with nothing sent, or, past the wait limit,
 * ends UNFUNDED. Nothing in this attempt called create.
 */
async function awaitFunds(
  deps: SubmitDeps,
  funds: FundsSettings,
  batch: BatchRecord,
  short: Shortfall[],
  cause: Cause,
): Promise<BatchOutcome> {
  const now = deps.clock.now();
  const at = now.toISOString();
  const since = batch.awaitingFundsSince ?? at;
  const waitedMs = now.getTime() - Date.parse(since);
  const shortfall = shortfallRecords(short);
  const reason = describeShortfall(shortfall);
  const log = { payoutId: batch.payoutId, batch: batch.index, waitedMs, shortfall: reason };
  emitMetrics({ BatchesAwaitingFunds: 1, FundsWaitMinutes: Math.floor(waitedMs / 60_000) });
  if (waitedMs >= funds.waitMaxMs) {
    const lastError = `funds did not come within ${Math.round(funds.waitMaxMs / 3_600_000)} h: ${reason}`;
    const ended = await deps.repository.updateBatch(
      batch.payoutId,
      batch.index,
      {
        set: {
          status: 'UNFUNDED',
          fundsShortfall: shortfall,
          awaitingFundsSince: since,
          fundsWaits: (batch.fundsWaits ?? 0) + 1,
          attemptsEnded: batch.attempts,
          lastError,
          // Open until its payments are recorded FAILED (finishUnfunded), then closed.
          nextLookAt: at,
          progressAt: at,
          updatedAt: at,
        },
        remove: ['submittingSince'],
      },
      { status: ['SUBMITTING'] },
    );
    if (!ended) return 'not-claimed';
    logger.error('batch ended UNFUNDED: the funds did not come in time; nothing was sent', log);
    emitMetrics({ BatchesUnfunded: 1 });
    await audit(
      deps,
      batch,
      'UNFUNDED',
      cause,
      `nothing sent: funds did not come within the wait limit (${reason})`,
      'AWAITING_FUNDS',
    );
    await finishUnfunded(deps, { ...batch, status: 'UNFUNDED', lastError }, cause);
    return 'unfunded';
  }
  const waiting = await deps.repository.updateBatch(
    batch.payoutId,
    batch.index,
    {
      set: {
        status: 'AWAITING_FUNDS',
        fundsShortfall: shortfall,
        awaitingFundsSince: since,
        fundsWaits: (batch.fundsWaits ?? 0) + 1,
        attemptsEnded: batch.attempts,
        nextLookAt: new Date(now.getTime() + funds.recheckMs).toISOString(),
        updatedAt: at,
      },
      remove: ['submittingSince'],
    },
    { status: ['SUBMITTING'] },
  );
  if (!waiting) return 'not-claimed';
  if (batch.awaitingFundsSince === undefined) {
    logger.warn('the balance does not cover the batch: it waits for funds, nothing sent', log);
    await audit(deps, batch, 'AWAITING_FUNDS', cause, `nothing sent: ${reason}`, 'PENDING');
    try {
      await deps.events.publish([
        {
          type: 'BatchAwaitingFunds',
          payoutId: batch.payoutId,
          at,
          detail: { payoutId: batch.payoutId, batch: batch.index, shortfall },
        },
      ]);
    } catch (err) {
      // The batch waits either way; the metric and the payout's view say so.
      logger.error('publishing BatchAwaitingFunds failed', { ...log, error: err as Error });
    }
  }
  return 'awaiting-funds';
}

/**
 * Records the payments of an UNFUNDED batch FAILED (nothing of them was sent), then closes the
 * batch. Repeatable: the reconciler finishes it if a worker died half-way.
 */
export async function finishUnfunded(
  deps: Pick<SubmitDeps, 'repository' | 'clock'>,
  batch: BatchRecord,
  cause: Cause,
): Promise<void> {
  const at = deps.clock.now().toISOString();
  const withdrawals = await deps.repository.listBatchWithdrawals(batch.payoutId, batch.index);
  const entries: AuditEntry[] = [];
  const message = batch.lastError ?? 'the funds did not come within the wait limit';
  for (const w of withdrawals) {
    const from = w.state;
    if (from === 'FAILED') continue;
    const written = await deps.repository.updateWithdrawal(
      w,
      {
        state: 'FAILED',
        errors: [{ status: 'NOT_ENOUGH_FUNDS', message, resolved: false, at }],
        updatedAt: at,
      },
      from,
    );
    if (written) {
      w.state = 'FAILED';
      entries.push(
        withdrawalTransition(w, {
          from,
          to: 'FAILED',
          cause,
          at,
          detail: 'never sent: the funds did not come within the wait limit',
        }),
      );
    }
  }
  if (entries.length > 0) await deps.repository.appendAudit(entries);
  // No nextLookAt: the batch leaves the open index.
  await deps.repository.updateBatch(
    batch.payoutId,
    batch.index,
    { set: { status: 'UNFUNDED', withdrawalCounts: countByState(withdrawals), updatedAt: at } },
    { status: ['UNFUNDED'] },
  );
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
  let found: CalypsoBatch | undefined;
  try {
    found = await findByKey(client, batch);
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
  let found: CalypsoBatch | undefined;
  try {
    found = await findByKey(await deps.calypso(), batch);
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
    `Calypso holds ${batch.kind === 'single' ? 'single' : 'mass'} payout ${found.id} under the batch's idempotencyKey: the rejection is corrected`,
  );
  if (!recorded) return 'not-claimed';
  emitMetrics({ RejectedButFound: 1 });
  return 'adopted';
}

async function audit(
  deps: SubmitDeps,
  batch: BatchRecord,
  to: string,
  cause: Cause,
  detail: string,
  from: string = batch.status,
) {
  const at = deps.clock.now().toISOString();
  const entry = batchTransition(batch, {
    field: 'status',
    from,
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
  found: CalypsoBatch,
  outcome: 'created' | 'adopted',
  cause: Cause,
  note = '',
) {
  const how = outcome === 'created' ? 'created' : 'found by its idempotencyKey';
  const recorded = await record(
    deps,
    batch,
    found,
    ['SUBMITTING', 'PENDING'],
    cause,
    `Calypso ${batch.kind === 'single' ? 'single' : 'mass'} payout ${found.id} ${how}${note}`,
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
  found: CalypsoBatch,
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
        ...(found.totalFee ? { totalFee: found.totalFee.toString() } : {}),
        ...(found.feePercentage ? { feePercentage: found.feePercentage.toString() } : {}),
        nextLookAt: new Date(now.getTime() + (deps.firstLookAfterMs ?? 30_000)).toISOString(),
        progressAt: at,
        updatedAt: at,
      },
      remove: ['submittingSince', 'lastError', 'fundsShortfall'],
    },
    { status: from },
  );
  if (!recorded) return false;
  if (found.feePercentage) {
    // The next funds check estimates Calypso's fee from this one.
    await deps.repository.putFeeSeen(
      batch.currency,
      batch.kind ?? 'mass',
      found.feePercentage.normalize().toString(),
      at,
    );
  }
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
