/**
 * Forward-only ordering of Calypso's states: a state moves only to a later one, and a terminal
 * state never moves again. Webhooks arrive duplicated and out of order; this is what keeps an
 * older event from overwriting a newer one.
 */
import {
  isFinalWithdrawalRecord,
  isTerminalCalypsoPayoutState,
  WITHDRAWAL_NOT_CREATED,
} from './payout.js';

const MASS_PAYOUT_RANK: Record<string, number> = {
  CREATION_IN_PROGRESS: 0,
  PENDING_CONFIRMATION: 1,
  CONFIRMED: 2,
  IN_PROGRESS: 3,
};

function massRank(state: string): number {
  if (isTerminalCalypsoPayoutState(state)) return 4;
  // Unknown non-terminal states sit with the early ones: stored, never blocking progress.
  return MASS_PAYOUT_RANK[state] ?? 1;
}

/** The mass payout state to keep when `next` is reported while we hold `current`. */
export function forwardMassPayoutState(current: string | undefined, next: string): string {
  if (current === undefined) return next;
  if (isTerminalCalypsoPayoutState(current)) return current;
  return massRank(next) > massRank(current) ? next : current;
}

function withdrawalRank(state: string): number {
  if (state === WITHDRAWAL_NOT_CREATED) return 0;
  if (isFinalWithdrawalRecord(state)) return 3;
  if (state === 'IN_PROGRESS' || state === 'REPLACED') return 2;
  return 1; // DRAFT, CANCELED before the end, unknown values
}

/**
 * The withdrawal state to keep when `next` is reported while we hold `current`. REPLACED is
 * never taken: the payment goes on as its replacement, whose state our record follows (a record
 * left REPLACED by older code is sent on as an IN_PROGRESS one).
 */
export function forwardWithdrawalState(current: string, next: string): string {
  if (isFinalWithdrawalRecord(current) || next === 'REPLACED') return current;
  const a = withdrawalRank(current);
  const b = withdrawalRank(next);
  // Equal non-terminal ranks may move sideways (e.g. DRAFT to an unknown in-between state).
  return b > a || (b === a && b !== 0) ? next : current;
}
