/**
 * The sandbox's public types: its options, the programmatic fault and inspection APIs, and the
 * shapes it reports. Amounts in everything the sandbox reports about itself (not in Calypso
 * responses) are decimal strings.
 */
import type { CurrencyRegistry } from '../../../shared/domain/currencies.js';

export interface SandboxAccount {
  /** The merchant account id sent as `account` in every request envelope. */
  account: string;
  /** The public key sent in the `Key` header. */
  apiKey: string;
  /** The secret the `Sign` header is an HMAC-SHA512 with. */
  secretKey: string;
  /** Shown as `companyId` on mass payouts; generated when omitted. */
  companyId?: string;
  /** Shown as `companyName` on withdrawals. */
  companyName?: string;
  /** Shown as `name` by `/account`. */
  name?: string;
}

export type SandboxClockOptions =
  /** Time moves only with `advance()`; `startAt` is the initial time (default: the wall clock). */
  | { mode: 'manual'; startAt?: number }
  /**
   * The wall clock (plus whatever `advance()` skipped). `speed` divides every sandbox delay
   * (lifecycle timings, webhook retries, webhook delays): speed 10 completes a payout ten times
   * sooner, while request timestamps are still checked against the real time.
   */
  | { mode: 'realtime'; speed?: number };

/** Durations on the sandbox clock, in ms. */
export interface SandboxTimings {
  /** From a payout's creation until its withdrawals exist (state `DRAFT`). */
  withdrawalsCreatedAfterMs?: number;
  /** From the withdrawals' creation (or the `executionDate`, if later) until they are sent. */
  inProgressAfterMs?: number;
  /** From a withdrawal going `IN_PROGRESS` until it ends `COMPLETED` (or `FAILED`). */
  completedAfterMs?: number;
}

export interface SandboxOptions {
  /** 0 or omitted: a free port. The sandbox listens on 127.0.0.1 only. */
  port?: number;
  /** Default `/api/v1`. */
  pathPrefix?: string;
  /** Default `/payout/withdrawal/all`; `/payout/withdrawal/find` is answered as well. */
  withdrawalsPath?: string;
  /**
   * The index of a listing's first page: 0 (default) or 1, as the guide's example answers
   * `"page": 1`. A page below it is refused with `001`.
   */
  firstPage?: 0 | 1;
  /** Default: one account with the documented test-vector keys, account `sandbox-account`. */
  accounts?: SandboxAccount[];
  /**
   * Opening balance per currency, as decimal strings, for every account. Omitted: a generous
   * balance in every currency. Given: the listed currencies, every other one at 0.
   */
  balances?: Record<string, string>;
  currencies?: CurrencyRegistry;
  /** Default: manual. */
  clock?: SandboxClockOptions;
  timings?: SandboxTimings;
  /** Makes ids, keys, transaction hashes and trace ids deterministic. */
  seed?: number;
  /** Waits before each redelivery of a webhook answered with anything but 200. */
  webhookRetryScheduleMs?: number[];
  /** How long one webhook POST may take (real ms) before it counts as failed. Default 10 s. */
  webhookTimeoutMs?: number;
  /**
   * Realtime clock: webhook POSTs in flight at once, sent apart from the payouts' own progress
   * (which never waits for a receiver's answer). Default 10. The manual clock sends them one at a
   * time inside `advance()`.
   */
  webhookConcurrency?: number;
  /**
   * The mass payout's final state when some payments completed and some failed. The guide's
   * rule gives `COMPLETED` (the default); `PARTIAL`, a state Calypso also names, is available
   * for clients that must cope with it.
   */
  mixedOutcomeState?: 'PARTIAL' | 'COMPLETED';
  /** Calypso's fee as a percentage of each payment, a decimal string. Default `0.5`. */
  feePercentage?: string;
  /**
   * Every new payout waits in `PENDING_CONFIRMATION` (approval enabled in Calypso's UI) until
   * `ui.confirm` or `ui.cancel`. Default false; `faults.holdForConfirmationNext` holds only some.
   */
  confirmationRequired?: boolean;
}

/** The Calypso operations, as named in fault injection and inspection. */
export const OPERATIONS = [
  'createMassPayout',
  'getMassPayout',
  'listWithdrawals',
  'createPayout',
  'getPayout',
  'getAccount',
  'createWebhook',
  'listWebhooks',
  'deleteWebhook',
] as const;
export type SandboxOperation = (typeof OPERATIONS)[number];
/** One operation, or `*` for every operation. */
export type OperationSelector = SandboxOperation | '*';

/** One request the sandbox received on the Calypso API, whether it was accepted or not. */
export interface RecordedRequest {
  seq: number;
  /** Sandbox time of arrival. */
  receivedAt: number;
  method: string;
  path: string;
  /** Null when the path or method matches no operation. */
  operation: SandboxOperation | null;
  apiKey: string | null;
  sign: string | null;
  /** The raw body, exactly as received. */
  body: string;
  /** Whether `Sign` matched the body for a known `Key`; null when the key was unknown. */
  signatureValid: boolean | null;
  /** `accepted`: answered 200; `rejected`: answered with an error. */
  verdict: 'accepted' | 'rejected';
  /** The HTTP status sent; null when the response was dropped on purpose. */
  status: number | null;
  errorCode: string | null;
  message: string | null;
  /** The injected fault that hit this request, if any. */
  fault: 'fail' | 'delay' | 'drop' | null;
}

export interface WithdrawalErrorSnapshot {
  id: number;
  status: string;
  errorResolved: boolean;
  errorMessage: string;
}

export interface WithdrawalSnapshot {
  id: string;
  depositAddress: string;
  amount: string;
  externalId: string | null;
  state: string;
  calypsoFee: string;
  transactionHash: string | null;
  createdAt: number;
  errors: WithdrawalErrorSnapshot[];
  /** The withdrawal this one replaced; the sandbox's own record, never in Calypso's answers. */
  replaces: string | null;
}

/** A mass payout or a single payout as the sandbox holds it. */
export interface PayoutSnapshot {
  kind: 'mass' | 'single';
  id: string;
  account: string;
  idempotencyKey: string;
  currency: string;
  name: string | null;
  comment: string | null;
  state: string;
  createdAt: number;
  executionDate: number | null;
  totalCalypsoFee: string;
  /** Empty until the withdrawals are created. */
  withdrawals: WithdrawalSnapshot[];
}

export interface WebhookEventSnapshot {
  id: number;
  type: string;
  level: string;
  account: string;
  createdAt: number;
  data: Record<string, unknown>;
}

export interface WebhookAttemptSnapshot {
  /** Sandbox time the POST was made. */
  at: number;
  /** The receiver's HTTP status; null when the POST failed (connection refused, timeout...). */
  status: number | null;
  responseBody: string | null;
  error: string | null;
}

export interface WebhookDeliverySnapshot {
  id: number;
  eventId: number;
  eventType: string;
  subscriptionRequestId: string;
  url: string;
  /** The exact body sent (the same on every attempt). */
  body: string;
  headers: { Key: string; Sign: string };
  /** False when a bad-signature fault hit this delivery. */
  signatureValid: boolean;
  /** Set on the extra copies made by a duplicate fault. */
  duplicateOf: number | null;
  state: 'scheduled' | 'retrying' | 'delivered' | 'failed' | 'withheld' | 'held' | 'canceled';
  attempts: WebhookAttemptSnapshot[];
}

export interface SubscriptionSnapshot {
  requestId: string;
  account: string;
  url: string;
  notificationEventTypes: string[];
  notificationServiceTypes: string[];
  publicKey: string;
  secretKey: string;
  blocked: boolean;
}

export interface FailOptions {
  count?: number;
  /** Default 500. */
  status?: number;
  /** Default `000`. */
  errorCode?: string;
  message?: string;
  /**
   * The fault lets this many matching calls go by first (default 0): e.g. after one dropped
   * create, refuse the client's retries as a real provider might once the first holds the funds.
   */
  after?: number;
}

export interface DelayOptions {
  /** Real milliseconds: a client's timeout runs on the real clock. */
  ms: number;
  count?: number;
  /**
   * `afterHandling` (default): the request takes effect at once and only its response is late,
   * so a client that times out does not know it succeeded. `beforeHandling`: it takes effect late.
   */
  phase?: 'beforeHandling' | 'afterHandling';
}

export interface WebhookFaultFilter {
  /** Only events of this type count; default: every event. */
  eventType?: string;
}

export interface ReplaceOptions {
  count?: number;
  address?: string;
  /** Sandbox ms between the payment ending REPLACED and its replacement appearing. Default 0. */
  replacementAfterMs?: number;
  /** The replacement ends FAILED (no hash; funds returned). Default false. */
  replacementFails?: boolean;
}

/**
 * What a person does in Calypso's UI; `/__sandbox/ui/...` mirrors it. Each throws
 * `SandboxUsageError` when the payout or payment is not in a state that allows it.
 */
export interface SandboxUi {
  /** Confirms a payout in `PENDING_CONFIRMATION`: `CONFIRMED` (`PAYOUT_CONFIRMED`), then sent. */
  confirm(payoutId: string): void;
  /**
   * Cancels a payout none of whose payments was sent (every withdrawal `DRAFT`, or none yet):
   * withdrawals and payout `CANCELED` (`PAYOUT_CHANGE_STATUS`).
   */
  cancel(payoutId: string): void;
  /** Lets a payment held at `EXCEEDING_LIMIT` go: the error is resolved and it is sent, funds permitting. */
  allowOverLimit(withdrawalId: string): void;
}

/** Programmatic fault injection; `/__sandbox/faults/...` mirrors it. Counts default to 1. */
export interface SandboxFaults {
  /** The next `count` calls of the operation answer an error (default 500 `000`) and change nothing. */
  failNext(operation: OperationSelector, options?: FailOptions): void;
  /** The next `count` calls of the operation answer late. */
  delayNext(operation: OperationSelector, options: DelayOptions): void;
  /** The next `count` calls take effect, then the connection is destroyed without a response. */
  dropResponseNext(operation: OperationSelector, options?: { count?: number }): void;
  /** Withdrawals to these addresses (exact match) go `IN_PROGRESS` and end `FAILED`. */
  failAddresses(addresses: string[]): void;
  clearFailedAddresses(): void;
  /**
   * The next `count` withdrawals created (to `address`, if given) are sent and then end
   * `REPLACED`, with a replacement (new id; same deal, address, amount, externalId) created
   * `replacementAfterMs` later (default at once), `IN_PROGRESS`, ending `COMPLETED` (or `FAILED`
   * with `replacementFails` or a failing address).
   */
  replaceNext(options?: ReplaceOptions): void;
  /**
   * The next `count` withdrawals created (to `address`, if given) stay `DRAFT` with an unresolved
   * `EXCEEDING_LIMIT` error (and a `PAYOUT_VALIDATION_ERROR`) when sent, until `ui.allowOverLimit`.
   */
  exceedLimitNext(options?: { count?: number; address?: string }): void;
  /** The next `count` payouts wait in `PENDING_CONFIRMATION` once their withdrawals exist. */
  holdForConfirmationNext(options?: { count?: number }): void;
  /**
   * The next `count` payouts are cancelled in the UI as soon as their withdrawals exist (before
   * anything is sent): withdrawals and payout `CANCELED`.
   */
  cancelNext(options?: { count?: number }): void;
  webhooks: {
    /** Each of the next `count` events is delivered `copies` extra times (default 1). */
    duplicateNext(options?: WebhookFaultFilter & { count?: number; copies?: number }): void;
    /** The next `count` events are held, then delivered in reverse order. */
    reorderNext(count: number, options?: WebhookFaultFilter): void;
    /** The next `count` events are delivered `ms` of sandbox time late. */
    delayNext(options: WebhookFaultFilter & { ms: number; count?: number }): void;
    /** The next `count` events are recorded but not delivered until `releaseWithheld()`. */
    withholdNext(options?: WebhookFaultFilter & { count?: number }): void;
    /** Delivers every withheld event now; returns how many deliveries were released. */
    releaseWithheld(): number;
    /** The next `count` events carry a `Sign` that does not match their body. */
    badSignatureNext(options?: WebhookFaultFilter & { count?: number }): void;
  };
  /** Every pending fault, for display. */
  list(): unknown[];
  /** Removes every pending fault and every failing address (held webhooks stay held). */
  clear(): void;
}

export interface SandboxInspection {
  /** Every request received on the Calypso API, in order of arrival. */
  requests(): RecordedRequest[];
  /** How many mass payouts were created under this idempotencyKey (across accounts). */
  massPayoutCreates(idempotencyKey: string): number;
  /** How many authenticated create calls carried this idempotencyKey, successful or not. */
  massPayoutCreateAttempts(idempotencyKey: string): number;
  massPayouts(): PayoutSnapshot[];
  /** Single payouts. */
  payouts(): PayoutSnapshot[];
  /** Every webhook event raised, delivered or not. */
  events(): WebhookEventSnapshot[];
  webhookDeliveries(): WebhookDeliverySnapshot[];
  subscriptions(): SubscriptionSnapshot[];
  /** Balances of an account (default: the first), decimal strings per currency. */
  balances(account?: string): Record<string, string>;
  /** Unexpected errors inside the sandbox (a bug in the sandbox if ever non-empty). */
  internalErrors(): string[];
}

export interface CalypsoSandbox {
  /** e.g. `http://127.0.0.1:PORT`, without the path prefix. */
  url: string;
  /** The path prefix of the Calypso API, e.g. `/api/v1`. */
  pathPrefix: string;
  /** The accounts the sandbox knows, with their keys. */
  accounts: SandboxAccount[];
  /**
   * Moves the sandbox clock forward and runs everything that falls due, in order, including
   * webhook deliveries and their retries. Resolves once all of it, HTTP POSTs included, settled.
   * Do not await it from inside a webhook receiver: it waits for that delivery.
   */
  advance(ms: number): Promise<void>;
  now(): number;
  /** Adds to an account's balance (default: the first account); resumes payouts short of funds. */
  topUp(currency: string, amount: string, account?: string): void;
  setBalance(currency: string, amount: string, account?: string): void;
  faults: SandboxFaults;
  ui: SandboxUi;
  inspect: SandboxInspection;
  /** Forgets payouts, subscriptions, faults, records and pending work; restores opening balances. */
  reset(): void;
  close(): Promise<void>;
}
