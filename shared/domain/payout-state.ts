/**
 * The payout's overall state, derived from its batches (never stored as a second truth that
 * could disagree with them).
 */
import type { BatchRecord, PayoutState } from './payout.js';

export function derivePayoutState(
  batches: Pick<BatchRecord, 'status' | 'calypsoState' | 'withdrawalCounts'>[],
): PayoutState {
  if (batches.length === 0) return 'ACCEPTED';
  // Cancellation and approval hold a payout whole: nothing of it has been sent.
  if (batches.every((b) => b.status === 'CANCELED')) return 'CANCELED';
  if (batches.some((b) => b.status === 'HELD')) return 'PENDING_APPROVAL';
  if (batches.every((b) => b.status === 'REJECTED')) return 'REJECTED';
  // A batch that ended UNFUNDED holds its payments as FAILED (nothing was sent).
  if (
    batches.every((b) => b.status === 'FINAL' || b.status === 'REJECTED' || b.status === 'UNFUNDED')
  ) {
    let completed = 0;
    let failed = 0;
    let canceled = 0;
    for (const b of batches) {
      if (b.status === 'REJECTED') {
        failed += 1;
        continue;
      }
      const c = b.withdrawalCounts;
      completed += c.COMPLETED ?? 0;
      // A record follows a replaced payment's replacement and is final only with it: one still
      // REPLACED on a final batch was never seen paid.
      failed += (c.FAILED ?? 0) + (c.REPLACED ?? 0);
      canceled += c.CANCELED ?? 0;
    }
    if (completed > 0) return failed > 0 || canceled > 0 ? 'COMPLETED_WITH_FAILURES' : 'COMPLETED';
    if (failed > 0) return 'FAILED';
    return 'CANCELED';
  }
  const started = batches.some(
    (b) =>
      b.status === 'FINAL' ||
      (b.calypsoState !== undefined &&
        b.calypsoState !== 'CREATION_IN_PROGRESS' &&
        b.calypsoState !== 'PENDING_CONFIRMATION') ||
      Object.entries(b.withdrawalCounts).some(([state, n]) => state !== 'PENDING' && n > 0),
  );
  if (started) return 'IN_PROGRESS';
  if (batches.some((b) => b.status === 'AWAITING_FUNDS')) return 'AWAITING_FUNDS';
  const unsent = batches.some((b) => b.status === 'PENDING' || b.status === 'SUBMITTING');
  return unsent ? 'ACCEPTED' : 'SUBMITTED';
}
