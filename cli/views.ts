/** The API's answers as the CLI reads them (see shared/payouts/views.ts). Amounts are strings. */
import { TERMINAL_PAYOUT_STATES } from '../shared/domain/payout.js';

export function isFinalPayoutState(state: string): boolean {
  return (TERMINAL_PAYOUT_STATES as readonly string[]).includes(state);
}

export interface BatchView {
  index: number;
  status: string;
  calypsoId: string | null;
  calypsoState: string | null;
  recipientCount: number;
  total: string;
  totalFee: string | null;
  withdrawalCounts: Record<string, number>;
  validationErrors?: { status: string; message?: string }[];
  stuck: boolean;
  lastError: string | null;
}

export interface PayoutView {
  id: string;
  state: string;
  currency: string;
  name: string;
  comment?: string | null;
  executionDate?: string | null;
  recipientCount: number;
  total: string;
  totalFee: string | null;
  withdrawalCounts: Record<string, number>;
  batches: BatchView[];
  stuck: boolean;
  /** Who created it (the principal approvals are never taken from). */
  createdBy?: { principal: string; session: string | null };
  /** Present when the payout policy asked for approvals. */
  approval?: ApprovalView | null;
  cancellation?: { reason: string; by: string; at: string } | null;
  /** Submission is paused (the emergency stop): nothing new is sent meanwhile. */
  submissionPaused?: { since: string; reason: string | null } | null;
  retryOf?: string | null;
  retriedBy?: string[];
  createdAt?: string;
  updatedAt?: string;
}

export interface ApprovalView {
  required: number;
  approvers: string[];
  deadline: string;
  approvals: { principal: string; session: string | null; at: string }[];
}

/** GET /admin/pause, and the answer to pausing or resuming. */
export interface PauseView {
  paused: boolean;
  since: string | null;
  by: string | null;
  reason: string | null;
}

export type { DryRunView } from '../shared/payouts/create-payout.js';

export interface WithdrawalView {
  payoutId?: string;
  index: number;
  batchIndex?: number;
  address: string;
  amount: string;
  currency?: string;
  externalId: string | null;
  state: string;
  transactionHash: string | null;
  fee: string | null;
  /** Calypso's errors for this payment; `resolved` ones did not stop it. */
  errors?: WithdrawalIssueView[];
  updatedAt?: string;
}

export interface WithdrawalIssueView {
  status: string;
  message?: string;
  resolved?: boolean;
  at?: string;
}

export interface Page<T> {
  items: T[];
  cursor: string | null;
}

export interface EventView {
  at: string;
  entity: string;
  ref: string | null;
  field: string;
  from: unknown;
  to: unknown;
  cause: string;
  detail: unknown;
}

export interface BalancesView {
  account?: string;
  balances: { currency: string; amount: string }[];
}
