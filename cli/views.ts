/**
 * The API's answers as the CLI reads them: the response types of cli/api-types.ts, inferred from
 * the same zod schemas that shape the responses (shared/payouts/schemas.ts), so they cannot drift.
 */
import { TERMINAL_PAYOUT_STATES } from '../shared/domain/payout.js';
import type { PayoutEvent, PayoutView, WithdrawalView } from './api-types.js';

export type {
  BalancesView,
  BatchView,
  DryRunView,
  PauseView,
  PayoutSummary,
  PayoutView,
  WithdrawalView,
} from './api-types.js';

export function isFinalPayoutState(state: string): boolean {
  return (TERMINAL_PAYOUT_STATES as readonly string[]).includes(state);
}

/** The approvals a payout asked for and those given so far. */
export type ApprovalView = NonNullable<PayoutView['approval']>;

/** One of Calypso's errors for a payment; `resolved` ones did not stop it. */
export type WithdrawalIssueView = WithdrawalView['errors'][number];

/** A page of any listing: its items, and the cursor of the next page (null on the last). */
export interface Page<T> {
  items: T[];
  cursor: string | null;
}

export type EventView = PayoutEvent;
