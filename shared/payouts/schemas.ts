/**
 * The API's request and response bodies as zod schemas: the view functions are typed by them,
 * the OpenAPI document (openapi.json) is generated from them, and callers' types come from them.
 * Deployed code imports only the types from here, so the schemas stay out of the bundles.
 */
import * as z from 'zod/mini';
import { BATCH_STATUSES, PAYOUT_STATES } from '../domain/payout.js';
import { COMMENT_MAX, EXTERNAL_ID_MAX, NAME_MAX } from '../domain/request-fields.js';

/** An amount the caller sends: a decimal string, never a JSON number. */
const amountInput = z.string().check(z.regex(/^[0-9]+(\.[0-9]+)?$/));
/** An amount we show: an exact decimal string (Calypso's figures keep the text Calypso sent). */
const decimal = z.string();
const dateTime = z.string();
const cursor = z.nullable(z.string());

// ---- requests ----------------------------------------------------------------------------

export const recipientRequestSchema = z.strictObject({
  address: z.string(),
  amount: amountInput,
  externalId: z.optional(z.string().check(z.minLength(1), z.maxLength(EXTERNAL_ID_MAX))),
});

/** POST /payouts. The handler checks far more (currency, address per network, decimals...). */
export const payoutRequestSchema = z.strictObject({
  currency: z.string(),
  name: z.string().check(z.minLength(1), z.maxLength(NAME_MAX)),
  comment: z.optional(z.string().check(z.maxLength(COMMENT_MAX))),
  /** ISO-8601 date-time with a zone, in the future. */
  executionDate: z.optional(dateTime),
  recipients: z.array(recipientRequestSchema).check(z.minLength(1)),
});

/** POST /payouts/{id}/reject and POST /admin/pause (required), cancel and resume (optional). */
export const reasonRequestSchema = z.object({
  reason: z.string().check(z.minLength(1), z.maxLength(500)),
});
export const optionalReasonRequestSchema = z.object({
  reason: z.optional(z.string().check(z.minLength(1), z.maxLength(500))),
});

// ---- responses ---------------------------------------------------------------------------

const validationIssueSchema = z.object({
  status: z.string(),
  message: z.optional(z.string()),
  resolved: z.boolean(),
  at: dateTime,
});

/** Count of withdrawals per state (`PENDING`, `COMPLETED`, `FAILED`, Calypso's own states). */
const withdrawalCountsSchema = z.record(z.string(), z.int());

/** A coin the account lacks for a batch: needed (amounts plus estimated fees), held, missing. */
const shortfallSchema = z.object({
  currency: z.string(),
  needed: decimal,
  available: decimal,
  missing: decimal,
});

export const batchSchema = z.object({
  index: z.int(),
  /** How it goes to Calypso: one mass payout, or one single payout (one recipient). */
  kind: z.enum(['mass', 'single']),
  status: z.enum(BATCH_STATUSES),
  calypsoId: z.nullable(z.string()),
  calypsoState: z.nullable(z.string()),
  idempotencyKey: z.string(),
  recipientCount: z.int(),
  total: decimal,
  totalFee: z.nullable(decimal),
  withdrawalCounts: withdrawalCountsSchema,
  /** Calypso's validation errors that still stand (resolved ones are in the events). */
  validationErrors: z.array(validationIssueSchema),
  /** Calypso holds it in PENDING_CONFIRMATION: someone must confirm it in Calypso's UI. */
  awaitingCalypsoConfirmation: z.boolean(),
  stuck: z.boolean(),
  lastError: z.nullable(z.string()),
  /** Since when the balance has not covered it (AWAITING_FUNDS, or UNFUNDED once it gave up). */
  awaitingFundsSince: z.nullable(dateTime),
  /** What the balance lacked at the last funds check (empty once it went). */
  fundsShortfall: z.array(shortfallSchema),
});

export const payoutSchema = z.object({
  id: z.string(),
  owner: z.string(),
  createdBy: z.object({ principal: z.string(), session: z.nullable(z.string()) }),
  state: z.enum(PAYOUT_STATES),
  currency: z.string(),
  name: z.string(),
  comment: z.nullable(z.string()),
  executionDate: z.nullable(dateTime),
  recipientCount: z.int(),
  total: decimal,
  totalFee: z.nullable(decimal),
  withdrawalCounts: withdrawalCountsSchema,
  batches: z.array(batchSchema),
  /** Some batch waits in PENDING_CONFIRMATION at Calypso, for a confirmation in Calypso's UI. */
  awaitingCalypsoConfirmation: z.boolean(),
  stuck: z.boolean(),
  approval: z.nullable(
    z.object({
      required: z.int(),
      approvers: z.array(z.string()),
      deadline: dateTime,
      approvals: z.array(
        z.object({ principal: z.string(), session: z.nullable(z.string()), at: dateTime }),
      ),
    }),
  ),
  cancellation: z.nullable(z.object({ reason: z.string(), by: z.string(), at: dateTime })),
  /** Submission to Calypso is paused (the emergency stop): nothing new is sent meanwhile. */
  submissionPaused: z.nullable(z.object({ since: dateTime, reason: z.nullable(z.string()) })),
  retryOf: z.nullable(z.string()),
  retriedBy: z.array(z.string()),
  createdAt: dateTime,
  updatedAt: dateTime,
});

export const withdrawalSchema = z.object({
  payoutId: z.string(),
  index: z.int(),
  batchIndex: z.int(),
  address: z.string(),
  amount: decimal,
  currency: z.string(),
  externalId: z.nullable(z.string()),
  state: z.string(),
  calypsoWithdrawalId: z.nullable(z.string()),
  transactionHash: z.nullable(z.string()),
  fee: z.nullable(decimal),
  /** Calypso's errors for the payment that still stand (resolved ones are in the events). */
  errors: z.array(validationIssueSchema),
  updatedAt: dateTime,
});

export const withdrawalPageSchema = z.object({ items: z.array(withdrawalSchema), cursor });

export const payoutPageSchema = z.object({ items: z.array(payoutSchema), cursor });

/** A payout as GET /payouts lists it: what its stored item holds, without batches. */
export const payoutSummarySchema = z.object({
  id: z.string(),
  owner: z.string(),
  createdBy: z.object({ principal: z.string(), session: z.nullable(z.string()) }),
  state: z.enum(PAYOUT_STATES),
  currency: z.string(),
  name: z.string(),
  recipientCount: z.int(),
  total: decimal,
  stuck: z.boolean(),
  retryOf: z.nullable(z.string()),
  createdAt: dateTime,
  updatedAt: dateTime,
});

export const payoutSummaryPageSchema = z.object({ items: z.array(payoutSummarySchema), cursor });

export const payoutEventSchema = z.object({
  at: dateTime,
  entity: z.enum(['payout', 'batch', 'withdrawal']),
  ref: z.nullable(z.string()),
  field: z.string(),
  from: z.nullable(z.string()),
  to: z.string(),
  cause: z.enum(['api', 'webhook', 'reconcile']),
  actor: z.nullable(z.string()),
  actorSession: z.nullable(z.string()),
  detail: z.nullable(z.string()),
});

export const payoutEventPageSchema = z.object({ items: z.array(payoutEventSchema), cursor });

export const dryRunSchema = z.object({
  dryRun: z.literal(true),
  currency: z.string(),
  recipientCount: z.int(),
  total: decimal,
  /** Approvals the payout policy would ask for (0: none). */
  approvalsRequired: z.int(),
  batches: z.array(
    z.object({
      index: z.int(),
      kind: z.enum(['mass', 'single']),
      recipientCount: z.int(),
      total: decimal,
    }),
  ),
  /**
   * The balance in the payout's currency, and whether the account covers the whole payout:
   * amounts plus estimated fees, in the currency and in the fee coin (see `funds`).
   */
  balance: z.object({
    available: z.nullable(decimal),
    covers: z.nullable(z.boolean()),
    error: z.optional(z.string()),
  }),
  /** The same estimate the funds check makes before sending, per coin. */
  funds: z.object({
    /** Calypso's fee, percent of each payment: last seen on a comparable payout, or the default. */
    feePercentage: decimal,
    feeSource: z.enum(['observed', 'default']),
    /** Percent added on top of the fee estimate. */
    marginPercent: decimal,
    coins: z.array(
      z.object({
        currency: z.string(),
        needed: decimal,
        available: z.nullable(decimal),
        covers: z.nullable(z.boolean()),
      }),
    ),
  }),
});

export const balancesSchema = z.object({
  /** The merchant account, when Calypso names it. */
  account: z.optional(z.string()),
  balances: z.array(z.object({ currency: z.string(), amount: decimal })),
});

export const pauseSchema = z.object({
  paused: z.boolean(),
  since: z.nullable(dateTime),
  by: z.nullable(z.string()),
  reason: z.nullable(z.string()),
});

/** What the webhook answers Calypso once the delivery is stored (or was already). */
export const webhookReceiptSchema = z.object({
  stored: z.optional(z.literal(true)),
  verdict: z.optional(z.string()),
  duplicate: z.optional(z.literal(true)),
});

export type PayoutRequestBody = z.input<typeof payoutRequestSchema>;
export type BatchView = z.output<typeof batchSchema>;
export type PayoutView = z.output<typeof payoutSchema>;
export type WithdrawalView = z.output<typeof withdrawalSchema>;
export type WithdrawalPage = z.output<typeof withdrawalPageSchema>;
export type PayoutPage = z.output<typeof payoutPageSchema>;
export type PayoutSummary = z.output<typeof payoutSummarySchema>;
export type PayoutSummaryPage = z.output<typeof payoutSummaryPageSchema>;
export type PayoutEvent = z.output<typeof payoutEventSchema>;
export type PayoutEventPage = z.output<typeof payoutEventPageSchema>;
export type DryRunView = z.output<typeof dryRunSchema>;
export type BalancesView = z.output<typeof balancesSchema>;
export type PauseView = z.output<typeof pauseSchema>;
export type WebhookReceipt = z.output<typeof webhookReceiptSchema>;
