/**
 * Tracking: bring a batch's records in line with what Calypso holds (the reconciler's lookup is
 * the truth for money; webhooks only ask for a look sooner), and the reconciler's tick. What
 * changes, when to look next and what is stuck are decided in shared/domain/tracking.ts; this
 * file reads, writes what those decisions say, and records the transitions.
 */
import type { Withdrawal } from '../calypso/schemas.js';
import { forEachLimit } from '../concurrency.js';
import type { AuditEntry, BatchRecord, Cause, PayoutRecord } from '../domain/payout.js';
import {
  batchLook,
  isUnsubmittedStuck,
  nextLook,
  unsubmittedStuckEntry,
  withdrawalChangeEntries,
  withdrawalChanges,
  type TrackingSettings,
} from '../domain/tracking.js';
import { emitMetrics, type MetricName } from '../metrics.js';
import { logger } from '../observability.js';
import { TABLE } from '../store/table.js';
import type { WebhookEventStore } from '../store/webhook-events-store.js';
import type { EventPublisher } from './events.js';
import { recordPayoutState, recordTransitions } from './record.js';
import type { CalypsoProvider, Clock } from './ports.js';
import { confirmRejection, finishUnfunded, submitBatch, type SubmitDeps } from './submit.js';
import { BalanceSnapshot } from './funds-check.js';
import { readBatch, type CalypsoBatch } from './calypso-batch.js';
import { cancelBatch, expireApproval, releaseHeldBatches } from './controls.js';
import { applyLeftoverWebhooks } from './webhooks.js';

export interface TrackDeps extends SubmitDeps, TrackingSettings {
  events: EventPublisher;
  calypso: CalypsoProvider;
  clock: Clock;
  /** Tracking also applies the webhook events no worker applied. */
  repository: SubmitDeps['repository'] & WebhookEventStore;
}

export type RefreshOutcome = 'final' | 'progressed' | 'unchanged' | 'error';

export interface RefreshResult {
  outcome: RefreshOutcome;
  /** Whether the batch is flagged stuck after this look. */
  stuck: boolean;
}

/** Looks the batch up at Calypso and records what changed. */
export async function refreshBatch(
  deps: TrackDeps,
  batch: BatchRecord,
  cause: Cause,
  /**
   * The payout's state is derived by the caller, once for all the batches it looks at (the
   * reconciler's tick): called when this look changed the batch. Absent: derived here.
   */
  payoutChanged?: (payoutId: string) => void,
): Promise<RefreshResult> {
  const now = deps.clock.now();
  const at = now.toISOString();
  const log = { payoutId: batch.payoutId, batch: batch.index };
  let mass: CalypsoBatch;
  let theirs: Withdrawal[];
  // Our withdrawals are read while Calypso answers: every look needs both.
  const oursRead = deps.repository.listBatchWithdrawals(batch.payoutId, batch.index);
  oursRead.catch(() => undefined); // awaited below; a failure there fails the look as before
  const readOurs = () => oursRead;
  try {
    const read = await readBatch(await deps.calypso(), batch, readOurs);
    mass = read.payout;
    theirs = read.withdrawals;
  } catch (err) {
    logger.warn('batch lookup failed; will look again', { ...log, error: (err as Error).message });
    const stuck = await scheduleQuiet(
      deps,
      batch,
      now,
      `lookup failed: ${(err as Error).message}`.slice(0, 300),
    );
    // Newly flagged: the payout's own stuck flag (the listing's filter) follows.
    if (stuck && !batch.stuck) await recordPayoutState(deps, batch.payoutId, now, cause, []);
    return { outcome: 'error', stuck };
  }

  const ourWithdrawals = await readOurs();
  // Work out every change first, then write them, 25 to a request (a first look may change a
  // thousand withdrawals at once).
  const changes = withdrawalChanges(batch, mass, ourWithdrawals, theirs, at);
  const applied = await deps.repository.updateWithdrawals(
    changes.map(({ withdrawal, set }) => ({
      withdrawal,
      set: { ...set, updatedAt: at },
      expectedState: withdrawal.state,
    })),
  );
  const audit: AuditEntry[] = [];
  let lostWrites = false;
  for (const [i, change] of changes.entries()) {
    if (!applied[i]) {
      lostWrites = true; // moved concurrently (a webhook); recounted below, looked at again next time
      continue;
    }
    audit.push(...withdrawalChangeEntries(change, cause, at));
    Object.assign(change.withdrawal, change.set);
  }
  // Only the transitions this look wrote (and so recorded once) are counted.
  emitMetrics(withdrawalsReached(audit));

  // Count what is stored, not what this look believed, when another writer got in between.
  const current = lostWrites
    ? await deps.repository.listBatchWithdrawals(batch.payoutId, batch.index)
    : ourWithdrawals;
  const look = batchLook({
    batch,
    reported: mass,
    theirs,
    ours: current,
    withdrawalsMoved: audit.length > 0,
    now,
    cause,
    settings: deps,
  });
  audit.push(...look.entries);
  if (look.newlyStuck) logger.error('batch is stuck', { ...log, progressAt: look.set.progressAt });
  const { status, stuck } = look.set;
  // Only over the batch as this look read it: a look that overlapped another (or a webhook)
  // must not move the batch back, nor record its transitions a second time.
  const written = await deps.repository.updateBatch(
    batch.payoutId,
    batch.index,
    { set: look.set, remove: ['lastError'] },
    { status: [batch.status], calypsoState: batch.calypsoState ?? null },
  );
  if (!written) {
    logger.info('batch moved while it was looked at; its next look starts over', log);
    // The withdrawal transitions this look won stand; the batch's belong to the other writer.
    const won = audit.filter((entry) => entry.entity === 'withdrawal');
    if (won.length > 0) await recordPayoutState(deps, batch.payoutId, now, cause, won);
    return { outcome: 'unchanged', stuck: false };
  }
  // The payout's state derives from its batches: it can only change when this one did.
  if (look.progressed || audit.length > 0) {
    if (payoutChanged) {
      await recordTransitions(deps, batch.payoutId, audit);
      payoutChanged(batch.payoutId);
    } else {
      await recordPayoutState(deps, batch.payoutId, now, cause, audit);
    }
  }
  if (status === 'FINAL' && batch.status !== 'FINAL') emitMetrics({ BatchesCompleted: 1 });
  return {
    outcome: status === 'FINAL' ? 'final' : look.progressed ? 'progressed' : 'unchanged',
    stuck,
  };
}

/** The withdrawals this look moved to COMPLETED or FAILED, as metrics (none when there are none). */
function withdrawalsReached(audit: AuditEntry[]): Partial<Record<MetricName, number>> {
  const count = (to: string) =>
    audit.filter((e) => e.entity === 'withdrawal' && e.field === 'state' && e.to === to).length;
  const completed = count('COMPLETED');
  const failed = count('FAILED');
  return {
    ...(completed ? { WithdrawalsCompleted: completed } : {}),
    ...(failed ? { WithdrawalsFailed: failed } : {}),
  };
}

/** A batch Calypso still does not hold after stuckAfterMs is flagged stuck too. */
async function flagUnsubmittedStuck(
  deps: TrackDeps,
  payoutId: string,
  index: number,
  audit: AuditEntry[],
) {
  const batch = await deps.repository.getBatch(payoutId, index);
  const now = deps.clock.now();
  if (!batch || !isUnsubmittedStuck(batch, now, deps)) return false;
  if (!batch.stuck) {
    const flagged = await deps.repository.updateBatch(
      payoutId,
      index,
      { set: { stuck: true, updatedAt: now.toISOString() } },
      { status: [batch.status] },
    );
    // Submitted (or flagged) meanwhile by another worker: not ours to flag.
    if (!flagged) return false;
    audit.push(unsubmittedStuckEntry(batch, now.toISOString()));
    logger.error('batch is stuck before submission', {
      payoutId,
      batch: index,
      lastError: batch.lastError,
    });
  }
  return true;
}

/** After a failed lookup: look again later, flagged stuck when quiet too long; whether it is. */
async function scheduleQuiet(
  deps: TrackDeps,
  batch: BatchRecord,
  now: Date,
  lastError: string,
): Promise<boolean> {
  const { overdue: stuck, nextLookAt } = nextLook(batch, batch.calypsoState, now, deps);
  // A batch that went FINAL meanwhile must not be put back where the reconciler looks.
  const written = await deps.repository.updateBatch(
    batch.payoutId,
    batch.index,
    { set: { lastError, stuck, nextLookAt, updatedAt: now.toISOString() } },
    { status: [batch.status] },
  );
  return written && stuck;
}

export interface TickOptions {
  /** Milliseconds left before the function must return. */
  remainingMs: () => number;
  /** Stop taking new work when less than this is left. */
  reserveMs?: number;
  /** Batches looked at concurrently. */
  concurrency?: number;
  /** Due batches fetched per shard per tick. */
  perShard?: number;
}

export interface TickSummary {
  due: number;
  submitted: number;
  refreshed: number;
  finalized: number;
  errors: number;
  stuck: number;
  /** Unsubmitted batches left alone because submission is paused or the payout is held. */
  held: number;
  stoppedEarly: boolean;
}

/** One reconciler run: submit what is unsubmitted, look at what is due, flag what is stuck. */
export async function reconcileTick(deps: TrackDeps, options: TickOptions): Promise<TickSummary> {
  const now = deps.clock.now();
  const reserve = options.reserveMs ?? 10_000;
  const shards = Array.from({ length: TABLE.openBatchShards }, (_, i) => i);
  // One shard that cannot be read (throttled) waits for the next tick; the others go on.
  const listed = await Promise.allSettled(
    shards.map((shard) => deps.repository.listDueBatches(shard, now, options.perShard ?? 200)),
  );
  const due = listed.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
  const unreadShards = listed.filter((r) => r.status === 'rejected');
  for (const r of unreadShards) {
    logger.warn('could not list due batches of a shard', {
      error: (r as PromiseRejectedResult).reason as Error,
    });
  }
  due.sort((a, b) => (a.nextLookAt ?? '').localeCompare(b.nextLookAt ?? ''));
  const summary: TickSummary = {
    due: due.length,
    submitted: 0,
    refreshed: 0,
    finalized: 0,
    errors: unreadShards.length,
    stuck: 0,
    held: 0,
    stoppedEarly: false,
  };
  // Webhook events stored but never applied (their worker died): applied now, before the looks.
  const leftovers = await applyLeftoverWebhooks(deps, TABLE.openBatchShards);
  summary.errors += leftovers.errors;
  const payouts = new Map<string, Promise<PayoutRecord | undefined>>();
  const payoutOf = (id: string) => {
    if (!payouts.has(id)) payouts.set(id, deps.repository.getPayout(id));
    return payouts.get(id)!;
  };
  // The emergency pause: nothing new goes to Calypso; lookups of what is there go on.
  const pause = await deps.repository.getPause();
  const paused = pause?.paused === true;
  // One reading of the balances for every funds check of this tick.
  const balances = new BalanceSnapshot(async () => (await deps.calypso()).getAccount());
  // Each payout's state is derived once per tick, after the last of its due batches is looked
  // at, from its batches' counters: not re-read for every batch (quadratic in a wide payout).
  const dueOfPayout = new Map<string, number>();
  for (const b of due) dueOfPayout.set(b.payoutId, (dueOfPayout.get(b.payoutId) ?? 0) + 1);
  const changed = new Set<string>();
  const markChanged = (payoutId: string) => changed.add(payoutId);
  const derive = async (payoutId: string) => {
    changed.delete(payoutId);
    try {
      await recordPayoutState(deps, payoutId, deps.clock.now(), 'reconcile', []);
    } catch (err) {
      summary.errors++;
      logger.error('recording a payout state failed', { payoutId, error: err as Error });
    }
  };
  const batchDone = async (payoutId: string) => {
    const left = (dueOfPayout.get(payoutId) ?? 1) - 1;
    dueOfPayout.set(payoutId, left);
    if (left === 0 && changed.has(payoutId)) await derive(payoutId);
  };
  const lookAt = async (batch: BatchRecord) => {
    try {
      if (batch.status === 'HELD') {
        const payout = await payoutOf(batch.payoutId);
        if (payout) await lookAtHeld(deps, payout, batch);
      } else if (batch.status === 'UNFUNDED') {
        // Ended without funds, its payments not all recorded FAILED yet (a worker died).
        await finishUnfunded(deps, batch, 'reconcile');
        await recordPayoutState(deps, batch.payoutId, deps.clock.now(), 'reconcile', []);
      } else if (
        batch.status === 'PENDING' ||
        batch.status === 'SUBMITTING' ||
        batch.status === 'AWAITING_FUNDS'
      ) {
        const payout = await payoutOf(batch.payoutId);
        if (!payout) return; // never committed: nothing may be submitted
        if (payout.hold === 'canceled') {
          // A cancel that stopped half-way: the fence holds, finish the batch.
          await cancelBatch(deps, batch, deps.clock.now().toISOString(), 'reconcile', []);
          await recordPayoutState(deps, batch.payoutId, deps.clock.now(), 'reconcile', []);
          return;
        }
        if (paused || payout.hold === 'approval') {
          summary.held++;
          await deferSubmission(deps, batch);
          return;
        }
        const outcome = await submitBatch(deps, payout, batch.index, 'reconcile', balances);
        if (outcome === 'created' || outcome === 'adopted') summary.submitted++;
        if (outcome === 'failed-will-retry') summary.errors++;
        const audit: AuditEntry[] = [];
        if (await flagUnsubmittedStuck(deps, batch.payoutId, batch.index, audit)) summary.stuck++;
        await recordPayoutState(deps, batch.payoutId, deps.clock.now(), 'reconcile', audit);
      } else if (batch.status === 'REJECTED') {
        const outcome = await confirmRejection(deps, batch, 'reconcile');
        if (outcome === 'adopted') summary.submitted++;
        if (outcome === 'failed-will-retry') summary.errors++;
        await recordPayoutState(deps, batch.payoutId, deps.clock.now(), 'reconcile', []);
      } else {
        const { outcome, stuck } = await refreshBatch(deps, batch, 'reconcile', markChanged);
        summary.refreshed++;
        if (outcome === 'final') summary.finalized++;
        if (outcome === 'error') summary.errors++;
        if (stuck) summary.stuck++;
      }
    } catch (err) {
      summary.errors++;
      logger.error('reconciling a batch failed', {
        payoutId: batch.payoutId,
        batch: batch.index,
        error: err as Error,
      });
    }
  };
  const run = await forEachLimit(
    due,
    options.concurrency ?? 8,
    async (batch) => {
      try {
        await lookAt(batch);
      } finally {
        await batchDone(batch.payoutId);
      }
    },
    { stopWhen: () => options.remainingMs() < reserve },
  );
  summary.stoppedEarly = run.stoppedEarly;
  // Payouts whose batches were not all looked at (the tick stopped early) are derived too.
  for (const payoutId of [...changed]) await derive(payoutId);
  emitMetrics({
    SubmissionPausedMinutes: paused
      ? Math.floor((now.getTime() - Date.parse(pause.at)) / 60_000)
      : 0,
    StuckBatches: summary.stuck,
    BatchesDue: summary.due,
  });
  if (summary.stoppedEarly)
    logger.warn('reconcile tick stopped early to finish in time', { ...summary });
  return summary;
}

/** While paused, an unsubmitted batch is looked at again this much later (not every tick). */
const PAUSED_RECHECK_MS = 5 * 60_000;

async function deferSubmission(deps: TrackDeps, batch: BatchRecord) {
  const now = deps.clock.now();
  await deps.repository.updateBatch(
    batch.payoutId,
    batch.index,
    {
      set: {
        nextLookAt: new Date(now.getTime() + PAUSED_RECHECK_MS).toISOString(),
        updatedAt: now.toISOString(),
      },
    },
    { status: [batch.status] },
  );
}

/**
 * A batch held for approval comes due at the approval deadline: expire the payout then; release
 * it once approved (if the approver's own release did not finish); finish a cancel.
 */
async function lookAtHeld(deps: TrackDeps, payout: PayoutRecord, batch: BatchRecord) {
  const now = deps.clock.now();
  if (payout.hold === 'approval') {
    if (await expireApproval(deps, payout)) return;
    const deadline = payout.approval?.deadline;
    if (deadline && Date.parse(deadline) > now.getTime()) {
      await deps.repository.updateBatch(
        batch.payoutId,
        batch.index,
        { set: { nextLookAt: deadline, updatedAt: now.toISOString() } },
        { status: ['HELD'] },
      );
    }
    return;
  }
  const audit: AuditEntry[] = [];
  if (payout.hold === 'canceled') {
    await cancelBatch(deps, batch, now.toISOString(), 'reconcile', audit);
  } else {
    await releaseHeldBatches(deps, payout.id, audit, 'reconcile');
  }
  await recordPayoutState(deps, payout.id, now, 'reconcile', audit);
}
