/**
 * Tracking: bring a batch's records in line with what Calypso holds (the reconciler's lookup is
 * the truth for money; webhooks only ask for a look sooner), and the reconciler's tick.
 */
import type { Withdrawal } from '../calypso/schemas.js';
import { Decimal } from '../domain/money.js';
import {
  batchTransition,
  withdrawalTransition,
  isFinalWithdrawalRecord,
  isTerminalCalypsoPayoutState,
  type AuditEntry,
  type BatchRecord,
  type Cause,
  type PayoutRecord,
  type ValidationIssue,
  type WithdrawalRecord,
  countByState,
} from '../domain/payout.js';
import { forwardMassPayoutState, forwardWithdrawalState } from '../domain/progress.js';
import { emitMetrics, type MetricName } from '../metrics.js';
import { logger } from '../observability.js';
import type { PayoutRepository } from '../store/payout-repository.js';
import { TABLE } from '../store/table.js';
import type { EventPublisher } from './events.js';
import { recordPayoutState, recordTransitions } from './record.js';
import type { CalypsoProvider, Clock } from './ports.js';
import { confirmRejection, finishUnfunded, submitBatch, type SubmitDeps } from './submit.js';
import { BalanceSnapshot } from './funds-check.js';
import { readBatch, type CalypsoBatch } from './calypso-batch.js';
import { cancelBatch, expireApproval, releaseHeldBatches } from './controls.js';
import { applyLeftoverWebhooks } from './webhooks.js';

export interface TrackDeps extends SubmitDeps {
  events: EventPublisher;
  /** A batch with no progress for this long is flagged stuck (and alarmed). */
  stuckAfterMs: number;
  /**
   * Used instead of stuckAfterMs while Calypso holds the batch in PENDING_CONFIRMATION: a person
   * must approve it in Calypso's UI, which may well take longer than sending does.
   */
  confirmationStuckAfterMs: number;
  /** The shortest wait between two looks at an active batch (one schedule period). */
  pollIntervalMs: number;
  calypso: CalypsoProvider;
  clock: Clock;
  repository: PayoutRepository;
}

/**
 * Since when a batch has been quiet: its last progress, or the payout's executionDate when that
 * is later (nothing is expected to happen before it, so waiting for it is not being stuck).
 */
export function quietSinceMs(batch: Pick<BatchRecord, 'progressAt' | 'executionDate'>): number {
  return Math.max(
    Date.parse(batch.progressAt),
    batch.executionDate ? Date.parse(batch.executionDate) : 0,
  );
}

/** How long a batch in this Calypso state may stay quiet before it is flagged stuck. */
export function stuckAfterMsFor(
  deps: Pick<TrackDeps, 'stuckAfterMs' | 'confirmationStuckAfterMs'>,
  calypsoState: string | undefined,
): number {
  return calypsoState === 'PENDING_CONFIRMATION'
    ? deps.confirmationStuckAfterMs
    : deps.stuckAfterMs;
}

/** Back off by how long the batch has been quiet: every tick at first, then less often. */
export function nextLookDelay(quietMs: number, pollIntervalMs: number): number {
  const minute = 60_000;
  if (quietMs < 15 * minute) return pollIntervalMs;
  if (quietMs < 60 * minute) return Math.max(pollIntervalMs, 2 * minute);
  if (quietMs < 6 * 60 * minute) return Math.max(pollIntervalMs, 10 * minute);
  if (quietMs < 24 * 60 * minute) return Math.max(pollIntervalMs, 30 * minute);
  return Math.max(pollIntervalMs, 60 * minute);
}

/** Hex (EVM) and bech32 addresses are case-insensitive; base58 ones are not. */
function addressKey(address: string): string {
  return /^0x[0-9a-f]{40}$/i.test(address) || /^(bc|tb)1/i.test(address)
    ? address.toLowerCase()
    : address;
}

function matchKey(address: string, amount: string): string {
  return `${addressKey(address)}|${Decimal.parse(amount).normalize().toString()}`;
}

/** Whether Calypso's withdrawal pays what ours does (an externalId, when both carry one, too). */
function paysTheSame(w: WithdrawalRecord, t: Withdrawal): boolean {
  const sameRecipient =
    !!t.depositAddress &&
    matchKey(t.depositAddress, t.amount.toString()) === matchKey(w.address, w.amount);
  return sameRecipient && (!w.externalId || !t.externalId || w.externalId === t.externalId);
}

/**
 * Pairs Calypso's withdrawals with ours, never one of theirs with two of ours: by Calypso id once
 * known, then by externalId, then by address and amount in order (Calypso does not echo our
 * positions).
 *
 * A REPLACED withdrawal gives way to its replacement. Calypso documents no link between the two;
 * the replacement is taken to be a withdrawal of the same deal, not REPLACED and not paired with
 * another of ours, paying the same address and amount (and externalId, when both carry one).
 * Until it is listed, ours stays paired with the REPLACED one (and is not final). Withdrawals
 * never paired before are paired with live ones first, REPLACED ones only for what is left.
 */
export function matchWithdrawals(
  ours: WithdrawalRecord[],
  theirs: Withdrawal[],
): Map<number, Withdrawal> {
  const matched = new Map<number, Withdrawal>();
  const used = new Set<string>();
  const pair = (w: WithdrawalRecord, t: Withdrawal) => {
    matched.set(w.position, t);
    used.add(t.id);
  };
  const live = theirs.filter((t) => t.state !== 'REPLACED');
  const replaced = theirs.filter((t) => t.state === 'REPLACED');
  const byId = new Map(theirs.map((t) => [t.id, t]));
  const awaitingReplacement: [WithdrawalRecord, Withdrawal][] = [];
  for (const w of ours) {
    const t = w.calypsoWithdrawalId ? byId.get(w.calypsoWithdrawalId) : undefined;
    if (!t || used.has(t.id)) continue;
    if (t.state === 'REPLACED') {
      used.add(t.id);
      awaitingReplacement.push([w, t]);
    } else pair(w, t);
  }
  // Only after every known id is paired: a replacement is never one of ours already.
  for (const [w, old] of awaitingReplacement) {
    pair(w, live.find((t) => !used.has(t.id) && paysTheSame(w, t)) ?? old);
  }
  const pairRest = (candidates: Withdrawal[]) => {
    const byExternalId = new Map<string, Withdrawal>();
    for (const t of candidates) {
      if (t.externalId && !used.has(t.id) && !byExternalId.has(t.externalId))
        byExternalId.set(t.externalId, t);
    }
    for (const w of ours) {
      if (matched.has(w.position) || !w.externalId) continue;
      const t = byExternalId.get(w.externalId);
      if (t && !used.has(t.id)) pair(w, t);
    }
    const queues = new Map<string, Withdrawal[]>();
    for (const t of candidates) {
      if (used.has(t.id) || !t.depositAddress) continue;
      const key = matchKey(t.depositAddress, t.amount.toString());
      const queue = queues.get(key);
      if (queue) queue.push(t);
      else queues.set(key, [t]);
    }
    for (const w of ours) {
      if (matched.has(w.position)) continue;
      const t = queues.get(matchKey(w.address, w.amount))?.shift();
      if (t) pair(w, t);
    }
  };
  pairRest(live);
  pairRest(replaced);
  return matched;
}

function issuesOf(
  t: Withdrawal,
  at: string,
  previous: ValidationIssue[] | undefined,
): ValidationIssue[] {
  return t.withdrawalErrors.map((e, i) => ({
    status: e.status,
    ...(e.errorMessage ? { message: e.errorMessage } : {}),
    resolved: e.errorResolved,
    at: previous?.[i]?.status === e.status ? previous[i]!.at : at,
  }));
}

function sameIssues(a: ValidationIssue[] | undefined, b: ValidationIssue[]): boolean {
  const strip = (list: ValidationIssue[]) =>
    list.map((i) => [i.status, i.message ?? '', i.resolved]);
  return JSON.stringify(strip(a ?? [])) === JSON.stringify(strip(b));
}

/** What changes on our withdrawal given Calypso's; undefined when nothing does. */
function withdrawalChange(
  w: WithdrawalRecord,
  t: Withdrawal,
  at: string,
): Partial<WithdrawalRecord> | undefined {
  const set: Partial<WithdrawalRecord> = {};
  const state = forwardWithdrawalState(w.state, t.state);
  if (state !== w.state) set.state = state;
  if (w.calypsoWithdrawalId !== t.id) set.calypsoWithdrawalId = t.id;
  if (t.transactionHash && t.transactionHash !== w.transactionHash)
    set.transactionHash = t.transactionHash;
  if (t.calypsoFee && t.calypsoFee.toString() !== w.fee) set.fee = t.calypsoFee.toString();
  const issues = issuesOf(t, at, w.errors);
  if (!sameIssues(w.errors, issues)) set.errors = issues;
  return Object.keys(set).length ? set : undefined;
}

/**
 * What the audit trail keeps of a payment's change besides its state: a replacement followed
 * (Calypso's id changed), a validation error raised or resolved. The record keeps only the
 * errors Calypso lists now; the trail keeps their history.
 */
function withdrawalNotes(
  w: WithdrawalRecord,
  set: Partial<WithdrawalRecord>,
  cause: Cause,
  at: string,
): AuditEntry[] {
  const base = {
    payoutId: w.payoutId,
    at,
    entity: 'withdrawal' as const,
    ref: `${w.batchIndex}/${w.position}`,
    cause,
  };
  const notes: AuditEntry[] = [];
  if (w.calypsoWithdrawalId && set.calypsoWithdrawalId) {
    notes.push({
      ...base,
      field: 'calypsoWithdrawalId',
      from: w.calypsoWithdrawalId,
      to: set.calypsoWithdrawalId,
      detail: 'Calypso lists the payment under another withdrawal (its previous one was REPLACED)',
    });
  }
  if (set.errors) {
    const before = w.errors ?? [];
    const after = set.errors;
    const open = (list: ValidationIssue[], i: number, status: string) =>
      list[i]?.status === status && !list[i]!.resolved;
    after.forEach((issue, i) => {
      if (!issue.resolved && !open(before, i, issue.status)) {
        notes.push({
          ...base,
          field: 'validationError',
          from: null,
          to: issue.status,
          ...(issue.message ? { detail: issue.message } : {}),
        });
      }
    });
    before.forEach((issue, i) => {
      if (!issue.resolved && !open(after, i, issue.status)) {
        notes.push({ ...base, field: 'validationError', from: issue.status, to: 'resolved' });
      }
    });
  }
  return notes;
}

/**
 * The batch's validation errors (from webhooks) with those no withdrawal of Calypso's still has
 * unresolved marked resolved; undefined when none changes. Only from a listing with withdrawals.
 */
function resolvedBatchIssues(
  issues: ValidationIssue[] | undefined,
  theirs: Withdrawal[],
): ValidationIssue[] | undefined {
  if (!issues?.some((i) => !i.resolved) || theirs.length === 0) return undefined;
  const standing = new Set(
    theirs.flatMap((t) => t.withdrawalErrors.filter((e) => !e.errorResolved).map((e) => e.status)),
  );
  let changed = false;
  const next = issues.map((issue) => {
    if (issue.resolved || standing.has(issue.status)) return issue;
    changed = true;
    return { ...issue, resolved: true };
  });
  return changed ? next : undefined;
}

/** Withdrawal updates in flight at once during one look. */
const WITHDRAWAL_WRITE_CONCURRENCY = 8;

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
  let ours: WithdrawalRecord[] | undefined;
  const readOurs = async () =>
    (ours ??= await deps.repository.listBatchWithdrawals(batch.payoutId, batch.index));
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
  const matched = matchWithdrawals(ourWithdrawals, theirs);
  const massState = forwardMassPayoutState(batch.calypsoState, mass.state);
  const massTerminal = isTerminalCalypsoPayoutState(massState);
  const audit: AuditEntry[] = [];
  let lostWrites = false;

  // Work out every change first, then write them a few at a time (a first look may change
  // a thousand withdrawals at once).
  const changes: { w: WithdrawalRecord; set: Partial<WithdrawalRecord>; created: boolean }[] = [];
  for (const w of ourWithdrawals) {
    const t = matched.get(w.position);
    if (t) {
      const set = withdrawalChange(w, t, at);
      if (set) changes.push({ w, set, created: true });
    } else if (
      massTerminal &&
      (massState === 'FAILED' || massState === 'CANCELED') &&
      !isFinalWithdrawalRecord(w.state)
    ) {
      // Calypso ended the payout without ever creating this payment: nothing was paid.
      changes.push({ w, set: { state: massState }, created: false });
    }
  }
  let next = 0;
  const writer = async () => {
    while (next < changes.length) {
      const { w, set, created } = changes[next++]!;
      const applied = await deps.repository.updateWithdrawal(w, { ...set, updatedAt: at }, w.state);
      if (!applied) {
        lostWrites = true; // moved concurrently (a webhook); recounted below, looked at again next time
        continue;
      }
      audit.push(...withdrawalNotes(w, set, cause, at));
      if (set.state && set.state !== w.state) {
        audit.push(
          withdrawalTransition(w, {
            from: w.state,
            to: set.state,
            cause,
            at,
            ...(created
              ? {}
              : { detail: `never created by Calypso; the mass payout ended ${massState}` }),
          }),
        );
      }
      Object.assign(w, set);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(WITHDRAWAL_WRITE_CONCURRENCY, changes.length) }, writer),
  );
  // Only the transitions this look wrote (and so recorded once) are counted.
  emitMetrics(withdrawalsReached(audit));

  // Count what is stored, not what this look believed, when another writer got in between.
  const current = lostWrites
    ? await deps.repository.listBatchWithdrawals(batch.payoutId, batch.index)
    : ourWithdrawals;
  const counts = countByState(current);
  // A payment whose withdrawal was REPLACED is final only once its replacement is, whatever
  // Calypso says of the mass payout meanwhile.
  const allFinal = current.every(
    (w) => isFinalWithdrawalRecord(w.state) || (w.state === 'CANCELED' && massTerminal),
  );
  const status: BatchRecord['status'] = massTerminal && allFinal ? 'FINAL' : 'SUBMITTED';
  const fee = mass.totalFee?.toString();
  const progressed =
    audit.length > 0 ||
    massState !== batch.calypsoState ||
    status !== batch.status ||
    (fee !== undefined && fee !== batch.totalFee) ||
    JSON.stringify(counts) !== JSON.stringify(batch.withdrawalCounts);
  const progressAt = progressed ? at : batch.progressAt;
  const quietSince = quietSinceMs({ ...batch, progressAt });
  const stuck = status !== 'FINAL' && now.getTime() - quietSince > stuckAfterMsFor(deps, massState);
  const validationErrors = resolvedBatchIssues(batch.validationErrors, theirs);

  if (massState !== batch.calypsoState) {
    audit.push(
      batchTransition(batch, {
        field: 'calypsoState',
        from: batch.calypsoState ?? null,
        to: massState,
        cause,
        at,
      }),
    );
  }
  if (status !== batch.status) {
    audit.push(
      batchTransition(batch, { field: 'status', from: batch.status, to: status, cause, at }),
    );
  }
  if (stuck && !batch.stuck) {
    audit.push(
      batchTransition(batch, {
        field: 'stuck',
        from: 'false',
        to: 'true',
        cause,
        at,
        detail: `no progress since ${progressAt}`,
      }),
    );
    logger.error('batch is stuck', { ...log, progressAt });
  }
  // Only over the batch as this look read it: a look that overlapped another (or a webhook)
  // must not move the batch back, nor record its transitions a second time.
  const written = await deps.repository.updateBatch(
    batch.payoutId,
    batch.index,
    {
      set: {
        status,
        calypsoState: massState,
        calypsoId: mass.id,
        ...(fee !== undefined ? { totalFee: fee } : {}),
        ...(mass.feePercentage ? { feePercentage: mass.feePercentage.toString() } : {}),
        withdrawalCounts: counts,
        ...(validationErrors ? { validationErrors } : {}),
        progressAt,
        stuck,
        nextLookAt: new Date(
          now.getTime() + nextLookDelay(now.getTime() - quietSince, deps.pollIntervalMs),
        ).toISOString(),
        updatedAt: at,
      },
      remove: ['lastError'],
    },
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
  if (progressed || audit.length > 0) {
    if (payoutChanged) {
      await recordTransitions(deps, batch.payoutId, audit);
      payoutChanged(batch.payoutId);
    } else {
      await recordPayoutState(deps, batch.payoutId, now, cause, audit);
    }
  }
  if (status === 'FINAL' && batch.status !== 'FINAL') emitMetrics({ BatchesCompleted: 1 });
  return { outcome: status === 'FINAL' ? 'final' : progressed ? 'progressed' : 'unchanged', stuck };
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
  if (!batch || (batch.status !== 'PENDING' && batch.status !== 'SUBMITTING')) return false;
  const now = deps.clock.now();
  if (now.getTime() - quietSinceMs(batch) <= deps.stuckAfterMs) return false;
  if (!batch.stuck) {
    const flagged = await deps.repository.updateBatch(
      payoutId,
      index,
      { set: { stuck: true, updatedAt: now.toISOString() } },
      { status: [batch.status] },
    );
    // Submitted (or flagged) meanwhile by another worker: not ours to flag.
    if (!flagged) return false;
    audit.push(
      batchTransition(batch, {
        field: 'stuck',
        from: 'false',
        to: 'true',
        cause: 'reconcile',
        at: now.toISOString(),
        detail: `not at Calypso since ${batch.progressAt}: ${batch.lastError ?? 'no answer yet'}`,
      }),
    );
    logger.error('batch is stuck before submission', {
      payoutId,
      batch: index,
      lastError: batch.lastError,
    });
  }
  return true;
}

async function scheduleQuiet(
  deps: TrackDeps,
  batch: BatchRecord,
  now: Date,
  lastError: string,
): Promise<boolean> {
  const quiet = now.getTime() - quietSinceMs(batch);
  const stuck = quiet > stuckAfterMsFor(deps, batch.calypsoState);
  // A batch that went FINAL meanwhile must not be put back where the reconciler looks.
  const written = await deps.repository.updateBatch(
    batch.payoutId,
    batch.index,
    {
      set: {
        lastError,
        stuck,
        nextLookAt: new Date(
          now.getTime() + nextLookDelay(quiet, deps.pollIntervalMs),
        ).toISOString(),
        updatedAt: now.toISOString(),
      },
    },
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
  let next = 0;
  const worker = async () => {
    while (next < due.length) {
      if (options.remainingMs() < reserve) {
        summary.stoppedEarly = true;
        return;
      }
      const batch = due[next++]!;
      try {
        await lookAt(batch);
      } finally {
        await batchDone(batch.payoutId);
      }
    }
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
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, due.length) }, worker));
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
