/**
 * The tracking decisions, kept pure so they can be read and tested apart from the reads and writes
 * around them (shared/payouts/track.ts): which of Calypso's withdrawals is which of ours, what a
 * lookup changes on each withdrawal and on the batch, when to look next, when a batch is stuck,
 * and the audit entries all that implies.
 */
import type { Withdrawal } from '../calypso/schemas.js';
import { Decimal } from './money.js';
import {
  batchTransition,
  countByState,
  isFinalWithdrawalRecord,
  isTerminalCalypsoPayoutState,
  withdrawalTransition,
  type AuditEntry,
  type BatchRecord,
  type Cause,
  type ValidationIssue,
  type WithdrawalRecord,
} from './payout.js';
import { forwardMassPayoutState, forwardWithdrawalState } from './progress.js';

export interface TrackingSettings {
  /** A batch with no progress for this long is flagged stuck (and alarmed). */
  stuckAfterMs: number;
  /**
   * Used instead of stuckAfterMs while Calypso holds the batch in PENDING_CONFIRMATION: a person
   * must approve it in Calypso's UI, which may well take longer than sending does.
   */
  confirmationStuckAfterMs: number;
  /** The shortest wait between two looks at an active batch (one schedule period). */
  pollIntervalMs: number;
}

/** The batch as Calypso reports it (a mass payout or a single payout). */
export interface ReportedBatch {
  id: string;
  state: string;
  totalFee?: Decimal;
  feePercentage?: Decimal;
}

// ---- when to look next, and stuck ----------------------------------------------------------

/**
 * Since when a batch has been quiet: its last progress, or the payout's executionDate when that
 * is later (nothing is expected to happen before it, so waiting for it is not being stuck).
 */
function quietSinceMs(batch: Pick<BatchRecord, 'progressAt' | 'executionDate'>): number {
  return Math.max(
    Date.parse(batch.progressAt),
    batch.executionDate ? Date.parse(batch.executionDate) : 0,
  );
}

/** How long a batch in this Calypso state may stay quiet before it is flagged stuck. */
function stuckAfterMsFor(
  settings: Pick<TrackingSettings, 'stuckAfterMs' | 'confirmationStuckAfterMs'>,
  calypsoState: string | undefined,
): number {
  return calypsoState === 'PENDING_CONFIRMATION'
    ? settings.confirmationStuckAfterMs
    : settings.stuckAfterMs;
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

export interface NextLook {
  /** Quiet longer than a batch in its Calypso state may be: stuck, unless it is final. */
  overdue: boolean;
  nextLookAt: string;
}

/** When to look at a batch again, and whether it has been quiet too long, as of `now`. */
export function nextLook(
  batch: Pick<BatchRecord, 'progressAt' | 'executionDate'>,
  calypsoState: string | undefined,
  now: Date,
  settings: TrackingSettings,
): NextLook {
  const quietMs = now.getTime() - quietSinceMs(batch);
  return {
    overdue: quietMs > stuckAfterMsFor(settings, calypsoState),
    nextLookAt: new Date(
      now.getTime() + nextLookDelay(quietMs, settings.pollIntervalMs),
    ).toISOString(),
  };
}

/** The audit entry of a batch flagged stuck: one shape wherever it is flagged. */
export function stuckEntry(
  batch: Pick<BatchRecord, 'payoutId' | 'index'>,
  flag: { cause: Cause; at: string; detail: string },
): AuditEntry {
  return batchTransition(batch, { field: 'stuck', from: 'false', to: 'true', ...flag });
}

/**
 * Whether a batch Calypso does not hold yet (PENDING or SUBMITTING) is stuck: quiet longer than
 * stuckAfterMs, whatever became of its attempts.
 */
export function isUnsubmittedStuck(
  batch: Pick<BatchRecord, 'status' | 'progressAt' | 'executionDate'>,
  now: Date,
  settings: TrackingSettings,
): boolean {
  return (
    (batch.status === 'PENDING' || batch.status === 'SUBMITTING') &&
    nextLook(batch, undefined, now, settings).overdue
  );
}

/** The stuck entry of a batch still not at Calypso: since when, and the last error. */
export function unsubmittedStuckEntry(
  batch: Pick<BatchRecord, 'payoutId' | 'index' | 'progressAt' | 'lastError'>,
  at: string,
): AuditEntry {
  return stuckEntry(batch, {
    cause: 'reconcile',
    at,
    detail: `not at Calypso since ${batch.progressAt}: ${batch.lastError ?? 'no answer yet'}`,
  });
}

// ---- which of Calypso's withdrawals is which of ours ---------------------------------------

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

// ---- what a lookup changes on each withdrawal ----------------------------------------------

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

/** One withdrawal's change, to be written over the withdrawal as read. */
export interface WithdrawalChange {
  withdrawal: WithdrawalRecord;
  set: Partial<WithdrawalRecord>;
  /** Why, when it is not Calypso's withdrawal that says so (for the state's audit entry). */
  detail?: string;
}

/** The mass payout's state to keep after a lookup: forward only. */
function reportedMassState(
  batch: Pick<BatchRecord, 'calypsoState'>,
  reported: Pick<ReportedBatch, 'state'>,
): string {
  return forwardMassPayoutState(batch.calypsoState, reported.state);
}

/**
 * What a lookup changes on our withdrawals: each paired one follows Calypso's; one Calypso never
 * created, in a payout Calypso ended FAILED or CANCELED, ends so too (nothing was paid).
 */
export function withdrawalChanges(
  batch: Pick<BatchRecord, 'calypsoState'>,
  reported: Pick<ReportedBatch, 'state'>,
  ours: WithdrawalRecord[],
  theirs: Withdrawal[],
  at: string,
): WithdrawalChange[] {
  const matched = matchWithdrawals(ours, theirs);
  const massState = reportedMassState(batch, reported);
  const changes: WithdrawalChange[] = [];
  for (const w of ours) {
    const t = matched.get(w.position);
    if (t) {
      const set = withdrawalChange(w, t, at);
      if (set) changes.push({ withdrawal: w, set });
    } else if (
      (massState === 'FAILED' || massState === 'CANCELED') &&
      !isFinalWithdrawalRecord(w.state)
    ) {
      changes.push({
        withdrawal: w,
        set: { state: massState },
        detail: `never created by Calypso; the mass payout ended ${massState}`,
      });
    }
  }
  return changes;
}

/**
 * The audit entries of a withdrawal change once written: its state's transition, a replacement
 * followed (Calypso's id changed), a validation error raised or resolved. The record keeps only
 * the errors Calypso lists now; the trail keeps their history.
 */
export function withdrawalChangeEntries(
  change: WithdrawalChange,
  cause: Cause,
  at: string,
): AuditEntry[] {
  const { withdrawal: w, set, detail } = change;
  const base = {
    payoutId: w.payoutId,
    at,
    entity: 'withdrawal' as const,
    ref: `${w.batchIndex}/${w.position}`,
    cause,
  };
  const entries: AuditEntry[] = [];
  if (w.calypsoWithdrawalId && set.calypsoWithdrawalId) {
    entries.push({
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
        entries.push({
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
        entries.push({ ...base, field: 'validationError', from: issue.status, to: 'resolved' });
      }
    });
  }
  if (set.state && set.state !== w.state) {
    entries.push(
      withdrawalTransition(w, {
        from: w.state,
        to: set.state,
        cause,
        at,
        ...(detail ? { detail } : {}),
      }),
    );
  }
  return entries;
}

// ---- what a lookup changes on the batch ----------------------------------------------------

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

export interface BatchLookInput {
  /** The batch as read before the lookup. */
  batch: BatchRecord;
  reported: ReportedBatch;
  /** Calypso's withdrawals of the batch, as listed by the lookup. */
  theirs: Withdrawal[];
  /** Our withdrawals as stored after this look's writes. */
  ours: Pick<WithdrawalRecord, 'state'>[];
  /** Whether this look recorded an entry for a withdrawal (that is progress). */
  withdrawalsMoved: boolean;
  now: Date;
  cause: Cause;
  settings: TrackingSettings;
}

export interface BatchLook {
  /** What to write on the batch (lastError goes). */
  set: Partial<BatchRecord> &
    Pick<
      BatchRecord,
      'status' | 'calypsoId' | 'withdrawalCounts' | 'progressAt' | 'nextLookAt' | 'updatedAt'
    > & { calypsoState: string; stuck: boolean };
  /** The batch's own entries: Calypso's state, our status, stuck. */
  entries: AuditEntry[];
  progressed: boolean;
  /** Flagged stuck by this look (it was not before). */
  newlyStuck: boolean;
}

/**
 * What a lookup changes on the batch: Calypso's state (forward only), our status (FINAL once
 * Calypso's state is terminal and every payment is final), the counts and fees, whether it
 * progressed, when to look next, and whether it is stuck.
 */
export function batchLook(input: BatchLookInput): BatchLook {
  const { batch, reported, now, cause, settings } = input;
  const at = now.toISOString();
  const massState = reportedMassState(batch, reported);
  const massTerminal = isTerminalCalypsoPayoutState(massState);
  const counts = countByState(input.ours);
  // A payment whose withdrawal was REPLACED is final only once its replacement is, whatever
  // Calypso says of the mass payout meanwhile.
  const allFinal = input.ours.every(
    (w) => isFinalWithdrawalRecord(w.state) || (w.state === 'CANCELED' && massTerminal),
  );
  const status: BatchRecord['status'] = massTerminal && allFinal ? 'FINAL' : 'SUBMITTED';
  const fee = reported.totalFee?.toString();
  const progressed =
    input.withdrawalsMoved ||
    massState !== batch.calypsoState ||
    status !== batch.status ||
    (fee !== undefined && fee !== batch.totalFee) ||
    JSON.stringify(counts) !== JSON.stringify(batch.withdrawalCounts);
  const progressAt = progressed ? at : batch.progressAt;
  const next = nextLook({ ...batch, progressAt }, massState, now, settings);
  const stuck = status !== 'FINAL' && next.overdue;
  const validationErrors = resolvedBatchIssues(batch.validationErrors, input.theirs);

  const entries: AuditEntry[] = [];
  if (massState !== batch.calypsoState) {
    entries.push(
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
    entries.push(
      batchTransition(batch, { field: 'status', from: batch.status, to: status, cause, at }),
    );
  }
  const newlyStuck = stuck && !batch.stuck;
  if (newlyStuck) {
    entries.push(stuckEntry(batch, { cause, at, detail: `no progress since ${progressAt}` }));
  }
  return {
    set: {
      status,
      calypsoState: massState,
      calypsoId: reported.id,
      ...(fee !== undefined ? { totalFee: fee } : {}),
      ...(reported.feePercentage ? { feePercentage: reported.feePercentage.toString() } : {}),
      withdrawalCounts: counts,
      ...(validationErrors ? { validationErrors } : {}),
      progressAt,
      stuck,
      nextLookAt: next.nextLookAt,
      updatedAt: at,
    },
    entries,
    progressed,
    newlyStuck,
  };
}
