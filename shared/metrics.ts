/**
 * Custom business metrics through Powertools Metrics: buffered during an invocation and written
 * once at its end as one CloudWatch Embedded Metric Format log line (no client, no extra call),
 * in namespace `METRICS_NAMESPACE` with the single `service` dimension the alarms watch.
 */
import type middy from '@middy/core';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as Unit } from '@aws-lambda-powertools/metrics/types';

export const METRICS_NAMESPACE = 'CalypsoPayouts';
/** The one dimension every custom metric carries; its value is `POWERTOOLS_SERVICE_NAME`. */
export const SERVICE_DIMENSION = 'service';

export type MetricName =
  /** A new payout committed (a repeated request for the same payout is not counted). */
  | 'PayoutsCreated'
  | 'BatchesSubmitted'
  | 'BatchesCompleted'
  /** Due batches the reconciler picked up in one tick. */
  | 'BatchesDue'
  | 'WithdrawalsCompleted'
  | 'WithdrawalsFailed'
  | 'StuckBatches'
  | 'WebhookSignatureRejected'
  | 'WebhooksReceived'
  /** Payments we recorded FAILED that Calypso reports otherwise when a retry re-reads them. */
  | 'RetryDisagreements'
  /** How long submission has been paused, in minutes (0: not paused); each reconciler tick. */
  | 'SubmissionPausedMinutes'
  /** A batch marked REJECTED that Calypso holds after all (found on its confirming look). */
  | 'RejectedButFound'
  /** A batch the balance did not cover at a funds check (nothing sent; count per check). */
  | 'BatchesAwaitingFunds'
  /** How long a batch has been waiting for funds, in minutes, at each of its funds checks. */
  | 'FundsWaitMinutes'
  /** A batch that ended UNFUNDED: the funds did not come within the wait limit. */
  | 'BatchesUnfunded'
  /** Payouts that reached a final state, one metric per state (the one dimension stays `service`). */
  | 'PayoutsCompleted'
  | 'PayoutsCompletedWithFailures'
  | 'PayoutsFailed'
  | 'PayoutsCanceled'
  | 'PayoutsRejected'
  /** A batch submission attempt that ended without a result (it is tried again later). */
  | 'SubmissionFailures'
  /** A call to Calypso that failed after the client's own retries. */
  | 'CalypsoErrors'
  /** How long one call to Calypso took, its retries included (milliseconds). */
  | 'CalypsoLatency';

const UNITS: Partial<Record<MetricName, Unit>> = {
  CalypsoLatency: MetricUnit.Milliseconds,
};

/** One instance per container; `POWERTOOLS_METRICS_DISABLED=true` (tests, local) writes nothing. */
export const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'calypso-payouts',
});

/** Adds values to this invocation's metrics; written by `publishMetrics` at its end. */
export function emitMetrics(values: Partial<Record<MetricName, number>>): void {
  for (const [name, value] of Object.entries(values) as [MetricName, number | undefined][]) {
    if (value !== undefined) metrics.addMetric(name, UNITS[name] ?? MetricUnit.Count, value);
  }
}

/**
 * Writes what this invocation emitted, once. An invocation that emitted nothing writes nothing
 * (Powertools would otherwise warn on every read-only request).
 */
export function publishMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}

/** The middy middleware that publishes an invocation's metrics when it returns or throws. */
export function flushMetrics<E, R>(): middy.MiddlewareObj<E, R> {
  return { after: publishMetrics, onError: publishMetrics };
}
