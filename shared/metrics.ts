/**
 * Custom metrics as CloudWatch Embedded Metric Format log lines: no client, no extra call.
 */
export const METRICS_NAMESPACE = 'CalypsoPayouts';
/** The one dimension every custom metric carries; its value is `POWERTOOLS_SERVICE_NAME`. */
export const SERVICE_DIMENSION = 'service';

export type MetricName =
  | 'PayoutsCreated'
  | 'BatchesSubmitted'
  | 'BatchesCompleted'
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
  | 'RejectedButFound';

export function emitMetrics(
  values: Partial<Record<MetricName, number>>,
  write: (line: string) => void = console.log,
) {
  const entries = Object.entries(values).filter(([, v]) => v !== undefined);
  if (entries.length === 0 || process.env.POWERTOOLS_METRICS_DISABLED === 'true') return;
  write(
    JSON.stringify({
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: METRICS_NAMESPACE,
            Dimensions: [[SERVICE_DIMENSION]],
            Metrics: entries.map(([name]) => ({ Name: name, Unit: 'Count' })),
          },
        ],
      },
      [SERVICE_DIMENSION]: process.env.POWERTOOLS_SERVICE_NAME ?? 'calypso-payouts',
      ...Object.fromEntries(entries),
    }),
  );
}
