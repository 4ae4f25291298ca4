/**
 * The custom metrics the functions emit and the stack's alarms watch: one list, so the names in
 * the code and in the alarms cannot drift apart.
 *
 * The functions emit them through Powertools Metrics (shared/metrics.ts) as CloudWatch embedded
 * metric format (EMF) log lines (no IAM permission needed), in namespace `METRICS_NAMESPACE`,
 * with exactly one dimension, `SERVICE_DIMENSION`, set to the function's
 * `POWERTOOLS_SERVICE_NAME` environment variable (the stack sets it per stage). A metric emitted with other dimensions is a
 * different metric, and its alarm will never fire.
 */
import type { MetricName as EmittedMetric } from '../shared/metrics.js';

export { METRICS_NAMESPACE, SERVICE_DIMENSION } from '../shared/metrics.js';

export const METRIC_NAMES = {
  /** Batches the reconciler found without progress past the stuck threshold (count per tick). */
  stuckBatches: 'StuckBatches',
  /** Webhook deliveries refused because `Key` or `Sign` did not verify (count). */
  webhookSignatureRejected: 'WebhookSignatureRejected',
  /** Payments recorded FAILED that Calypso reported otherwise when a retry re-read them. */
  retryDisagreements: 'RetryDisagreements',
  /** Minutes submission has been paused (0 when not), each reconciler tick. */
  submissionPausedMinutes: 'SubmissionPausedMinutes',
  /** A batch we had marked REJECTED that Calypso holds after all: adopted on its confirming look. */
  rejectedButFound: 'RejectedButFound',
  /** A batch the balance did not cover at a funds check (count per check; nothing sent). */
  batchesAwaitingFunds: 'BatchesAwaitingFunds',
  /** Minutes a batch has waited for funds, at each of its funds checks. */
  fundsWaitMinutes: 'FundsWaitMinutes',
  /** Batches that ended UNFUNDED: funds did not come within FUNDS_WAIT_MAX (count). */
  batchesUnfunded: 'BatchesUnfunded',
  /** A batch submission attempt that ended without a result (count). */
  submissionFailures: 'SubmissionFailures',
  /** A call to Calypso that failed after the client's retries (count). */
  calypsoErrors: 'CalypsoErrors',
  /** Milliseconds per call to Calypso, retries included. */
  calypsoLatency: 'CalypsoLatency',
  /** New payouts committed (count). */
  payoutsCreated: 'PayoutsCreated',
  batchesSubmitted: 'BatchesSubmitted',
  batchesCompleted: 'BatchesCompleted',
  /** Due batches the reconciler picked up in a tick. */
  batchesDue: 'BatchesDue',
  payoutsCompleted: 'PayoutsCompleted',
  payoutsCompletedWithFailures: 'PayoutsCompletedWithFailures',
  payoutsFailed: 'PayoutsFailed',
  payoutsCanceled: 'PayoutsCanceled',
  payoutsRejected: 'PayoutsRejected',
  withdrawalsCompleted: 'WithdrawalsCompleted',
  withdrawalsFailed: 'WithdrawalsFailed',
  /** Webhook deliveries whose signature verified. */
  webhooksReceived: 'WebhooksReceived',
} as const satisfies Record<string, EmittedMetric>;

export type MetricName = (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES];
