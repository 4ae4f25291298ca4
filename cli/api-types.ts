/**
 * The API's request and response bodies as types for callers (the CLI among them), inferred from
 * the same zod schemas that generate openapi.json and shape the responses: they cannot drift.
 * Types only: importing this file pulls no schema into a bundle.
 */
export type {
  BalancesView,
  BatchView,
  DryRunView,
  PauseView,
  PayoutEvent,
  PayoutEventPage,
  PayoutPage,
  PayoutRequestBody,
  PayoutSummary,
  PayoutSummaryPage,
  PayoutView,
  WebhookReceipt,
  WithdrawalPage,
  WithdrawalView,
} from '../shared/payouts/schemas.js';
export type { Problem } from '../shared/http/schemas.js';
