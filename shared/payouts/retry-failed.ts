/**
 * Re-paying a payout's failed payments: a new payout (new id, new Calypso keys) of exactly the
 * withdrawals that ended FAILED, linked both ways to the original.
 *
 * Once per payout, whoever asks and with whatever key: the retry is claimed with a conditional
 * write on the original that records exactly which payments it re-pays, and the retry payout is
 * derived from that claim alone (owner, a key fixed by the original's id, the claimed payments),
 * so every later request, and a request finishing the work of one that died, lands on the same
 * payout. A retry payout may itself be retried once.
 *
 * Before claiming, each FAILED payment is read again at Calypso: only those Calypso still reports
 * FAILED are re-paid. A disagreement updates our record, is written to the audit trail and is
 * counted (metric RetryDisagreements, alarmed): money we believed lost may have been paid.
 */
import type { Withdrawal } from '../calypso/schemas.js';
import type { Caller } from '../domain/identity.js';
import {
  isFinalWithdrawalRecord,
  TERMINAL_PAYOUT_STATES,
  withdrawalTransition,
  type AuditEntry,
  type BatchRecord,
  type WithdrawalRecord,
  countByState,
} from '../domain/payout.js';
import { derivePayoutState } from '../domain/payout-state.js';
import { emitMetrics } from '../metrics.js';
import { logger } from '../observability.js';
import type { AuditStore } from '../store/audit-store.js';
import type { WithdrawalStore } from '../store/withdrawals-store.js';
import { createPayout, type CreatePayoutDeps } from './create-payout.js';
import { NotFinal, NotFound, Refused, Unavailable } from './errors.js';
import type { EventPublisher } from './events.js';
import { readBatchWithdrawals } from './calypso-batch.js';
import { checkId } from './queries.js';
import { recordPayoutState } from './record.js';
import { payoutView, type PayoutView } from './views.js';

export interface RetryFailedDeps extends Omit<CreatePayoutDeps, 'repository'> {
  repository: CreatePayoutDeps['repository'] & WithdrawalStore & AuditStore;
  events: EventPublisher;
}

/** The Idempotency-Key every retry of one payout is stored under (scoped by owner). */
export function retryKeyOf(payoutId: string): string {
  return `retry-of-${payoutId}`;
}

/** Payments in progress: asked again in a minute, some of them may be final. */
const notFinal = (detail: string) => new NotFinal(detail, 60);

export async function retryFailed(
  deps: RetryFailedDeps,
  input: { caller: Caller; payoutId: string | undefined },
): Promise<{ created: boolean; payout: PayoutView }> {
  const id = checkId(input.payoutId);
  const stored = await deps.repository.getPayoutWithBatches(id);
  // Reading is not enough to re-pay: only the owner may, and anyone else learns nothing.
  if (!stored || !deps.access.owns(input.caller, stored.payout.owner))
    throw new NotFound(`payout ${id}`);
  const { payout, batches } = stored;

  let claim = payout.retryClaim;
  if (!claim) {
    const confirmed = await confirmedFailures(deps, input.caller, batches);
    if (confirmed.length === 0) {
      throw new Refused(
        'nothing-to-retry',
        'No failed payments to retry',
        'every payment of this payout completed or was not attempted',
      );
    }
    const result = await deps.repository.claimRetry(id, {
      requestIndexes: confirmed.map((w) => w.requestIndex).sort((a, b) => a - b),
      claimedBy: input.caller.principal,
      ...(input.caller.session !== undefined ? { claimedBySession: input.caller.session } : {}),
      claimedAt: deps.clock.now().toISOString(),
    });
    if (!result) throw new Error(`retry claim on ${id} failed and no claim holds`);
    claim = result.claim;
    if (result.claimed) logger.info('retry of failed payments claimed', { payoutId: id });
  }

  const wanted = new Set(claim.requestIndexes);
  const withdrawals: WithdrawalRecord[] = [];
  for (const batch of [...batches].sort((a, b) => a.index - b.index)) {
    const listed = await deps.repository.listBatchWithdrawals(id, batch.index);
    withdrawals.push(...listed.filter((w) => wanted.has(w.requestIndex)));
  }
  withdrawals.sort((a, b) => a.requestIndex - b.requestIndex);
  if (withdrawals.length !== wanted.size)
    throw new Error(`retry claim on ${id} names payments that are not stored`);

  const result = await createPayout(deps, {
    caller: input.caller,
    idempotencyKey: retryKeyOf(id),
    retryOf: id,
    body: {
      currency: payout.currency,
      name: `${payout.name} (retry)`.slice(0, 200),
      ...(payout.comment !== undefined ? { comment: payout.comment } : {}),
      recipients: withdrawals.map((w) => ({
        address: w.address,
        amount: w.amount,
        ...(w.externalId !== undefined ? { externalId: w.externalId } : {}),
      })),
    },
  });
  if ('dryRun' in result) throw new Error('unexpected dry run');
  await deps.repository.addRetriedBy(id, result.payout.id, deps.clock.now());
  const linked = await deps.repository.getPayoutWithBatches(result.payout.id);
  return {
    created: result.created,
    payout: linked ? payoutView(linked.payout, linked.batches) : result.payout,
  };
}

/**
 * The payout's FAILED withdrawals that Calypso still reports FAILED. Refuses (NotFinal) while any
 * payment is not final. A withdrawal Calypso never created (its mass payout ended without it) has
 * nothing to read again and stays failed.
 */
async function confirmedFailures(
  deps: RetryFailedDeps,
  caller: Caller,
  batches: BatchRecord[],
): Promise<WithdrawalRecord[]> {
  const state = derivePayoutState(batches);
  if (!TERMINAL_PAYOUT_STATES.includes(state)) {
    throw notFinal(
      `the payout is ${state}; failed payments can be retried once every payment is final`,
    );
  }
  const payoutId = batches[0]?.payoutId ?? '';
  const failed: { batch: BatchRecord; withdrawals: WithdrawalRecord[] }[] = [];
  for (const batch of [...batches].sort((a, b) => a.index - b.index)) {
    const withdrawals = await deps.repository.listBatchWithdrawals(batch.payoutId, batch.index);
    if (
      batch.status !== 'REJECTED' &&
      withdrawals.some((w) => !isFinalWithdrawalRecord(w.state) && w.state !== 'CANCELED')
    ) {
      throw notFinal(`batch ${batch.index} still has payments in progress`);
    }
    const ofBatch = withdrawals.filter((w) => w.state === 'FAILED');
    if (ofBatch.length) failed.push({ batch, withdrawals: ofBatch });
  }

  const confirmed: WithdrawalRecord[] = [];
  const audit: AuditEntry[] = [];
  let disagreements = 0;
  for (const { batch, withdrawals } of failed) {
    const known = withdrawals.filter((w) => w.calypsoWithdrawalId !== undefined);
    let theirs = new Map<string, Withdrawal>();
    if (known.length > 0) {
      if (!batch.calypsoId) throw new Error(`batch ${batch.index} has withdrawals but no id`);
      try {
        // Both kinds: a single payout's one payment is read from the payout itself.
        const listed = await readBatchWithdrawals(await deps.calypso(), batch, () =>
          Promise.resolve(withdrawals),
        );
        theirs = new Map(listed.map((t) => [t.id, t]));
      } catch (err) {
        logger.warn('could not read failed payments again at Calypso', {
          payoutId,
          batch: batch.index,
          error: err as Error,
        });
        throw new Unavailable(
          'calypso-unavailable',
          'The failed payments could not be confirmed at Calypso',
          'nothing was retried; try again shortly',
          30,
        );
      }
    }
    const at = deps.clock.now().toISOString();
    for (const w of withdrawals) {
      if (w.calypsoWithdrawalId === undefined) {
        confirmed.push(w);
        continue;
      }
      const t = theirs.get(w.calypsoWithdrawalId);
      if (t?.state === 'FAILED') {
        confirmed.push(w);
        continue;
      }
      // Calypso does not (or no longer) report it failed: never re-pay it on our word alone.
      disagreements++;
      const now = t?.state ?? 'UNKNOWN';
      logger.error('Calypso disagrees that a payment failed; not retrying it', {
        payoutId,
        batch: batch.index,
        position: w.position,
        calypso: now,
      });
      if (
        t &&
        (await deps.repository.updateWithdrawal(w, { state: t.state, updatedAt: at }, w.state))
      ) {
        audit.push({
          ...withdrawalTransition(w, {
            from: w.state,
            to: t.state,
            cause: 'api',
            at,
            detail: `Calypso reports ${t.state} for a payment recorded FAILED; not retried`,
          }),
          actor: caller.principal,
          ...(caller.session !== undefined ? { actorSession: caller.session } : {}),
        });
        await recount(deps, batch, at);
      } else if (!t) {
        audit.push({
          ...withdrawalTransition(w, {
            from: w.state,
            to: w.state,
            cause: 'api',
            at,
            detail: 'Calypso no longer lists this payment recorded FAILED; not retried',
          }),
          actor: caller.principal,
          ...(caller.session !== undefined ? { actorSession: caller.session } : {}),
        });
      }
    }
  }
  if (disagreements > 0) {
    emitMetrics({ RetryDisagreements: disagreements });
    await recordPayoutState(deps, payoutId, deps.clock.now(), 'api', audit);
  }
  return confirmed;
}

/** Recounts a batch's withdrawals by state after one of them was corrected. */
async function recount(deps: RetryFailedDeps, batch: BatchRecord, at: string) {
  const current = await deps.repository.listBatchWithdrawals(batch.payoutId, batch.index);
  const counts = countByState(current);
  await deps.repository.updateBatch(batch.payoutId, batch.index, {
    set: { withdrawalCounts: counts, updatedAt: at },
  });
}
