/**
 * What the sandbox remembers: accounts and their balances, payouts ("deals" in Calypso's own
 * words: a mass payout, or a single payout) with their withdrawals, and webhook subscriptions.
 * Plain in-memory data; the rules that change it live in lifecycle.ts and calypso-api.ts.
 */
import { Decimal } from '../../../shared/domain/money.js';
import type { SandboxAccount } from './types.js';

export const PAYOUT_STATES = [
  'CREATION_IN_PROGRESS',
  'PENDING_CONFIRMATION',
  'CONFIRMED',
  'IN_PROGRESS',
  'COMPLETED',
  'FAILED',
  'CANCELED',
  'PARTIAL',
] as const;
export type PayoutState = (typeof PAYOUT_STATES)[number];

export const WITHDRAWAL_STATES = [
  'DRAFT',
  'IN_PROGRESS',
  'COMPLETED',
  'REPLACED',
  'FAILED',
  'CANCELED',
] as const;
export type WithdrawalState = (typeof WITHDRAWAL_STATES)[number];

const TERMINAL_WITHDRAWAL_STATES: ReadonlySet<WithdrawalState> = new Set([
  'COMPLETED',
  'REPLACED',
  'FAILED',
  'CANCELED',
]);

export function isTerminalWithdrawalState(state: WithdrawalState): boolean {
  return TERMINAL_WITHDRAWAL_STATES.has(state);
}

export interface AccountState {
  account: string;
  apiKey: string;
  secretKey: string;
  companyId: string;
  companyName: string;
  name: string;
  ownerId: string;
  balances: Map<string, Decimal>;
}

export interface Recipient {
  depositAddress: string;
  amount: Decimal;
  externalId?: string;
}

export type WithdrawalErrorStatus =
  'NOT_ENOUGH_FUNDS' | 'NOT_ENOUGH_FUNDS_FOR_COMMISSION' | 'EXCEEDING_LIMIT';

export interface WithdrawalError {
  id: number;
  status: WithdrawalErrorStatus;
  errorResolved: boolean;
  errorMessage: string;
}

export interface Withdrawal {
  id: string;
  dealId: string;
  account: string;
  currency: string;
  amount: Decimal;
  calypsoFee: Decimal;
  depositAddress: string;
  externalId?: string;
  comment?: string;
  state: WithdrawalState;
  transactionHash: string | null;
  createdAt: number;
  errors: WithdrawalError[];
  /** Decided when it is sent: a failing-address fault makes it end FAILED. */
  willFail: boolean;
  /** Decided when it is sent: a replace fault makes it end REPLACED, and how its replacement goes. */
  replacement?: { afterMs: number; fails: boolean };
  /** An exceed-limit fault holds it DRAFT with EXCEEDING_LIMIT until allowed over the limit. */
  limitHeld: boolean;
  /**
   * The withdrawal this one replaced. Calypso's answers carry no such link (none is documented):
   * the sandbox keeps it for inspection only.
   */
  replaces?: string;
}

export interface Deal {
  kind: 'mass' | 'single';
  id: string;
  account: string;
  idempotencyKey: string;
  currency: string;
  name?: string;
  comment?: string;
  /** Sandbox time before which nothing is sent. */
  executionDate?: number;
  createdAt: number;
  state: PayoutState;
  recipients: Recipient[];
  /** Empty until the withdrawals are created, asynchronously. */
  withdrawals: Withdrawal[];
  calypsoFeePercentage: Decimal;
  totalCalypsoFee: Decimal;
}

export interface Subscription {
  requestId: string;
  account: string;
  url: string;
  notificationEventTypes: string[];
  notificationServiceTypes: string[];
  publicKey: string;
  secretKey: string;
  createdAt: number;
  /** Failure times since the last success, for Calypso's blocking rule. */
  recentFailures: number[];
  blocked: boolean;
}

export class SandboxStore {
  readonly accounts = new Map<string, AccountState>();
  private readonly accountsByKey = new Map<string, AccountState>();
  readonly deals = new Map<string, Deal>();
  private readonly dealsByKey = new Map<string, Deal>();
  /** Every withdrawal in order of creation. */
  readonly withdrawals: Withdrawal[] = [];
  readonly subscriptions = new Map<string, Subscription>();
  /** Mass payouts created per idempotencyKey. */
  readonly massCreates = new Map<string, number>();

  constructor(
    accounts: AccountState[],
    private readonly openingBalances: ReadonlyMap<string, Decimal>,
  ) {
    for (const account of accounts) {
      if (this.accounts.has(account.account) || this.accountsByKey.has(account.apiKey)) {
        throw new Error(`sandbox account ${account.account} or its key is listed twice`);
      }
      this.accounts.set(account.account, account);
      this.accountsByKey.set(account.apiKey, account);
    }
    this.restoreBalances();
  }

  accountByKey(apiKey: string): AccountState | undefined {
    return this.accountsByKey.get(apiKey);
  }

  requireAccount(account?: string): AccountState {
    const found =
      account === undefined ? this.accounts.values().next().value : this.accounts.get(account);
    if (!found) throw new Error(`unknown sandbox account ${JSON.stringify(account)}`);
    return found;
  }

  balance(account: string, currency: string): Decimal {
    return this.requireAccount(account).balances.get(currency) ?? Decimal.ZERO;
  }

  setBalance(account: string, currency: string, value: Decimal): void {
    this.requireAccount(account).balances.set(currency, value);
  }

  addDeal(deal: Deal): void {
    this.deals.set(deal.id, deal);
    this.dealsByKey.set(dealKey(deal.account, deal.kind, deal.idempotencyKey), deal);
    if (deal.kind === 'mass') {
      this.massCreates.set(
        deal.idempotencyKey,
        (this.massCreates.get(deal.idempotencyKey) ?? 0) + 1,
      );
    }
  }

  dealByKey(account: string, kind: Deal['kind'], idempotencyKey: string): Deal | undefined {
    return this.dealsByKey.get(dealKey(account, kind, idempotencyKey));
  }

  /** Forgets everything but the accounts, whose balances go back to the opening ones. */
  reset(): void {
    this.deals.clear();
    this.dealsByKey.clear();
    this.withdrawals.length = 0;
    this.subscriptions.clear();
    this.massCreates.clear();
    this.restoreBalances();
  }

  private restoreBalances(): void {
    for (const account of this.accounts.values()) {
      account.balances = new Map(this.openingBalances);
    }
  }
}

function dealKey(account: string, kind: Deal['kind'], idempotencyKey: string): string {
  return `${account}\n${kind}\n${idempotencyKey}`;
}

/** The account's configuration with the sandbox's defaults for what it leaves out. */
export function accountState(
  config: SandboxAccount,
  generated: { companyId: string; ownerId: string },
): AccountState {
  return {
    account: config.account,
    apiKey: config.apiKey,
    secretKey: config.secretKey,
    companyId: config.companyId ?? generated.companyId,
    companyName: config.companyName ?? 'Sandbox Company',
    name: config.name ?? 'Sandbox account',
    ownerId: generated.ownerId,
    balances: new Map(),
  };
}
