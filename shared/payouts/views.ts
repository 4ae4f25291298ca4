/**
 * What the API shows of a payout, its batches and withdrawals: decimal strings, no internals.
 * Typed by the response schemas (schemas.ts), which the OpenAPI document is generated from.
 */
import type {
  BatchRecord,
  PayoutRecord,
  ValidationIssue,
  WithdrawalRecord,
} from '../domain/payout.js';
import { derivePayoutState } from '../domain/payout-state.js';
import { Decimal } from '../domain/money.js';
import type { BatchView, PayoutSummary, PayoutView, WithdrawalView } from './schemas.js';

export type { PayoutView } from './schemas.js';

/**
 * Calypso's validation errors an operator has to act on: those not resolved. The record keeps
 * the resolved ones, and the payout's events when each was raised and resolved.
 */
function standing(issues: ValidationIssue[] | undefined): ValidationIssue[] {
  return (issues ?? []).filter((issue) => !issue.resolved);
}

/** Calypso holds the mass payout for a confirmation in its UI (approval enabled there). */
function awaitsConfirmation(batch: BatchRecord): boolean {
  return batch.status === 'SUBMITTED' && batch.calypsoState === 'PENDING_CONFIRMATION';
}

export function batchView(batch: BatchRecord): BatchView {
  return {
    index: batch.index,
    kind: batch.kind ?? 'mass',
    status: batch.status,
    calypsoId: batch.calypsoId ?? null,
    calypsoState: batch.calypsoState ?? null,
    idempotencyKey: batch.idempotencyKey,
    recipientCount: batch.recipientCount,
    total: batch.total,
    totalFee: batch.totalFee ?? null,
    withdrawalCounts: batch.withdrawalCounts,
    validationErrors: standing(batch.validationErrors),
    awaitingCalypsoConfirmation: awaitsConfirmation(batch),
    stuck: batch.stuck ?? false,
    lastError: batch.lastError ?? null,
    awaitingFundsSince: batch.awaitingFundsSince ?? null,
    fundsShortfall:
      batch.status === 'AWAITING_FUNDS' || batch.status === 'UNFUNDED'
        ? (batch.fundsShortfall ?? [])
        : [],
  };
}

export function payoutView(
  payout: PayoutRecord,
  batches: BatchRecord[],
  pause?: { paused: boolean; at: string; reason?: string },
): PayoutView {
  const sorted = [...batches].sort((a, b) => a.index - b.index);
  const counts: Record<string, number> = {};
  for (const batch of sorted) {
    for (const [state, n] of Object.entries(batch.withdrawalCounts))
      counts[state] = (counts[state] ?? 0) + n;
  }
  const fees = sorted
    .filter((b) => b.totalFee !== undefined)
    .map((b) => Decimal.parse(b.totalFee!));
  return {
    id: payout.id,
    owner: payout.owner,
    createdBy: { principal: payout.createdBy, session: payout.createdBySession ?? null },
    state: sorted.length ? derivePayoutState(sorted) : payout.state,
    currency: payout.currency,
    name: payout.name,
    comment: payout.comment ?? null,
    executionDate: payout.executionDate ?? null,
    recipientCount: payout.recipientCount,
    total: payout.total,
    totalFee: fees.length ? Decimal.sum(fees).toString() : null,
    withdrawalCounts: counts,
    batches: sorted.map(batchView),
    awaitingCalypsoConfirmation: sorted.some(awaitsConfirmation),
    stuck: sorted.some((b) => b.stuck === true),
    approval: payout.approval
      ? {
          required: payout.approval.required,
          approvers: payout.approval.approvers,
          deadline: payout.approval.deadline,
          approvals: payout.approval.approvals.map((a) => ({
            principal: a.principal,
            session: a.session ?? null,
            at: a.at,
          })),
        }
      : null,
    cancellation: payout.cancellation
      ? {
          reason: payout.cancellation.reason,
          by: payout.cancellation.by,
          at: payout.cancellation.at,
        }
      : null,
    /** Submission to Calypso is paused (the emergency stop): nothing new is sent meanwhile. */
    submissionPaused: pause?.paused ? { since: pause.at, reason: pause.reason ?? null } : null,
    retryOf: payout.retryOf ?? null,
    retriedBy: payout.retriedBy ?? [],
    createdAt: payout.createdAt,
    updatedAt: payout.updatedAt,
  };
}

/** A payout as listed: its stored state and stuck flag, no batches read. */
export function payoutSummaryView(payout: PayoutRecord): PayoutSummary {
  return {
    id: payout.id,
    owner: payout.owner,
    createdBy: { principal: payout.createdBy, session: payout.createdBySession ?? null },
    state: payout.state,
    currency: payout.currency,
    name: payout.name,
    recipientCount: payout.recipientCount,
    total: payout.total,
    stuck: payout.stuck ?? false,
    retryOf: payout.retryOf ?? null,
    createdAt: payout.createdAt,
    updatedAt: payout.updatedAt,
  };
}

export function withdrawalView(w: WithdrawalRecord): WithdrawalView {
  return {
    payoutId: w.payoutId,
    index: w.requestIndex,
    batchIndex: w.batchIndex,
    address: w.address,
    amount: w.amount,
    currency: w.currency,
    externalId: w.externalId ?? null,
    state: w.state,
    calypsoWithdrawalId: w.calypsoWithdrawalId ?? null,
    transactionHash: w.transactionHash ?? null,
    fee: w.fee ?? null,
    errors: standing(w.errors),
    updatedAt: w.updatedAt,
  };
}
