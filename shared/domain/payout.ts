/**
 * The payout model: a caller's request to pay many recipients in one currency, split into
 * batches (one Calypso mass payout each), each holding withdrawals (one payment each).
 * Amounts are decimal strings in records (exact; parsed with Decimal when computed on).
 */

/** Calypso's mass payout states (calypso-api.md §4); unknown values are kept verbatim. */
export const CALYPSO_TERMINAL_PAYOUT_STATES = [
  'COMPLETED',
  'FAILED',
  'CANCELED',
  'PARTIAL',
] as const;
/** Calypso's withdrawal states; unknown values are kept verbatim and treated as non-terminal. */
export const CALYPSO_TERMINAL_WITHDRAWAL_STATES = ['COMPLETED', 'REPLACED', 'FAILED'] as const;

export function isTerminalCalypsoPayoutState(state: string | undefined): boolean {
  return (CALYPSO_TERMINAL_PAYOUT_STATES as readonly string[]).includes(state ?? '');
}

export function isTerminalWithdrawalState(state: string | undefined): boolean {
  return (CALYPSO_TERMINAL_WITHDRAWAL_STATES as readonly string[]).includes(state ?? '');
}

/**
 * Whether our record of a payment is final. Calypso's REPLACED ends the withdrawal it names, not
 * the payment: our record follows the replacing withdrawal and is final when that one is, so a
 * record never stays REPLACED (one that does, from older code, is not final).
 */
export function isFinalWithdrawalRecord(state: string | undefined): boolean {
  return isTerminalWithdrawalState(state) && state !== 'REPLACED';
}

/**
 * Our side of a batch's life:
 * - PENDING: stored, not yet sent to Calypso;
 * - SUBMITTING: a create call may be under way (or died): resolve by lookup, never by a new key;
 * - SUBMITTED: Calypso holds it (see calypsoState for its progress);
 * - REJECTED: Calypso refused it as invalid and holds nothing under its key (looked up, and
 *   looked up once more a few minutes later; a payout found then is adopted and alarmed);
 * - FINAL: Calypso's state is terminal and every withdrawal is final;
 * - HELD: its payout awaits approval: nothing may be sent (looked at again at the deadline);
 * - CANCELED: cancelled (or rejected, or its approval expired) before anything was sent;
 * - AWAITING_FUNDS: the account's balance does not cover it (amounts plus estimated fees):
 *   nothing sent, checked again at each look;
 * - UNFUNDED: the funds did not come within the wait limit: it ended with nothing sent (looked
 *   up by key first) and its payments FAILED.
 */
export const BATCH_STATUSES = [
  'PENDING',
  'SUBMITTING',
  'SUBMITTED',
  'REJECTED',
  'FINAL',
  'HELD',
  'CANCELED',
  'AWAITING_FUNDS',
  'UNFUNDED',
] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** The payout's overall state, derived from its batches. */
export const PAYOUT_STATES = [
  'PENDING_APPROVAL',
  'ACCEPTED',
  'AWAITING_FUNDS',
  'SUBMITTED',
  'IN_PROGRESS',
  'COMPLETED',
  'COMPLETED_WITH_FAILURES',
  'FAILED',
  'CANCELED',
  'REJECTED',
] as const;
export type PayoutState = (typeof PAYOUT_STATES)[number];
export const TERMINAL_PAYOUT_STATES: readonly PayoutState[] = [
  'COMPLETED',
  'COMPLETED_WITH_FAILURES',
  'FAILED',
  'CANCELED',
  'REJECTED',
];

/** A withdrawal before Calypso has created it. */
export const WITHDRAWAL_NOT_CREATED = 'PENDING';

export interface ValidationIssue {
  status: string;
  message?: string;
  resolved: boolean;
  at: string;
}

export interface PayoutRecord {
  id: string;
  /** Who owns it: `team:<name>` or a principal (shared/domain/identity.ts). Reads are scoped by it. */
  owner: string;
  /** The principal that created it, and the session it used (detail only). */
  createdBy: string;
  createdBySession?: string;
  /** The caller's Idempotency-Key (scoped by owner). */
  idempotencyKey: string;
  requestHash: string;
  currency: string;
  name: string;
  comment?: string;
  executionDate?: string;
  recipientCount: number;
  /** Decimal string: the sum of every recipient's amount. */
  total: string;
  batchCount: number;
  state: PayoutState;
  /** Whether any of its batches is flagged stuck (kept in step by recordPayoutState). */
  stuck?: boolean;
  createdAt: string;
  updatedAt: string;
  /** The payout this one re-pays the failed payments of. */
  retryOf?: string;
  /** Payouts created to re-pay this one's failed payments (at most one). */
  retriedBy?: string[];
  /**
   * The single retry of this payout's failed payments, claimed with a conditional write before
   * the retry payout is written: exactly which payments (request indexes) it re-pays. Whoever asks again, with whatever key, gets this retry.
   */
  retryClaim?: RetryClaim;
  /**
   * A fence no submission passes (checked atomically with each batch's claim): `approval` while
   * approvals are missing, `canceled` once cancelled.
   */
  hold?: 'approval' | 'canceled';
  /** What the policy asked when the payout was accepted, and the approvals given so far. */
  approval?: ApprovalRecord;
  /** Why and by whom the payout was cancelled before anything was sent. */
  cancellation?: { reason: string; by: string; session?: string; at: string };
}

export interface ApprovalRecord {
  required: number;
  /** Principals or team names that may approve (the creator never may). */
  approvers: string[];
  /** Without enough approvals by then, the payout is cancelled (`approval-expired`). */
  deadline: string;
  approvals: { principal: string; session?: string; at: string }[];
}

export interface RetryClaim {
  /** Request indexes (0-based) of the re-paid withdrawals, ascending. */
  requestIndexes: number[];
  claimedBy: string;
  claimedBySession?: string;
  claimedAt: string;
}

/** A coin the account lacks for a batch (decimal strings). */
export interface FundsShortfallRecord {
  currency: string;
  needed: string;
  available: string;
  missing: string;
}

export interface BatchRecord {
  payoutId: string;
  index: number;
  /** How it goes to Calypso, fixed when the payout is stored; absent on older batches: mass. */
  kind?: 'mass' | 'single';
  /** Deterministic (UUID v5 of payout id and index), stored before the first call. */
  idempotencyKey: string;
  currency: string;
  recipientCount: number;
  total: string;
  status: BatchStatus;
  calypsoId?: string;
  calypsoState?: string;
  /** Decimal strings, as Calypso reported them. */
  totalFee?: string;
  feePercentage?: string;
  attempts: number;
  /**
   * An earlier create attempt may have reached Calypso (a lost answer, a timeout, a 5xx or
   * `000`): a later refusal is then not definite. Once set, never cleared.
   */
  uncertainAttempt?: boolean;
  /** Create attempts whose end was recorded; fewer than `attempts - 1` means one died mid-way. */
  attemptsEnded?: number;
  lastError?: string;
  /** When the reconciler should next look at this batch (ISO time); absent once final. */
  nextLookAt?: string;
  /** When the batch last changed in a way that counts as progress. */
  progressAt: string;
  /**
   * When a payment's final webhook last had the batch looked up at once: such looks are at most
   * one per poll interval, however many payments end together.
   */
  promptLookAt?: string;
  /** The payout's executionDate: Calypso sends nothing before it. */
  executionDate?: string;
  stuck?: boolean;
  submittingSince?: string;
  /** Count of this batch's withdrawals per state. */
  withdrawalCounts: Record<string, number>;
  /** Since when the balance has not covered it (AWAITING_FUNDS), and what it lacked last. */
  awaitingFundsSince?: string;
  fundsShortfall?: FundsShortfallRecord[];
  /** Attempts that ended at the funds check, before any call that could pay. */
  fundsWaits?: number;
  validationErrors?: ValidationIssue[];
  createdAt: string;
  updatedAt: string;
}

export interface WithdrawalRecord {
  payoutId: string;
  /** The payout's owner, so a search by externalId can be scoped without reading each payout. */
  owner?: string;
  batchIndex: number;
  /** Position within the batch (0-based); batchIndex × limit + position is the request index. */
  position: number;
  /** Position in the caller's request (0-based). */
  requestIndex: number;
  address: string;
  amount: string;
  currency: string;
  externalId?: string;
  state: string;
  calypsoWithdrawalId?: string;
  transactionHash?: string;
  fee?: string;
  errors?: ValidationIssue[];
  updatedAt: string;
}

/** Who moved a record: the API, a Calypso webhook, or the reconciler's lookup. */
export type Cause = 'api' | 'webhook' | 'reconcile';

/** One transition in a payout's audit trail. */
export interface AuditEntry {
  payoutId: string;
  at: string;
  entity: 'payout' | 'batch' | 'withdrawal';
  /** Which batch or withdrawal: `3` or `3/17` (batch/position); absent for the payout. */
  ref?: string;
  field: string;
  from: string | null;
  to: string;
  cause: Cause;
  /**
   * Who: a caller's principal, or `system:reconciler` / `system:webhook` / `system:submitter`
   * (filled in from the cause when absent).
   */
  actor?: string;
  /** The caller's session name, when a caller acted through an assumed role. */
  actorSession?: string;
  detail?: string;
}

/** A webhook delivery as received: the raw body and what we made of it. */
export interface WebhookEventRecord {
  eventId: string;
  receivedAt: string;
  rawBody: string;
  eventType?: string;
  idempotencyKey?: string;
  /** `received` until a worker claims it (`applying`); then what applying it found. */
  verdict:
    'received' | 'applying' | 'applied' | 'stale' | 'unknown-payout' | 'unknown-type' | 'malformed';
  /** When a worker claimed the event for applying. */
  claimedAt?: string;
  detail?: string;
  payoutId?: string;
  batchIndex?: number;
}

/** An audit entry for a change of one of a batch's fields. */
export function batchTransition(
  batch: Pick<BatchRecord, 'payoutId' | 'index'>,
  change: {
    field: string;
    from: string | null | undefined;
    to: string;
    cause: Cause;
    at: string;
    detail?: string;
  },
): AuditEntry {
  const { field, from, to, cause, at, detail } = change;
  return {
    payoutId: batch.payoutId,
    at,
    entity: 'batch',
    ref: String(batch.index),
    field,
    from: from ?? null,
    to,
    cause,
    ...(detail ? { detail } : {}),
  };
}

/** An audit entry for a withdrawal's change of state. */
export function withdrawalTransition(
  w: Pick<WithdrawalRecord, 'payoutId' | 'batchIndex' | 'position'>,
  change: { from: string; to: string; cause: Cause; at: string; detail?: string },
): AuditEntry {
  const { from, to, cause, at, detail } = change;
  return {
    payoutId: w.payoutId,
    at,
    entity: 'withdrawal',
    ref: `${w.batchIndex}/${w.position}`,
    field: 'state',
    from,
    to,
    cause,
    ...(detail ? { detail } : {}),
  };
}

/** The first entry of a payout's audit trail: who created it, through which session. */
export function payoutCreated(payout: PayoutRecord): AuditEntry {
  return {
    payoutId: payout.id,
    at: payout.createdAt,
    entity: 'payout',
    field: 'state',
    from: null,
    to: payout.state,
    cause: 'api',
    actor: payout.createdBy,
    ...(payout.createdBySession !== undefined ? { actorSession: payout.createdBySession } : {}),
    detail: payout.retryOf ? `retry of the failed payments of ${payout.retryOf}` : 'created',
  };
}

/** How many of these withdrawals are in each state (a batch's `withdrawalCounts`). */
export function countByState(
  withdrawals: Pick<WithdrawalRecord, 'state'>[],
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const w of withdrawals) counts[w.state] = (counts[w.state] ?? 0) + 1;
  return counts;
}
