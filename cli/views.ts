/** The API's answers as the CLI reads them (see shared/payouts/views.ts). Amounts are strings. */

export const FINAL_PAYOUT_STATES = [
  'COMPLETED',
  'COMPLETED_WITH_FAILURES',
  'FAILED',
  'CANCELED',
  'REJECTED',
] as const;

export function isFinalPayoutState(state: string): boolean {
  return (FINAL_PAYOUT_STATES as readonly string[]).includes(state);
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
  retryOf?: string | null;
  retriedBy?: string[];
  createdAt?: string;
  updatedAt?: string;
}

export interface DryRunView {
  dryRun: true;
  currency: string;
  recipientCount: number;
  total: string;
  batches: { index: number; recipientCount: number; total: string }[];
  balance: { available: string | null; covers: boolean | null; error?: string };
}

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
  errors?: unknown[];
  updatedAt?: string;
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
